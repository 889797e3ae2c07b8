"""Walking an account along a path of mark prices: the rules of :mod:`margin.settle` applied
at every row.

:func:`simulate` walks from event to event: between events the account is a fixed set of
linear functions of the prices, so the next breach is found with one vectorized pass over the
rest of the path (:class:`margin.breach.BreachSearch`, whose pieces the stress lab uses
too); the breach row is then settled by the same :class:`margin.settle.Settler` as the plain
step-by-step loop :func:`simulate_reference`, so both give the same events.

Between two rows (``crossing``, :mod:`margin.crossing`): ``"settle"`` for invented rows (the
lab's straight walk: a breach is settled at its exact crossing), ``"report"`` for observed
marks (settled at the observed mark, the crossing told beside it), None for neither; ``before``
[quote per base, market order] is the marks just before the first row, where ``start`` left the
account, for a crossing within the first row. Stop-loss and take-profit orders meet the same
line: on the invented walk an order fills at its trigger, on observed marks at the row's mark
with its slippage (:mod:`margin.crossing` says which of an order and a liquidation comes first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from margin.account import Valuation, compile_account, owned_value, value_account
from margin.breach import FIRST_WINDOW, PROBE_ROWS, BreachSearch
from margin.crossing import CROSSING_MODES, settle_row
from margin.funding import funding_schedule
from margin.paths import (  # noqa: F401  (the engine's path API, re-exported for callers)
    MAX_PATH_BYTES, PricePath, load_path, parse_path_csv, path_matrix, price_path,
)
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
            _funding_row(settler, state, prices, row, path, crossing, before, funding.rates[k], int(funding.counts[k]))
        else:
            settle_row(settler, state, prices, row, path.steps[row], crossing, before)
    return SimulationResult(events=tuple(state.events), final=settler.final(state))


def _funding_row(settler: Settler, state: SettlementState, prices: np.ndarray, row: int, path: PricePath,
                 crossing: str | None, before: np.ndarray | None, rates: np.ndarray, count: int) -> int:
    """A funding row: the orders the step reaches fire first (with the liquidations that come
    before them: they closed before the funding time), then funding is charged, then the row
    is judged at its mark. Returns how many events were added."""
    added = settle_row(settler, state, prices, row, path.steps[row], crossing, before, judge_rest=False)
    added += settler.charge_funding(state, prices[row], rates, count, path.steps[row], row)
    return added + settler.settle(state, prices[row], path.steps[row], row)


def simulate(scenario: Scenario, path: PricePath, *, trace: bool = False, start: FinalState | None = None,
             crossing: str | None = None, before: np.ndarray | None = None) -> SimulationResult:
    """Walk ``path`` from event to event, applying the scenario's rules.

    Same events and final state as :func:`simulate_reference`, without visiting every row:
    after an event the next row is probed alone, then the rows ahead are scanned in a window
    (:class:`BreachSearch`), vectorized; the window doubles while no breach is found, so the
    work follows the distance between events. Funding (:mod:`margin.funding`) is charged at
    its rows before they are judged.
    With ``trace=True`` the result also carries the account at every row. ``start`` continues
    an earlier walk from where it ended (its ``final``): walking a path in two parts, the
    second from the first's final state, gives the events and final state of the whole path.
    ``crossing`` and ``before``: what happens between two rows, see the module's docstring."""
    _check_crossing(crossing)
    prices = path_matrix(scenario, path)
    n_rows = prices.shape[0]
    settler = Settler(scenario)
    state = settler.new_state(start)
    search = _breach_search(scenario, settler, state, prices)
    index_of = {p.id: i for i, p in enumerate(scenario.positions)}
    snapshots: list[tuple[int, np.ndarray, np.ndarray, float, np.ndarray | None]] = []

    # Funding changes the wallet and the margins, so each funding row ends a stretch of the
    # search: the rows before it are searched as usual, then it is charged and settled.
    funding = funding_schedule(scenario, path)
    n_funding, next_funding = len(funding), 0  # next_funding: index into funding.rows of the next row not yet charged
    row, window = 0, FIRST_WINDOW
    while row < n_rows:
        while next_funding < n_funding and funding.rows[next_funding] < row:
            next_funding += 1
        due = int(funding.rows[next_funding]) if next_funding < n_funding else n_rows
        if due == row:
            added = _funding_row(settler, state, prices, row, path, crossing, before, funding.rates[next_funding],
                                 int(funding.counts[next_funding]))
            if added:
                if trace:
                    snapshots.append(_snapshot(row, state))
                search.refresh(state, None)
            next_funding += 1
            row, window = row + 1, FIRST_WINDOW
            continue
        stop = min(n_rows, row + window, due)
        at = search.first(state, row, stop)
        if at is None:
            row, window = stop, (max(window * 2, FIRST_WINDOW) if stop < due else window)
            continue
        maybe = search.suspects(state, at) if crossing is None else None
        # the step as a Python number: each event reads it (step_label), numpy's scalar costs more
        added = settle_row(settler, state, prices, at, path.steps[at].item(), crossing, before, maybe=maybe)
        if added:
            if trace:
                snapshots.append(_snapshot(at, state))
            search.refresh(state, _touched(state, added, index_of))
        row, window = at + 1, PROBE_ROWS

    result_trace = _trace(scenario, settler, prices, snapshots, start) if trace else None
    return SimulationResult(events=tuple(state.events), final=settler.final(state), trace=result_trace)

def _breach_search(scenario: Scenario, settler: Settler, state: SettlementState, prices: np.ndarray) -> BreachSearch:
    """The breach search over ``prices`` ``(N, M)`` from ``state``, its tolerance [quote] scaled
    to the account: a candidate row is confirmed by the exact scalar check, so the tolerance
    only has to exceed the rounding of the vectorized sum."""
    scale = 1.0 + abs(state.cross_wallet) + float(np.sum(state.size * [p.entry for p in scenario.positions]))
    held = state.collateral if state.collateral is not None else np.zeros(len(scenario.collateral))
    scale += sum(float(held[k]) * scenario.markets[c.market].price for k, c in enumerate(scenario.collateral)
                 if k in settler.usdt_entries)
    return BreachSearch(settler, np.ascontiguousarray(prices.T), state, 1e-9 * scale)


def _touched(state: SettlementState, added: int, index_of: dict[str, int]) -> set[int] | None:
    """The positions (by index) the last ``added`` events touched; None after a collateral
    sale (told with the asset's name), which touches every position."""
    touched = {index_of.get(e.position, -1) for e in state.events[-added:]}
    return None if -1 in touched else touched


def _snapshot(row: int, state: SettlementState) -> tuple[int, np.ndarray, np.ndarray, float, np.ndarray | None]:
    collateral = None if state.collateral is None else state.collateral.copy()
    return row, state.size.copy(), state.margin.copy(), state.cross_wallet, collateral


def _check_crossing(crossing: str | None) -> None:
    if crossing not in CROSSING_MODES:
        raise ValueError(f"crossing: must be one of {', '.join(map(repr, CROSSING_MODES))}, got {crossing!r}")


def _trace(scenario: Scenario, settler: Settler, prices: np.ndarray,
           snapshots: list[tuple[int, np.ndarray, np.ndarray, float, np.ndarray | None]],
           start: FinalState | None) -> Trace:
    n_rows = prices.shape[0]
    account = compile_account(scenario)
    state0 = settler.new_state(start)
    size = np.tile(state0.size, (n_rows, 1))
    margin = np.tile(state0.margin, (n_rows, 1))
    wallet = np.full(n_rows, state0.cross_wallet)
    collateral = np.tile(state0.collateral, (n_rows, 1)) if settler.entries and state0.collateral is not None else None
    for at, s, m, w, c in snapshots:
        size[at:] = s
        margin[at:] = m
        wallet[at:] = w
        if collateral is not None:
            collateral[at:] = c
    valuation = value_account(account, prices, size=size, margin=margin, cross_wallet=wallet, collateral=collateral)
    return Trace(cross_wallet=wallet, isolated_margin=margin, size=size,
                 isolated=account.isolated.copy(), valuation=valuation, collateral=collateral)

