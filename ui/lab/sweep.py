"""The shock-range picture's numbers: each way of the account as it stands now, held unchanged
across every whole-market shock on top of the sliders, with every liquidation and bankruptcy
crossing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from margin.account import BANKRUPT, LIQUIDATED, compile_account
from margin.presets import market_label
from margin.scenario import Scenario
from margin.sweep import sweep_shock
from margin.walk import scenario_now
from ui.common.words import position_labels

SHOCK_MIN, SHOCK_MAX = -0.9, 0.9  # [fraction]
SHOCK_GRID = np.linspace(SHOCK_MIN, SHOCK_MAX, 721)  # 0.25 % apart, 0 included

@dataclass(frozen=True, slots=True, kw_only=True)
class SweepMark:
    """Where along the shock grid a pool crosses into liquidation or bankruptcy."""

    shock: float  # [fraction]
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
    pools: list[tuple[str, int]] = []
    cross = np.flatnonzero(~iso)
    if cross.size:
        pools.append(("cross pool", int(cross[0])))
    pools += [(f"{labels[scenario.positions[i].id]}, isolated", int(i)) for i in np.flatnonzero(iso)]
    marks: list[SweepMark] = []
    for pool, column in pools:
        status = v.status[:, column]
        position = scenario.positions[column]
        beta = scenario.markets[position.market].beta
        for kind, level in (("liquidation", LIQUIDATED), ("bankruptcy", BANKRUPT)):
            beyond = status >= level
            for g in _crossings(beyond):
                note = ""
                if position.is_isolated and beta < 0 and np.sign(grid[g]) == -position.sign:
                    note = f"{market_label(position.market)} moves against the market (beta {beta:g})"
                marks.append(SweepMark(shock=float(grid[g]), kind=kind, pool=pool, equity=float(equity[g]),
                                       note=note))
    return SweepView(label=label, grid=np.asarray(grid), equity=equity, maintenance=maintenance,
                     marks=tuple(marks))


def _crossings(beyond: np.ndarray) -> list[int]:
    """Grid indices on the far side of each boundary of a boolean region.

    >>> _crossings(np.array([True, True, False, False, True]))
    [1, 4]
    """
    change = np.flatnonzero(np.diff(beyond.astype(np.int8)))
    return [int(c) if beyond[c] else int(c + 1) for c in change]


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
