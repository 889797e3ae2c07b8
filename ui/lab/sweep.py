"""The shock-range picture's numbers: each way of the account as it stands now, held unchanged
across every whole-market shock on top of the sliders, with every liquidation and bankruptcy
crossing: solved exactly (:func:`margin.sweep.shock_crossings`), never read off the grid, and
stated with no more digits than are known (:func:`shock_text`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from margin.account import compile_account
from margin.numbers import percent_known
from margin.presets import market_label
from margin.scenario import Scenario
from margin.sweep import shock_crossings, sweep_shock
from margin.limits import MAX_SHOCK
from margin.walk import scenario_now
from ui.common.words import position_labels

SHOCK_MIN, SHOCK_MAX = -MAX_SHOCK, MAX_SHOCK  # [fraction] (margin.limits)
SHOCK_GRID = np.linspace(SHOCK_MIN, SHOCK_MAX, 721)  # 0.25 % apart, 0 included

@dataclass(frozen=True, slots=True, kw_only=True)
class SweepMark:
    """Where along the shock a pool crosses into or out of liquidation or bankruptcy: the exact
    crossing, known to ± ``known_to``."""

    shock: float  # [fraction]
    known_to: float  # [fraction] how well ``shock`` is known (ShockCrossing.known_to)
    kind: str  # "liquidation" or "bankruptcy"
    pool: str  # "cross pool" or "<position>, isolated"
    equity: float  # total equity of the account at that shock [USDT]
    note: str = ""  # why, where the move looks the wrong way (a long liquidated by a rise)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepView:
    """The account held unchanged across every whole-market shock on top of the sliders."""

    label: str
    grid: np.ndarray  # shocks [fraction]
    equity: np.ndarray  # total equity [USDT]
    maintenance: np.ndarray  # total maintenance margin of the open positions [USDT]
    marks: tuple[SweepMark, ...]
    open_positions: int  # how many positions are still open (none: nothing left to liquidate)
    wallet: float = 0.0  # the account's wallet now [USDT] (what it can lose, with its profits)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepScale:
    """The shock-range chart's value axis: ``low .. high`` [USDT], and whether the equity curve
    runs below ``low`` (``clipped``), down to ``lowest`` [USDT] at a shock of ``lowest_at``
    [fraction]."""

    low: float
    high: float
    clipped: bool
    lowest: float
    lowest_at: float


def sweep_view(label: str, scenario: Scenario, base: Mapping[str, float],
               grid: np.ndarray = SHOCK_GRID) -> SweepView:
    """Equity and maintenance across ``grid``, with every liquidation and bankruptcy crossing."""
    sweep = sweep_shock(scenario, grid, base=base)
    v = sweep.valuation
    account = compile_account(scenario)
    iso = account.isolated
    equity = v.cross_equity + np.where(iso, v.position_equity, 0.0).sum(axis=1)
    maintenance = v.maintenance_margin.sum(axis=1)
    labels = position_labels(scenario)
    crossings = shock_crossings(scenario, low=float(grid[0]), high=float(grid[-1]), base=base, account=account)
    if not crossings:
        return SweepView(label=label, grid=np.asarray(grid), equity=equity, maintenance=maintenance, marks=(),
                         open_positions=len(scenario.positions), wallet=scenario.balance)
    there = sweep_shock(scenario, np.array([c.shock for c in crossings]), base=base, account=account).valuation
    there_equity = there.cross_equity + np.where(iso, there.position_equity, 0.0).sum(axis=1)
    by_id = {p.id: p for p in scenario.positions}
    marks: list[SweepMark] = []
    for c, total in zip(crossings, there_equity):
        pool = "cross pool" if c.position is None else f"{labels[c.position]}, isolated"
        note = ""
        position = by_id.get(c.position)
        if position is not None:
            beta = scenario.markets[position.market].beta
            if beta < 0 and np.sign(c.shock) == -position.sign:
                note = f"{market_label(position.market)} moves against the market (beta {beta:g})"
        marks.append(SweepMark(shock=c.shock, known_to=c.known_to, kind=c.kind, pool=pool,
                               equity=float(total), note=note))
    return SweepView(label=label, grid=np.asarray(grid), equity=equity, maintenance=maintenance,
                     marks=tuple(marks), open_positions=len(scenario.positions), wallet=scenario.balance)


def sweep_scale(sweep: SweepView) -> SweepScale:
    """The value axis the shock-range chart is drawn on: up to the highest equity or
    maintenance in range, down to zero, or, where the equity held unchanged falls below zero,
    only to about one wallet below zero (its wallet now, or its equity today when its wallet is
    all coins), and low enough for every ✕ ◆ mark. Held unchanged, a leveraged account's equity
    at a -90 % shock is many wallets below zero (-116k USDT on the default 9,000 USDT wallet),
    a loss it can never have: it is liquidated first, and what passes bankruptcy is the
    insurance fund's. An axis drawn to there would squash every number that matters into a
    sliver, so the curve is cut there and the chart says so (``clipped``).

    >>> grid = np.linspace(-0.9, 0.9, 5)
    >>> view = SweepView(label="As built", grid=grid, equity=np.array([-90_000.0, -30_000, 9_000, 40_000, 80_000]),
    ...                  maintenance=np.full(5, 500.0), marks=(), open_positions=1, wallet=9_000.0)
    >>> scale = sweep_scale(view)
    >>> scale.low, scale.high, scale.clipped, scale.lowest, scale.lowest_at
    (-9000.0, 80000.0, True, -90000.0, -0.9)
    """
    equity, maintenance = np.asarray(sweep.equity, float), np.asarray(sweep.maintenance, float)
    high = float(max(equity.max(), maintenance.max(), 0.0))
    data_low = float(min(equity.min(), maintenance.min(), 0.0))
    # one wallet below zero; an account whose wallet is all coins (no USDT) takes its equity today
    stake = sweep.wallet if sweep.wallet > 0 else max(float(np.interp(0.0, sweep.grid, equity)), 1.0)
    marks_low = min([m.equity for m in sweep.marks], default=0.0)
    floor = min(-stake, marks_low - 0.04 * (high - marks_low))  # [USDT] one account below zero, and the marks
    floor = nice_step_below(floor)
    lowest = int(np.argmin(equity))
    clipped = data_low < floor
    return SweepScale(low=floor if clipped else data_low, high=high, clipped=clipped,
                      lowest=float(equity[lowest]), lowest_at=float(sweep.grid[lowest]))


def nice_step_below(value: float) -> float:
    """``value`` [USDT] rounded away from zero to two significant digits when it is below zero
    (an axis end that reads at a glance), zero otherwise.

    >>> nice_step_below(-9_480.0), nice_step_below(-27_340.0), nice_step_below(-123.0), nice_step_below(5.0)
    (-9500.0, -28000.0, -130.0, 0.0)
    """
    if value >= 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(-value)) - 1)
    return float(math.floor(value / step) * step)


def shock_text(mark: SweepMark) -> str:
    """A crossing's shock in words, signed, with no more decimals than are known (two at most).

    >>> shock_text(SweepMark(shock=-0.0926174, known_to=1e-17, kind="liquidation", pool="cross pool", equity=0.0))
    '-9.26 %'
    """
    return percent_known(mark.shock, mark.known_to, 2, signed=True)


def sweep_views(history, base: Mapping[str, float]) -> dict[str, SweepView]:
    """Each variant as it stands now (what is still open, its wallet now) held unchanged across
    every shock on top of the sliders' prices."""
    return {label: sweep_view(label, scenario_now(walk), base) for label, walk in history.walks.items()}


def nearest_mark(sweep: SweepView, shock: float, pools: set[str] | None = None,
                 kind: str = "liquidation") -> SweepMark | None:
    """The crossing met first when the market moves from ``shock`` (down first, then up)."""
    marks = [m for m in sweep.marks if m.kind == kind and (pools is None or m.pool in pools)]
    below = [m for m in marks if m.shock < shock]
    above = [m for m in marks if m.shock > shock]
    candidates = []
    if below:
        candidates.append(max(below, key=lambda m: m.shock))
    if above:
        candidates.append(min(above, key=lambda m: m.shock))
    return min(candidates, key=lambda m: abs(m.shock - shock)) if candidates else None
