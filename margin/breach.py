"""Where a walk may next breach: the rows ahead at which a pool, an isolated position or an
order may act, found without settling every row (:func:`margin.simulate.simulate` settles only
the rows found here; the exact settlement at a found row decides).

Between events the account is a fixed set of functions of the prices: the USDT pool's PnL −
MM is piecewise linear (:class:`PoolExcess`), and so is its collateral's value (amount × price ×
(1 − haircut), :func:`collateral_along`); an isolated position may breach only beyond its
threshold (:func:`isolated_threshold`, solved exactly, in ``1/price`` for an inverse one); an
order fires only outside its band (:func:`margin.orders.bounds`); a coin pool's excess is
valued row by row over the window (:func:`coin_excess`). :class:`BreachSearch` puts them
together over windows of rows. The stress lab uses the same pieces
(:mod:`margin.stress.variant`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from margin.inverse import in_reciprocal
from margin.orders import bounds
from margin.roots import single_roots
from margin.settle import SettlementState, Settler
from margin.tiers import maintenance_margin, tier_index


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
    """The first row ahead where the USDT pool, a coin pool or an isolated position may breach,
    or an order fire (the exact settlement at that row decides), over a window of rows at once.

    The cross pool's excess over all its markets is a line in the markets' prices while every
    member stays in its tier (:meth:`PoolExcess.lines`, summed by market and kept until the
    pool changes): its lowest value over a window (each market at the worse end of its range)
    clears most windows at once, the rest take one matrix-vector product; a member whose tier
    changes inside the window is valued row by row. Each isolated position may breach only
    beyond its threshold (:func:`isolated_threshold`): per market, at or below the highest
    threshold of its longs, at or above the lowest of its shorts; an order's band
    (:func:`margin.orders.bounds`) joins them the same way. The USDT pool's collateral adds its
    amount × (1 − haircut) to the slope of its market's price. A coin pool is valued row by row
    (:func:`coin_excess`). A window of a few rows (the probe after an event) is judged in plain
    Python. ``columns`` holds the marks market by market ``(M, N)``, so that every market's
    window is contiguous.
    """

    def __init__(self, settler: Settler, columns: np.ndarray, state: SettlementState, tolerance: float):
        self.s = settler
        self.columns = columns
        self.pools = PoolExcess(settler, columns.T)
        self.tolerance = tolerance
        self.cross = np.array(settler.cross, dtype=np.intp)
        self.cross_set = frozenset(settler.cross)
        self.thresholds = {i: isolated_threshold(settler, state, i) for i in settler.isolated}
        self.watch = frozenset(settler.isolated) | frozenset(settler.orders)
        # by market: its isolated positions, then its positions with orders (each in position order)
        self.watched_in: list[tuple[list[int], list[int]]] = [
            ([i for i in settler.isolated if settler.col[i] == j], [i for i in settler.orders if settler.col[i] == j])
            for j in range(columns.shape[0])]
        n_markets = columns.shape[0]
        # a long may breach at or below its market's ``falls``, a short at or above ``rises``
        self.falls, self.rises = [-math.inf] * n_markets, [math.inf] * n_markets
        # the same as columns ``(M, 1)``, for a window's marks (a market without a band never hits)
        self.fall_column, self.rise_column = np.full((n_markets, 1), -np.inf), np.full((n_markets, 1), np.inf)
        self.refresh(state, None)

    def refresh(self, state: SettlementState, touched: set[int] | None) -> None:
        """After events that touched positions ``touched`` (None: any, e.g. after funding):
        their isolated thresholds found again, their markets' bands set again, the cross
        pool's line to be fitted again."""
        if touched is None or not touched.isdisjoint(self.watch):
            for i in self.thresholds if touched is None else touched.intersection(self.thresholds):
                self.thresholds[i] = isolated_threshold(self.s, state, i)
            markets = range(len(self.falls)) if touched is None else {self.s.col[i] for i in touched & self.watch}
            for j in markets:
                self._band(state, j)
            self.bands = list(zip(self.falls, self.rises))  # what the probe reads
        if touched is None or not touched.isdisjoint(self.cross_set):
            self.members = self.cross[state.size[self.cross] > 0]
            self.line: tuple[list[float], float, list[float], list[float], np.ndarray] | None = None
            self.floor_terms: tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
            # the collateral's value is amount × (1 − haircut) × its market's price: a slope
            self.collateral_slope = np.zeros(self.columns.shape[0])
            for k in self.s.usdt_entries:
                assert state.collateral is not None  # an account with collateral entries holds these
                self.collateral_slope[self.s.entry_col[k]] += float(state.collateral[k]) * self.s.entries[k].factor

    def _band(self, state: SettlementState, j: int) -> None:
        """Market ``j``'s ``falls`` and ``rises``: the highest threshold of its isolated longs and
        the lowest of its shorts, and its open orders' bands (an order fires at or below its
        band's low, at or above its high)."""
        isolated, orders = self.watched_in[j]
        fall, rise = -math.inf, math.inf
        for i in isolated:
            threshold = self.thresholds[i]
            if threshold is not None:
                if self.s.sides[i] > 0:
                    fall = max(fall, threshold)
                else:
                    rise = min(rise, threshold)
        for i in orders:
            if state.size[i] > 0:
                p = self.s.positions[i]
                low, high = bounds(p.sign, p.stop_loss, p.take_profit)
                fall, rise = max(fall, low), min(rise, high)
        self.falls[j], self.rises[j] = fall, rise
        self.fall_column[j, 0], self.rise_column[j, 0] = fall, rise

    def first(self, state: SettlementState, row: int, stop: int) -> int | None:
        """The first candidate row in ``row:stop``, or None."""
        limit = self.tolerance - state.cross_wallet  # the pool may breach where its excess is at most this
        coin = self._coin_pools(state, row, stop) if self.s.coin_keys else None
        stop = stop if coin is None else coin + 1  # nothing past a coin pool's candidate is needed
        if stop - row <= PROBE_ROWS:
            return self._probe(state, row, stop, limit)
        window = self.columns[:, row:stop]
        low, high = np.minimum.reduce(window, axis=1), np.maximum.reduce(window, axis=1)
        lows, highs = low.tolist(), high.tolist()
        found = stop if coin is None else coin
        if self.members.shape[0]:
            crossed = self._cross_below(state, window, low, high, limit)
            if crossed is not None:
                at = int(crossed.argmax())
                if crossed[at]:
                    found = row + at
        if any(lo <= f or hi >= r for lo, hi, f, r in zip(lows, highs, self.falls, self.rises)):
            marks = window[:, :found - row]
            hits = np.asarray(((marks <= self.fall_column) | (marks >= self.rise_column)).any(axis=0))
            at = int(hits.argmax()) if hits.shape[0] else 0
            if hits.shape[0] and hits[at]:
                found = row + at
        return found if found < stop else None

    def suspects(self, state: SettlementState, row: int) -> set[tuple[str, Any]] | None:
        """The pools that may be in breach at ``row`` (``("isolated", i)``, ``("pool", None)``),
        judged as :meth:`first` judges a row: an isolated position beyond its own threshold, the
        USDT pool unless its line (valid at the row's marks) clears it; the others are clear
        there, so the row's settlement need not judge them (:meth:`margin.settle.Settler.settle`'s
        ``maybe``). None (judge them all) for an account with orders or coin pools."""
        s = self.s
        if s.orders or s.coin_keys:
            return None
        marks = self.columns[:, row].tolist()
        found: set[tuple[str, Any]] = set()
        for i, threshold in self.thresholds.items():
            if threshold is not None:
                price = marks[s.col[i]]
                if price <= threshold if s.sides[i] > 0 else price >= threshold:
                    found.add(("isolated", i))
        if self.members.shape[0]:
            line = self.line
            if line is not None:
                for p, low, high in zip(marks, line[2], line[3]):
                    if not low <= p <= high:
                        line = None
                        break
            if line is None:
                found.add(("pool", None))
            else:
                excess = 0  # summed in market order, as the probe sums it
                for a, p in zip(line[0], marks):
                    excess += a * p
                if line[1] + excess <= self.tolerance - state.cross_wallet:
                    found.add(("pool", None))
        return found

    def _coin_pools(self, state: SettlementState, row: int, stop: int) -> int | None:
        """The first row in ``row:stop`` where a coin pool may breach, or None."""
        found = None
        for key in self.s.coin_keys:
            flags = coin_excess(self.s, state, key, self.columns[:, row:stop].T) <= 0.0
            at = int(flags.argmax()) if flags.shape[0] else 0
            if flags.shape[0] and flags[at] and (found is None or row + at < found):
                found = row + at
        return found

    def _probe(self, state: SettlementState, row: int, stop: int, limit: float) -> int | None:
        """The first candidate row in ``row:stop`` (a few rows), in plain Python; a coin pool's
        candidate, found before, is the row ``stop − 1`` when the loop finds nothing earlier."""
        line = self.line
        bands = self.bands
        pool = self.members.shape[0] > 0
        # plain loops with early exits (no generators): this runs after every event
        for k, marks in enumerate(self.columns[:, row:stop].T.tolist()):
            for p, (low, high) in zip(marks, bands):
                if p <= low or p >= high:
                    return row + k
            if not pool:
                continue
            if line is not None:
                for p, low, high in zip(marks, line[2], line[3]):
                    if not low <= p <= high:
                        line = None
                        break
            if line is None:
                here = self.columns[:, row + k]
                line = self._fit(state, here, here)
                if line is None:
                    return row + k  # a member at a tier break: let the exact check decide
            excess = 0  # summed in market order, as sum() would
            for a, p in zip(line[0], marks):
                excess += a * p
            if line[1] + excess <= limit:
                return row + k
        coin = self._coin_pools(state, stop - 1, stop) if self.s.coin_keys and stop > row else None
        return coin

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
        slope = np.bincount(col, weights=slopes, minlength=n_markets) + self.collateral_slope
        market_lowest, market_highest = np.full(n_markets, -np.inf), np.full(n_markets, np.inf)
        np.maximum.at(market_lowest, col, lowest)
        np.minimum.at(market_highest, col, highest)
        self.line = (slope.tolist(), float(intercepts.sum()), market_lowest.tolist(), market_highest.tolist(), slope)
        return self.line

    def pool_floor(self, state: SettlementState, low: np.ndarray, high: np.ndarray) -> float:
        """A floor under the USDT pool's excess [quote, no wallet] while each market ranges
        ``low .. high`` ``(M,)``, whatever tiers its members pass through: the PnL summed by
        market at its worse end, less each member's maintenance at most (at the highest
        notional it reaches, under the highest line of the tiers it may hold; rates are not
        negative). One numpy pass, where fitting lines across tier breaks takes several: in a
        crash most windows cross a member's break while the pool stays far from its maintenance.
        -inf (no floor: fit the lines) for inverse members or maintenance on the entry."""
        s = self.s
        if self.floor_terms is None:
            members = self.members
            if s.entry_basis or any(s.cv[i] > 0 for i in members.tolist()):
                return -math.inf
            size = state.size[members]
            net = np.bincount(s.col_index[members], weights=s.sign[members] * size,
                              minlength=self.columns.shape[0]) + self.collateral_slope
            cost = float(np.sum(s.sign[members] * size * s.entry[members]))
            self.floor_terms = (net, cost, size, s.col_index[members], s.floors[members], s.rates[members],
                                s.cums[members])
        net, cost, size, col, floors, rates, cums = self.floor_terms
        notional = size * high[col]  # mark basis: the highest notional is at the highest price
        lines = np.where(floors <= notional[:, None], rates * notional[:, None] - cums, -np.inf)
        worst = float(np.sum(np.minimum(net * low, net * high)))
        return worst - cost - float(lines.max(axis=1).sum())

    def _cross_below(self, state: SettlementState, window: np.ndarray, low: np.ndarray, high: np.ndarray,
                     limit: float) -> np.ndarray | None:
        """Whether the cross pool's excess is at most ``limit`` at each row of ``window``
        ``(M, n)`` (each market ranging ``low .. high``); None when its least value over those
        ranges (each line at its worse end, each bent sum at its worst corner) is above it."""
        lows, highs = low.tolist(), high.tolist()
        line = self.line
        if line is None or not all(a >= b and c <= d for a, b, c, d in zip(lows, line[2], highs, line[3])):
            if self.pool_floor(state, low, high) > limit:
                return None
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
        slope_array = np.bincount(col[straight], weights=slopes[straight], minlength=window.shape[0]) + self.collateral_slope
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


def collateral_along(settler: Settler, state: SettlementState, prices: np.ndarray) -> np.ndarray:
    """The USDT pool's collateral value [USDT] at each row of ``prices`` ``(N, M)``."""
    total = np.zeros(prices.shape[0])
    for k in settler.usdt_entries:
        assert state.collateral is not None  # an account with collateral entries holds these
        total = total + float(state.collateral[k]) * settler.entries[k].factor * prices[:, settler.entry_col[k]]
    return total


def coin_excess(settler: Settler, state: SettlementState, key: int, prices: np.ndarray) -> np.ndarray:
    """Coin pool ``key``'s equity less its maintenance [coin] at each row of ``prices``
    ``(N, M)``, widened by a hair for rounding (a row at or below 0 is a candidate; the exact
    check decides)."""
    members = [i for i in settler.pool_members[key] if state.size[i] > 0]
    assert state.collateral is not None  # an account with collateral entries holds these
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


__all__ = ["BreachSearch", "FIRST_WINDOW", "PROBE_ROWS", "PoolExcess", "coin_excess", "collateral_along",
           "isolated_threshold"]
