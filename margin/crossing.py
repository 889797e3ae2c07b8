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

A pool is the USDT pool (its cross positions and the collateral counted in USDT at price ×
(1 − haircut)), a coin pool of inverse contracts, or an isolated position
(:mod:`margin.pool_money`); the trigger is judged on each as the settlement judges it.

Stop-loss and take-profit orders (:mod:`margin.orders`) meet the same line. Each order whose
trigger this row's mark reaches fires at the fraction of the step where its market crosses the
trigger; each pool in breach at this row's mark is liquidated at the first fraction where it is
in breach (:func:`pool_fraction`). The earlier happens first, a tie goes to the liquidation (a
stop exactly at the liquidation price never fires), and after each the rest is judged again on
what it left. Where an order fills follows the mode: on the invented straight walk
(``"settle"``) at its trigger, where the line passes through it, as a liquidation there fills at
its crossing; on observed marks (``"report"``, and ``None``) at the row's observed mark worsened
by ``stop_slippage``, the first print past a trigger the price gapped through, as a liquidation
there fills at the observed mark (:func:`margin.orders.fill`). A row the account enters already
beyond a trigger (fraction 0) fills at the row's mark with the slippage in every mode.

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
# ("isolated", i), or ("pool", key): key None for the USDT pool, a coin entry's index for its
# coin pool; what :meth:`margin.settle.Settler.settle` takes as ``only``
Pool = tuple[str, Any]


def point(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """The marks a fraction ``t`` of the way from ``before`` to ``after`` (exactly ``after`` at 1)."""
    return after.copy() if t >= 1.0 else before + t * (after - before)


def open_pools(settler: Settler, state: SettlementState) -> list[Pool]:
    """The pools a breach is judged on: the USDT pool and each coin pool with an open cross
    position, each open isolated position."""
    pools: list[Pool] = [("pool", key) for key in (None, *settler.coin_keys)
                         if any(state.size[i] > 0 for i in settler.pool_members[key])]
    return pools + [("isolated", i) for i in settler.isolated if state.size[i] > 0]


def pool_of(settler: Settler, i: int) -> Pool:
    """Position ``i``'s pool."""
    return ("isolated", i) if settler.positions[i].is_isolated else ("pool", settler.money[i])


def members_of(settler: Settler, state: SettlementState, pool: Pool) -> list[int]:
    """The open positions of ``pool``."""
    kind, which = pool
    members = [which] if kind == "isolated" else settler.pool_members[which]
    return [i for i in members if state.size[i] > 0]


def _gap(settler: Settler, state: SettlementState, pool: Pool, prices: np.ndarray) -> tuple[float, float]:
    """(equity, maintenance) [the pool's currency] of ``pool`` at ``prices``."""
    kind, which = pool
    if kind == "pool":
        equity, maintenance, _ = settler.pool(state, prices, which)
        return equity, maintenance
    price = float(prices[settler.col[which]])
    size = float(state.size[which])
    return float(state.margin[which]) + settler.pnl(which, size, price), settler.maintenance(which, size, price)


def any_breached(settler: Settler, state: SettlementState, prices: np.ndarray) -> bool:
    """Whether some pool is breached at ``prices``."""
    return any(settler.rules.breached(*_gap(settler, state, pool, prices)) for pool in open_pools(settler, state))


def _bends(settler: Settler, state: SettlementState, members: list[int], before: np.ndarray,
           after: np.ndarray) -> list[float]:
    """0, 1 and every ``t`` between where a member's notional crosses a tier floor, ascending
    (an inverse member's notional, ``size × contract_value / price`` [coin], crosses a floor at
    the price ``size × contract_value / floor``)."""
    ts = {0.0, 1.0}
    if not settler.entry_basis:
        for i in members:
            a, b = float(before[settler.col[i]]), float(after[settler.col[i]])
            if a == b:
                continue
            cv = settler.cv[i]
            for floor in settler.markets[i].tier_lists[0][1:]:
                price = state.size[i] * cv / floor if cv > 0 else floor / state.size[i]
                t = (price - a) / (b - a)
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

    ts = _bends(settler, state, members_of(settler, state, pool), before, after)
    gaps: list[float] = []
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
    """The first ``t`` in (0, 1) at which any pool not in ``skip`` becomes breached
    on the straight move from ``before`` to ``after``; None if none does before the end (a
    pool breached at the start is the row's, not a crossing)."""
    found = []
    for pool in open_pools(settler, state):
        if pool in skip:
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
               mode: str | None, before: np.ndarray | None = None, *, judge_rest: bool = True,
               maybe: set[Pool] | None = None) -> int:
    """Settle row ``row`` of ``prices`` (marks ``(N, M)``) as ``mode`` says (see the module);
    ``before`` is the marks just before row 0 (where an earlier walk left the account), if
    known. ``judge_rest=False``: only the orders the step reaches and the liquidations that
    come before them (a funding row charges its funding before the rest is judged at its mark).
    ``maybe``: the pools that may be in breach at the row's mark, the others known clear
    (:meth:`margin.settle.Settler.settle`; read for ``mode`` None only). Returns how many events
    were added."""
    after = prices[row]
    previous = prices[row - 1] if row > 0 else before
    if settler.orders and any(state.size[i] > 0 for i in settler.orders):
        return _settle_with_orders(settler, state, after, previous, step, row, mode, judge_rest)
    if not judge_rest:
        return 0
    if mode is None:
        return settler.settle(state, after, step, row, maybe=maybe)
    if previous is None or not any_breached(settler, state, after):
        return settler.settle(state, after, step, row)
    return _settle_rest(settler, state, previous, after, step, row, mode)


def _settle_rest(settler: Settler, state: SettlementState, previous: np.ndarray, after: np.ndarray, step: Any,
                 row: int, mode: str | None, travelled: float = 0.0, cooling: set[int] | None = None,
                 done: set[Pool] | None = None) -> int:
    """Settle what is breached on the rest of the step, from the fraction ``travelled`` on:
    at its crossings (``"settle"``), or at the row's mark with the crossings told beside it
    (``"report"``), or at the row's mark alone (None). ``cooling`` and ``done``: the slices
    taken and the pools settled earlier in this step."""
    first = len(state.events)
    cooling = set() if cooling is None else cooling
    done = set() if done is None else done
    start = point(previous, after, travelled) if travelled > 0.0 else previous
    if mode is None:
        settler.settle(state, after, step, row, cooling=cooling)
        return len(state.events) - first
    if mode == "report":
        fractions = {}
        for pool in open_pools(settler, state):
            t = pool_fraction(settler, state, pool, start, after)
            if t is not None:
                fractions[pool] = travelled + t * (1.0 - travelled)
        settler.settle(state, after, step, row, cooling=cooling)
        _mark(state, first, settler, fractions, previous, after)
        return len(state.events) - first
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


def first_breach(settler: Settler, state: SettlementState, previous: np.ndarray, after: np.ndarray, now: float,
                 skip: Collection[Pool]) -> tuple[float, Pool] | None:
    """The earliest fraction of the step from ``previous`` to ``after`` (at or past ``now``) at
    which a pool that is in breach at ``after`` and not in ``skip`` comes into breach along the
    line, and the pool; None when none is in breach at ``after``."""
    start = point(previous, after, now) if now > 0.0 else previous
    found: tuple[float, Pool] | None = None
    for pool in open_pools(settler, state):
        if pool in skip or not settler.rules.breached(*_gap(settler, state, pool, after)):
            continue
        t = pool_fraction(settler, state, pool, start, after)
        t = now + (1.0 if t is None else t) * (1.0 - now)
        if found is None or t < found[0]:
            found = (t, pool)
    return found


def _settle_with_orders(settler: Settler, state: SettlementState, after: np.ndarray, previous: np.ndarray | None,
                        step: Any, row: int, mode: str | None, judge_rest: bool) -> int:
    """:func:`settle_row` of an account with open orders: the orders and the liquidations along
    the step in the order the price reaches them (see the module), then the rest."""
    first = len(state.events)
    previous = after if previous is None else previous  # no move known: everything at the start
    cooling: set[int] = set()
    settled: set[Pool] = set()
    now = 0.0
    while True:
        due = settler.due_orders(state, after, previous)
        if not due:
            break
        t_order, i, kind = due[0]
        breach = first_breach(settler, state, previous, after, now, settled)
        if breach is not None and breach[0] <= t_order:
            t, pool = breach
            settled.add(pool)
            at = point(previous, after, t) if mode == "settle" and t > 0.0 else after
            count = len(state.events)
            settler.settle(state, at, step, row, only={pool}, cooling=cooling)
            if mode is not None and t > 0.0:
                _mark(state, count, settler, {pool: t}, previous, after, at if mode == "settle" else None)
            now = max(now, t)
            continue
        passed = mode == "settle" and t_order > 0.0  # the line went through the trigger
        settler.close_by_order(state, i, kind, point(previous, after, t_order) if passed else after, step, row,
                               passed=passed)
        now = max(now, t_order)
    if judge_rest:
        done = settled if mode == "settle" else set()
        _settle_rest(settler, state, previous, after, step, row, mode, now, cooling, done)
    return len(state.events) - first


__all__ = ["CROSSING_MODES", "any_breached", "breach_fraction", "first_breach", "open_pools", "point",
           "pool_fraction", "settle_row"]
