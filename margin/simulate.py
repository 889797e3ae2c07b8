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

import math
from dataclasses import dataclass
from typing import Any

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
from margin.tiers import maintenance_margin, tier_index


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
    """Vectorized excess (PnL − MM) of position groups along the path, for the breach search.

    Between two tier breaks (``price = floor / size``) a member's maintenance margin is a fixed
    rate of its notional less a fixed amount, so its PnL − MM is a line in its market's price
    (:meth:`lines`), and a group's sum is piecewise linear: exact to interpolate between its
    values at the breaks (:meth:`along`).
    """

    def __init__(self, settler: Settler, prices: np.ndarray):
        self.s = settler
        self.prices = prices

    def group(self, members: list[int], state: SettlementState, start: int, stop: int, column: int) -> np.ndarray:
        """Σ over ``members`` (all in the market of ``column``) of PnL − MM along rows
        ``start:stop`` of that column (no wallet)."""
        col = self.prices[start:stop, column]
        if not members:
            return np.zeros_like(col)
        index = np.asarray(members, dtype=np.intp)
        return self.along(index, state.size[index], col)

    def along(self, members: np.ndarray, size: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """Σ over ``members`` (all of one market, at ``size`` [base]) of PnL − MM [quote] at
        each of ``prices`` [quote per base] (any shape): its values at the ends of their range
        and at the tier breaks inside it (:meth:`knots`), joined by straight lines."""
        low, high = float(prices.min()), float(prices.max())
        knots, values = self.knots(members, size, low, high)
        if knots.shape[0] <= 2:  # one tier throughout: the excess is linear in price
            if high == low:
                return np.full_like(prices, values[0])
            slope = (values[-1] - values[0]) / (high - low)
            return values[0] + slope * (prices - low)
        return np.interp(prices, knots, values)

    def knots(self, members: np.ndarray, size: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        """The prices ``low``, ``high`` [quote per base] and the tier breaks of ``members`` (of
        one market) between them, ascending, and the members' Σ PnL − MM [quote] at each: the
        corners of a piecewise-linear sum, so its least value on ``low .. high`` is among them."""
        floors = self.s.markets[int(members[0])].tier_tables[0]
        knots = np.array([low, high])
        if not self.s.entry_basis and floors.shape[0] > 1:
            breaks = (floors[None, 1:] / size[:, None]).ravel()
            knots = np.unique(np.concatenate([knots, breaks[(breaks > low) & (breaks < high)]]))
        return knots, self.excess_at(members, size, knots)

    def excess_at(self, members: np.ndarray, size: np.ndarray, prices: np.ndarray) -> np.ndarray:
        """Σ over ``members`` (all of one market) of PnL − MM [quote] at each of ``prices`` ``(K,)``."""
        s = self.s
        entry = s.entry[members][:, None]
        pnl = (s.sign[members] * size)[:, None] * (prices[None, :] - entry)
        notional = size[:, None] * (entry if s.entry_basis else prices[None, :])
        mm = maintenance_margin(notional, *s.markets[int(members[0])].tier_tables)
        return (pnl - mm).sum(axis=0)

    def lines(self, members: np.ndarray, size: np.ndarray, low: np.ndarray,
              high: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each member's PnL − MM as a line ``slope × price + intercept`` (slope [base],
        intercept [quote]) in the tier it holds in the middle of its market's price range
        ``low .. high`` [quote per base], and the prices ``(lowest, highest)`` between which it
        holds that tier (its breaks; ±inf past the first and last)."""
        s = self.s
        sign_size = s.sign[members] * size
        intercept = -sign_size * s.entry[members]
        floors, rates, cums = s.floors[members], s.rates[members], s.cums[members]
        if s.entry_basis:  # MM fixed by the entry: one line at every price
            mm = maintenance_margin(size * s.entry[members], floors, rates, cums)
            everywhere = np.full(size.shape, np.inf)
            return sign_size, intercept - mm, -everywhere, everywhere
        tier = tier_index(size * (low + high) / 2, floors)
        rows = np.arange(tier.shape[0])
        above = np.minimum(tier + 1, floors.shape[1] - 1)
        lowest = np.where(tier > 0, floors[rows, tier] / size, -np.inf)
        highest = np.where(above > tier, floors[rows, above] / size, np.inf)
        slope = sign_size - size * rates[rows, tier]
        return slope, intercept + cums[rows, tier], lowest, highest


FIRST_WINDOW = 64  # rows looked ahead after a probe finds nothing; doubles while nothing happens
PROBE_ROWS = 8  # rows looked at first after an event, in plain Python: most breaches of a falling market follow at once


class BreachSearch:
    """The first row ahead where the cross pool or an isolated position may breach (the exact
    settlement at that row decides), over a window of rows at once.

    The cross pool's excess over all its markets is a line in the markets' prices while every
    member stays in its tier (:meth:`PoolExcess.lines`, summed by market and kept until the
    pool changes): its lowest value over a window (each market at the worse end of its range)
    clears most windows at once, the rest take one matrix-vector product; a member whose tier
    changes inside the window is valued row by row. Each isolated position may breach only
    beyond its threshold (:func:`isolated_threshold`): per market, at or below the highest
    threshold of its longs, at or above the lowest of its shorts. A window of one row (the
    probe after an event) is judged in plain Python. ``columns`` holds the marks market by
    market ``(M, N)``, so that every market's window is contiguous.
    """

    def __init__(self, settler: Settler, columns: np.ndarray, state: SettlementState, tolerance: float):
        self.s = settler
        self.columns = columns
        self.pools = PoolExcess(settler, columns.T)
        self.tolerance = tolerance
        self.cross = np.array(settler.cross, dtype=np.intp)
        self.cross_set = frozenset(settler.cross)
        self.thresholds = {i: isolated_threshold(settler, state, i) for i in settler.isolated}
        self.refresh(state, None)

    def refresh(self, state: SettlementState, touched: set[int] | None) -> None:
        """After events that touched positions ``touched`` (None: any, e.g. after funding):
        their isolated thresholds found again, the cross pool's line to be fitted again."""
        if touched is None or not touched.isdisjoint(self.thresholds):
            n_markets = self.columns.shape[0]
            falls, rises = [-math.inf] * n_markets, [math.inf] * n_markets
            for i in self.thresholds:
                if touched is None or i in touched:
                    self.thresholds[i] = isolated_threshold(self.s, state, i)
                threshold = self.thresholds[i]
                if threshold is not None:
                    j = self.s.col[i]
                    if self.s.sides[i] > 0:
                        falls[j] = max(falls[j], threshold)
                    else:
                        rises[j] = min(rises[j], threshold)
            # a long may breach at or below its market's ``falls``, a short at or above ``rises``
            self.falls, self.rises = falls, rises
            self.watched = None  # their arrays, made when a window needs them
        if touched is None or not touched.isdisjoint(self.cross_set):
            self.members = self.cross[state.size[self.cross] > 0]
            self.line: tuple[list[float], float, list[float], list[float], np.ndarray] | None = None

    def first(self, state: SettlementState, row: int, stop: int) -> int | None:
        """The first candidate row in ``row:stop``, or None."""
        limit = self.tolerance - state.cross_wallet  # the pool may breach where its excess is at most this
        if stop - row <= PROBE_ROWS:
            return self._probe(state, row, stop, limit)
        window = self.columns[:, row:stop]
        low, high = np.minimum.reduce(window, axis=1), np.maximum.reduce(window, axis=1)
        lows, highs = low.tolist(), high.tolist()
        found = stop
        if self.members.shape[0]:
            crossed = self._cross_below(state, window, low, high, limit)
            if crossed is not None:
                at = int(crossed.argmax())
                if crossed[at]:
                    found = row + at
        if any(lo <= f or hi >= r for lo, hi, f, r in zip(lows, highs, self.falls, self.rises)):
            if self.watched is None:
                watched = [j for j, (f, r) in enumerate(zip(self.falls, self.rises)) if f > -math.inf or r < math.inf]
                self.watched = (np.array(watched), np.array(self.falls)[watched, None], np.array(self.rises)[watched, None])
            markets, falls, rises = self.watched
            marks = window[:, :found - row] if markets.shape[0] == window.shape[0] else window[markets, :found - row]
            hits = ((marks <= falls) | (marks >= rises)).any(axis=0)
            at = int(hits.argmax()) if hits.shape[0] else 0
            if hits.shape[0] and hits[at]:
                found = row + at
        return found if found < stop else None

    def _probe(self, state: SettlementState, row: int, stop: int, limit: float) -> int | None:
        """The first candidate row in ``row:stop`` (a few rows), in plain Python."""
        line = self.line
        for k, marks in enumerate(self.columns[:, row:stop].T.tolist()):
            if any(p <= low or p >= high for p, low, high in zip(marks, self.falls, self.rises)):
                return row + k
            if not self.members.shape[0]:
                continue
            if line is None or not all(low <= p <= high for p, low, high in zip(marks, line[2], line[3])):
                here = self.columns[:, row + k]
                line = self._fit(state, here, here)
                if line is None:
                    return row + k  # a member at a tier break: let the exact check decide
            if line[1] + sum(a * p for a, p in zip(line[0], marks)) <= limit:
                return row + k
        return None

    def _fit(self, state: SettlementState, low: np.ndarray, high: np.ndarray
             ) -> tuple[list[float], float, list[float], list[float], np.ndarray] | None:
        """The cross pool's line over markets whose prices range ``low .. high`` ``(M,)``
        (kept for the next windows), or None when a member's tier changes inside that range."""
        members = self.members
        col = self.s.col_index[members]
        slopes, intercepts, lowest, highest = self.pools.lines(members, state.size[members], low[col], high[col])
        if ((lowest > low[col]) | (highest < high[col])).any():
            return None
        n_markets = self.columns.shape[0]
        slope = np.bincount(col, weights=slopes, minlength=n_markets)
        market_lowest, market_highest = np.full(n_markets, -np.inf), np.full(n_markets, np.inf)
        np.maximum.at(market_lowest, col, lowest)
        np.minimum.at(market_highest, col, highest)
        self.line = (slope.tolist(), float(intercepts.sum()), market_lowest.tolist(), market_highest.tolist(), slope)
        return self.line

    def _cross_below(self, state: SettlementState, window: np.ndarray, low: np.ndarray, high: np.ndarray,
                     limit: float) -> np.ndarray | None:
        """Whether the cross pool's excess is at most ``limit`` at each row of ``window``
        ``(M, n)`` (each market ranging ``low .. high``); None when its least value over those
        ranges (each line at its worse end, each bent sum at its worst corner) is above it."""
        lows, highs = low.tolist(), high.tolist()
        line = self.line
        if line is None or not all(a >= b and c <= d for a, b, c, d in zip(lows, line[2], highs, line[3])):
            line = self._fit(state, low, high)
        if line is not None:
            slope, intercept, _, _, slope_array = line
            if intercept + sum(min(a * lo, a * hi) for a, lo, hi in zip(slope, lows, highs)) > limit:
                return None
            return slope_array @ window + intercept <= limit
        # Some members change tier inside the window: those are summed market by market along
        # their breaks (:meth:`PoolExcess.knots`), the others along their lines.
        members = self.members
        size, col = state.size[members], self.s.col_index[members]
        slopes, intercepts, lowest, highest = self.pools.lines(members, size, low[col], high[col])
        bent = (lowest > low[col]) | (highest < high[col])
        straight = ~bent
        slope_array = np.bincount(col[straight], weights=slopes[straight], minlength=window.shape[0])
        intercept = float(intercepts[straight].sum())
        least = intercept + sum(min(a * lo, a * hi) for a, lo, hi in zip(slope_array.tolist(), lows, highs))
        corners = []
        for j in np.unique(col[bent]).tolist():
            these = bent & (col == j)
            knots, values = self.pools.knots(members[these], size[these], lows[j], highs[j])
            least += float(values.min())
            corners.append((j, knots, values))
        if least > limit:
            return None
        excess = slope_array @ window + intercept
        for j, knots, values in corners:
            excess += np.interp(window[j], knots, values)
        return excess <= limit


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
    # Scale for the breach search's tolerance: a candidate row is confirmed by the exact
    # scalar check, so the tolerance only has to exceed the rounding of the vectorized sum.
    scale = 1.0 + abs(state.cross_wallet) + float(np.sum(state.size * [p.entry for p in scenario.positions]))
    search = BreachSearch(settler, np.ascontiguousarray(prices.T), state, 1e-9 * scale)
    index_of = {p.id: i for i, p in enumerate(scenario.positions)}
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
                if trace:
                    snapshots.append((row, state.size.copy(), state.margin.copy(), state.cross_wallet))
                search.refresh(state, None)
            next_funding += 1
            row, window = row + 1, FIRST_WINDOW
            continue
        stop = min(n_rows, row + window, due)
        at = search.first(state, row, stop)
        if at is None:
            row, window = stop, (max(window * 2, FIRST_WINDOW) if stop < due else window)
            continue
        added = settle_row(settler, state, prices, at, path.steps[at], crossing, before)
        if added:
            if trace:
                snapshots.append((at, state.size.copy(), state.margin.copy(), state.cross_wallet))
            search.refresh(state, {index_of[e.position] for e in state.events[-added:]})
        row, window = at + 1, PROBE_ROWS

    result_trace = _trace(scenario, settler, prices, snapshots, start) if trace else None
    return SimulationResult(events=tuple(state.events), final=settler.final(state), trace=result_trace)


def _check_crossing(crossing: str | None) -> None:
    if crossing not in CROSSING_MODES:
        raise ValueError(f"crossing: must be one of {', '.join(map(repr, CROSSING_MODES))}, got {crossing!r}")


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
