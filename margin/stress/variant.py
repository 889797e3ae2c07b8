"""One account variant walked along a chunk of paths: which paths may come near a breach, the
step-by-step search on those, and the engine's settlement event to event on each (the run
over every chunk and variant is :mod:`margin.stress.runner`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from margin.account import account_value, price_vector
from margin.paths import PricePath
from margin.scenario import Scenario
from margin.settle import Event, SettlementState, Settler
from margin.breach import PoolExcess, collateral_along, isolated_threshold
from margin.simulate import simulate
from margin.stress.rows import MarkRows, PathMarks


@dataclass(slots=True)
class _Outcome:
    """Per-path results of one chunk (internal)."""

    final_value: np.ndarray
    liquidated: np.ndarray
    first_liquidation_step: np.ndarray
    bankrupt: np.ndarray
    events: dict[int, tuple[Event, ...]] = field(default_factory=dict)


class VariantRunner:
    """Walks one account variant along a chunk of paths.

    The breach *search* is vectorized over paths × steps with the engine's own algebra; the
    breach *judgement and settlement* is the engine's :meth:`margin.settle.Settler.settle`,
    called on each path at each candidate step, exactly as :func:`margin.simulate.simulate`
    calls it. A candidate is a step at which a group may breach (with a hair of tolerance);
    ``settle`` checks exactly and does nothing where nothing is due, so the events are those
    of ``simulate`` on the same path (tested).
    """

    def __init__(self, scenario: Scenario, step_hours: float | None = None):
        self.scenario = scenario
        # Funding changes every path's wallet at its own funding times, so the search from one
        # opening state does not hold: a funded account walks each path with simulate itself.
        funded = any(m.funding_rate != 0.0 for m in scenario.markets.values())
        self.step_hours = step_hours if funded else None
        settler = self.settler = Settler(scenario)
        # So do accounts with stop orders or coin pools: the search below knows neither.
        self.each_path = funded or bool(settler.orders) or bool(settler.coin_keys)
        positions = scenario.positions
        self.col = np.array(settler.col, dtype=np.intp)
        self.sign = np.array([p.sign for p in positions], dtype=float)
        self.size = np.array([p.size for p in positions], dtype=float)
        self.entry = np.array([p.entry for p in positions], dtype=float)
        self.index = {p.id: i for i, p in enumerate(positions)}
        self.cross = frozenset(settler.cross)
        start_prices = price_vector(scenario)
        self.start_value = account_value(scenario)
        # Step 0 is the account's own prices on every path: settle it once (an account that is
        # liquidatable as it stands is liquidated there), and search the other steps from the
        # state it leaves.
        self.opening = settler.new_state()
        settler.settle(self.opening, start_prices, 0, 0)
        self.cross_by_market: dict[int, list[int]] = {}
        for i in settler.cross:
            if self.opening.size[i] > 0:
                self.cross_by_market.setdefault(settler.col[i], []).append(i)
        # Each isolated position can only breach beyond one price (its excess is monotone in
        # its price): the engine's closed-form liquidation price, widened by a hair.
        self.thresholds = {i: isolated_threshold(settler, self.opening, i) for i in settler.isolated}
        # what each path's walk starts from: no precomputed rows, every isolated row to be found
        self.no_hits: dict[int, np.ndarray | None] = dict.fromkeys(settler.isolated)
        self.to_find: dict[int, int | None] = dict.fromkeys(settler.isolated, -1)
        self.open_isolated = frozenset(i for i in settler.isolated if self.opening.size[i] > 0)
        # As in simulate: a candidate is confirmed by the exact check, so the tolerance only has
        # to exceed the rounding of the vectorized sums.
        scale = 1.0 + abs(scenario.cross_wallet) + float(np.sum(self.size * self.entry))
        scale += float(self._collateral_value(self.opening, start_prices))
        self.tolerance = 1e-9 * scale

    def near(self, low: np.ndarray, high: np.ndarray, cross: np.ndarray | None = None) -> np.ndarray:
        """The paths that may come near a breach, from each market's lowest and highest mark
        on each path after step 0 (``low``, ``high`` ``(markets, paths)``): an isolated
        position's market reaching its threshold, or the cross pool's least possible equity
        − MM over those ranges within the search's tolerance (each market's excess is
        piecewise linear, so its least value on a range is at an end or a tier break inside,
        :meth:`margin.breach.PoolExcess.knots`; the collateral's value is least at its market's
        lowest mark). A path not near has no candidate step: the
        search would find none on it (its every step is inside the ranges). ``cross``:
        :meth:`cross_near`'s answer, if already found."""
        near = self.cross_near(low, high) if cross is None else cross.copy()
        for i, threshold in self.thresholds.items():
            if threshold is not None:
                j = self.col[i]
                near |= low[j] <= threshold if self.sign[i] > 0 else high[j] >= threshold
        return near

    def cross_near(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The paths on which the cross pool may come near a breach (:meth:`near`'s cross
        part): the others need no cross search from the opening state."""
        near = np.zeros(low.shape[1], dtype=bool)
        if self.cross_by_market:
            pools = PoolExcess(self.settler, low.T)
            least = np.full(low.shape[1], self.opening.cross_wallet)
            for j, members in self.cross_by_market.items():
                index = np.array(members, dtype=np.intp)
                size = self.opening.size[index]
                ends = np.minimum(pools.along(index, size, low[j]), pools.along(index, size, high[j]))
                knots, values = pools.knots(index, size, float(low[j].min()), float(high[j].max()))
                inside = (knots[None, 1:-1] > low[j][:, None]) & (knots[None, 1:-1] < high[j][:, None])
                least += np.minimum(ends, np.where(inside, values[None, 1:-1], np.inf).min(axis=1, initial=np.inf))
            if self.settler.usdt_entries:
                least += collateral_along(self.settler, self.opening, low.T)
            near |= least <= self.tolerance
        return near

    def search(self, rows: MarkRows, paths: np.ndarray, cross_paths: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray | None, dict[int, np.ndarray], dict[int | None, np.ndarray]]:
        """Vectorized breach search on the chunk's paths ``paths`` (indices) of ``rows`` from the
        state after step 0: per path the first candidate row (``rows`` = none), the cross excess
        (equity − wallet − MM, ``(paths, rows)``), each isolated position's candidate rows, and
        per path the first candidate row of each group (key ``None``: the cross pool, else the
        isolated position's index; ``rows`` = none). ``cross_paths`` (indices into ``paths``):
        the only paths whose cross pool may breach from the opening state (:meth:`cross_near`;
        default: all); the cross excess has their rows only, in that order."""
        n_markets, n_paths, n_rows = len(self.settler.market_col), paths.shape[0], rows.n_rows
        first = np.full(n_paths, n_rows, dtype=np.int64)
        every = np.arange(n_paths)
        cross_excess = None
        group_first: dict[int | None, np.ndarray] = {}
        cross_paths = every if cross_paths is None else cross_paths
        if self.cross_by_market and cross_paths.shape[0] == 0:
            group_first[None] = np.full(n_paths, n_rows, dtype=np.int64)  # no path's pool can breach
        elif self.cross_by_market:
            prices = rows.marks(paths[cross_paths])
            flat = np.zeros(cross_paths.shape[0] * n_rows)
            for j, members in self.cross_by_market.items():
                column = prices[j].reshape(-1, 1)
                flat += PoolExcess(self.settler, column).group(members, self.opening, 0, column.shape[0], 0)
            if self.settler.usdt_entries:  # the collateral's value moves with its market
                flat += collateral_along(self.settler, self.opening, prices.reshape(n_markets, -1).T)
            cross_excess = flat.reshape(cross_paths.shape[0], n_rows)
            hits = cross_excess <= self.tolerance - self.opening.cross_wallet
            hits[:, 0] = False  # step 0 is settled
            at = hits.argmax(axis=1)
            group_first[None] = np.full(n_paths, n_rows, dtype=np.int64)
            group_first[None][cross_paths] = np.where(hits[np.arange(cross_paths.shape[0]), at], at, n_rows)
            first = np.minimum(first, group_first[None])
        isolated_hits = {}
        for i, threshold in self.thresholds.items():
            if threshold is None:
                continue  # closed at step 0, or a long that can never lose its margin
            j, long = int(self.col[i]), bool(self.sign[i] > 0)
            # compared only on the paths whose bounds reach its threshold: the others have no hit
            mine = np.flatnonzero(rows.reaches(j, threshold, long, paths))
            hits = np.zeros((n_paths, n_rows), dtype=bool)
            if mine.shape[0]:
                hits[mine] = rows.beyond(j, threshold, long, paths[mine])
            hits[:, 0] = False
            isolated_hits[i] = hits
            at = hits.argmax(axis=1)
            group_first[i] = np.where(hits[every, at], at, n_rows)
            first = np.minimum(first, group_first[i])
        return first, cross_excess, isolated_hits, group_first

    def walk(self, marks: PathMarks, start: int, cross_excess: np.ndarray | None,
             isolated_hits: dict[int, np.ndarray], first_rows: dict[int | None, int] | None = None) -> SettlementState:
        """Event to event along one path's ``marks`` from candidate row ``start``,
        reusing the precomputed search rows while the groups they describe are unchanged;
        ``first_rows``: each group's first candidate row on them (:meth:`search`; ``rows``: none),
        if known. ``cross_excess`` ``None`` with cross positions open: not searched (the pool
        cannot breach from the opening state on this path), found here if the wallet changes."""
        settler = self.settler
        state = self._opening_copy()
        n_rows = marks.n_rows
        hits_of: dict[int, np.ndarray | None] = {**self.no_hits, **isolated_hits}
        next_of: dict[int, int | None] = dict(self.to_find)  # -1: to be found
        row = start
        cross_next: int | None = None  # the cross pool's next candidate row (None: none) ...
        cross_for: float | None = None  # ... found for this wallet on these excess rows (None: to be found)
        for group, at in (first_rows or {}).items():  # the search's rows from step 1, for the opening state
            if group is None:
                cross_next, cross_for = (at if at < n_rows else None), state.cross_wallet
            elif group in self.open_isolated:
                next_of[group] = at if at < n_rows else None
        cross_open = bool(self.cross_by_market)
        while row < n_rows:
            candidates = []
            # found again only when the wallet or the excess rows changed, or the walk passed it
            if cross_open and (cross_for != state.cross_wallet or (cross_next is not None and cross_next < row)):
                if cross_excess is None and not self._pool_poorer(state):
                    cross_for = state.cross_wallet  # a pool no poorer stays as safe as its bounds said
                else:
                    if cross_excess is None:
                        cross_excess = self._cross_excess(state, marks.all(), row)
                    cross_open = cross_excess is not None
                    found = None if cross_excess is None else _first_true(
                        cross_excess[row:] <= self.tolerance - state.cross_wallet)
                    cross_next = None if found is None else row + found
                    cross_for = state.cross_wallet
            if cross_open and cross_next is not None:
                candidates.append(cross_next)
            for i in settler.isolated:
                found_at = next_of[i]
                if found_at is not None and found_at < row:
                    found_at = next_of[i] = self._next_isolated(i, state, marks, hits_of[i], row)
                if found_at is not None:
                    candidates.append(found_at)
            if not candidates:
                break
            at = min(candidates)
            before = len(state.events)
            # Only the groups with a candidate at this row may be in breach there (the search's
            # rows hold every breach, with a hair of tolerance): the others are known clear, so
            # settle need not value them (the same events: margin.settle.Settler.settle's maybe).
            maybe: set[tuple[str, Any]] = {("isolated", i) for i in settler.isolated if next_of[i] == at}
            if cross_open and cross_next == at:
                maybe.add(("pool", None))
            added = settler.settle(state, marks.row(at), at, at, maybe=maybe)
            row = at + 1
            if not added:
                continue
            touched = {self.index[e.position] for e in state.events[before:] if e.position in self.index}
            for i in touched - self.cross:
                hits_of[i] = None  # margin or size changed: the precomputed rows no longer hold
                next_of[i] = -1
            if touched & self.cross and row < n_rows:
                cross_excess = self._cross_excess(state, marks.all(), row)
                cross_open, cross_for = cross_excess is not None, None
        return state

    def _opening_copy(self) -> SettlementState:
        """A copy of the state step 0 left, for one path's walk."""
        opening = self.opening
        return SettlementState(size=opening.size.copy(), margin=opening.margin.copy(), cross_wallet=opening.cross_wallet,
                               fund=opening.fund, socialized=opening.socialized, bankrupt=opening.bankrupt,
                               events=list(opening.events), sliced=_copy(opening.sliced),
                               collateral=_copy(opening.collateral), coin_fund=_copy(opening.coin_fund),
                               coin_socialized=_copy(opening.coin_socialized))

    def _pool_poorer(self, state: SettlementState) -> bool:
        """Whether the cross pool holds less than at the opening (a lower wallet, or its
        collateral changed), its positions unchanged: only then may a pool its bounds found
        safe come near a breach."""
        opening = self.opening
        return state.cross_wallet < opening.cross_wallet or (
            state.collateral is not None
            and (opening.collateral is None or not np.array_equal(state.collateral, opening.collateral)))

    def _next_isolated(self, i: int, state: SettlementState, marks: PathMarks, hits: np.ndarray | None,
                       row: int) -> int | None:
        if state.size[i] <= 0:
            return None
        if hits is not None:
            found = _first_true(hits[row:])
        else:
            threshold = isolated_threshold(self.settler, state, i)
            if threshold is None:
                return None
            column = marks.all()[row:, self.col[i]]
            found = _first_true(column <= threshold if self.sign[i] > 0 else column >= threshold)
        return None if found is None else row + found

    def _cross_excess(self, state: SettlementState, marks: np.ndarray, row: int) -> np.ndarray | None:
        """The cross pool's excess from ``row`` on, after its positions changed (``None``: no
        cross position left)."""
        open_by_market: dict[int, list[int]] = {}
        for i in self.settler.cross:
            if state.size[i] > 0:
                open_by_market.setdefault(self.settler.col[i], []).append(i)
        if not open_by_market:
            return None
        pools = PoolExcess(self.settler, marks)
        excess = np.full(marks.shape[0], np.inf)
        excess[row:] = sum(pools.group(m, state, row, marks.shape[0], j) for j, m in open_by_market.items())
        if self.settler.usdt_entries:
            excess[row:] += collateral_along(self.settler, state, marks[row:])
        return excess

    def _record(self, outcome: _Outcome, n: Any, state: SettlementState) -> None:
        """Mark path ``n`` (an index, or ``slice(None)`` for every path) with ``state``'s events."""
        first_step: dict[int, int] = {}
        for event in state.events:
            if event.type in ("liquidation", "partial_liquidation"):
                first_step.setdefault(self.index[event.position], int(event.step))
        for i, step in first_step.items():
            outcome.liquidated[n, i] = True
            outcome.first_liquidation_step[n, i] = step
        outcome.bankrupt[n] = state.bankrupt

    def near_paths(self, low: np.ndarray, high: np.ndarray, cross: np.ndarray | None = None) -> np.ndarray:
        """Which paths of a chunk this variant must see step by step, from bounds ``low``,
        ``high`` ``(markets, paths)`` on each market's marks after step 0: every path if it is
        walked by :func:`margin.simulate.simulate`, none if step 0 closed every position,
        else those :meth:`near` a breach (``cross``: :meth:`cross_near`'s answer, if found)."""
        if self.each_path:
            return np.ones(low.shape[1], dtype=bool)
        if not (self.opening.size > 0).any():
            return np.zeros(low.shape[1], dtype=bool)
        return self.near(low, high, cross)

    def run(self, prices: np.ndarray, first_path: int, keep_events: bool = False,
            ranges: tuple[np.ndarray, np.ndarray] | None = None) -> _Outcome:
        """The chunk ``prices`` ``(markets, paths, steps + 1)`` walked; ``ranges``: each
        market's lowest and highest mark on each path after step 0 (:func:`path_ranges`) if
        already found."""
        low, high = path_ranges(prices) if ranges is None else ranges
        cross = self.cross_near(low, high)
        return self.run_near(prices[:, :, -1].T, MarkRows(prices, low, high), self.near_paths(low, high, cross),
                             first_path, keep_events, cross)

    def run_near(self, last: np.ndarray, rows: MarkRows, near: np.ndarray,
                 first_path: int, keep_events: bool = False, cross: np.ndarray | None = None) -> _Outcome:
        """A chunk walked from the marks at its horizon ``last`` ``(paths, markets)`` and its
        ``rows`` (:mod:`margin.stress.rows`: marks given, or made from the log-returns where
        read), searched on the paths of ``near`` (:meth:`near_paths`, a mask). Paths not near
        keep the state step 0 left to the horizon; ``cross`` (a mask, default all): the paths
        whose cross pool may breach from that state (:meth:`cross_near`)."""
        n_paths = last.shape[0]
        if self.each_path:
            return self._run_funded(rows.marks(np.arange(n_paths)), first_path, keep_events)
        n_positions = self.size.shape[0]
        opening = self.opening
        pnl = self.sign * opening.size * (last[:, self.col] - self.entry)
        outcome = _Outcome(
            final_value=self.settler.balance(opening) + pnl.sum(axis=1) + self._collateral_value(opening, last),
            liquidated=np.zeros((n_paths, n_positions), dtype=bool),
            first_liquidation_step=np.full((n_paths, n_positions), -1, dtype=np.int32),
            bankrupt=np.zeros(n_paths, dtype=bool),
        )
        if opening.events:
            self._record(outcome, slice(None), opening)
            if keep_events:
                outcome.events.update({first_path + n: tuple(opening.events) for n in range(n_paths)})
        near = np.flatnonzero(near)
        if near.shape[0] == 0:
            return outcome
        # The near paths are searched step by step and walked from their first candidate.
        n_rows = rows.n_rows
        cross_paths = None if cross is None else np.flatnonzero(cross[near])
        first, cross_excess, isolated_hits, group_first = self.search(rows, near, cross_paths)
        cross_row = np.arange(near.shape[0]) if cross_paths is None else np.full(near.shape[0], -1)
        if cross_paths is not None:
            cross_row[cross_paths] = np.arange(cross_paths.shape[0])
        walked = np.flatnonzero(first < n_rows)
        balances, sizes = np.empty(walked.shape[0]), np.empty((walked.shape[0], n_positions))
        collateral = np.zeros(walked.shape[0])
        # per path as plain ints, read once: the loop below runs once per walked path
        near_of, first_of = near.tolist(), first.tolist()
        cross_of = cross_row.tolist()
        hits_by = list(isolated_hits.items())
        firsts = [(group, at.tolist()) for group, at in group_first.items()]
        with_collateral = bool(self.settler.usdt_entries)
        for w, k in enumerate(walked.tolist()):
            n = near_of[k]
            on_cross = None if cross_excess is None or cross_of[k] < 0 else cross_excess[cross_of[k]]
            state = self.walk(rows.path(n), first_of[k], on_cross,
                              {i: hits[k] for i, hits in hits_by}, {group: at[k] for group, at in firsts})
            balances[w], sizes[w] = self.settler.balance(state), state.size
            if with_collateral:
                collateral[w] = self._collateral_value(state, last[n])
            self._record(outcome, n, state)
            if keep_events and state.events:
                outcome.events[first_path + n] = tuple(state.events)
        paths = near[walked]
        outcome.final_value[paths] = (balances + (self.sign * sizes * (last[paths][:, self.col] - self.entry)).sum(axis=1)
                                      + collateral)
        return outcome

    def _collateral_value(self, state: SettlementState, last: np.ndarray) -> Any:
        """The USDT pool's collateral at the horizon's marks ``last`` ``(paths, M)`` or ``(M,)`` [USDT]."""
        if not self.settler.usdt_entries:
            return 0.0
        value = collateral_along(self.settler, state, np.atleast_2d(last))
        return value if np.ndim(last) == 2 else float(value[0])

    def _value_at(self, result_final: Any, state: SettlementState, marks: np.ndarray) -> float:
        """What the account is worth at the horizon's marks ``marks`` ``(M,)`` [USDT]: the
        wallet, the open positions' PnL, the collateral, and each coin pool at its coin's price."""
        linear = ~self.settler.inverse_mask
        value = result_final.balance + float(np.sum((self.sign * state.size * (marks[self.col] - self.entry))[linear]))
        value += self._collateral_value(state, marks)
        for key in self.settler.coin_keys:
            price = float(marks[self.settler.entry_col[key]])
            coins = float(result_final.held[key])
            for i in range(len(self.size)):
                if self.settler.money[i] == key and state.size[i] > 0:
                    coins += self.settler.pnl(i, float(state.size[i]), float(marks[self.col[i]]))
            value += coins * price
        return value


    def _run_funded(self, prices: np.ndarray, first_path: int, keep_events: bool) -> _Outcome:
        """Every path walked by :func:`margin.simulate.simulate` with its rows' time, so the
        markets' funding rates are charged, stop orders fire and coin pools are judged (step 0
        is settled as in :meth:`run`)."""
        n_markets, n_paths, n_rows = prices.shape
        n_positions = self.size.shape[0]
        names = tuple(self.scenario.markets)
        hours = None if self.step_hours is None else np.arange(n_rows) * self.step_hours
        outcome = _Outcome(
            final_value=np.zeros(n_paths), liquidated=np.zeros((n_paths, n_positions), dtype=bool),
            first_liquidation_step=np.full((n_paths, n_positions), -1, dtype=np.int32),
            bankrupt=np.zeros(n_paths, dtype=bool),
        )
        for n in range(n_paths):
            marks = np.ascontiguousarray(prices[:, n, :].T)
            result = simulate(self.scenario, PricePath(steps=np.arange(n_rows), markets=names, marks=marks,
                                                       hours=hours))
            state = SettlementState(size=np.array(result.final.sizes), margin=np.array(result.final.margins),
                                    cross_wallet=result.final.cross_wallet, fund=result.final.insurance_fund,
                                    bankrupt=result.final.bankrupt, events=list(result.events),
                                    sliced=np.array(result.final.sliced, dtype=bool),
                                    collateral=np.array(result.final.collateral) if result.final.collateral else None)
            outcome.final_value[n] = self._value_at(result.final, state, marks[-1])
            self._record(outcome, n, state)
            if keep_events and state.events:
                outcome.events[first_path + n] = tuple(state.events)
        return outcome


def path_ranges(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each market's lowest and highest mark on each path after step 0 ``(markets, paths)``,
    of a chunk ``(markets, paths, steps + 1)``."""
    after = prices[:, :, 1:]
    return np.minimum.reduce(after, axis=2), np.maximum.reduce(after, axis=2)


def _copy(values: np.ndarray | None) -> np.ndarray | None:
    """A copy of a state's array for one path's walk; ``None`` and an empty array (nothing in
    it can change) are shared."""
    return values if values is None or values.shape[0] == 0 else values.copy()


def _first_true(flags: np.ndarray) -> int | None:
    if flags.shape[0] == 0:
        return None
    found = int(flags.argmax())
    return found if flags[found] else None
