"""A position's protective orders within a settlement step: which of them the step reaches, at
what fraction of it, and the close each makes. Mixed into :class:`margin.settle.Settler`; the
order of a step's happenings (an order, or the liquidation the price meets first) is
:func:`margin.crossing.settle_row`'s, and an order's rules are in :mod:`margin.orders`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from margin.ledger import SettlementState
from margin.orders import crossing, fill, fired, trigger_of
from margin.pool_money import PoolMoney


class Orders(PoolMoney):
    """Stop-loss and take-profit along a step (see the module), on :class:`PoolMoney`'s
    pools and wallets."""

    orders: list[int]

    def due_orders(self, state: SettlementState, prices: np.ndarray,
                   previous: np.ndarray) -> list[tuple[float, int, str]]:
        """The orders the mark reaches at ``prices`` (this row's marks), reached from
        ``previous`` in a straight line: (fraction of the step where the mark crosses the
        trigger, position, kind), earliest first."""
        due = []
        for i in self.orders:
            if state.size[i] <= 0:
                continue
            p = self.positions[i]
            mark = float(prices[self.col[i]])
            kind = fired(p.sign, p.stop_loss, p.take_profit, mark)
            if kind is not None:
                due.append((crossing(float(previous[self.col[i]]), mark, trigger_of(kind, p.stop_loss, p.take_profit)),
                            i, kind))
        return sorted(due)

    def close_by_order(self, state: SettlementState, i: int, kind: str, prices: np.ndarray, step: Any, row: int,
                       *, passed: bool) -> None:
        """Close position ``i`` in full by its order ``kind`` when the marks are ``prices``: at
        its trigger if the path ``passed`` through it, else at its mark with its slippage
        (:func:`margin.orders.fill`). A close that leaves its pool (an isolated margin, or a
        cross pool with nothing left open) owing money is a bankruptcy."""
        self._prices = prices  # the rate of its coin, for its event, is this row's
        p = self.positions[i]
        trigger = trigger_of(kind, p.stop_loss, p.take_profit)
        price = fill(p.sign, trigger, float(prices[self.col[i]]), p.stop_slippage, passed=passed)
        size = float(state.size[i])
        realized = self.pnl(i, size, price)
        key = self.money[i]
        state.size[i] = 0.0
        if p.is_isolated:
            left = float(state.margin[i]) + realized
            state.margin[i] = 0.0
            self.credit(state, key, max(left, 0.0))
            self._event(state, kind, i, step, row, price, size, realized)
            if left < 0:
                self._cover_deficit(state, -left, i, price, step, row)
            return
        self.credit(state, key, realized)
        self._event(state, kind, i, step, row, price, size, realized)
        equity, _, members = self.pool(state, prices, key)
        if not members and equity < 0:  # nothing left to liquidate, and the pool owes
            if key is None and self.usdt_entries:
                self.sell_collateral(state, prices, i, step, row)
            owed = -self.wallet(state, key)
            self.set_wallet(state, key, 0.0)
            self._cover_deficit(state, owed, i, price, step, row)


__all__ = ["Orders"]
