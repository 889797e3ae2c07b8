"""An account walked along a learner's own path of prices, one move at a time.

A :class:`Walk` is the account after every move so far: it starts where the positions were
opened (each market at the size-weighted mean entry of its positions) and walks in a straight
line to today's prices (the account's own marks), so that a position that would have died on
the way is already closed when the learner arrives; every later move (a slider step, a typed
price, a link, a lesson) walks straight on from the last prices to the new ones. Each move is
one call of :func:`margin.simulate.simulate` that continues from where the last one ended:
what was closed stays closed, and a move costs the rows of that move only, never the whole
history again. Walking the moves one by one gives exactly what ``simulate`` gives on the
concatenated path (a property the tests check).

Rows are at most :data:`STEP_MOVE` of a price apart, but they are only where the straight
line is sampled: the walk is invented between the learner's prices, so a breach is settled at
its exact crossing on the line (``simulate``'s ``crossing="settle"``, :mod:`margin.crossing`),
and a liquidation fills at the liquidation price itself, not up to a row past it. (A replay
of observed marks is different: the venue saw only those marks, see :mod:`margin.replay`.)

>>> from margin.scenario import scenario_from_dict
>>> s = scenario_from_dict({"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
...                    "leverage": 10, "mode": "cross"}]})
>>> w = start_walk(s)
>>> down = walk_to(w, {"BTC": 85.0})
>>> [e.type for e in down.events], round(down.events[0].price, 6)  # 1000 + 100 (p − 100) = 0.01 × 100 p
(['liquidation'], 90.909091)
>>> back = walk_to(down, {"BTC": 100.0})
>>> back.state.open_positions  # back at the start price, the long is still closed
()
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from margin.crossing import point
from margin.scenario import Scenario
from margin.settle import Settler
from margin.simulate import Event, FinalState, PricePath, simulate

STEP_MOVE = 0.0005  # at most 0.05 % of a price from one row to the next [fraction]
MAX_ROWS_PER_MOVE = 20_000  # a move of more than 1,000 % is walked in coarser rows


def entry_prices(scenario: Scenario) -> dict[str, float]:
    """Where each market stood when its positions were opened [quote per base]: the
    size-weighted mean entry of its positions; a market without positions is at its price.

    >>> from margin.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"balance": 100, "markets": {"X": {"price": 10, "mmr": 0.01},
    ...     "Y": {"price": 5, "mmr": 0.01}}, "positions": [
    ...     {"id": "a", "market": "X", "side": "long", "size": 1, "entry": 8, "leverage": 1},
    ...     {"id": "b", "market": "X", "side": "short", "size": 3, "entry": 12, "leverage": 1}]})
    >>> entry_prices(s)
    {'X': 11.0, 'Y': 5.0}
    """
    out: dict[str, float] = {}
    for name, market in scenario.markets.items():
        held = [p for p in scenario.positions if p.market == name]
        size = sum(p.size for p in held)
        out[name] = sum(p.size * p.entry for p in held) / size if size > 0 else market.price
    return out


def straight_rows(start: np.ndarray, end: np.ndarray, max_rows: int = MAX_ROWS_PER_MOVE) -> np.ndarray:
    """Mark prices ``(n, M)`` of a straight move from ``start`` (excluded) to ``end`` (the last
    row), no price moving more than :data:`STEP_MOVE` between rows (coarser past ``max_rows``
    rows); none when they are equal.

    >>> straight_rows(np.array([100.0]), np.array([99.0])).shape
    (20, 1)
    >>> straight_rows(np.array([100.0]), np.array([100.0])).shape
    (0, 1)
    """
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    if np.array_equal(start, end):
        return np.empty((0, start.shape[0]))
    move = float(np.max(np.abs(end / start - 1.0)))
    n = int(min(max(math.ceil(move / STEP_MOVE - 1e-9), 1), max(int(max_rows), 1)))
    t = np.arange(1, n + 1)[:, None] / n
    rows = start + (end - start) * t
    rows[-1] = end  # exactly the target, whatever the rounding
    return rows


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Moment:
    """The account at one row [quote]: the marks, sizes, isolated margins and cross wallet."""

    row: int
    prices: tuple[float, ...]
    sizes: tuple[float, ...]
    margins: tuple[float, ...]
    cross_wallet: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Walk:
    """The account after every move so far.

    ``prices`` are the marks now (market order); ``state`` where the last move ended (it
    continues the next); ``events`` every event since the start, ``row`` and ``step`` both
    counting rows from the start (row 0 is the entry prices); ``event_moves`` the move each
    event happened on (0 = the walk from the entries to today's prices); ``before_close`` the
    account just before each position's full close, by position index (the equity-sharing
    picture draws a closed pool at that moment).
    """

    scenario: Scenario
    prices: tuple[float, ...]
    state: FinalState
    events: tuple[Event, ...]
    event_moves: tuple[int, ...]
    rows: int
    moves: int
    before_close: Mapping[int, Moment]

    def price_map(self) -> dict[str, float]:
        """The marks now, by market name [quote per base]."""
        return dict(zip(self.scenario.markets, self.prices))


def _initial_state(scenario: Scenario) -> FinalState:
    positions = scenario.positions
    settler = Settler(scenario)
    return FinalState(
        balance=scenario.balance, cross_wallet=scenario.cross_wallet,
        insurance_fund=scenario.rules.insurance_fund, socialized_loss=0.0,
        open_positions=tuple(p.id for p in positions), sizes=tuple(p.size for p in positions),
        margins=tuple((p.margin or 0.0) if p.is_isolated else 0.0 for p in positions), bankrupt=False,
        **settler.entry_extras(settler.new_state()),
    )


def start_walk(scenario: Scenario, *, from_entries: bool = True) -> Walk:
    """The account arrived at today's prices: walked from its positions' entries (row 0) to
    the scenario's own marks (move 0), or, with ``from_entries=False``, judged at today's
    prices alone."""
    names = list(scenario.markets)
    today = np.array([scenario.markets[n].price for n in names])
    origin = np.array([entry_prices(scenario)[n] for n in names]) if from_entries else today
    empty = Walk(scenario=scenario, prices=tuple(map(float, origin)), state=_initial_state(scenario),
                 events=(), event_moves=(), rows=0, moves=0, before_close={})
    first = _walk_rows(empty, origin[None, :], move=0, first_row=0)
    return _walk_rows(first, straight_rows(origin, today), move=0, first_row=1)


def walk_to(walk: Walk, target: Mapping[str, float], *, move: int | None = None,
            max_rows: int = MAX_ROWS_PER_MOVE) -> Walk:
    """``walk`` continued in a straight line from its prices to ``target`` (markets it does
    not name stay where they are), as move number ``move`` (default: the next one), in at most
    ``max_rows`` rows. The same walk when nothing moves."""
    names = list(walk.scenario.markets)
    start = np.array(walk.prices)
    end = np.array([float(target.get(n, start[j])) for j, n in enumerate(names)])
    rows = straight_rows(start, end, max_rows)
    if rows.shape[0] == 0:
        return walk
    return _walk_rows(walk, rows, move=walk.moves + 1 if move is None else move, first_row=walk.rows)


def _walk_rows(walk: Walk, rows: np.ndarray, *, move: int, first_row: int) -> Walk:
    """Walk the rows ``rows`` (numbered from ``first_row``), continuing from ``walk.state``."""
    if rows.shape[0] == 0:
        return walk
    scenario = walk.scenario
    names = tuple(scenario.markets)
    steps = np.arange(first_row, first_row + rows.shape[0])
    path = PricePath(steps=steps, markets=names, marks=rows)
    origin = np.array(walk.prices) if walk.rows > 0 else None  # where the last move ended
    result = simulate(scenario, path, trace=True, start=walk.state, crossing="settle", before=origin)
    trace = result.trace
    assert trace is not None  # simulate was asked for one
    before = dict(walk.before_close)
    ids = {p.id: i for i, p in enumerate(scenario.positions)}
    events = []
    for event in result.events:
        local = event.row
        if event.type == "liquidation":
            if local == 0:
                sizes, margins, wallet = walk.state.sizes, walk.state.margins, walk.state.cross_wallet
            else:
                sizes = tuple(map(float, trace.size[local - 1]))
                margins = tuple(map(float, trace.isolated_margin[local - 1]))
                wallet = float(trace.cross_wallet[local - 1])
            marks = rows[local]
            previous = rows[local - 1] if local > 0 else origin
            if event.crossing_fraction is not None and previous is not None:
                marks = point(previous, rows[local], event.crossing_fraction)  # settled at the crossing
            before[ids[event.position]] = Moment(row=first_row + local, prices=tuple(map(float, marks)),
                                                 sizes=sizes, margins=margins, cross_wallet=wallet)
        events.append(replace(event, row=first_row + local))
    return Walk(
        scenario=scenario, prices=tuple(map(float, rows[-1])), state=result.final,
        events=walk.events + tuple(events), event_moves=walk.event_moves + (move,) * len(events),
        rows=first_row + rows.shape[0], moves=max(walk.moves, move), before_close=before,
    )


def scenario_now(walk: Walk) -> Scenario:
    """The account as it stands after the walk: the positions still open (with their sizes and
    margins now), the wallet now (cross wallet plus the isolated margins still locked), the
    collateral now (a coin's: its cross wallet plus its open isolated margins), the USDT
    insurance fund now and the marks now. (A coin's insurance fund starts again from the USDT
    fund's value in the coin: the scenario format has one fund.)"""
    scenario = walk.scenario
    state = walk.state
    positions = tuple(
        replace(p, size=float(state.sizes[i]), margin=float(state.margins[i]) if p.is_isolated else None)
        for i, p in enumerate(scenario.positions) if state.sizes[i] > 0)
    rules = replace(scenario.rules, insurance_fund=float(state.insurance_fund))
    collateral = tuple(replace(c, amount=max(float(state.held[k]), 0.0)) for k, c in enumerate(scenario.collateral)) \
        if state.held else scenario.collateral
    return replace(scenario.with_prices(walk.price_map()), balance=float(state.balance), rules=rules,
                   positions=positions, collateral=collateral)
