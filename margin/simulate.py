"""Walking an account along a path of mark prices: the rules of :mod:`margin.settle` applied
at every row.

:func:`simulate` walks from event to event: between events the account is a fixed set of
linear functions of the prices, so the next breach is found with one vectorized pass over the
rest of the path (:class:`PoolExcess`, :func:`isolated_threshold`, also used by the stress
lab); the breach row is then settled by the same :class:`margin.settle.Settler` as the plain
step-by-step loop :func:`simulate_reference`, so both give the same events.

Between two rows (``crossing``, :mod:`margin.crossing`): ``"settle"`` for invented rows (the
lab's straight walk: a breach is settled at its exact crossing), ``"report"`` for observed
marks (settled at the observed mark, the crossing told beside it), None for neither; ``before``
[quote per base, market order] is the marks just before the first row, where ``start`` left the
account, for a crossing within the first row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from margin.account import Valuation, compile_account, owned_value, value_account
from margin.crossing import CROSSING_MODES, settle_row
from margin.funding import funding_schedule
from margin.paths import (  # noqa: F401  (the engine's path API, re-exported for callers)
    MAX_PATH_BYTES, PricePath, load_path, parse_path_csv, path_matrix, price_path,
)
from margin.roots import single_roots
from margin.scenario import Scenario
from margin.settle import EVENT_TYPES, Event, FinalState, SettlementState, Settler  # noqa: F401


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """The account at every row of the path, after that row's events (see :class:`Valuation`)."""

    cross_wallet: np.ndarray  # (N,)
    isolated_margin: np.ndarray  # (N, P)
    size: np.ndarray  # (N, P)
    isolated: np.ndarray  # (P,) bool
    valuation: Valuation

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
                       crossing: str | None = None, before: np.ndarray | None = None) -> SimulationResult:
    """The plain step-by-step loop: judge and settle every row in turn (``crossing`` and
    ``before`` as in :func:`simulate`)."""
    _check_crossing(crossing)
    prices = path_matrix(scenario, path)
    settler = Settler(scenario)
    state = settler.new_state(start)
    funding = funding_schedule(scenario, path)
    due = {int(r): k for k, r in enumerate(funding.rows)}
    for row in range(prices.shape[0]):
        if row in due:
            k = due[row]
            settler.charge_funding(state, prices[row], funding.rates[k], int(funding.counts[k]), path.steps[row], row)
            settler.settle(state, prices[row], path.steps[row], row)
        else:
            settle_row(settler, state, prices, row, path.steps[row], crossing, before)
    return SimulationResult(events=tuple(state.events), final=settler.final(state))


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
    """The first row of ``row:stop`` where the cross pool or an isolated position may breach
    (the exact settlement at that row decides), or None."""
    candidates = []
    open_cross = {j: [i for i in members if state.size[i] > 0] for j, members in cross_by_market.items()}
    if any(open_cross.values()):
        excess = sum(pools.group(m, state, row, stop, j) for j, m in open_cross.items() if m)
        hits = excess <= tolerance - state.cross_wallet
        first = int(hits.argmax())
        if hits[first]:
            candidates.append(row + first)
    for i, threshold in thresholds.items():
        if state.size[i] <= 0 or threshold is None:
            continue
        first = _first_crossing(prices[row:stop, settler.col[i]], threshold, settler.positions[i].sign)
        if first is not None:
            candidates.append(row + first)
    return min(candidates) if candidates else None


def simulate(scenario: Scenario, path: PricePath, *, trace: bool = False, start: FinalState | None = None,
             crossing: str | None = None, before: np.ndarray | None = None) -> SimulationResult:
    """Walk ``path`` from event to event, applying the scenario's rules.

    Same events and final state as :func:`simulate_reference`, without visiting every row:
    the rows ahead are scanned in a window, vectorized; the window doubles while no breach is
    found and shrinks back after each event, so the work follows the distance between events.
    Funding (:mod:`margin.funding`) is charged at its rows before they are judged.
    With ``trace=True`` the result also carries the account at every row. ``start`` continues
    an earlier walk from where it ended (its ``final``): walking a path in two parts, the
    second from the first's final state, gives the events and final state of the whole path.
    ``crossing`` and ``before``: what happens between two rows, see the module's docstring."""
    _check_crossing(crossing)
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
    snapshots: list[tuple[int, np.ndarray, np.ndarray, float]] = []

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
            charged = settler.charge_funding(state, prices[row], funding.rates[next_funding],
                                             int(funding.counts[next_funding]), path.steps[row], row)
            added = charged + settler.settle(state, prices[row], path.steps[row], row)
            if added:
                snapshots.append((row, state.size.copy(), state.margin.copy(), state.cross_wallet))
                thresholds = {i: isolated_threshold(settler, state, i) for i in settler.isolated}
            next_funding += 1
            row, window = row + 1, FIRST_WINDOW
            continue
        stop = min(n_rows, row + window, due)
        at = _first_candidate(settler, state, pools, prices, cross_by_market, thresholds, row, stop, tolerance)
        if at is None:
            row, window = stop, (window * 2 if stop < due else window)
            continue
        added = settle_row(settler, state, prices, at, path.steps[at], crossing, before)
        if added:
            snapshots.append((at, state.size.copy(), state.margin.copy(), state.cross_wallet))
            for i in _indices(settler, state.events[-added:]):
                if i in thresholds:
                    thresholds[i] = isolated_threshold(settler, state, i)
        row, window = at + 1, FIRST_WINDOW

    result_trace = _trace(scenario, settler, prices, snapshots, start) if trace else None
    return SimulationResult(events=tuple(state.events), final=settler.final(state), trace=result_trace)


def _check_crossing(crossing: str | None) -> None:
    if crossing not in CROSSING_MODES:
        raise ValueError(f"crossing: must be one of {', '.join(map(repr, CROSSING_MODES))}, got {crossing!r}")


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
    # One pool of one member: the solver's plain-Python form (same bits as segment_roots), as
    # this runs after every event of the position and numpy's cost per call would dominate.
    roots = single_roots(side=p.sign, size=float(state.size[i]), entry=p.entry, constant=float(state.margin[i]),
                         tiers=settler.markets[i].tier_lists, with_maintenance=True,
                         entry_basis=settler.entry_basis)
    if p.sign > 0:
        return max(roots) * (1 + 1e-9) if roots else None
    return min(roots) * (1 - 1e-9) if roots else 0.0


def _first_crossing(column: np.ndarray, threshold: float, sign: int) -> int | None:
    hits = column <= threshold if sign > 0 else column >= threshold
    first = int(hits.argmax())
    return first if hits[first] else None


def _trace(scenario: Scenario, settler: Settler, prices: np.ndarray,
           snapshots: list[tuple[int, np.ndarray, np.ndarray, float]], start: FinalState | None) -> Trace:
    n_rows = prices.shape[0]
    account = compile_account(scenario)
    state0 = settler.new_state(start)
    size = np.tile(state0.size, (n_rows, 1))
    margin = np.tile(state0.margin, (n_rows, 1))
    wallet = np.full(n_rows, state0.cross_wallet)
    for at, s, m, w in snapshots:
        size[at:] = s
        margin[at:] = m
        wallet[at:] = w
    valuation = value_account(account, prices, size=size, margin=margin, cross_wallet=wallet)
    return Trace(cross_wallet=wallet, isolated_margin=margin, size=size,
                 isolated=account.isolated.copy(), valuation=valuation)
