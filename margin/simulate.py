"""Walking an account along a path of mark prices: the rules of :mod:`margin.settle` applied
at every row.

:func:`simulate` walks from event to event: between events the account is a fixed set of
linear functions of the prices, so the next breach is found with one vectorized pass over the
rest of the path (:class:`PoolExcess`, :func:`isolated_threshold`, also used by the stress
lab); the breach row is then settled by the same :class:`margin.settle.Settler` as the plain
step-by-step loop :func:`simulate_reference`, so both give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from margin.account import Valuation, compile_account, owned_value, value_account
from margin.funding import funding_schedule
from margin.inverse import in_reciprocal
from margin.orders import bounds
from margin.paths import (  # noqa: F401  (the engine's path API, re-exported for callers)
    MAX_PATH_BYTES, PricePath, load_path, parse_path_csv, path_matrix, price_path,
)
from margin.roots import single_roots
from margin.scenario import Scenario
from margin.settle import EVENT_TYPES, Event, FinalState, SettlementState, Settler  # noqa: F401
from margin.tiers import maintenance_margin


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """The account at every row of the path, after that row's events (see :class:`Valuation`)."""

    cross_wallet: np.ndarray  # (N,)
    isolated_margin: np.ndarray  # (N, P)
    size: np.ndarray  # (N, P)
    isolated: np.ndarray  # (P,) bool
    valuation: Valuation
    collateral: np.ndarray | None = None  # (N, K) each entry's amount held (a coin pool's cross wallet)

    @property
    def total_equity(self) -> np.ndarray:
        """What the account owns at every row [quote] (:func:`margin.account.owned_value`)."""
        return owned_value(self.valuation, self.size, self.isolated)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    events: tuple[Event, ...]
    final: FinalState
    trace: Trace | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"events": [e.as_dict() for e in self.events], "final": self.final.as_dict()}



def simulate_reference(scenario: Scenario, path: PricePath, *, start: FinalState | None = None,
                       previous: np.ndarray | None = None) -> SimulationResult:
    """The plain step-by-step loop: judge and settle every row in turn."""
    prices = path_matrix(scenario, path)
    settler = Settler(scenario)
    state = settler.new_state(start)
    funding = funding_schedule(scenario, path)
    due = {int(r): k for k, r in enumerate(funding.rows)}
    for row in range(prices.shape[0]):
        before = previous if row == 0 else prices[row - 1]
        if row in due:
            k = due[row]
            _orders_then_funding(settler, state, prices, before, path, row, funding.rates[k], int(funding.counts[k]))
        settler.step(state, prices[row], path.steps[row], row, previous=before, continuous=path.continuous)
    return SimulationResult(events=tuple(state.events), final=settler.final(state))


def _orders_then_funding(settler: Settler, state: SettlementState, prices: np.ndarray, before: np.ndarray | None,
                         path: PricePath, row: int, rates: np.ndarray, count: int) -> int:
    """At a funding row, the orders the step reached fire first (they closed before the funding
    time), then funding is charged; the row is then judged as any other."""
    added = settler.step(state, prices[row], path.steps[row], row, previous=before, continuous=path.continuous,
                         judge_rest=False) if settler.orders else 0
    return added + settler.charge_funding(state, prices[row], rates, count, path.steps[row], row)


class PoolExcess:
    """Vectorized excess (PnL − MM) of position groups along the path, for breach search."""

    def __init__(self, settler: Settler, prices: np.ndarray):
        self.s = settler
        self.prices = prices

    def group(self, members: list[int], state: SettlementState, start: int, stop: int, column: int) -> np.ndarray:
        """Σ over ``members`` of PnL − MM along rows ``start:stop`` of one market (no wallet).

        The sum is piecewise linear in the price with breaks at tier floors, so it is exact to
        interpolate between its values at the breaks inside the window's price range.
        """
        col = self.prices[start:stop, column]
        s = self.s
        if not members:
            return np.zeros_like(col)
        low, high = float(col.min()), float(col.max())
        breaks = {low, high}
        if not s.entry_basis:
            for i in members:
                for tier in s.markets[i].tiers[1:]:
                    b = tier.floor / state.size[i]
                    if low < b < high:
                        breaks.add(b)
        xs = np.array(sorted(breaks))

        def excess(price: float) -> float:
            return sum(s.pnl(i, state.size[i], price) - s.maintenance(i, state.size[i], price) for i in members)

        if len(xs) <= 2:  # one tier throughout: the excess is linear in price
            a = excess(low)
            if high == low:
                return np.full_like(col, a)
            slope = (excess(high) - a) / (high - low)
            return a + slope * (col - low)
        return np.interp(col, xs, [excess(x) for x in xs])


FIRST_WINDOW = 512  # rows looked ahead after an event; doubles while nothing happens


def _first_candidate(settler: Settler, state: SettlementState, pools: PoolExcess, prices: np.ndarray,
                     cross_by_market: dict[int, list[int]], thresholds: dict[int, float | None],
                     row: int, stop: int, tolerance: float) -> int | None:
    """The first row of ``row:stop`` where the cross pool, a coin pool or an isolated position
    may breach, or an order fire (the exact settlement at that row decides), or None."""
    candidates = []
    open_cross = {j: [i for i in members if state.size[i] > 0] for j, members in cross_by_market.items()}
    if any(open_cross.values()):
        excess = sum(pools.group(m, state, row, stop, j) for j, m in open_cross.items() if m)
        if settler.usdt_entries:
            excess = excess + collateral_along(settler, state, prices[row:stop])
        hits = excess <= tolerance - state.cross_wallet
        first = int(hits.argmax())
        if hits[first]:
            candidates.append(row + first)
    for key in settler.coin_keys:
        first = _first_true(coin_excess(settler, state, key, prices[row:stop]) <= 0.0)
        if first is not None:
            candidates.append(row + first)
    for i, threshold in thresholds.items():
        if state.size[i] <= 0 or threshold is None:
            continue
        first = _first_crossing(prices[row:stop, settler.col[i]], threshold, settler.positions[i].sign)
        if first is not None:
            candidates.append(row + first)
    for i in settler.orders:
        if state.size[i] > 0:
            p = settler.positions[i]
            low, high = bounds(p.sign, p.stop_loss, p.take_profit)
            column = prices[row:stop, settler.col[i]]
            first = _first_true((column <= low) | (column >= high))
            if first is not None:
                candidates.append(row + first)
    return min(candidates) if candidates else None


def collateral_along(settler: Settler, state: SettlementState, prices: np.ndarray) -> np.ndarray:
    """The USDT pool's collateral value [USDT] at each row of ``prices`` ``(N, M)``."""
    total = np.zeros(prices.shape[0])
    for k in settler.usdt_entries:
        total = total + float(state.collateral[k]) * settler.entries[k].factor * prices[:, settler.entry_col[k]]
    return total


def coin_excess(settler: Settler, state: SettlementState, key: int, prices: np.ndarray) -> np.ndarray:
    """Coin pool ``key``'s equity less its maintenance [coin] at each row of ``prices``,
    widened by a hair for rounding (a row at or below 0 is a candidate; the exact check decides)."""
    members = [i for i in settler.pool_members[key] if state.size[i] > 0]
    wallet = float(state.collateral[key])
    total = np.full(prices.shape[0], wallet)
    scale = 1.0 + abs(wallet)
    for i in members:
        p, size = settler.positions[i], float(state.size[i])
        mark = prices[:, settler.col[i]]
        basis = p.entry if settler.entry_basis else mark
        total = total + p.sign * size * p.contract_value * (1.0 / p.entry - 1.0 / mark)
        total = total - maintenance_margin(size * p.contract_value / basis, *settler.markets[i].tier_tables)
        scale += size * p.contract_value / p.entry
    return total - 1e-9 * scale if members else np.full(prices.shape[0], np.inf)


def _first_true(flags: np.ndarray) -> int | None:
    if flags.shape[0] == 0:
        return None
    first = int(flags.argmax())
    return first if flags[first] else None


def simulate(scenario: Scenario, path: PricePath, *, trace: bool = False,
             start: FinalState | None = None, previous: np.ndarray | None = None) -> SimulationResult:
    """Walk ``path`` from event to event, applying the scenario's rules.

    Same events and final state as :func:`simulate_reference`, without visiting every row: the
    rows ahead are scanned in a window, vectorized, that doubles while no breach is found and
    shrinks back after each event. Funding (:mod:`margin.funding`) is charged at its rows first.
    ``trace=True``: the account at every row too. ``start`` continues an earlier walk from its
    ``final``; ``previous``: the marks before row 0, where orders count from (None: no move).
    """
    prices = path_matrix(scenario, path)
    n_rows = prices.shape[0]
    settler = Settler(scenario)
    state = settler.new_state(start)
    pools = PoolExcess(settler, prices)
    # Scale for the breach search's tolerance: a candidate row is confirmed by the exact
    # scalar check, so the tolerance only has to exceed the rounding of the vectorized sum.
    scale = 1.0 + abs(state.cross_wallet) + float(np.sum(state.size * [p.entry for p in scenario.positions]))
    tolerance = 1e-9 * scale
    cross_by_market = {j: [i for i in settler.cross if settler.col[i] == j] for j in range(prices.shape[1])}
    thresholds = {i: isolated_threshold(settler, state, i) for i in settler.isolated}
    snapshots: list[tuple[int, np.ndarray, np.ndarray, float, np.ndarray | None]] = []

    # Funding changes the wallet and the margins, so each funding row ends a stretch of the
    # search: the rows before it are searched as usual, then it is charged and settled.
    funding = funding_schedule(scenario, path)
    next_funding = 0  # index into funding.rows of the next funding row not yet charged
    row, window = 0, FIRST_WINDOW
    while row < n_rows:
        while next_funding < len(funding) and funding.rows[next_funding] < row:
            next_funding += 1
        due = int(funding.rows[next_funding]) if next_funding < len(funding) else n_rows
        if due == row:
            before = previous if row == 0 else prices[row - 1]
            charged = _orders_then_funding(settler, state, prices, before, path, row, funding.rates[next_funding],
                                           int(funding.counts[next_funding]))
            added = charged + settler.settle(state, prices[row], path.steps[row], row)
            if added:
                snapshots.append(_snapshot(row, state))
                thresholds = {i: isolated_threshold(settler, state, i) for i in settler.isolated}
            next_funding += 1
            row, window = row + 1, FIRST_WINDOW
            continue
        stop = min(n_rows, row + window, due)
        at = _first_candidate(settler, state, pools, prices, cross_by_market, thresholds, row, stop, tolerance)
        if at is None:
            row, window = stop, (window * 2 if stop < due else window)
            continue
        added = settler.step(state, prices[at], path.steps[at], at, previous=previous if at == 0 else prices[at - 1],
                             continuous=path.continuous)
        if added:
            snapshots.append(_snapshot(at, state))
            for i in _indices(settler, state.events[-added:]):
                if i in thresholds:
                    thresholds[i] = isolated_threshold(settler, state, i)
        row, window = at + 1, FIRST_WINDOW

    result_trace = _trace(scenario, settler, prices, snapshots, start) if trace else None
    return SimulationResult(events=tuple(state.events), final=settler.final(state), trace=result_trace)


def _snapshot(row: int, state: SettlementState) -> tuple[int, np.ndarray, np.ndarray, float, np.ndarray | None]:
    collateral = None if state.collateral is None else state.collateral.copy()
    return row, state.size.copy(), state.margin.copy(), state.cross_wallet, collateral


def _indices(settler: Settler, events: Sequence[Event]) -> set[int]:
    ids = {e.position for e in events}
    return {i for i, p in enumerate(settler.positions) if p.id in ids}


def isolated_threshold(settler: Settler, state: SettlementState, i: int) -> float | None:
    """Price at which isolated position ``i`` may breach, widened by a hair for rounding.

    An isolated position's excess is monotone in its price, so the breach region is the far
    side of its liquidation price; the exact check at a candidate row decides. ``None``: never
    (a long that cannot lose its margin); a short always has a liquidation price.
    """
    if state.size[i] <= 0:
        return None
    p = settler.positions[i]
    if p.is_inverse:
        return _inverse_threshold(settler, state, i)
    # One pool of one member: the solver's plain-Python form (same bits as segment_roots), as
    # this runs after every event of the position and numpy's cost per call would dominate.
    roots = single_roots(side=p.sign, size=float(state.size[i]), entry=p.entry, constant=float(state.margin[i]),
                         tiers=settler.markets[i].tier_lists, with_maintenance=True,
                         entry_basis=settler.entry_basis)
    if p.sign > 0:
        return max(roots) * (1 + 1e-9) if roots else None
    return min(roots) * (1 - 1e-9) if roots else 0.0


def _inverse_threshold(settler: Settler, state: SettlementState, i: int) -> float | None:
    """:func:`isolated_threshold` of an inverse position: its roots in ``x = 1/price``, where
    it is a linear position of the other side, turned into a price [quote per base]."""
    p = settler.positions[i]
    side, size, entry = in_reciprocal(p.sign, float(state.size[i]), p.contract_value, p.entry)
    roots = single_roots(side=side, size=size, entry=entry, constant=float(state.margin[i]),
                         tiers=settler.markets[i].tier_lists, with_maintenance=True, entry_basis=settler.entry_basis)
    if p.sign > 0:  # a short in x: in breach at x ≥ its smallest root, a price at or below 1/root
        return (1.0 / min(roots)) * (1 + 1e-9) if roots else np.inf
    return (1.0 / max(roots)) * (1 - 1e-9) if roots else None  # a long in x: at a price at or above


def _first_crossing(column: np.ndarray, threshold: float, sign: int) -> int | None:
    hits = column <= threshold if sign > 0 else column >= threshold
    first = int(hits.argmax())
    return first if hits[first] else None


def _trace(scenario: Scenario, settler: Settler, prices: np.ndarray,
           snapshots: list[tuple[int, np.ndarray, np.ndarray, float, np.ndarray | None]],
           start: FinalState | None) -> Trace:
    n_rows = prices.shape[0]
    account = compile_account(scenario)
    state0 = settler.new_state(start)
    size = np.tile(state0.size, (n_rows, 1))
    margin = np.tile(state0.margin, (n_rows, 1))
    wallet = np.full(n_rows, state0.cross_wallet)
    collateral = np.tile(state0.collateral, (n_rows, 1)) if settler.entries else None
    for at, s, m, w, c in snapshots:
        size[at:] = s
        margin[at:] = m
        wallet[at:] = w
        if collateral is not None:
            collateral[at:] = c
    valuation = value_account(account, prices, size=size, margin=margin, cross_wallet=wallet, collateral=collateral)
    return Trace(cross_wallet=wallet, isolated_margin=margin, size=size,
                 isolated=account.isolated.copy(), valuation=valuation, collateral=collateral)
