"""The price lab's numbers: the account walked from its own prices to the sliders', three ways.

Semantics (the page documents them to the user too):

* The **target** price of market ``m`` is ``slider price × (1 + beta_m × shock)``, floored at
  0.1 % of the slider price (a market cannot trade at zero).
* The account walks a **straight path** of equal steps (200 to 2,000, none moving a price by
  more than 0.05 %) from the scenario's own prices to the targets through :func:`margin.simulate.simulate`, so a liquidation met on the
  way happens and stays happened, even if the end point alone would look survivable.
* That is done for each variant of :func:`margin.scenario.account_variants`: as built, all
  cross, all isolated.

Everything above the ``cached`` section is pure (no Streamlit) and tested directly; the two
cached wrappers at the bottom are the UI boundary, keyed on the scenario's JSON text.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import streamlit as st

from margin.account import (
    BANKRUPT, LIQUIDATED, STATUS_NAMES, compile_account, evaluate, margin_ratio,
    liquidation_prices, value_account,
)
from margin.presets import market_defaults
from margin.scenario import Scenario, account_variants, scenario_from_dict
from margin.simulate import Event, SimulationResult, price_path, simulate
from margin.sweep import sweep_shock
from ui.format import money, percent, price

STEPS = 200  # fewest steps of the straight path from the scenario's prices to the sliders'
MAX_STEPS = 2000
STEP_MOVE = 0.0005  # at most 0.05 % of a price per step, so event prices are read to ~0.05 %
SHOCK_MIN, SHOCK_MAX = -0.9, 0.9  # [fraction]
SHOCK_GRID = np.linspace(SHOCK_MIN, SHOCK_MAX, 721)  # 0.25 % apart, 0 included
PRICE_FLOOR = 0.001  # targets never go below 0.1 % of the slider price [fraction]
MAX_POOLS_SHOWN = 8  # isolated positions drawn in the equity-sharing picture


# ----------------------------------------------------------------------------- labels


@functools.lru_cache(maxsize=256)
def market_label(name: str) -> str:
    """Short name of a market: ``"BTC"`` for ``"BTCUSDT"`` (cached: the labels come from a
    read-only asset, and the lab asks for them a few hundred times per slider step).

    >>> market_label("SOLUSDT"), market_label("FOO")
    ('SOL', 'FOO')
    """
    known = market_defaults()["markets"].get(name)
    if known and known.get("label"):
        return str(known["label"])
    return name[:-4] if name.endswith("USDT") and len(name) > 4 else name


def position_labels(scenario: Scenario) -> dict[str, str]:
    """A readable name per position id: ``"SOL long"``, with the id added where two clash."""
    base = {p.id: f"{market_label(p.market)} {p.side}" for p in scenario.positions}
    counts: dict[str, int] = {}
    for text in base.values():
        counts[text] = counts.get(text, 0) + 1
    return {pid: (text if counts[text] == 1 else f"{text} ({pid})") for pid, text in base.items()}


def join_words(items: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``.

    >>> join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------- the path


def target_prices(scenario: Scenario, slider_prices: Mapping[str, float], shock: float) -> dict[str, float]:
    """Mark price [USDT] of every market after ``shock`` [fraction] on top of the sliders.

    >>> s = scenario_from_dict({"balance": 10, "markets": {"X": {"price": 100, "mmr": 0.01, "beta": 2}},
    ...     "positions": []})
    >>> target_prices(s, {"X": 120}, -0.1)
    {'X': 96.0}
    """
    out: dict[str, float] = {}
    for name, market in scenario.markets.items():
        base = float(slider_prices.get(name, market.price))
        out[name] = max(base * (1.0 + market.beta * shock), base * PRICE_FLOOR)
    return out


def straight_path(scenario: Scenario, target: Mapping[str, float], steps: int | None = None) -> np.ndarray:
    """Mark prices ``(steps + 1, M)`` from the scenario's prices (row 0) to ``target`` (last row).

    By default as many steps as keep every price move per step within :data:`STEP_MOVE`.

    >>> s = scenario_from_dict({"balance": 10, "markets": {"X": {"price": 100, "mmr": 0.01}},
    ...     "positions": []})
    >>> straight_path(s, {"X": 50}).shape, straight_path(s, {"X": 99}).shape
    ((1001, 1), (201, 1))
    """
    start = np.array([m.price for m in scenario.markets.values()])
    end = np.array([float(target[name]) for name in scenario.markets])
    if steps is None:
        move = float(np.max(np.abs(end / start - 1.0), initial=0.0))
        steps = int(np.clip(np.ceil(move / STEP_MOVE - 1e-9), STEPS, MAX_STEPS))
    t = np.linspace(0.0, 1.0, steps + 1)[:, None]
    return start + (end - start) * t


# ----------------------------------------------------------------------------- one variant


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    """One position at the end of the path.

    ``status`` is one of ``STATUS_NAMES``; ``distance`` [fraction] is how far its mark must
    move from ``price`` to reach ``liquidation_price`` (negative = down), ``None`` when closed
    or when no price liquidates it.
    """

    id: str
    label: str
    market: str
    side: str
    mode: str
    status: str
    size: float  # left open [base]
    price: float  # mark at the end of the path [USDT]
    unrealized_pnl: float  # of the open part [USDT]
    realized_pnl: float  # of closes on the path [USDT]
    equity: float  # own equity (isolated) or the pool's (cross) [USDT]
    maintenance_margin: float  # own [USDT]
    liquidation_price: float | None
    bankruptcy_price: float | None
    distance: float | None
    closed_at: float | None  # fill price of its last close [USDT]
    partly_closed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolBar:
    label: str
    measure: str  # "absolute", "relative" or "total" (Plotly waterfall measures)
    value: float  # [USDT]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolGroup:
    """One margin pool for the equity-sharing picture: the cross pool or one isolated position.

    ``moment`` says when it is shown: ``"now"`` (at the sliders' prices), or just before it was
    liquidated on the path (``"at the breach"``), with ``prices`` [USDT] of that moment.
    """

    name: str
    bars: tuple[PoolBar, ...]
    equity: float
    maintenance_margin: float
    moment: str
    prices: Mapping[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantView:
    """The account, one way (as built, all cross or all isolated), at the end of the path."""

    label: str
    scenario: Scenario
    marks: np.ndarray  # (N, M) path [USDT]
    result: SimulationResult
    positions: tuple[PositionView, ...]
    has_cross: bool
    cross_open: bool
    cross_equity: float  # cross wallet + open cross PnL [USDT]
    cross_maintenance: float
    total_equity: float  # cross equity + equity of open isolated positions [USDT]
    total_maintenance: float
    start_equity: float  # total equity at the scenario's own prices [USDT]
    risk_ratio: float | None  # maintenance / equity of the riskiest open pool [fraction]
    risk_pool: str | None
    events: tuple[str, ...]
    pools: tuple[PoolGroup, ...]
    insurance_paid: float  # what the fund paid for losses beyond margin [USDT]
    socialized: float  # what it could not pay [USDT]


def _status_after(result: SimulationResult, index: int, position_id: str, open_status: int) -> str:
    if result.final.sizes[index] > 0:
        return STATUS_NAMES[open_status]
    if any(e.type == "bankruptcy" and e.position == position_id for e in result.events):
        return "bankrupt"
    return "liquidated"


def run_variant(label: str, scenario: Scenario, marks: np.ndarray) -> VariantView:
    """Walk ``scenario`` along ``marks`` (N, M) and describe where it ends up."""
    names = list(scenario.markets)
    path = price_path({name: marks[:, j] for j, name in enumerate(names)})
    result = simulate(scenario, path, trace=True)
    trace = result.trace
    value = trace.valuation
    final = result.final
    target = {name: float(marks[-1, j]) for j, name in enumerate(names)}
    labels = position_labels(scenario)
    account = compile_account(scenario)
    start = value_account(account, marks[:1])
    start_equity = float(start.cross_equity[0] + np.where(account.isolated, start.position_equity[0], 0.0).sum())

    edges = liquidation_prices(scenario, prices=target, sizes=final.sizes, margins=final.margins,
                               cross_wallet=final.cross_wallet)
    positions = []
    for i, p in enumerate(scenario.positions):
        closes = [e for e in result.events if e.position == p.id and e.type in ("liquidation", "partial_liquidation")]
        size = float(final.sizes[i])
        status = _status_after(result, i, p.id, int(value.status[-1, i]))
        liq = bank = distance = None
        if size > 0:
            liq, bank = edges[i].liquidation_price, edges[i].bankruptcy_price
            if liq is not None:
                distance = liq / target[p.market] - 1.0
        positions.append(PositionView(
            id=p.id, label=labels[p.id], market=p.market, side=p.side, mode=p.mode, status=status,
            size=size, price=target[p.market],
            unrealized_pnl=float(value.unrealized_pnl[-1, i]) if size > 0 else 0.0,
            realized_pnl=float(sum(e.realized_pnl for e in closes)),
            equity=float(value.position_equity[-1, i]),
            maintenance_margin=float(value.maintenance_margin[-1, i]) if size > 0 else 0.0,
            liquidation_price=liq, bankruptcy_price=bank, distance=distance,
            closed_at=closes[-1].price if closes else None,
            partly_closed=bool(closes) and size > 0,
        ))

    open_ = np.asarray(final.sizes) > 0
    cross_open = bool((open_ & ~account.isolated).any())
    iso_open = open_ & account.isolated
    cross_equity = float(value.cross_equity[-1])
    cross_mm = float(value.cross_maintenance[-1])
    total_mm = float(cross_mm + value.maintenance_margin[-1][iso_open].sum())
    risk_ratio, risk_pool = None, None
    if cross_open:
        risk_ratio, risk_pool = margin_ratio(cross_equity, cross_mm), "cross pool"
    for i in np.flatnonzero(iso_open):
        ratio = margin_ratio(float(value.position_equity[-1, i]), float(value.maintenance_margin[-1, i]))
        if risk_ratio is None or ratio > risk_ratio:
            risk_ratio, risk_pool = ratio, f"{labels[scenario.positions[i].id]}, isolated"

    return VariantView(
        label=label, scenario=scenario, marks=marks, result=result, positions=tuple(positions),
        has_cross=bool((~account.isolated).any()), cross_open=cross_open,
        cross_equity=cross_equity, cross_maintenance=cross_mm,
        total_equity=float(trace.total_equity[-1]), total_maintenance=total_mm,
        start_equity=start_equity, risk_ratio=risk_ratio, risk_pool=risk_pool,
        events=tuple(describe_events(result.events, scenario, labels)),
        pools=tuple(equity_pools(scenario, marks, result, labels)),
        insurance_paid=float(-sum(e.insurance_fund_delta for e in result.events if e.type == "bankruptcy")),
        socialized=float(final.socialized_loss),
    )


def lab_views(scenario: Scenario, slider_prices: Mapping[str, float], shock: float,
              steps: int | None = None) -> dict[str, VariantView]:
    """The three variants walked to the sliders' prices (keys: as built, all cross, all isolated)."""
    marks = straight_path(scenario, target_prices(scenario, slider_prices, shock), steps)
    return {label: run_variant(label, variant, marks) for label, variant in account_variants(scenario).items()}


# ----------------------------------------------------------------------------- events in words


def describe_events(events: Sequence[Event], scenario: Scenario, labels: Mapping[str, str]) -> list[str]:
    """What happened on the path, in order, one sentence per close.

    A loss beyond margin (``bankruptcy``) and its socialized remainder are told in the sentence
    of the close that caused them.
    """
    sentences: list[str] = []
    last_close: dict[tuple[str, int], int] = {}  # (position, row) -> sentence index
    cross_rows_told: set[int] = set()
    fee_word = "fee" if scenario.rules.liquidation_fee_rate > 0 else ""
    for e in events:
        who = labels.get(e.position, e.position)
        unit = market_label(e.market)
        if e.type in ("liquidation", "partial_liquidation"):
            realized = money(e.realized_pnl, signed=True)
            if e.type == "partial_liquidation":
                pool = "the cross pool" if e.mode == "cross" else "its margin"
                text = (f"{who}: {e.size:,.4g} {unit} closed at {price(e.price)} USDT (partial liquidation, "
                        f"{realized} realized) to lift {pool} back above maintenance")
            elif e.mode == "cross" and e.row in cross_rows_told:
                text = f"{who} closed with it at {price(e.price)} USDT ({realized} realized): one pool, one fate"
            elif e.mode == "cross":
                cross_rows_told.add(e.row)
                text = (f"{who} liquidated at {price(e.price)} USDT ({realized} realized): the cross pool "
                        f"fell below maintenance, so every cross position was closed")
            else:
                text = (f"{who} (isolated) liquidated at {price(e.price)} USDT ({realized} realized): "
                        f"its own margin fell below maintenance; nothing else was touched")
            if fee_word and e.fee > 0:
                text += f"; {money(e.fee)} liquidation fee to the insurance fund"
            last_close[(e.position, e.row)] = len(sentences)
            sentences.append(text)
        elif e.type == "bankruptcy":
            paid = -e.insurance_fund_delta
            clause = f"its loss beyond margin, {money(e.amount)}, was paid by the insurance fund"
            if paid < e.amount - 0.005:
                clause = (f"its loss beyond margin was {money(e.amount)}; the insurance fund paid "
                          f"{money(paid)}")
            _attach(sentences, last_close, e, who, clause)
        elif e.type == "socialized_loss":
            clause = (f"{money(e.amount)} the fund could not pay was socialized "
                      f"(taken from profitable traders by auto-deleveraging)")
            _attach(sentences, last_close, e, who, clause)
    return [s + "." for s in sentences]


def _attach(sentences: list[str], last_close: dict[tuple[str, int], int], e: Event, who: str, clause: str) -> None:
    index = last_close.get((e.position, e.row))
    if index is None:
        sentences.append(f"{who}: {clause}")
    else:
        sentences[index] += f"; {clause}"


# ----------------------------------------------------------------------------- equity sharing


def equity_pools(scenario: Scenario, marks: np.ndarray, result: SimulationResult,
                 labels: Mapping[str, str]) -> list[PoolGroup]:
    """Each margin pool's wallet (or margin), its positions' PnL and its equity, against its
    maintenance margin: now if it is still open, else just before it was liquidated."""
    trace = result.trace
    account = compile_account(scenario)
    names = list(scenario.markets)
    n_rows = marks.shape[0]

    def state_before(row: int) -> tuple[np.ndarray, np.ndarray, float]:
        if row <= 0:
            return account.size, account.margin, account.cross_wallet
        return trace.size[row - 1], trace.isolated_margin[row - 1], float(trace.cross_wallet[row - 1])

    def moment_at(members: Sequence[int]) -> tuple[int, str]:
        if any(trace.size[-1, i] > 0 for i in members):
            return n_rows - 1, "now"
        closes = [e.row for e in result.events if e.type == "liquidation"
                  and e.position in {scenario.positions[i].id for i in members}]
        return (max(closes), "at the breach") if closes else (n_rows - 1, "now")

    groups: list[PoolGroup] = []
    cross = [i for i, p in enumerate(scenario.positions) if not p.is_isolated]
    if cross:
        row, moment = moment_at(cross)
        if moment == "now":
            size, margin, wallet = trace.size[row], trace.isolated_margin[row], float(trace.cross_wallet[row])
        else:
            size, margin, wallet = state_before(row)
        v = value_account(account, marks[row][None, :], size=size, margin=margin, cross_wallet=wallet)
        bars = [PoolBar(label="Cross wallet", measure="absolute", value=wallet)]
        bars += [PoolBar(label=f"{labels[scenario.positions[i].id]} PnL", measure="relative",
                         value=float(v.unrealized_pnl[0, i])) for i in cross if size[i] > 0]
        bars.append(PoolBar(label="Cross equity", measure="total", value=float(v.cross_equity[0])))
        groups.append(PoolGroup(
            name="Cross pool", bars=tuple(bars), equity=float(v.cross_equity[0]),
            maintenance_margin=float(v.cross_maintenance[0]), moment=moment,
            prices={n: float(marks[row, j]) for j, n in enumerate(names)},
        ))
    isolated = [i for i, p in enumerate(scenario.positions) if p.is_isolated]
    iso_groups = []
    for i in isolated:
        row, moment = moment_at([i])
        if moment == "now":
            size, margin = trace.size[row], trace.isolated_margin[row]
            wallet = float(trace.cross_wallet[row])
        else:
            size, margin, wallet = state_before(row)
        v = value_account(account, marks[row][None, :], size=size, margin=margin, cross_wallet=wallet)
        name = labels[scenario.positions[i].id]
        equity = float(v.position_equity[0, i])
        mm = float(v.maintenance_margin[0, i])
        iso_groups.append(PoolGroup(
            name=f"{name}, isolated",
            bars=(PoolBar(label=f"{name} margin", measure="absolute", value=float(margin[i])),
                  PoolBar(label=f"{name} PnL", measure="relative", value=float(v.unrealized_pnl[0, i])),
                  PoolBar(label=f"{name} equity", measure="total", value=equity)),
            equity=equity, maintenance_margin=mm, moment=moment,
            prices={n: float(marks[row, j]) for j, n in enumerate(names)},
        ))
    # The riskiest isolated pools first when there are too many to draw.
    iso_groups.sort(key=lambda g: margin_ratio(g.equity, g.maintenance_margin), reverse=True)
    return groups + iso_groups[:MAX_POOLS_SHOWN]


# ----------------------------------------------------------------------------- the shock sweep


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepMark:
    """Where along the shock grid a pool crosses into liquidation or bankruptcy."""

    shock: float  # [fraction]
    kind: str  # "liquidation" or "bankruptcy"
    pool: str  # "cross pool" or "<position>, isolated"
    equity: float  # total equity of the account at that shock [USDT]


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
        for kind, level in (("liquidation", LIQUIDATED), ("bankruptcy", BANKRUPT)):
            beyond = status >= level
            for g in _crossings(beyond):
                marks.append(SweepMark(shock=float(grid[g]), kind=kind, pool=pool, equity=float(equity[g])))
    return SweepView(label=label, grid=np.asarray(grid), equity=equity, maintenance=maintenance,
                     marks=tuple(marks))


def _crossings(beyond: np.ndarray) -> list[int]:
    """Grid indices on the far side of each boundary of a boolean region.

    >>> _crossings(np.array([True, True, False, False, True]))
    [1, 4]
    """
    change = np.flatnonzero(np.diff(beyond.astype(np.int8)))
    return [int(c) if beyond[c] else int(c + 1) for c in change]


def sweep_views(scenario: Scenario, base: Mapping[str, float]) -> dict[str, SweepView]:
    return {label: sweep_view(label, variant, base) for label, variant in account_variants(scenario).items()}


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


# ----------------------------------------------------------------------------- words


def account_warnings(scenario: Scenario) -> list[str]:
    """What is already wrong with the account at its own prices (the dashboard warns, not refuses)."""
    out = []
    snap = evaluate(scenario)
    labels = position_labels(scenario)
    if snap.cross.liquidatable:
        out.append(f"At its own prices the cross pool is already below maintenance "
                   f"({money(snap.cross.equity)} of equity against {money(snap.cross.maintenance_margin)}): "
                   f"it is liquidated at the very first step.")
    for p, s in zip(scenario.positions, snap.positions):
        if p.is_isolated and s.liquidatable:
            out.append(f"{labels[p.id]} (isolated) is already below maintenance at its own price "
                       f"({money(s.equity)} of equity against {money(s.maintenance_margin)}): it is "
                       f"liquidated at the very first step.")
    needed = sum(p.margin if p.is_isolated else p.initial_margin for p in scenario.positions)
    if needed > scenario.balance * (1 + 1e-9):
        out.append(f"The wallet ({money(scenario.balance)}) would not have covered the initial margin of "
                   f"these positions ({money(needed)}) when they were opened.")
    return out


def what_is_happening(views: Mapping[str, VariantView], sweeps: Mapping[str, SweepView],
                      shock: float) -> list[str]:
    """A few plain sentences about the sliders' prices, computed from the numbers."""
    built = views["As built"]
    isolated = views["All isolated"]
    out: list[str] = []
    cross_positions = [p for p in built.positions if p.mode == "cross"]
    cross_events = [e for e in built.result.events if e.mode == "cross" and e.type == "liquidation"]
    if built.cross_open:
        open_cross = [p for p in cross_positions if p.size > 0]
        winners = [p for p in open_cross if p.unrealized_pnl > 0]
        losers = [p for p in open_cross if p.unrealized_pnl < 0]
        cushion = built.cross_equity - built.cross_maintenance
        pool = (f"the shared pool has {money(built.cross_equity)} of equity against "
                f"{money(built.cross_maintenance)} of maintenance margin")
        if winners and losers:
            out.append(f"In cross, {_pnl_list(winners)} {_verb(winners, 'is', 'are')} holding up "
                       f"{_pnl_list(losers)}: {pool}, a cushion of {money(cushion)}.")
        elif losers:
            out.append(f"In cross, {_pnl_list(losers)} {_verb(losers, 'is', 'are')} draining the "
                       f"shared pool: {pool}, a cushion of {money(cushion)}.")
        elif winners:
            out.append(f"In cross, every open position is in profit ({_pnl_list(winners)}): {pool}.")
        mark = nearest_mark(sweeps["As built"], shock, {"cross pool"})
        if mark is not None:
            out.append(f"A whole-market shock of {percent(mark.shock, signed=True)} (now "
                       f"{percent(shock, signed=True)}) would liquidate the cross pool.")
    elif cross_events:
        first = cross_events[0]
        closed = [p for p in cross_positions if p.closed_at is not None]
        out.append(f"On the way here the cross pool fell below maintenance (when "
                   f"{market_label(first.market)} was at {price(first.price)} USDT) and every cross "
                   f"position was closed: {join_words([p.label for p in closed])}, winners included.")
    iso_lost = [p for p in isolated.positions if p.status in ("liquidated", "bankrupt")]
    iso_kept = [p for p in isolated.positions if p.status not in ("liquidated", "bankrupt")]
    built_lost = [p for p in built.positions if p.status in ("liquidated", "bankrupt")]
    if iso_lost and iso_kept:
        out.append(f"All isolated, each position stands on its own margin: {join_words([p.label for p in iso_lost])} "
                   f"{_verb(iso_lost, 'is', 'are')} liquidated, but {join_words([p.label for p in iso_kept])} "
                   f"{_verb(iso_kept, 'lives', 'live')} on.")
    elif iso_lost:
        out.append("All isolated, every position is liquidated on its own margin too.")
    elif built_lost:
        out.append("All isolated, no position would be liquidated at these prices.")
    if len(built_lost) > len(iso_lost):
        out.append(f"Here isolated margin saves positions: {_count(built_lost, built.positions)} closed "
                   f"as built, {len(iso_lost) or 'none'} all isolated.")
    elif len(iso_lost) > len(built_lost):
        out.append(f"Here sharing helps: {_count(iso_lost, isolated.positions)} closed all isolated, "
                   f"{len(built_lost) or 'none'} as built, because profits in the shared pool cover "
                   f"the losses.")
    equities = ", ".join(f"{v.label.lower()} {money(v.total_equity)}" for v in views.values())
    out.append(f"Equity now: {equities}.")
    return out


def _pnl_list(positions: Sequence[PositionView], limit: int = 3) -> str:
    """The largest PnLs by name, the rest summed: "the BTC long's +17,000.00 USDT and 4 more
    (+1,234.00 USDT together)"."""
    ranked = sorted(positions, key=lambda p: abs(p.unrealized_pnl), reverse=True)
    named = [f"the {p.label}'s {money(p.unrealized_pnl, signed=True)}" for p in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        named.append(f"{len(rest)} more ({money(sum(p.unrealized_pnl for p in rest), signed=True)} together)")
    return join_words(named)


def _verb(items: Sequence[Any], one: str, many: str) -> str:
    return one if len(items) == 1 else many


# ----------------------------------------------------------------------------- cached (UI boundary)


def scenario_key(raw: Mapping[str, Any]) -> str:
    """The scenario dict as canonical JSON text: the cache key (sessions share results, never state)."""
    return json.dumps(raw, sort_keys=True, separators=(",", ":"))


@st.cache_data(max_entries=32, show_spinner=False)
def cached_sweeps(scenario_json: str, base: tuple[tuple[str, float], ...]) -> dict[str, SweepView]:
    """:func:`sweep_views` for one account and slider prices (a shock move never misses)."""
    return sweep_views(scenario_from_dict(json.loads(scenario_json)), dict(base))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_views(scenario_json: str, base: tuple[tuple[str, float], ...], shock: float) -> dict[str, VariantView]:
    """:func:`lab_views` for one account, slider prices and shock."""
    return lab_views(scenario_from_dict(json.loads(scenario_json)), dict(base), shock)


def _count(lost, positions) -> str:
    """"1 of 2 positions", "none of 2 positions"."""
    return f"{len(lost) or 'none'} of {len(positions)} position{'s' if len(positions) != 1 else ''}"
