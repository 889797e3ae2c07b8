"""How much a slicing liquidation style closes next: the cut rules :class:`margin.settle.Settler`
applies in its slicing loop, one per style (see :mod:`margin.settle` for the styles in words).

Each returns a size [base units] for an isolated position, or a size per open cross position;
a cut of the whole (or none at all, for the cross pool) means the pool is closed in full. An
isolated position's slices are taken here too, one after another while it is in breach
(:meth:`Cuts._slice_isolated`); its full close is the settler's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from margin.closing import capped_fee
from margin.pool_money import PoolMoney
from margin.tiers import tier_index

if TYPE_CHECKING:
    from margin.ledger import SettlementState

# styles that close a breached pool a part at a time (``full`` closes it at once; the first
# slice of ``slice_then_full`` is taken by Settler._first_slice)
SLICING_STYLES = ("partial", "just_enough", "tier_step_down", "fixed_chunks")


class Cuts(PoolMoney):
    """The cut rules, a part of :class:`margin.settle.Settler`, on :class:`PoolMoney`'s
    valuation of a position (``pnl``, ``fill``, ``maintenance``, ...)."""


    # The two below solve "close just enough" (Drift): closing a fraction f of what is at stake
    # at fixed prices takes the fee and any fill discount from the equity and lowers the
    # maintenance margin by f times its size-proportional part (within the tier held), so the
    # smallest curing f is linear; a hair more, since a breach at equality counts as one. When a
    # smaller notional drops to a lower tier the settle loop asks again with the new tier.
    _CURE_MARGIN = 1e-9  # [fraction] above the exact cure

    def _curing_size(self, i: int, size: float, price: float, fill: float, equity: float, mm: float) -> float:
        """The size [base] of position ``i`` whose close, at ``fill`` with its fee, lifts the
        isolated equity back above maintenance at ``price``; ``size`` when nothing less does."""
        per_unit_mm = (mm + self.markets[i].tier_for(self.notional(i, size, price)).cum) / size if size > 0 else 0.0
        per_unit_cost = (self.rules.liquidation_fee_rate * self.value(i, 1.0, fill)
                         + abs(self.pnl(i, 1.0, price) - self.pnl(i, 1.0, fill)))
        relief = per_unit_mm - per_unit_cost  # [quote per base] what closing one unit cures
        if relief <= 0:
            return size
        return min(size, (mm - equity) / relief * (1 + self._CURE_MARGIN) + size * 1e-12)

    def _curing_fraction(self, state: SettlementState, prices: np.ndarray, open_cross: list[int],
                         equity: float, mm: float) -> float:
        """The fraction [0, 1] of every open cross position whose close lifts the pool back above
        maintenance (each cut by the same fraction, as the partial rule does); 1 when nothing less does."""
        relief = 0.0
        for i in open_cross:
            size, mark = state.size[i], float(prices[self.col[i]])
            fill = self.fill(i, mark)
            proportional = self.maintenance(i, size, mark) + self.markets[i].tier_for(self.notional(i, size, mark)).cum
            cost = size * (self.rules.liquidation_fee_rate * self.value(i, 1.0, fill)
                           + abs(self.pnl(i, 1.0, mark) - self.pnl(i, 1.0, fill)))
            relief += proportional - cost
        if relief <= 0:
            return 1.0
        return min(1.0, (mm - equity) / relief * (1 + self._CURE_MARGIN) + 1e-12)

    def _slice_isolated(self, state: SettlementState, i: int, price: float, fill: float, step: Any, row: int) -> bool:
        """Isolated position ``i``'s slices at the mark ``price`` (filled at ``fill``), one after
        another while it is in breach (:meth:`_isolated_cut`). Returns whether they cured it;
        False: it is to be closed in full (no equity left, or the next slice is the whole)."""
        # plain floats kept between slices (the same values as numpy's scalars, whose arithmetic
        # costs more), written to the state after each
        size, margin = float(state.size[i]), float(state.margin[i])
        start_size, key, fee_rate, breached = size, self.money[i], self.rules.liquidation_fee_rate, self.rules.breached
        while True:
            equity = margin + self.pnl(i, size, price)
            mm = self.maintenance(i, size, price)
            if not breached(equity, mm):
                return True
            cut = self._isolated_cut(i, start_size, size, price, fill, equity, mm)
            if equity <= 0 or size <= cut * (1 + 1e-12):
                return False
            realized = self.pnl(i, cut, fill)
            left = margin + realized
            # :meth:`_fee` written out: capped by the lesser of the equity and what is left (min's tie: the first)
            fee = capped_fee(fee_rate * self.value(i, cut, fill), left if left < equity else equity)
            margin, size = left - fee, size - cut
            state.margin[i], state.size[i] = margin, size
            self.to_fund(state, key, fee)
            self._event(state, "partial_liquidation", i, step, row, fill, cut, realized, fee, fee)

    def _isolated_cut(self, i: int, start_size: float, size: float, price: float, fill: float,
                      equity: float, mm: float) -> float:
        """The size [base] the style closes next from isolated position ``i`` in breach
        (``size`` or more: close it in full)."""
        style = self.rules.liquidation
        if style == "partial":
            return self.rules.partial_fraction * start_size
        if style == "tier_step_down":
            return self._step_down_cut(i, size, price)
        cure = self._curing_size(i, size, price, fill, equity, mm)
        if style == "fixed_chunks":
            return self._whole_chunks(self.face(i, cure, price), self.face(i, size, price)) / self.face(i, 1.0, price)
        return cure

    def _cross_cuts(self, state: SettlementState, prices: np.ndarray, open_cross: list[int],
                    start_size: np.ndarray, equity: float, mm: float) -> dict[int, float]:
        """What the style closes next from each open cross position [base] (only positive cuts);
        empty when the pool is to be closed in full. Every style but ``tier_step_down`` cuts
        every position by one fraction (see the module's note on hedges)."""
        style = self.rules.liquidation
        sizes = {i: float(state.size[i]) for i in open_cross}
        if style == "tier_step_down":
            cuts = {i: self._step_down_cut(i, sizes[i], float(prices[self.col[i]])) for i in open_cross}
            return {i: c for i, c in cuts.items() if c < sizes[i] * (1 - 1e-12)}  # none: close in full
        if style == "partial":
            cuts = {i: min(self.rules.partial_fraction * start_size[i], sizes[i]) for i in open_cross}
        else:
            fraction = self._curing_fraction(state, prices, open_cross, equity, mm)
            if style == "fixed_chunks":
                notional = sum(self.face(i, sizes[i], float(prices[self.col[i]])) for i in open_cross)
                fraction = self._whole_chunks(fraction * notional, notional) / notional
            cuts = {i: fraction * sizes[i] for i in open_cross}
        if all(sizes[i] <= cuts[i] * (1 + 1e-12) for i in open_cross):
            return {}
        return cuts

    def _whole_chunks(self, needed: float, held: float) -> float:
        """``fixed_chunks`` (Deribit): the notional [quote; an inverse contract's face value in
        USD] closed to free ``needed`` in orders of ``rules.chunk_notional`` each, one after another until the breach is cured: the
        fewest whole chunks that cover it, and never more than ``held``."""
        chunk = self.rules.chunk_notional
        return min(held, math.ceil(needed / chunk * (1 - 1e-12)) * chunk)

    def _step_down_cut(self, i: int, size: float, price: float) -> float:
        """``tier_step_down`` (OKX, Bybit, Bitget, MEXC): the size [base] to close so the
        position drops ``rules.tier_steps`` risk tiers, to just under the floor of the tier above
        the one it lands in; ``size`` (close in full) when it is within that many tiers of the
        lowest."""
        floors = self.markets[i].tier_tables[0]
        held = int(tier_index(self.notional(i, size, price), floors))
        lands = held - self.rules.tier_steps
        if lands < 0:
            return size
        keep = self.size_for(i, float(floors[lands + 1]), price) * (1 - 1e-9)
        return size - min(keep, size)
