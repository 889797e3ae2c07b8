"""The price lab's numbers: the learner's own path through the lab, and the account three ways
along it.

* The **target** price of market ``m`` is ``slider price × (1 + beta_m × shock)``, never
  below 1 % of the slider price (the engine's one shock rule, :func:`margin.sweep.shock_multiplier`).
* Each variant of :func:`margin.variants.account_variants` (as built, all cross, all isolated),
  and "collateral in USDT" where the account's pool counts collateral a market moves
  (:func:`lab_variants`), first walks from its positions' entries to the account's own prices, then along every step
  the learner takes, each step a straight walk from the last prices to the new ones
  (:mod:`margin.walk`): a liquidation on the way stays happened until Reset.

Pure (no Streamlit) and tested directly; the caches that share it between sessions are in
``ui/lab/session.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from margin.account import (
    STATUS_NAMES, CompiledAccount, account_value, compile_account, liquidation_prices, margin_ratio, owned_value,
    pnl_fraction, return_on_margin, value_account,
)
from margin.scenario import Scenario, scenario_from_dict  # noqa: F401 (doctests)
from margin.sweep import shock_multiplier
from margin.variants import arrived_variants, variant_labels
from margin.limits import MAX_LINK_PATH_ROWS
from margin.walk import MAX_ROWS_PER_MOVE, Walk, walk_to
from ui.common.words import position_labels

MAX_POOLS_SHOWN = 8  # isolated positions drawn in the equity-sharing picture
MAX_WAYPOINTS = 64  # turns of the learner's path a link can carry


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


def lab_variants(scenario: Scenario) -> tuple[str, ...]:
    """The ways the lab shows the account: as built, all cross, all isolated, and "collateral in
    USDT" (:func:`margin.variants.collateral_in_usdt`) where its pool counts collateral a market
    moves; absent when the account holds only USDT (:func:`margin.variants.variant_labels`, the
    one choice the lab, the replay and the stress lab share).

    >>> s = scenario_from_dict({"balance": 0, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
    ...     "collateral": [{"asset": "BTC", "amount": 1, "market": "BTC"}], "positions": []})
    >>> lab_variants(s)[-1]
    'Collateral in USDT'
    >>> lab_variants(scenario_from_dict({"balance": 10, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
    ...     "positions": []}))
    ('As built', 'All cross', 'All isolated')
    """
    return variant_labels(scenario)


def arrived_lab_variants(scenario: Scenario) -> dict[str, Walk]:
    """Every way of :func:`lab_variants`, walked from the positions' entries to today's prices.
    The USDT twin holds the collateral's value at today's prices, so it arrives with the same
    equity and only the moves from here differ (:func:`margin.variants.arrived_variants`)."""
    return arrived_variants(scenario)


def new_history(scenario: Scenario, account_key: str) -> LabHistory:
    """The account arrived at its own prices, each way of :func:`lab_variants`: each walked from
    the positions' entries to today's marks, so a position that would have died on the way (an
    isolated one under water, say) is already closed at its liquidation price."""
    walks = arrived_lab_variants(scenario)
    start = {label: total_equity(walk) for label, walk in walks.items()}
    home = Waypoint(shock=0.0, prices=tuple((n, float(m.price)) for n, m in scenario.markets.items()))
    return LabHistory(account_key=account_key, scenario=scenario, waypoints=(home,), walks=walks,
                      waypoint_of_move=(0,), start_equity=start)


def change_between(a: Waypoint, b: Waypoint) -> tuple[str, int] | None:
    """Which control moved from ``a`` to ``b`` and which way: ``("shock", -1)``,
    ``("BTCUSDT", +1)``; None when several moved or nothing did."""
    moved = [(name, np.sign(b.price_map()[name] - price)) for name, price in a.prices
             if b.price_map().get(name) != price]
    if b.shock != a.shock:
        moved.append(("shock", np.sign(b.shock - a.shock)))
    return (moved[0][0], int(moved[0][1])) if len(moved) == 1 else None


def move_history(history: LabHistory, slider_prices: Mapping[str, float], shock: float, *,
                 max_rows: int = MAX_ROWS_PER_MOVE) -> LabHistory:
    """``history`` continued to the sliders' prices and ``shock`` [fraction]: every variant
    walks on from where it is (nothing closed reopens), in at most ``max_rows`` rows. The same
    history when nothing moved."""
    scenario = history.scenario
    point = Waypoint(shock=float(shock), prices=tuple(
        (n, float(slider_prices.get(n, m.price))) for n, m in scenario.markets.items()))
    last = history.waypoints[-1]
    if point == last:
        return history
    target = target_prices(scenario, point.price_map(), point.shock)
    walks = {label: walk_to(walk, target, max_rows=max_rows) for label, walk in history.walks.items()}
    waypoints = history.waypoints
    change = change_between(last, point)
    if len(waypoints) > 1 and change is not None and change == change_between(waypoints[-2], last):
        waypoints = waypoints[:-1] + (point,)  # the same control, the same way: one turn
    else:
        waypoints = waypoints + (point,)
    moves = max(w.moves for w in walks.values())
    mapping = history.waypoint_of_move + (len(waypoints) - 1,) * (moves + 1 - len(history.waypoint_of_move))
    return LabHistory(account_key=history.account_key, scenario=scenario, waypoints=waypoints, walks=walks,
                      waypoint_of_move=mapping, start_equity=history.start_equity)


def replay_history(history: LabHistory, waypoints: Sequence[Waypoint]) -> LabHistory:
    """``history`` walked through ``waypoints`` in turn (a shared link's path), in at most
    :data:`margin.limits.MAX_LINK_PATH_ROWS` rows in all: the turns of a long, wide path are
    walked in coarser rows, so that a link costs the server a bounded time."""
    rows_per_turn = min(MAX_ROWS_PER_MOVE, max(1, MAX_LINK_PATH_ROWS // max(len(waypoints), 1)))
    for point in waypoints:
        history = move_history(history, point.price_map(), point.shock, max_rows=rows_per_turn)
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
    reach: float | None = None  # [USDT] the highest price the engine looked at (LiquidationPrice.reach)
    closed_before_moves: bool = False  # closed on the way from its entry, before the learner moved
    roe: float | None = None  # unrealized PnL ÷ initial margin of the open part [fraction]
    pnl_percent: float | None = None  # unrealized PnL ÷ the open part's value at entry [fraction]


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
    pools: tuple[PoolGroup, ...]  # the equity-sharing picture's pools; empty unless drawn (run_variant)
    insurance_paid: float  # what the fund paid for losses beyond margin [USDT]
    socialized: float  # what it could not pay [USDT]


CLOSE_EVENTS = ("liquidation", "partial_liquidation", "stop_loss", "take_profit")  # what closes a position
ORDER_STATUS = {"stop_loss": "closed by stop-loss", "take_profit": "closed by take-profit"}


def _status_after(walk: Walk, index: int, position_id: str, open_status: int, last_close: str | None) -> str:
    if walk.state.sizes[index] > 0:
        return STATUS_NAMES[open_status]
    if last_close in ORDER_STATUS:  # its own order closed it: not a liquidation
        return ORDER_STATUS[last_close]
    if any(e.type == "bankruptcy" and e.position == position_id for e in walk.events):
        return "bankrupt"
    return "liquidated"


def _position_views(walk: Walk, value: Any, labels: Mapping[str, str]) -> tuple[PositionView, ...]:
    """Each position where ``walk`` has brought it: open with its edges, or closed and how."""
    scenario, state = walk.scenario, walk.state
    target = walk.price_map()
    edges = liquidation_prices(scenario, prices=target, sizes=state.sizes, margins=state.margins,
                               cross_wallet=state.cross_wallet)
    closes_of: dict[str, list] = {}  # each position's closes, in the walk's order
    for e, move in zip(walk.events, walk.event_moves):
        if e.type in CLOSE_EVENTS:
            closes_of.setdefault(e.position, []).append((e, move))
    sizes, entries = np.array(state.sizes, dtype=float), np.array([p.entry for p in scenario.positions], dtype=float)
    roe = return_on_margin(value.unrealized_pnl[0], sizes, entries, [p.leverage for p in scenario.positions])
    pnl_percent = pnl_fraction(value.unrealized_pnl[0], sizes, entries)  # elementwise: each one's own bits
    views = []
    for i, p in enumerate(scenario.positions):
        closes = closes_of.get(p.id, [])
        size = float(state.sizes[i])
        status = _status_after(walk, i, p.id, int(value.status[0, i]), closes[-1][0].type if closes else None)
        liq = bank = distance = None
        direction, beyond, reach = 0, False, None
        if size > 0:
            liq, bank = edges[i].liquidation_price, edges[i].bankruptcy_price
            direction, beyond, reach = edges[i].direction, edges[i].beyond_reach, edges[i].reach
            if liq is not None:
                distance = liq / target[p.market] - 1.0
        views.append(PositionView(
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
            beyond_reach=beyond, reach=reach, closed_before_moves=size <= 0 and bool(closes) and closes[-1][1] == 0,
            roe=float(roe[i]) if size > 0 else None, pnl_percent=float(pnl_percent[i]) if size > 0 else None,
        ))
    return tuple(views)


def _riskiest_pool(value: Any, account: Any, open_: np.ndarray, labels: Mapping[str, str],
                   scenario: Scenario) -> tuple[float | None, str | None]:
    """The highest maintenance / equity [fraction] among the open pools, and that pool's name."""
    risk_ratio, risk_pool = None, None
    if (open_ & ~account.isolated).any():
        risk_ratio = margin_ratio(float(value.cross_equity[0]), float(value.cross_maintenance[0]))
        risk_pool = "cross pool"
    for i in np.flatnonzero(open_ & account.isolated):
        ratio = margin_ratio(float(value.position_equity[0, i]), float(value.maintenance_margin[0, i]))
        if risk_ratio is None or ratio > risk_ratio:
            risk_ratio, risk_pool = ratio, f"{labels[scenario.positions[i].id]}, isolated"
    return risk_ratio, risk_pool


def run_variant(label: str, walk: Walk, start_equity: float, *, drawn: bool = True) -> VariantView:
    """Where ``walk`` has brought one variant of the account (its events are put in words by
    :func:`ui.lab.words.lab_views`). Its equity-sharing pools (:func:`equity_pools`: one
    valuation now, one per pool shown at its breach) are built only when ``drawn`` (the variant the lab's charts show);
    otherwise ``pools`` is empty."""
    scenario, state = walk.scenario, walk.state
    labels = position_labels(scenario)
    account = compile_account(scenario)
    sizes = np.array(state.sizes)
    value = value_account(account, np.array(walk.prices)[None, :], size=sizes, margin=np.array(state.margins),
                          cross_wallet=state.cross_wallet)
    open_ = sizes > 0
    cross_open = bool((open_ & ~account.isolated).any())
    iso_open = open_ & account.isolated
    cross_equity = float(value.cross_equity[0])
    cross_mm = float(value.cross_maintenance[0])
    total_mm = float(cross_mm + value.maintenance_margin[0][iso_open].sum())
    risk_ratio, risk_pool = _riskiest_pool(value, account, open_, labels, scenario)

    return VariantView(
        label=label, scenario=scenario, walk=walk, positions=_position_views(walk, value, labels),
        has_cross=bool((~account.isolated).any()), cross_open=cross_open,
        cross_equity=cross_equity, cross_maintenance=cross_mm,
        total_equity=float(owned_value(value, sizes, account.isolated)[0]), total_maintenance=total_mm,
        start_equity=start_equity, risk_ratio=risk_ratio, risk_pool=risk_pool,
        events=(),  # told in words by ui.lab.words.lab_views, with when each happened
        pools=tuple(equity_pools(walk, labels, account)) if drawn else (),
        insurance_paid=float(-sum(e.insurance_fund_delta for e in walk.events if e.type == "bankruptcy")),
        socialized=float(state.socialized_loss),
    )


# ----------------------------------------------------------------------------- equity sharing


def equity_pools(walk: Walk, labels: Mapping[str, str], account: CompiledAccount | None = None) -> list[PoolGroup]:
    """Each margin pool's wallet (or margin), its positions' PnL and its equity, against its
    maintenance margin: now if it is still open, else just before it was liquidated.
    ``account``: ``compile_account(walk.scenario)`` where the caller has it already."""
    scenario = walk.scenario
    account = compile_account(scenario) if account is None else account
    names = list(scenario.markets)
    state = walk.state
    now = (np.array(walk.prices), np.array(state.sizes), np.array(state.margins), state.cross_wallet)

    now_value = value_account(account, now[0][None, :], size=now[1], margin=now[2], cross_wallet=now[3])

    def moment_of(members: Sequence[int]):  # the pool's state, when, and its valuation (now: one for all)
        closed = [walk.before_close[i] for i in members if i in walk.before_close]
        if any(state.sizes[i] > 0 for i in members) or not closed:
            return now, "now", now_value
        last = max(closed, key=lambda m: m.row)
        at = (np.array(last.prices), np.array(last.sizes), np.array(last.margins), last.cross_wallet)
        return at, "at the breach", value_account(account, at[0][None, :], size=at[1], margin=at[2], cross_wallet=at[3])

    groups: list[PoolGroup] = []
    cross = [i for i, p in enumerate(scenario.positions) if not p.is_isolated]
    if cross:
        (marks, size, margin, wallet), moment, v = moment_of(cross)
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
        (marks, size, margin, wallet), moment, v = moment_of([i])
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


def walk_state_key(account_key: str, walk: Walk) -> tuple:
    """What a variant's sweep depends on: the account and its state now."""
    state = walk.state
    return (account_key, walk.scenario.name, state.sizes, state.margins, state.cross_wallet)
