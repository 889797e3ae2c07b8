"""One step of a walk with protective orders: the stops and take-profits that fire along it and
the liquidations they meet, in the order the price reaches them. Mixed into
:class:`margin.settle.Settler` (the rules of an order are in :mod:`margin.orders`).

A step goes from the previous row's marks to this row's in a straight line. Each order whose
trigger the mark reaches on this row fires at the fraction of the step where its market crosses
the trigger; each pool that is in breach at this row's marks is liquidated at the first fraction
where it is in breach along the line (sampled at 64 points, then bisected to the last bit). The
earlier happens first, a tie goes to the liquidation (a stop exactly at the liquidation price
never fires); after each, the rest is judged again on what it left. A liquidation is settled at
the row's marks, as every liquidation is (:meth:`margin.settle.Settler.settle`); an order
fills where :func:`margin.orders.fill` says. What stays in breach after the orders is
liquidated as on any row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from margin.ledger import SettlementState
from margin.orders import crossing, fill, fired, trigger_of

Pool = tuple[str, Any]  # ("isolated", i) or ("pool", key): what one liquidation decision looks at
SAMPLES = 64  # points along a step where a pool's breach is looked for before bisecting
HALVINGS = 60  # bisections: a fraction of the step to 2⁻⁶⁰ of a sample


class Orders:
    """Stop-loss and take-profit along a step (see the module)."""

    orders: list[int]

    def step(self, state: SettlementState, prices: np.ndarray, step: Any, row: int, *,
             previous: np.ndarray | None = None, continuous: bool = False, judge_rest: bool = True) -> int:
        """Settle row ``row`` at mark ``prices`` reached from ``previous`` (None: no move, the
        first row of a walk); ``continuous``: the path moves in a line between rows (the lab's
        walk), so an order fills at its trigger, else at the row's price with its slippage.
        ``judge_rest=False``: only the orders and the liquidations that come before them (a
        funding row charges its funding before the rest is judged). Returns how many events
        were added."""
        if not any(state.size[i] > 0 for i in self.orders):
            return self.settle(state, prices, step, row) if judge_rest else 0
        before = len(state.events)
        previous = prices if previous is None else previous
        cooling: set[int] = set()
        settled: set[Pool] = set()
        now = 0.0
        while True:
            due = self._due_orders(state, prices, previous)
            if not due:
                break
            t_order, i, kind = due[0]
            breach = self._first_breach(state, prices, previous, now, settled)
            if breach is not None and breach[0] <= t_order:
                settled.add(breach[1])
                self.settle(state, prices, step, row, only={breach[1]}, cooling=cooling)
                now = max(now, breach[0])
                continue
            self._close_by_order(state, i, kind, prices, t_order, step, row, continuous)
            now = max(now, t_order)
        if judge_rest:
            self.settle(state, prices, step, row, cooling=cooling)
        return len(state.events) - before

    def _due_orders(self, state: SettlementState, prices: np.ndarray, previous: np.ndarray) -> list[tuple[float, int, str]]:
        """The orders the mark reaches on this row: (fraction of the step, position, kind), in order."""
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

    def _pools(self, state: SettlementState) -> list[Pool]:
        pools: list[Pool] = [("isolated", i) for i in self.isolated if state.size[i] > 0]
        return pools + [("pool", key) for key in (None, *self.coin_keys)
                        if any(state.size[i] > 0 for i in self.pool_members[key])]

    def _breached(self, state: SettlementState, pool: Pool, prices: np.ndarray) -> bool:
        kind, which = pool
        if kind == "isolated":
            i, size = which, state.size[which]
            price = float(prices[self.col[i]])
            return size > 0 and bool(self.rules.breached(state.margin[i] + self.pnl(i, size, price),
                                                          self.maintenance(i, size, price)))
        equity, mm, members = self.pool(state, prices, which)
        return bool(members) and bool(self.rules.breached(equity, mm))

    def _first_breach(self, state: SettlementState, prices: np.ndarray, previous: np.ndarray, now: float,
                      settled: set[Pool]) -> tuple[float, Pool] | None:
        """The earliest fraction of the step (from ``now``) at which a pool that is in breach at
        this row's marks comes into breach along the line, and the pool."""
        first: tuple[float, Pool] | None = None
        for pool in self._pools(state):
            if pool in settled or not self._breached(state, pool, prices):
                continue

            def at(t: float, pool: Pool = pool) -> bool:
                return self._breached(state, pool, previous + (prices - previous) * t)

            grid = now + (1.0 - now) * np.arange(SAMPLES + 1) / SAMPLES
            j = next(k for k, t in enumerate(grid) if k == SAMPLES or at(float(t)))
            if j == 0:
                t = now
            else:
                low, high = float(grid[j - 1]), float(grid[j])
                for _ in range(HALVINGS):
                    middle = (low + high) / 2
                    low, high = (low, middle) if at(middle) else (middle, high)
                t = high
            if first is None or t < first[0]:
                first = (t, pool)
        return first

    def _close_by_order(self, state: SettlementState, i: int, kind: str, prices: np.ndarray, t: float,
                        step: Any, row: int, continuous: bool) -> None:
        """Close position ``i`` in full by its order ``kind``: at its trigger if the path passed
        through it, else at the row's price with its slippage. A close that leaves its pool (an
        isolated margin, or a cross pool with nothing left open) owing money is a bankruptcy."""
        p = self.positions[i]
        trigger = trigger_of(kind, p.stop_loss, p.take_profit)
        price = fill(p.sign, trigger, float(prices[self.col[i]]), p.stop_slippage, passed=continuous and t > 0)
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
