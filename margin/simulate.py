"""Walking an account along a path of mark prices: liquidation, bankruptcy, insurance fund.

Rules applied at every step (``Rules`` in :mod:`margin.scenario`):

* Isolated positions are judged alone (margin + PnL ≤ MM); the cross pool as one
  (cross wallet + Σ cross PnL ≤ Σ cross MM). A breach is settled, then everything is judged
  again at the same prices, until no breach remains (a cascade within the step).
* ``liquidation = "full"`` closes the breached position (isolated) or every cross position at
  once, at the step's mark price (the fill).
* ``liquidation = "partial"`` closes slices of ``partial_fraction`` of the size held when the
  breach began until the breach is cured. For the cross pool no position is cut first: each
  round closes the same fraction of *every* cross position. Cutting one leg first can make a
  hedged pool riskier (close the short of a hedge and the long is naked), and realizing one
  leg's loss while the other leg's profit stays unrealized would drive the wallet negative.
  Slices are filled at the mark price; the settlement rule applies to the last, full close.
* ``settlement = "bankruptcy"``: a full close leaves the trader nothing of the margin behind the
  position (the whole cross wallet, or the isolated margin); the insurance fund keeps what was
  left above zero (fee included). ``"mark"``: the trader keeps what is left after the fee.
* The liquidation fee is ``liquidation_fee_rate × closed notional``, never more than the
  trader has left, and goes to the insurance fund.
* A close below zero equity (price beyond the bankruptcy price) is a ``bankruptcy``: the fund
  pays the deficit; what it cannot pay is a ``socialized_loss`` (auto-deleveraging).

Money is conserved: ``final.balance + final.insurance_fund - final.socialized_loss`` equals
``balance + rules.insurance_fund + Σ realized_pnl``.

:func:`simulate` walks from event to event: between events the account is a fixed set of
linear functions of the prices, so the next breach is found with one vectorized pass over the
rest of the path; the breach step is then settled by the same code as the plain step-by-step
loop :func:`simulate_reference`, so both give the same events.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from margin.account import Valuation, compile_account, value_account, _segment_roots
from margin.scenario import MAX_FILE_BYTES, Position, Scenario, ScenarioError

EVENT_TYPES = ("liquidation", "partial_liquidation", "bankruptcy", "socialized_loss")
MAX_PATH_BYTES = 200 * MAX_FILE_BYTES  # a year of minute marks for 5 markets is ~40 MB


# ----------------------------------------------------------------------------- price paths


@dataclass(frozen=True, slots=True, kw_only=True)
class PricePath:
    """Mark prices along a path: ``marks[t, j]`` [quote per base] of ``markets[j]`` at row t.

    ``steps`` labels each row (the CSV's ``step`` column).
    """

    steps: np.ndarray
    markets: tuple[str, ...]
    marks: np.ndarray


def price_path(marks: dict[str, Sequence[float]] | dict[str, np.ndarray],
               steps: Sequence[int] | None = None) -> PricePath:
    """Build a validated path from columns of mark prices."""
    names = tuple(marks)
    if not names:
        raise ScenarioError("path", "needs at least one market column")
    matrix = np.column_stack([np.asarray(marks[n], dtype=float) for n in names])
    n = matrix.shape[0]
    if n == 0:
        raise ScenarioError("path", "has no rows")
    labels = np.arange(n) if steps is None else np.asarray(steps)
    return _checked_path(PricePath(steps=labels, markets=names, marks=matrix))


def _checked_path(path: PricePath) -> PricePath:
    bad = ~np.isfinite(path.marks) | (path.marks <= 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        value = path.marks[row, col]
        problem = "must be a finite number" if not np.isfinite(value) else f"must be > 0, got {value:g}"
        raise ScenarioError(f"path[{row}].{path.markets[col]}", problem)
    return path


def parse_path_csv(text: str) -> PricePath:
    """Parse the path CSV: header ``step,<MARKET>,...``, one row per step of mark prices."""
    if len(text) > MAX_PATH_BYTES:
        raise ScenarioError("path", f"file is {len(text):,} bytes; the limit is {MAX_PATH_BYTES:,}")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip() != "step":
        raise ScenarioError("path", "the header must start with 'step'")
    names = [h.strip() for h in header[1:]]
    if not names:
        raise ScenarioError("path", "needs at least one market column after 'step'")
    if len(set(names)) != len(names):
        raise ScenarioError("path", "has a market column twice")
    try:
        with warnings.catch_warnings():
            # a row longer than the header is an error here, not a warning and a dropped value
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=float, skipinitialspace=True, index_col=False)
    except pd.errors.ParserWarning:
        raise ScenarioError("path", f"every row must have {len(names) + 1} columns, like the header") from None
    except pd.errors.ParserError as err:
        raise ScenarioError("path", f"is not a well-formed CSV ({str(err).splitlines()[0]})") from None
    except ValueError as err:  # pandas reports the offending text
        raise ScenarioError("path", f"has a value that is not a number ({str(err).splitlines()[0]})") from None
    table = frame.to_numpy(dtype=float)
    if table.shape[0] == 0:
        raise ScenarioError("path", "has no rows")
    missing = np.argwhere(np.isnan(table))
    if missing.size:
        row, col = map(int, missing[0])
        raise ScenarioError(f"path[{row}].{(['step'] + names)[col]}", "is empty or not a number")
    steps = table[:, 0]
    labels = steps.astype(np.int64) if np.all(steps == np.round(steps)) else steps
    return _checked_path(PricePath(steps=labels, markets=tuple(names), marks=table[:, 1:]))


def load_path(source: str | Path) -> PricePath:
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ScenarioError("path", f"cannot read {str(path)!r}: {err.strerror}") from None
    if size > MAX_PATH_BYTES:
        raise ScenarioError("path", f"file is {size:,} bytes; the limit is {MAX_PATH_BYTES:,}")
    return parse_path_csv(path.read_text(encoding="utf-8"))


def path_matrix(scenario: Scenario, path: PricePath) -> np.ndarray:
    """Mark prices ``(N, M)`` in the scenario's market order; absent markets keep their price."""
    unknown = [m for m in path.markets if m not in scenario.markets]
    if unknown:
        raise ScenarioError("path", f"unknown market {unknown[0]!r} (markets: {', '.join(scenario.markets)})")
    n = path.marks.shape[0]
    matrix = np.empty((n, len(scenario.markets)))
    for j, name in enumerate(scenario.markets):
        if name in path.markets:
            matrix[:, j] = path.marks[:, path.markets.index(name)]
        else:
            matrix[:, j] = scenario.markets[name].price
    return matrix


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened. Amounts in [quote]; ``size`` [base] closed.

    ``insurance_fund_delta`` is what the fund gained (+) or paid (−), fee included;
    ``amount`` is the loss beyond margin (``bankruptcy``) or the part socialized
    (``socialized_loss``), 0 otherwise. ``row`` is the index of the step in the path.
    """

    step: int | float
    row: int
    type: str
    position: str
    market: str
    mode: str
    price: float
    size: float
    realized_pnl: float
    fee: float
    insurance_fund_delta: float
    amount: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "type": self.type, "position": self.position, "market": self.market,
            "price": self.price, "size": self.size, "realized_pnl": self.realized_pnl,
            "fee": self.fee, "insurance_fund_delta": self.insurance_fund_delta,
            "amount": self.amount, "mode": self.mode,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalState:
    """After the path. ``balance`` [quote] is the cross wallet plus isolated margins still
    locked; ``bankrupt`` is true when any close went beyond its bankruptcy price."""

    balance: float
    cross_wallet: float
    insurance_fund: float
    socialized_loss: float
    open_positions: tuple[str, ...]
    sizes: tuple[float, ...]
    margins: tuple[float, ...]
    bankrupt: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "balance": self.balance, "insurance_fund": self.insurance_fund,
            "socialized_loss": self.socialized_loss, "open_positions": list(self.open_positions),
            "bankrupt": self.bankrupt,
        }


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
        """Cross equity plus the equity of open isolated positions, per row [quote]."""
        v = self.valuation
        iso = np.where((self.size > 0) & self.isolated, v.position_equity, 0.0)
        return v.cross_equity + iso.sum(axis=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    events: tuple[Event, ...]
    final: FinalState
    trace: Trace | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"events": [e.as_dict() for e in self.events], "final": self.final.as_dict()}


# ----------------------------------------------------------------------------- settlement


@dataclass(slots=True)
class _State:
    """Mutable state of a simulation (internal)."""

    size: np.ndarray
    margin: np.ndarray
    cross_wallet: float
    fund: float
    socialized: float = 0.0
    bankrupt: bool = False
    events: list[Event] = field(default_factory=list)


class _Settler:
    """Judges one step at fixed prices and applies the rules; shared by both walkers."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.rules = scenario.rules
        self.positions: tuple[Position, ...] = scenario.positions
        self.markets = [scenario.markets[p.market] for p in self.positions]
        self.entry_basis = scenario.rules.mm_basis == "entry"
        self.isolated = [i for i, p in enumerate(self.positions) if p.is_isolated]
        self.cross = [i for i, p in enumerate(self.positions) if not p.is_isolated]
        self.market_col = {name: j for j, name in enumerate(scenario.markets)}
        self.col = [self.market_col[p.market] for p in self.positions]

    def new_state(self, start: "FinalState | None" = None) -> _State:
        """The scenario's own state, or ``start`` (where an earlier walk ended) to continue it."""
        if start is not None:
            if len(start.sizes) != len(self.positions):
                raise ValueError("start: holds a state of another account")
            return _State(size=np.array(start.sizes, dtype=float), margin=np.array(start.margins, dtype=float),
                          cross_wallet=float(start.cross_wallet), fund=float(start.insurance_fund),
                          socialized=float(start.socialized_loss), bankrupt=bool(start.bankrupt))
        return _State(
            size=np.array([p.size for p in self.positions], dtype=float),
            margin=np.array([p.margin if p.is_isolated else 0.0 for p in self.positions], dtype=float),
            cross_wallet=self.scenario.cross_wallet,
            fund=self.rules.insurance_fund,
        )

    # --- scalar valuation -------------------------------------------------------------------
    def pnl(self, i: int, size: float, price: float) -> float:
        p = self.positions[i]
        return p.sign * size * (price - p.entry)

    def maintenance(self, i: int, size: float, price: float) -> float:
        basis = self.positions[i].entry if self.entry_basis else price
        return self.markets[i].maintenance_margin(size * basis)

    def cross_pool(self, state: _State, prices: np.ndarray) -> tuple[float, float, list[int]]:
        """(cross equity, cross MM, open cross positions) [quote]."""
        open_cross = [i for i in self.cross if state.size[i] > 0]
        equity = state.cross_wallet
        mm = 0.0
        for i in open_cross:
            price = float(prices[self.col[i]])
            equity += self.pnl(i, state.size[i], price)
            mm += self.maintenance(i, state.size[i], price)
        return equity, mm, open_cross

    # --- the step -----------------------------------------------------------------------------
    def settle(self, state: _State, prices: np.ndarray, step: Any, row: int) -> int:
        """Apply every liquidation due at these prices; returns how many events were added."""
        before = len(state.events)
        while True:
            acted = False
            for i in self.isolated:
                if state.size[i] <= 0:
                    continue
                price = float(prices[self.col[i]])
                size = state.size[i]
                if state.margin[i] + self.pnl(i, size, price) <= self.maintenance(i, size, price):
                    self._liquidate_isolated(state, i, price, step, row)
                    acted = True
            equity, mm, open_cross = self.cross_pool(state, prices)
            if open_cross and equity <= mm:
                self._liquidate_cross(state, prices, step, row)
                acted = True
            if not acted:
                return len(state.events) - before

    def _event(self, state: _State, kind: str, i: int, step: Any, row: int, price: float,
               size: float = 0.0, realized: float = 0.0, fee: float = 0.0,
               fund_delta: float = 0.0, amount: float = 0.0) -> None:
        p = self.positions[i]
        state.events.append(Event(
            step=_label(step), row=row, type=kind, position=p.id, market=p.market, mode=p.mode,
            price=price, size=size, realized_pnl=realized, fee=fee,
            insurance_fund_delta=fund_delta, amount=amount,
        ))

    def _cover_deficit(self, state: _State, deficit: float, i: int, price: float, step: Any, row: int) -> None:
        """Loss beyond margin: the fund pays what it can, the rest is socialized."""
        paid = min(deficit, state.fund)
        state.fund -= paid
        state.bankrupt = True
        self._event(state, "bankruptcy", i, step, row, price, fund_delta=-paid, amount=deficit)
        rest = deficit - paid
        if rest > 0:
            state.socialized += rest
            self._event(state, "socialized_loss", i, step, row, price, amount=rest)

    def _fee(self, notional: float, *caps: float) -> float:
        return max(0.0, min(self.rules.liquidation_fee_rate * notional, *caps))

    def _liquidate_isolated(self, state: _State, i: int, price: float, step: Any, row: int) -> None:
        rules = self.rules
        if rules.liquidation == "partial":
            slice_size = rules.partial_fraction * state.size[i]
            while True:
                size, margin = state.size[i], state.margin[i]
                equity = margin + self.pnl(i, size, price)
                if equity > self.maintenance(i, size, price):
                    return  # cured
                if equity <= 0 or size <= slice_size * (1 + 1e-12):
                    break  # cannot be cured by slicing, or the last slice: close in full
                realized = self.pnl(i, slice_size, price)
                fee = self._fee(slice_size * price, equity, margin + realized)
                state.margin[i] = margin + realized - fee
                state.size[i] = size - slice_size
                state.fund += fee
                self._event(state, "partial_liquidation", i, step, row, price, slice_size, realized, fee, fee)
        size, margin = state.size[i], state.margin[i]
        realized = self.pnl(i, size, price)
        equity = margin + realized
        fee = self._fee(size * price, equity)
        if rules.settlement == "bankruptcy":
            fund_gain, returned = max(equity, 0.0), 0.0
        else:
            fund_gain, returned = fee, max(equity - fee, 0.0)
        state.cross_wallet += returned
        state.fund += fund_gain
        state.size[i] = 0.0
        state.margin[i] = 0.0
        self._event(state, "liquidation", i, step, row, price, size, realized, fee, fund_gain)
        if equity < 0:
            self._cover_deficit(state, -equity, i, price, step, row)

    def _liquidate_cross(self, state: _State, prices: np.ndarray, step: Any, row: int) -> None:
        rules = self.rules
        if rules.liquidation == "partial":
            open_cross = [i for i in self.cross if state.size[i] > 0]
            slice_size = {i: rules.partial_fraction * state.size[i] for i in open_cross}
            while True:
                equity, mm, open_cross = self.cross_pool(state, prices)
                if not open_cross or equity > mm:
                    return  # cured
                if equity <= 0 or all(state.size[i] <= slice_size[i] * (1 + 1e-12) for i in open_cross):
                    break
                for i in open_cross:
                    price = float(prices[self.col[i]])
                    cut = min(slice_size[i], state.size[i])
                    realized = self.pnl(i, cut, price)
                    fee = self._fee(cut * price, equity, state.cross_wallet + realized)
                    equity -= fee
                    state.cross_wallet += realized - fee
                    state.fund += fee
                    state.size[i] -= cut
                    closed = state.size[i] <= 0
                    kind = "liquidation" if closed else "partial_liquidation"
                    self._event(state, kind, i, step, row, price, cut, realized, fee, fee)
        equity, _, open_cross = self.cross_pool(state, prices)
        remaining = max(equity, 0.0)
        closes = []
        for i in open_cross:
            price = float(prices[self.col[i]])
            size = state.size[i]
            realized = self.pnl(i, size, price)
            fee = self._fee(size * price, remaining)
            remaining -= fee
            closes.append((i, price, size, realized, fee))
            state.size[i] = 0.0
        fees = sum(c[4] for c in closes)
        if rules.settlement == "bankruptcy":
            # The trader loses the whole pool; the fund keeps what was left above zero.
            state.cross_wallet = 0.0
            state.fund += max(equity, 0.0)
            leftover = max(equity, 0.0) - fees
        else:
            state.cross_wallet = max(equity, 0.0) - fees
            state.fund += fees
            leftover = 0.0
        for n, (i, price, size, realized, fee) in enumerate(closes):
            gain = fee + (leftover if n == len(closes) - 1 else 0.0)
            self._event(state, "liquidation", i, step, row, price, size, realized, fee, gain)
        if equity < 0:
            worst = min(closes, key=lambda c: c[3])
            self._cover_deficit(state, -equity, worst[0], worst[1], step, row)

    def final(self, state: _State) -> FinalState:
        open_ids = tuple(p.id for i, p in enumerate(self.positions) if state.size[i] > 0)
        locked = float(sum(state.margin[i] for i in self.isolated if state.size[i] > 0))
        return FinalState(
            balance=state.cross_wallet + locked, cross_wallet=state.cross_wallet,
            insurance_fund=state.fund, socialized_loss=state.socialized,
            open_positions=open_ids, sizes=tuple(map(float, state.size)),
            margins=tuple(map(float, state.margin)), bankrupt=state.bankrupt,
        )


def _label(step: Any) -> int | float:
    value = step.item() if hasattr(step, "item") else step
    return int(value) if float(value).is_integer() else float(value)


# ----------------------------------------------------------------------------- the walkers


def simulate_reference(scenario: Scenario, path: PricePath, *, start: FinalState | None = None) -> SimulationResult:
    """The plain step-by-step loop: judge and settle every row in turn."""
    prices = path_matrix(scenario, path)
    settler = _Settler(scenario)
    state = settler.new_state(start)
    for row in range(prices.shape[0]):
        settler.settle(state, prices[row], path.steps[row], row)
    return SimulationResult(events=tuple(state.events), final=settler.final(state))


class _PoolExcess:
    """Vectorized excess (PnL − MM) of position groups along the path, for breach search."""

    def __init__(self, settler: _Settler, prices: np.ndarray):
        self.s = settler
        self.prices = prices

    def group(self, members: list[int], state: _State, start: int, stop: int, column: int) -> np.ndarray:
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


def simulate(scenario: Scenario, path: PricePath, *, trace: bool = False,
             start: FinalState | None = None) -> SimulationResult:
    """Walk ``path`` from event to event, applying the scenario's rules.

    Same events and final state as :func:`simulate_reference`, without visiting every row:
    the rows ahead are scanned in a window, vectorized; the window doubles while no breach is
    found and shrinks back after each event, so the work follows the distance between events.
    With ``trace=True`` the result also carries the account at every row. ``start`` continues
    an earlier walk from where it ended (its ``final``): walking a path in two parts, the
    second from the first's final state, gives the events and final state of the whole path.
    """
    prices = path_matrix(scenario, path)
    n_rows = prices.shape[0]
    settler = _Settler(scenario)
    state = settler.new_state(start)
    pools = _PoolExcess(settler, prices)
    # Scale for the breach search's tolerance: a candidate row is confirmed by the exact
    # scalar check, so the tolerance only has to exceed the rounding of the vectorized sum.
    scale = 1.0 + abs(state.cross_wallet) + float(np.sum(state.size * [p.entry for p in scenario.positions]))
    tolerance = 1e-9 * scale
    cross_by_market = {j: [i for i in settler.cross if settler.col[i] == j] for j in range(prices.shape[1])}
    thresholds = {i: _isolated_threshold(settler, state, i) for i in settler.isolated}
    snapshots: list[tuple[int, np.ndarray, np.ndarray, float]] = []

    row, window = 0, FIRST_WINDOW
    while row < n_rows:
        stop = min(n_rows, row + window)
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
        if not candidates:
            row, window = stop, window * 2
            continue
        at = min(candidates)
        added = settler.settle(state, prices[at], path.steps[at], at)
        if added:
            snapshots.append((at, state.size.copy(), state.margin.copy(), state.cross_wallet))
            for i in _indices(settler, state.events[-added:]):
                if i in thresholds:
                    thresholds[i] = _isolated_threshold(settler, state, i)
        row, window = at + 1, FIRST_WINDOW

    result_trace = _trace(scenario, settler, prices, snapshots, start) if trace else None
    return SimulationResult(events=tuple(state.events), final=settler.final(state), trace=result_trace)


def _indices(settler: _Settler, events: Sequence[Event]) -> set[int]:
    ids = {e.position for e in events}
    return {i for i, p in enumerate(settler.positions) if p.id in ids}


def _isolated_threshold(settler: _Settler, state: _State, i: int) -> float | None:
    """Price at which isolated position ``i`` may breach, widened by a hair for rounding.

    An isolated position's excess is monotone in its price, so the breach region is the far
    side of its liquidation price; the exact check at a candidate row decides. ``None``: never
    (a long that cannot lose its margin); a short always has a liquidation price.
    """
    if state.size[i] <= 0:
        return None
    p = settler.positions[i]
    member = replace(p, size=float(state.size[i]), margin=float(state.margin[i]))
    roots = _segment_roots(float(state.margin[i]), [member], settler.markets[i], settler.entry_basis, True)
    if p.sign > 0:
        return max(roots) * (1 + 1e-9) if roots else None
    return min(roots) * (1 - 1e-9) if roots else 0.0


def _first_crossing(column: np.ndarray, threshold: float, sign: int) -> int | None:
    hits = column <= threshold if sign > 0 else column >= threshold
    first = int(hits.argmax())
    return first if hits[first] else None


def _trace(scenario: Scenario, settler: _Settler, prices: np.ndarray,
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
