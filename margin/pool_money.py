"""Where the money of one settlement step sits: the pools, their wallets and insurance funds,
and a position's arithmetic in its own currency. Mixed into :class:`margin.settle.Settler`.

An account has one USDT pool (the cross wallet, the linear cross positions and the collateral
counted in USDT) and one pool per settlement coin of its inverse contracts (that coin's
collateral entry as wallet, its cross positions); an isolated position is a pool of its own
on its margin, in its currency. A pool is named by its key: ``None`` for the USDT pool, the
index of the coin's collateral entry for a coin pool.

Each currency has its insurance fund: USDT's is ``rules.insurance_fund``; a coin's starts at
the same value in the coin, at the price of the coin's market when the walk starts (venues keep
one fund per settlement asset: BitMEX's in XBT, Binance COIN-M's per coin). A coin pool's fees,
leftover margin and losses beyond margin are settled with its coin's fund, so money is
conserved in every currency on its own:

    wallet_end + fund_end − socialized_end = wallet_start + fund_start + Σ realized_pnl

with the USDT wallet counting what collateral sales brought in (their ``realized_pnl``), and
each coin's wallet (cross wallet plus open isolated margins) in that coin.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from margin.ledger import Event, SettlementState, new_event, step_label
from margin.scenario import Market, Position, Rules, Scenario
from margin.tiers import maintenance_margin


#: A loss beyond margin at or below this [the pool's currency] is float rounding of money that
#: adds to zero on paper (seen: 7e-17 USDT after a pool's last partial slice), not a bankruptcy:
#: no fund payout, no event, the account not marked bankrupt.
DEFICIT_DUST = 1e-9


class PoolMoney:
    """Pools, wallets and funds by currency (see the module). Expects :meth:`setup_money`."""

    rules: Rules
    positions: tuple[Position, ...]
    markets: list[Market]
    col: list[int]
    entry_basis: bool
    discount: float

    def setup_money(self, scenario: Scenario) -> None:
        coins = {c.asset: k for k, c in enumerate(scenario.collateral) if c.coin_pool}
        self.money = [coins.get(scenario.currency(p)) for p in self.positions]  # pool key of its currency
        self.currency = [scenario.currency(p) for p in self.positions]
        self.cv = [p.contract_value for p in self.positions]
        self.inverse_mask = np.array([p.is_inverse for p in self.positions], dtype=bool)
        self.entries = scenario.collateral
        self.entry_col = [self.col_of(c.market, scenario) for c in scenario.collateral]
        self.usdt_entries = [k for k, c in enumerate(scenario.collateral) if not c.coin_pool]
        self.coin_keys = tuple(coins.values())
        self.pool_members: dict[int | None, list[int]] = {None: [], **{k: [] for k in self.coin_keys}}
        for i, p in enumerate(self.positions):
            if not p.is_isolated:
                self.pool_members[self.money[i]].append(i)
        self._prices: np.ndarray | None = None  # the row being settled (the rate of its coins)
        # The positions as plain floats and tuples, for the scalar valuation of one row at a time
        # (settlement judges one row at a time, where numpy's fixed cost per call would dominate).
        self.sides = [float(p.sign) for p in self.positions]
        self.entry_prices = [p.entry for p in self.positions]
        self.tier_lists = [m.tier_lists for m in self.markets]
        # what :meth:`pool` reads of each cross member, by pool: index, column, side, entry,
        # contract value (0: linear) and tier tables
        self.pool_terms = {key: [(i, self.col[i], self.sides[i], self.entry_prices[i], self.cv[i], self.tier_lists[i])
                                 for i in members] for key, members in self.pool_members.items()}

    @staticmethod
    def col_of(market: str, scenario: Scenario) -> int:
        return list(scenario.markets).index(market)

    # --- a position in its currency (floats) ---------------------------------------------------
    def pnl(self, i: int, size: float, price: float) -> float:
        cv = self.cv[i]
        if cv > 0:  # inverse [coin]: size × cv × (1/entry − 1/price)
            return self.sides[i] * size * cv * (1.0 / self.entry_prices[i] - 1.0 / price)
        return self.sides[i] * size * (price - self.entry_prices[i])

    def value(self, i: int, size: float, price: float) -> float:
        """``size`` of position ``i`` valued at ``price`` [its currency]: what a fee is charged on."""
        cv = self.positions[i].contract_value
        return size * cv / price if cv > 0 else size * price

    def notional(self, i: int, size: float, price: float) -> float:
        """The notional its maintenance tiers read [its currency]: at the mark, or the entry."""
        return self.value(i, size, self.positions[i].entry if self.entry_basis else price)

    def size_for(self, i: int, notional: float, price: float) -> float:
        """The size [base or contracts] whose :meth:`notional` at ``price`` is ``notional``."""
        basis = self.positions[i].entry if self.entry_basis else price
        cv = self.positions[i].contract_value
        return notional * basis / cv if cv > 0 else notional / basis

    def face(self, i: int, size: float, price: float) -> float:
        """``size`` of position ``i`` in USD [quote]: its value at ``price`` (linear) or its
        contracts' face value (inverse): what a ``fixed_chunks`` order is counted in."""
        cv = self.positions[i].contract_value
        return size * cv if cv > 0 else size * price

    def fill(self, i: int, price: float) -> float:
        """Where a liquidation of position ``i`` fills when the mark is ``price`` [quote per
        base]: at the mark, or ``rules.liquidation_fill_discount`` worse for the trader (a long
        sold below the mark, a short bought above it)."""
        return price * (1.0 - self.positions[i].sign * self.discount) if self.discount else price

    def maintenance(self, i: int, size: float, price: float) -> float:
        """Position ``i``'s maintenance margin [its currency] at ``size`` [base or contracts] and
        mark ``price``: :func:`margin.tiers.maintenance_margin` on its market's tables (with
        the reserve)."""
        if self.cv[i] > 0:
            return maintenance_margin(self.notional(i, size, price), *self.tier_lists[i])
        return maintenance_margin(size * (self.entry_prices[i] if self.entry_basis else price), *self.tier_lists[i])

    # --- pools ---------------------------------------------------------------------------------
    def collateral_value(self, state: SettlementState, prices: np.ndarray) -> float:
        """The USDT pool's collateral at its collateral value [USDT]."""
        total = 0.0
        for k in self.usdt_entries:
            assert state.collateral is not None  # an account with collateral entries holds these
            total += self.entries[k].value(float(prices[self.entry_col[k]]), float(state.collateral[k]))
        return total

    def pool(self, state: SettlementState, prices: np.ndarray, key: int | None) -> tuple[float, float, list[int]]:
        """(equity, MM, open cross positions) of pool ``key`` [its currency].

        A plain loop over plain floats: settlement judges one row at a time, where a loop over
        a few dozen positions costs less than numpy's fixed cost per call (measured: 20
        positions 6 µs against 61 µs vectorized, 100 positions 49 µs against 84 µs). Each
        member's :meth:`pnl` and :meth:`maintenance` are written out in the loop, the same
        expressions in the same order (so the same bits: tests/engine/test_fast_paths.py), as
        the walk asks for a pool after every event and three calls per member were half its cost."""
        sizes, marks, entry_basis = state.size.tolist(), prices.tolist(), self.entry_basis
        members = []
        equity = self.wallet(state, key)
        mm = 0.0
        for i, col, side, entry, cv, tiers in self.pool_terms[key]:
            size = sizes[i]
            if not size > 0:
                continue
            members.append(i)
            price = marks[col]
            if cv > 0:  # inverse [coin]
                equity += side * size * cv * (1.0 / entry - 1.0 / price)
                mm += maintenance_margin(size * cv / (entry if entry_basis else price), *tiers)
            else:
                equity += side * size * (price - entry)
                mm += maintenance_margin(size * (entry if entry_basis else price), *tiers)
        if key is None and self.usdt_entries:
            equity += self.collateral_value(state, prices)
        return equity, mm, members

    def wallet(self, state: SettlementState, key: int | None) -> float:
        if key is None:
            return state.cross_wallet
        assert state.collateral is not None  # an account with collateral entries holds these
        return float(state.collateral[key])

    def credit(self, state: SettlementState, key: int | None, amount: float) -> None:
        """Add ``amount`` [its currency] to the cross wallet of pool ``key``."""
        if key is None:
            state.cross_wallet += amount
        else:
            assert state.collateral is not None  # an account with collateral entries holds these
            state.collateral[key] += amount

    def set_wallet(self, state: SettlementState, key: int | None, amount: float) -> None:
        if key is None:
            state.cross_wallet = amount
        else:
            assert state.collateral is not None  # an account with collateral entries holds these
            state.collateral[key] = amount

    def to_fund(self, state: SettlementState, key: int | None, amount: float) -> None:
        """Pay ``amount`` into the insurance fund of the currency of pool ``key`` (− takes)."""
        if key is None:
            state.fund += amount
        else:
            assert state.coin_fund is not None  # an account with collateral entries holds these
            state.coin_fund[key] += amount

    def sell_collateral(self, state: SettlementState, prices: np.ndarray, i: int, step: Any, row: int) -> None:
        """A full close of the USDT pool sells its collateral at its collateral value into the
        cross wallet (the haircut is what the venue takes), one ``collateral_sale`` each;
        ``i`` is the pool's position the events are told with."""
        for k in self.usdt_entries:
            assert state.collateral is not None  # an account with collateral entries holds these
            amount = float(state.collateral[k])
            if amount <= 0:
                continue
            price = float(prices[self.entry_col[k]])
            proceeds = self.entries[k].value(price, amount)
            state.cross_wallet += proceeds
            state.collateral[k] = 0.0
            p = self.positions[i]
            state.events.append(Event(step=step_label(step), row=row, type="collateral_sale", position=self.entries[k].asset,
                                      market=self.entries[k].market, mode=p.mode, price=price, size=amount,
                                      realized_pnl=proceeds, fee=0.0, insurance_fund_delta=0.0))

    def rate(self, i: int) -> float:
        """USDT per unit of position ``i``'s currency at the row being settled."""
        key = self.money[i]
        if key is None or self._prices is None:
            return 1.0
        return float(self._prices[self.entry_col[key]])

    def _event(self, state: SettlementState, kind: str, i: int, step: Any, row: int, price: float,
               size: float = 0.0, realized: float = 0.0, fee: float = 0.0,
               fund_delta: float = 0.0, amount: float = 0.0) -> None:
        p = self.positions[i]
        closing = kind == "liquidation" or kind == "partial_liquidation"
        left = fund_delta - fee
        to_fund = (0.0 if 0.0 > left else left) if closing else 0.0  # max(left, 0.0) as max decides it
        step = step if type(step) is int else step_label(step)  # the walk's plain int needs no call
        if self.money[i] is None:
            state.events.append(new_event(
                step=step, row=row, type=kind, position=p.id, market=p.market, mode=p.mode,
                price=price, size=size, realized_pnl=realized, fee=fee,
                insurance_fund_delta=fund_delta, amount=amount, to_fund=to_fund))
            return
        state.events.append(new_event(
            step=step, row=row, type=kind, position=p.id, market=p.market, mode=p.mode,
            price=price, size=size, realized_pnl=realized, fee=fee,
            insurance_fund_delta=fund_delta, amount=amount, to_fund=to_fund,
            currency=self.currency[i], rate=self.rate(i)))

    def _cover_deficit(self, state: SettlementState, deficit: float, i: int, price: float, step: Any, row: int) -> None:
        """Loss beyond margin [its currency]: the fund of its currency pays what it can, the
        rest is socialized. The position's close in this row (its liquidation, or the stop that
        filled beyond its bankruptcy price) says so too (``from_fund``,
        ``socialized``), so its money adds up."""
        if deficit <= DEFICIT_DUST:
            return  # float rounding of sums that are zero on paper, not a bankruptcy
        key = self.money[i]
        if key is None:
            fund = state.fund
        else:
            assert state.coin_fund is not None  # an account with collateral entries holds these
            fund = float(state.coin_fund[key])
        paid = min(deficit, fund)
        self.to_fund(state, key, -paid)
        state.bankrupt = True
        for k in range(len(state.events) - 1, -1, -1):
            event = state.events[k]
            if (event.row == row and event.type in ("liquidation", "stop_loss", "take_profit")
                    and event.position == self.positions[i].id):
                state.events[k] = replace(event, from_fund=event.from_fund + paid,
                                          socialized=event.socialized + deficit - paid)
                break
        self._event(state, "bankruptcy", i, step, row, price, fund_delta=-paid, amount=deficit)
        rest = deficit - paid
        if rest > 0:
            if key is None:
                state.socialized += rest
            else:
                assert state.coin_socialized is not None  # an account with collateral entries holds these
                state.coin_socialized[key] += rest
            self._event(state, "socialized_loss", i, step, row, price, amount=rest)


__all__ = ["PoolMoney"]
