"""Where, within one step of a path, a breach begins: the exact crossing.

Between two rows of a path the marks are taken to move in a straight line,
``p(t) = before + t × (after − before)`` for ``t`` in [0, 1]. A pool's equity less its
maintenance (the cross pool, or an isolated position on its margin) is then piecewise linear in
``t``, bending only where a member's notional crosses a tier floor (mark basis), so the first
``t`` at which the venue's trigger (:meth:`margin.scenario.Rules.breached`) holds is solved on
its segment in closed form, then confirmed by the trigger itself on both sides (bisecting to
neighbouring floats where rounding left it a hair off).

What a crossing means depends on where the path's rows come from (``simulate``'s ``crossing``):

* ``"settle"``: the rows are invented, as the price lab's straight walk (:mod:`margin.walk`)
  samples a straight move every 0.05 % of a price. The account is settled *at* the crossing:
  a liquidation fills at the liquidation price itself, not up to a row past it. A pool settled
  at its crossing is judged again only at the row's own mark (a style that closes just enough
  closes again there if the move went on); a Hyperliquid slice's cooldown lasts the row.
* ``"report"``: the rows are observed marks (a crash, imported candles). The venue saw the
  observed mark, judged and filled there; nothing is invented in between. The event keeps the
  observed mark as its price and says where the straight line between the two observed marks
  crossed (``Event.crossing``, ``Event.crossing_fraction``): a reading aid, not a fill.
* ``None`` (the default, and the stress lab's): nothing is computed between rows.

Either way a row at which nothing is breached at its own mark is left alone (with maintenance
convex in the notional, as every tier table with rising rates makes it, a pool breached inside
a straight step is breached at one of its ends), and a funding row is judged at its mark, where
its funding is charged.

>>> from margin.scenario import scenario_from_dict
>>> from margin.settle import Settler
>>> s = scenario_from_dict({"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
...                    "leverage": 10, "mode": "cross"}]})
>>> settler = Settler(s)
>>> t = breach_fraction(settler, settler.new_state(), np.array([92.0]), np.array([90.0]))
>>> round(92.0 + t * (90.0 - 92.0), 9)  # the liquidation price 9000 / 99
90.909090909
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Collection

import numpy as np

from margin.settle import SettlementState, Settler

CROSSING_MODES = (None, "report", "settle")
CROSS = "cross"  # the cross pool's key among the pools (isolated positions are keyed by index)
Pool = tuple[Any, list[int]]


def point(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """The marks a fraction ``t`` of the way from ``before`` to ``after`` (exactly ``after`` at 1)."""
    return after.copy() if t >= 1.0 else before + t * (after - before)


def open_pools(settler: Settler, state: SettlementState) -> list[Pool]:
    """The pools a breach is judged on: the cross pool (its open positions), each open
    isolated position."""
    cross = [i for i in settler.cross if state.size[i] > 0]
    pools: list[Pool] = [(CROSS, cross)] if cross else []
    return pools + [(i, [i]) for i in settler.isolated if state.size[i] > 0]


def pool_of(settler: Settler, i: int) -> Any:
    """The key of position ``i``'s pool."""
    return i if settler.positions[i].is_isolated else CROSS


def _gap(settler: Settler, state: SettlementState, pool: Pool, prices: np.ndarray) -> tuple[float, float]:
    """(equity, maintenance) [quote] of ``pool`` at ``prices``."""
    key, members = pool
    equity = state.cross_wallet if key == CROSS else float(state.margin[key])
    maintenance = 0.0
    for i in members:
        price = float(prices[settler.col[i]])
        equity += settler.pnl(i, state.size[i], price)
        maintenance += settler.maintenance(i, state.size[i], price)
    return equity, maintenance


def any_breached(settler: Settler, state: SettlementState, prices: np.ndarray) -> bool:
    """Whether some pool is breached at ``prices``."""
    return any(settler.rules.breached(*_gap(settler, state, pool, prices)) for pool in open_pools(settler, state))


def _bends(settler: Settler, state: SettlementState, members: list[int], before: np.ndarray,
           after: np.ndarray) -> list[float]:
    """0, 1 and every ``t`` between where a member's notional crosses a tier floor, ascending."""
    ts = {0.0, 1.0}
    if not settler.entry_basis:
        for i in members:
            a, b = float(before[settler.col[i]]), float(after[settler.col[i]])
            if a == b:
                continue
            for floor in settler.markets[i].tier_lists[0][1:]:
                t = (floor / state.size[i] - a) / (b - a)
                if 0.0 < t < 1.0:
                    ts.add(t)
    return sorted(ts)


def pool_fraction(settler: Settler, state: SettlementState, pool: Pool, before: np.ndarray,
                  after: np.ndarray) -> float | None:
    """The first ``t`` in [0, 1] at which ``pool`` is breached on the straight move from
    ``before`` to ``after``, to the neighbouring float (0: breached at the start); None when it
    is not breached at any bend of the move (nor, then, between them)."""
    def breached(t: float) -> bool:
        return bool(settler.rules.breached(*_gap(settler, state, pool, point(before, after, t))))

    ts = _bends(settler, state, pool[1], before, after)
    gaps = []
    for k, t in enumerate(ts):
        equity, maintenance = _gap(settler, state, pool, point(before, after, t))
        if settler.rules.breached(equity, maintenance):
            if k == 0:
                return 0.0
            low, high, e_low = ts[k - 1], t, gaps[-1]
            e_high = equity - maintenance
            guess = low + (high - low) * e_low / (e_low - e_high) if e_low != e_high else high
            return _first_true(breached, low, high, guess)
        gaps.append(equity - maintenance)
    return None


def _first_true(holds: Callable[[float], bool], low: float, high: float, guess: float) -> float:
    """The smallest ``t`` in (``low``, ``high``] where ``holds`` (false at ``low``, true at
    ``high``), to neighbouring floats: the guess first, a hair toward ``low`` from it, then halving."""
    guess = min(max(guess, low), high)
    for probe in (guess, guess - 1e-14 * max(1.0, abs(guess))):
        if low < probe < high:
            if holds(probe):
                high = probe
            else:
                low = probe
    for _ in range(100):
        if high - low <= 2 * math.ulp(high):
            break
        middle = low + (high - low) / 2
        if holds(middle):
            high = middle
        else:
            low = middle
    return float(high)


def breach_fraction(settler: Settler, state: SettlementState, before: np.ndarray, after: np.ndarray,
                    skip: Collection[Any] = ()) -> float | None:
    """The first ``t`` in (0, 1) at which any pool not in ``skip`` (pool keys) becomes breached
    on the straight move from ``before`` to ``after``; None if none does before the end (a
    pool breached at the start is the row's, not a crossing)."""
    found = []
    for pool in open_pools(settler, state):
        if pool[0] in skip:
            continue
        t = pool_fraction(settler, state, pool, before, after)
        if t is not None and 0.0 < t < 1.0:
            found.append(t)
    return min(found) if found else None


def _mark(state: SettlementState, first: int, settler: Settler, fractions: dict[Any, float],
          before: np.ndarray, after: np.ndarray, at: np.ndarray | None = None) -> None:
    """Write each liquidation from event ``first`` on with where its pool crossed (at the
    marks ``at`` when given: where it was settled)."""
    index = {p.id: i for i, p in enumerate(settler.positions)}
    for k in range(first, len(state.events)):
        event = state.events[k]
        if event.type not in ("liquidation", "partial_liquidation"):
            continue
        i = index[event.position]
        t = fractions.get(pool_of(settler, i))
        if t is None or t <= 0.0:
            continue
        crossed = float((point(before, after, t) if at is None else at)[settler.col[i]])
        state.events[k] = replace(event, crossing=crossed, crossing_fraction=float(t))


def settle_row(settler: Settler, state: SettlementState, prices: np.ndarray, row: int, step: Any,
               mode: str | None, before: np.ndarray | None = None) -> int:
    """Settle row ``row`` of ``prices`` (marks ``(N, M)``) as ``mode`` says (see the module);
    ``before`` is the marks just before row 0 (where an earlier walk left the account), if
    known. Returns how many events were added."""
    after = prices[row]
    previous = prices[row - 1] if row > 0 else before
    if mode is None or previous is None or not any_breached(settler, state, after):
        return settler.settle(state, after, step, row)
    first = len(state.events)
    if mode == "report":
        fractions = {}
        for pool in open_pools(settler, state):
            t = pool_fraction(settler, state, pool, previous, after)
            if t is not None:
                fractions[pool[0]] = t
        settler.settle(state, after, step, row)
        _mark(state, first, settler, fractions, previous, after)
        return len(state.events) - first
    done: set[Any] = set()
    cooling: set[int] = set()
    start, travelled = previous, 0.0
    while True:
        t = breach_fraction(settler, state, start, after, skip=done)
        if t is None:
            break
        at = point(start, after, t)
        travelled += t * (1.0 - travelled)
        before_count = len(state.events)
        settler.settle(state, at, step, row, cooling=cooling)
        acted = {pool_of(settler, i) for i, p in enumerate(settler.positions)
                 if any(e.position == p.id for e in state.events[before_count:])}
        if not acted:
            break
        _mark(state, before_count, settler, dict.fromkeys(acted, travelled), previous, after, at)
        done |= acted
        start = at
    settler.settle(state, after, step, row, cooling=cooling)
    return len(state.events) - first


__all__ = ["CROSSING_MODES", "any_breached", "breach_fraction", "open_pools", "point", "pool_fraction", "settle_row"]
