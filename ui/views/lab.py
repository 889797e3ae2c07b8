"""The price lab's numbers: the learner's own path through the lab, and the account three ways
along it.

* The **target** price of market ``m`` is ``slider price × (1 + beta_m × shock)``, never
  below 1 % of the slider price (the engine's one shock rule, :func:`margin.sweep.shock_multiplier`).
* Each variant of :func:`margin.variants.account_variants` (as built, all cross, all isolated)
  first walks from its positions' entries to the account's own prices, then along every step
  the learner takes, each step a straight walk from the last prices to the new ones
  (:mod:`margin.walk`): a liquidation on the way stays happened until Reset.

Everything above the ``cached`` section is pure (no Streamlit) and tested directly; the
cached wrappers at the bottom are the UI boundary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import streamlit as st

from margin.account import (
    BANKRUPT, LIQUIDATED, STATUS_NAMES, account_value, compile_account, margin_ratio, liquidation_prices,
    value_account,
)
from margin.presets import market_label
from margin.scenario import Scenario, scenario_from_dict  # noqa: F401 (doctests)
from margin.variants import arrived_variants
from margin.simulate import Event
from margin.walk import Walk, entry_prices, scenario_now, start_walk, walk_to
from margin.sweep import shock_multiplier, sweep_shock
from margin.numbers import money, percent, price

SHOCK_MIN, SHOCK_MAX = -0.9, 0.9  # [fraction]
SHOCK_GRID = np.linspace(SHOCK_MIN, SHOCK_MAX, 721)  # 0.25 % apart, 0 included
MAX_POOLS_SHOWN = 8  # isolated positions drawn in the equity-sharing picture
MAX_WAYPOINTS = 64  # turns of the learner's path a link can carry


# ----------------------------------------------------------------------------- labels


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
    """Mark price [USDT] of every market after ``shock`` [fraction] on top of the sliders, by
    the engine's one shock rule (:func:`margin.sweep.shock_multiplier`).

    >>> s = scenario_from_dict({"balance": 10, "markets": {"X": {"price": 100, "mmr": 0.01, "beta": 2}},
    ...     "positions": []})
    >>> target_prices(s, {"X": 120}, -0.1)
    {'X': 96.0}
    """
    names = list(scenario.markets)
    base = np.array([float(slider_prices.get(n, scenario.markets[n].price)) for n in names])
    moved = base * shock_multiplier(shock, np.array([scenario.markets[n].beta for n in names]))
    return {name: float(value) for name, value in zip(names, moved)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Waypoint:
    """One turn of the learner's path: the shock [fraction] and the sliders' prices [USDT]."""

    shock: float
    prices: tuple[tuple[str, float], ...]

    def price_map(self) -> dict[str, float]:
        return dict(self.prices)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LabHistory:
    """The learner's own path through the lab, and the account three ways along it.

    ``waypoints[0]`` is the account's own prices with no shock (where the walk from the
    positions' entries arrives); each later waypoint is a turn of the path (a run of steps the
    same way on the same control is one waypoint). ``walks`` holds each variant walked along
    every step so far (see :mod:`margin.walk`); ``waypoint_of_move[k]`` is the waypoint that
    walk move ``k`` led to. ``start_equity`` is each variant's total equity on arrival at the
    account's own prices [USDT].
    """

    account_key: str
    scenario: Scenario
    waypoints: tuple[Waypoint, ...]
    walks: Mapping[str, Walk]
    waypoint_of_move: tuple[int, ...]
    start_equity: Mapping[str, float]

    @property
    def shock(self) -> float:
        return self.waypoints[-1].shock


def new_history(scenario: Scenario, account_key: str) -> LabHistory:
    """The account arrived at its own prices, three ways: each variant walked from the
    positions' entries to today's marks, so a position that would have died on the way (an
    isolated one under water, say) is already closed at its liquidation price."""
    walks = arrived_variants(scenario)
    start = {label: total_equity(walk) for label, walk in walks.items()}
    home = Waypoint(shock=0.0, prices=tuple((n, float(m.price)) for n, m in scenario.markets.items()))
    return LabHistory(account_key=account_key, scenario=scenario, waypoints=(home,), walks=walks,
                      waypoint_of_move=(0,), start_equity=start)


def _change(a: Waypoint, b: Waypoint) -> tuple[str, int] | None:
    """Which control moved from ``a`` to ``b`` and which way: ``("shock", -1)``,
    ``("BTCUSDT", +1)``; None when several moved or nothing did."""
    moved = [(name, np.sign(b.price_map()[name] - price)) for name, price in a.prices
             if b.price_map().get(name) != price]
    if b.shock != a.shock:
        moved.append(("shock", np.sign(b.shock - a.shock)))
    return (moved[0][0], int(moved[0][1])) if len(moved) == 1 else None


def move_history(history: LabHistory, slider_prices: Mapping[str, float], shock: float) -> LabHistory:
    """``history`` continued to the sliders' prices and ``shock`` [fraction]: every variant
    walks on from where it is (nothing closed reopens). The same history when nothing moved."""
    scenario = history.scenario
    point = Waypoint(shock=float(shock), prices=tuple(
        (n, float(slider_prices.get(n, m.price))) for n, m in scenario.markets.items()))
    last = history.waypoints[-1]
    if point == last:
        return history
    target = target_prices(scenario, point.price_map(), point.shock)
    walks = {label: walk_to(walk, target) for label, walk in history.walks.items()}
    waypoints = history.waypoints
    change = _change(last, point)
    if len(waypoints) > 1 and change is not None and change == _change(waypoints[-2], last):
        waypoints = waypoints[:-1] + (point,)  # the same control, the same way: one turn
    else:
        waypoints = waypoints + (point,)
    moves = max(w.moves for w in walks.values())
    mapping = history.waypoint_of_move + (len(waypoints) - 1,) * (moves + 1 - len(history.waypoint_of_move))
    return LabHistory(account_key=history.account_key, scenario=scenario, waypoints=waypoints, walks=walks,
                      waypoint_of_move=mapping, start_equity=history.start_equity)


def replay_history(history: LabHistory, waypoints: Sequence[Waypoint]) -> LabHistory:
    """``history`` walked through ``waypoints`` in turn (a shared link's path)."""
    for point in waypoints:
        history = move_history(history, point.price_map(), point.shock)
    return history


def waypoints_to_list(waypoints: Sequence[Waypoint]) -> list[list[Any]]:
    """The turns after the start, as a link holds them: ``[[shock %, {market: price}], ...]``.

    >>> waypoints_to_list([Waypoint(shock=0.0, prices=(("X", 1.0),)), Waypoint(shock=-0.15, prices=(("X", 1.0),))])
    [[-15.0, {'X': 1.0}]]
    """
    return [[round(p.shock * 100.0, 6), dict(p.prices)] for p in list(waypoints)[1:]]


def waypoints_from_list(raw: Sequence[Any]) -> list[Waypoint]:
    """The inverse of :func:`waypoints_to_list` (the link's codec has checked the values)."""
    return [Waypoint(shock=float(shock) / 100.0, prices=tuple((str(n), float(v)) for n, v in prices.items()))
            for shock, prices in raw]


def total_equity(walk: Walk) -> float:
    """What the account owns now [USDT] (:func:`margin.account.account_value`)."""
    state = walk.state
    return account_value(walk.scenario, walk.price_map(), sizes=state.sizes, margins=state.margins,
                         cross_wallet=state.cross_wallet)


# ----------------------------------------------------------------------------- one variant


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    """One position now, at the end of the learner's path.

    ``status`` is one of ``STATUS_NAMES``; ``distance`` [fraction] is how far its mark must
    move from ``price`` to reach ``liquidation_price`` (negative = down), ``None`` when closed
    or when no price within reach liquidates it. ``direction`` is the move that liquidates it
    (−1 down, +1 up, 0 none); ``against_side`` is true when that move is the one its own side
    gains from (a long liquidated by a rise): its pool loses the other way.
    """

    id: str
    label: str
    market: str
    side: str
    mode: str
    status: str
    size: float  # left open [base]
    price: float  # mark now [USDT]
    unrealized_pnl: float  # of the open part [USDT]
    realized_pnl: float  # of closes on the path [USDT]
    equity: float  # own equity (isolated) or the pool's (cross) [USDT]
    maintenance_margin: float  # own [USDT]
    liquidation_price: float | None
    bankruptcy_price: float | None
    distance: float | None
    closed_at: float | None  # fill price of its last close [USDT]
    partly_closed: bool
    direction: int = 0
    against_side: bool = False
    beyond_reach: bool = False
    closed_before_moves: bool = False  # closed on the way from its entry, before the learner moved


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
    """The account, one way (as built, all cross or all isolated), now."""

    label: str
    scenario: Scenario
    walk: Walk
    positions: tuple[PositionView, ...]
    has_cross: bool
    cross_open: bool
    cross_equity: float  # cross wallet + open cross PnL [USDT]
    cross_maintenance: float
    total_equity: float  # cross equity + equity of open isolated positions [USDT]
    total_maintenance: float
    start_equity: float  # total equity on arrival at the account's own prices [USDT]
    risk_ratio: float | None  # maintenance / equity of the riskiest open pool [fraction]
    risk_pool: str | None
    events: tuple[str, ...]
    pools: tuple[PoolGroup, ...]
    insurance_paid: float  # what the fund paid for losses beyond margin [USDT]
    socialized: float  # what it could not pay [USDT]


def _status_after(walk: Walk, index: int, position_id: str, open_status: int) -> str:
    if walk.state.sizes[index] > 0:
        return STATUS_NAMES[open_status]
    if any(e.type == "bankruptcy" and e.position == position_id for e in walk.events):
        return "bankrupt"
    return "liquidated"


def run_variant(label: str, walk: Walk, start_equity: float,
                when: Sequence[str] | None = None) -> VariantView:
    """Describe where ``walk`` has brought one variant of the account. ``when`` says, per
    event of the walk, on which part of the learner's path it happened."""
    scenario = walk.scenario
    state = walk.state
    target = walk.price_map()
    labels = position_labels(scenario)
    account = compile_account(scenario)
    sizes = np.array(state.sizes)
    value = value_account(account, np.array(walk.prices)[None, :], size=sizes, margin=np.array(state.margins),
                          cross_wallet=state.cross_wallet)
    edges = liquidation_prices(scenario, prices=target, sizes=state.sizes, margins=state.margins,
                               cross_wallet=state.cross_wallet)
    positions = []
    for i, p in enumerate(scenario.positions):
        closes = [(e, move) for e, move in zip(walk.events, walk.event_moves)
                  if e.position == p.id and e.type in ("liquidation", "partial_liquidation")]
        size = float(sizes[i])
        status = _status_after(walk, i, p.id, int(value.status[0, i]))
        liq = bank = distance = None
        direction, beyond = 0, False
        if size > 0:
            liq, bank = edges[i].liquidation_price, edges[i].bankruptcy_price
            direction, beyond = edges[i].direction, edges[i].beyond_reach
            if liq is not None:
                distance = liq / target[p.market] - 1.0
        positions.append(PositionView(
            id=p.id, label=labels[p.id], market=p.market, side=p.side, mode=p.mode, status=status,
            size=size, price=target[p.market],
            unrealized_pnl=float(value.unrealized_pnl[0, i]) if size > 0 else 0.0,
            realized_pnl=float(sum(e.realized_pnl for e, _ in closes)),
            equity=float(value.position_equity[0, i]),
            maintenance_margin=float(value.maintenance_margin[0, i]) if size > 0 else 0.0,
            liquidation_price=liq, bankruptcy_price=bank, distance=distance,
            closed_at=closes[-1][0].price if closes else None,
            partly_closed=bool(closes) and size > 0,
            direction=direction, against_side=direction != 0 and direction == p.sign,
            beyond_reach=beyond, closed_before_moves=size <= 0 and bool(closes) and closes[-1][1] == 0,
        ))

    open_ = sizes > 0
    cross_open = bool((open_ & ~account.isolated).any())
    iso_open = open_ & account.isolated
    cross_equity = float(value.cross_equity[0])
    cross_mm = float(value.cross_maintenance[0])
    total_mm = float(cross_mm + value.maintenance_margin[0][iso_open].sum())
    risk_ratio, risk_pool = None, None
    if cross_open:
        risk_ratio, risk_pool = margin_ratio(cross_equity, cross_mm), "cross pool"
    for i in np.flatnonzero(iso_open):
        ratio = margin_ratio(float(value.position_equity[0, i]), float(value.maintenance_margin[0, i]))
        if risk_ratio is None or ratio > risk_ratio:
            risk_ratio, risk_pool = ratio, f"{labels[scenario.positions[i].id]}, isolated"

    return VariantView(
        label=label, scenario=scenario, walk=walk, positions=tuple(positions),
        has_cross=bool((~account.isolated).any()), cross_open=cross_open,
        cross_equity=cross_equity, cross_maintenance=cross_mm,
        total_equity=total_equity(walk), total_maintenance=total_mm,
        start_equity=start_equity, risk_ratio=risk_ratio, risk_pool=risk_pool,
        events=tuple(describe_events(walk.events, scenario, labels, when)),
        pools=tuple(equity_pools(walk, labels)),
        insurance_paid=float(-sum(e.insurance_fund_delta for e in walk.events if e.type == "bankruptcy")),
        socialized=float(state.socialized_loss),
    )


def lab_views(history: LabHistory) -> dict[str, VariantView]:
    """The three variants where the learner's path has brought them (keys: as built, all
    cross, all isolated)."""
    views = {}
    for label, walk in history.walks.items():
        when = [moment_words(history, history.waypoint_of_move[move]) for move in walk.event_moves]
        views[label] = run_variant(label, walk, history.start_equity[label], when)
    return views


def waypoint_words(history: LabHistory, index: int) -> str:
    """A turn of the path in words: ``"a shock of −15.0 %"``, ``"BTC at 70,000.00 USDT"``."""
    point = history.waypoints[index]
    if index == 0:
        return "the account's own prices"
    before = history.waypoints[index - 1]
    change = _change(before, point)
    if change is not None and change[0] != "shock":
        return f"{market_label(change[0])} at {price(point.price_map()[change[0]])} USDT"
    text = f"a shock of {percent(point.shock, signed=True)}"
    moved = [n for n, v in point.prices if before.price_map().get(n) != v]
    if moved:
        text += " with " + join_words([f"{market_label(n)} at {price(point.price_map()[n])} USDT" for n in moved])
    return text


def moment_words(history: LabHistory, index: int) -> str:
    """When an event happened, for its sentence: before the learner moved anything, or on
    the way to a turn of the path."""
    if index == 0:
        return "before you moved anything, on the way from the positions' entries to today's prices"
    return f"on the way to {waypoint_words(history, index)}"


def path_words(history: LabHistory) -> str | None:
    """The learner's path so far in one clause, or None before the first move:
    ``"you went to a shock of −15.0 %, then back to a shock of 0.0 %"``."""
    if len(history.waypoints) <= 1:
        return None
    turns = [waypoint_words(history, k) for k in range(1, len(history.waypoints))]
    if len(turns) > 5:
        turns = turns[:2] + [f"{len(turns) - 4} more turns"] + turns[-2:]
    words = "you went to " + turns[0]
    for turn in turns[1:]:
        words += f", then to {turn}"
    return words


# ----------------------------------------------------------------------------- events in words


def describe_events(events: Sequence[Event], scenario: Scenario, labels: Mapping[str, str],
                    when: Sequence[str] | None = None) -> list[str]:
    """What happened on the path, in order, one sentence per close.

    A loss beyond margin (``bankruptcy``) and its socialized remainder are told in the sentence
    of the close that caused them. ``when``, one per event, starts each close's sentence
    ("On the way to a shock of −15.0 %: ...").
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
            if when is not None:
                moment = when[events.index(e)] if isinstance(events, list) else when[list(events).index(e)]
                text = f"{moment[0].upper()}{moment[1:]}: {text}"
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


def equity_pools(walk: Walk, labels: Mapping[str, str]) -> list[PoolGroup]:
    """Each margin pool's wallet (or margin), its positions' PnL and its equity, against its
    maintenance margin: now if it is still open, else just before it was liquidated."""
    scenario = walk.scenario
    account = compile_account(scenario)
    names = list(scenario.markets)
    state = walk.state
    now = (np.array(walk.prices), np.array(state.sizes), np.array(state.margins), state.cross_wallet)

    def moment_of(members: Sequence[int]):
        if any(state.sizes[i] > 0 for i in members):
            return now, "now"
        closed = [walk.before_close[i] for i in members if i in walk.before_close]
        if not closed:
            return now, "now"
        last = max(closed, key=lambda m: m.row)
        return (np.array(last.prices), np.array(last.sizes), np.array(last.margins), last.cross_wallet), "at the breach"

    groups: list[PoolGroup] = []
    cross = [i for i, p in enumerate(scenario.positions) if not p.is_isolated]
    if cross:
        (marks, size, margin, wallet), moment = moment_of(cross)
        v = value_account(account, marks[None, :], size=size, margin=margin, cross_wallet=wallet)
        bars = [PoolBar(label="Cross wallet", measure="absolute", value=float(wallet))]
        bars += [PoolBar(label=f"{labels[scenario.positions[i].id]} PnL", measure="relative",
                         value=float(v.unrealized_pnl[0, i])) for i in cross if size[i] > 0]
        bars.append(PoolBar(label="Cross equity", measure="total", value=float(v.cross_equity[0])))
        groups.append(PoolGroup(
            name="Cross pool", bars=tuple(bars), equity=float(v.cross_equity[0]),
            maintenance_margin=float(v.cross_maintenance[0]), moment=moment,
            prices={n: float(marks[j]) for j, n in enumerate(names)},
        ))
    iso_groups = []
    for i in [i for i, p in enumerate(scenario.positions) if p.is_isolated]:
        (marks, size, margin, wallet), moment = moment_of([i])
        v = value_account(account, marks[None, :], size=size, margin=margin, cross_wallet=wallet)
        name = labels[scenario.positions[i].id]
        equity = float(v.position_equity[0, i])
        iso_groups.append(PoolGroup(
            name=f"{name}, isolated",
            bars=(PoolBar(label=f"{name} margin", measure="absolute", value=float(margin[i])),
                  PoolBar(label=f"{name} PnL", measure="relative", value=float(v.unrealized_pnl[0, i])),
                  PoolBar(label=f"{name} equity", measure="total", value=equity)),
            equity=equity, maintenance_margin=float(v.maintenance_margin[0, i]), moment=moment,
            prices={n: float(marks[j]) for j, n in enumerate(names)},
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


def sweep_views(history: LabHistory, base: Mapping[str, float]) -> dict[str, SweepView]:
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


# ----------------------------------------------------------------------------- words


def account_warnings(scenario: Scenario) -> list[str]:
    """What is already wrong with the account at its own prices (the dashboard warns, not refuses).

    A pool that is below maintenance at today's prices would have been liquidated on the way
    there from the positions' entries: the lab starts with it closed, at its liquidation price.
    """
    out = []
    labels = position_labels(scenario)
    arrived = start_walk(scenario)
    entries = entry_prices(scenario)
    closed = {e.position: e for e in arrived.events if e.type == "liquidation"}
    cross_closed = [p for p in scenario.positions if not p.is_isolated and p.id in closed]
    if cross_closed:
        first = closed[cross_closed[0].id]
        out.append(f"On the way from the positions' entries to today's prices the cross pool would have fallen "
                   f"below maintenance (when {market_label(first.market)} reached {price(first.price)} USDT, from "
                   f"{price(entries[first.market])}): the lab starts with {join_words([labels[p.id] for p in cross_closed])} "
                   f"closed.")
    for p in scenario.positions:
        if p.is_isolated and p.id in closed:
            e = closed[p.id]
            out.append(f"{labels[p.id]} (isolated) would have been liquidated on the way from its entry at "
                       f"{price(p.entry)} USDT to today's {price(scenario.markets[p.market].price)} USDT, at "
                       f"{price(e.price)} USDT: the lab starts with it closed.")
    needed = sum(p.margin if p.is_isolated else p.initial_margin for p in scenario.positions)
    if needed > scenario.balance * (1 + 1e-9):
        out.append(f"The wallet ({money(scenario.balance)}) would not have covered the initial margin of "
                   f"these positions ({money(needed)}) when they were opened.")
    return out


def what_is_happening(views: Mapping[str, VariantView], sweeps: Mapping[str, SweepView],
                      shock: float, history: LabHistory | None = None) -> list[str]:
    """A few plain sentences about where the learner's path has brought the account, computed
    from the numbers the page shows."""
    built = views["As built"]
    isolated = views["All isolated"]
    out: list[str] = []
    if history is not None:
        out += _history_sentences(history, built)
    out += _prologue_sentences(views)
    cross_positions = [p for p in built.positions if p.mode == "cross"]
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
            out.append(f"From here, a whole-market shock of {percent(mark.shock, signed=True)} (now "
                       f"{percent(shock, signed=True)}) would liquidate the cross pool.")
    iso_lost = [p for p in isolated.positions if p.status in ("liquidated", "bankrupt")]
    iso_kept = [p for p in isolated.positions if p.status not in ("liquidated", "bankrupt")]
    if iso_lost and iso_kept:
        out.append(f"All isolated, each position stands on its own margin: {join_words([p.label for p in iso_lost])} "
                   f"{_verb(iso_lost, 'is', 'are')} closed, but {join_words([p.label for p in iso_kept])} "
                   f"{_verb(iso_kept, 'lives', 'live')} on.")
    elif iso_lost:
        out.append("All isolated, every position has been closed on its own margin too.")
    out.append(_comparison(built, isolated))
    equities = ", ".join(f"{v.label.lower()} {money(v.total_equity)}" for v in views.values())
    out.append(f"Equity now: {equities}.")
    return out


def _history_sentences(history: LabHistory, built: VariantView) -> list[str]:
    """The learner's path so far and what it closed, as built: closes are final."""
    path = path_words(history)
    if path is None:
        return []
    walk = built.walk
    labels = position_labels(walk.scenario)
    told = []
    cross_told = False
    for event, move in zip(walk.events, walk.event_moves):
        if event.type != "liquidation" or move == 0:
            continue
        where = waypoint_words(history, history.waypoint_of_move[move])
        if event.mode == "cross":
            if cross_told:
                continue
            cross_told = True
            told.append(f"the cross pool was liquidated on the way to {where}, when {market_label(event.market)} "
                        f"was at {price(event.price)} USDT")
        else:
            told.append(f"the {labels[event.position]} (isolated) was liquidated on the way to {where}, at "
                        f"{price(event.price)} USDT")
    if not told:
        return [f"So far {path}; nothing has been liquidated on the way."]
    text = f"{path[0].upper()}{path[1:]}: {join_words(told)}."
    return [text + " A liquidation is final: moving the prices back does not reopen a closed position "
                   "(Reset starts again from the account's own prices)."]


def _prologue_sentences(views: Mapping[str, VariantView]) -> list[str]:
    """What the walk from the positions' entries to today's prices closed, per variant: the
    comparison holds every variant to the same history."""
    out = []
    for view in views.values():
        closed = [p for p in view.positions if p.closed_before_moves]
        if closed:
            who = join_words([f"the {p.label}" for p in closed])
            out.append(f"{view.label}: on the way from the entries to today's prices {who} "
                       f"{_verb(closed, 'was', 'were')} already liquidated (at "
                       f"{join_words([price(p.closed_at) + ' USDT' for p in closed])}), so {view.label.lower()} "
                       f"starts without {_verb(closed, 'it', 'them')}.")
    return out


def _comparison(built: VariantView, isolated: VariantView) -> str:
    """Which way holds more equity now, and why, from the equity and the closes the page shows."""
    a, b = built.total_equity, isolated.total_equity
    by_id = {p.id: p for p in built.positions}
    margins = {p.id: p.margin for p in isolated.scenario.positions}
    subsidy = "".join(f" {view.label} counts {money(view.insurance_paid)} of losses beyond margin that the "
                      f"insurance fund paid." for view in (built, isolated) if view.insurance_paid > 0.005)
    if abs(a - b) < 0.005:
        return f"As built and all isolated hold the same equity now, {money(a)}.{subsidy}"
    only_iso = [p for p in isolated.positions if p.size <= 0 and by_id[p.id].size > 0]
    only_built = [p for p in built.positions if p.size <= 0
                  and next(q for q in isolated.positions if q.id == p.id).size > 0]
    reasons = []
    for p in only_iso:
        kept = by_id[p.id]
        if b > a and kept.unrealized_pnl < 0:
            reasons.append(f"on its own margin the {p.label} was liquidated and lost at most that margin "
                           f"({money(margins[p.id])}), while in one pool it is still open, "
                           f"{money(-kept.unrealized_pnl)} under water, carried by the others")
        elif a > b:
            reasons.append(f"on its own margin the {p.label} was liquidated, while in one pool the others kept it open")
    if only_built and b > a:
        reasons.append(f"as built, one pool's loss took the {join_words([p.label for p in only_built])} with it, "
                       f"while isolated each loss stopped at its own margin")
    why = f": {'; '.join(reasons)}" if reasons else ""
    if a > b:
        return f"Here sharing helps: as built holds {money(a)}, all isolated {money(b)}{why}.{subsidy}"
    return f"Here isolation holds more: all isolated {money(b)}, as built {money(a)}{why}.{subsidy}"


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
    """The scenario dict as canonical JSON text: the key of the account (a new key, a new path)."""
    return json.dumps(raw, sort_keys=True, separators=(",", ":"))


@st.cache_data(max_entries=16, show_spinner=False)
def cached_start(account_key: str, _scenario: Scenario) -> LabHistory:
    """:func:`new_history` once per account (sessions share it; it is never changed, only
    continued into new objects)."""
    return new_history(_scenario, account_key)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_sweep(state_key: tuple, label: str, _walk: Walk, base: tuple[tuple[str, float], ...]) -> SweepView:
    """:func:`sweep_view` of one variant as it stands now; ``state_key`` names the account and
    its state (what is open, the wallet), so a step that closes nothing reuses it."""
    return sweep_view(label, scenario_now(_walk), dict(base))


def walk_state_key(account_key: str, walk: Walk) -> tuple:
    """What a variant's sweep depends on: the account and its state now."""
    state = walk.state
    return (account_key, walk.scenario.name, state.sizes, state.margins, state.cross_wallet)


def _count(lost, positions) -> str:
    """"1 of 2 positions", "none of 2 positions"."""
    return f"{len(lost) or 'none'} of {len(positions)} position{'s' if len(positions) != 1 else ''}"
