"""Settlement: one step of the venue's rules at fixed prices, the state it changes, and
what it reports.

Rules applied at every step (``Rules`` in :mod:`margin.scenario`):

* Isolated positions are judged alone (margin + PnL ≤ MM); the cross pool as one
  (cross wallet + Σ cross PnL ≤ Σ cross MM). A breach is settled, then everything is judged
  again at the same prices, until no breach remains (a cascade within the step).
* ``liquidation = "full"`` closes the breached position (isolated) or every cross position at
  once, at the step's mark price (the fill).
* ``liquidation = "just_enough"`` (Drift) closes the least that cures the breach: the
  position's (or every cross position's same) fraction whose close, with its fee, lifts the
  equity back above maintenance; the rest stays open.
* ``liquidation = "tier_step_down"`` (OKX, Bybit, Bitget, MEXC) closes enough of a breached
  position to drop it ``tier_steps`` risk tiers (to just under the floor of the tier above the
  one it lands in), judges again, and closes in full once it is within ``tier_steps`` of the
  lowest tier. In the cross pool every position that can step down does, the others wait.
* ``liquidation = "fixed_chunks"`` (Deribit) closes orders of ``chunk_notional`` [quote] one
  after another until the breach is cured: the fewest whole chunks whose close cures it (of an
  isolated position, or of the cross pool's notional taken evenly), told as one event per step.
* ``liquidation = "partial"`` closes slices of ``partial_fraction`` of the size held when the
  breach began until the breach is cured. For the cross pool no position is cut first: each
  round closes the same fraction of *every* cross position. Cutting one leg first can make a
  hedged pool riskier (close the short of a hedge and the long is naked), and realizing one
  leg's loss while the other leg's profit stays unrealized would drive the wallet negative.
  Slices are filled at the mark price; the settlement rule applies to the last, full close.
* ``bankruptcy_split = "maintenance_share"`` (dYdX) settles a cross pool's full close position
  by position, each against the share of the pool's equity its maintenance margin is of the
  pool's (its own bankruptcy price, its fee capped by its share); ``"pool"`` settles the pool
  as one.
* A full close is settled by :func:`margin.closing.close_out` (the cascade settles its traders with it too):
  ``settlement = "bankruptcy"`` leaves the trader nothing of the margin behind the position and
  the insurance fund keeps what was left above zero (fee included); ``"mark"`` leaves the
  trader what is left after the fee. The fee is ``liquidation_fee_rate × closed notional``,
  never more than the trader has left.
* A close below zero equity (price beyond the bankruptcy price) is a ``bankruptcy``: the fund
  pays the deficit; what it cannot pay is a ``socialized_loss`` (auto-deleveraging).
* Inverse contracts are settled in their coin pool, with their coin's fund; the USDT pool's
  collateral is sold at its collateral value when the pool is closed in full
  (:mod:`margin.pool_money`). Stop-loss and take-profit orders fire along the step before
  the row is judged, each before or after the liquidation the price reaches first
  (:func:`margin.crossing.settle_row`; the close itself is :mod:`margin.stopping`'s).
* At a funding time (:mod:`margin.funding`) every open position pays ``side × size × mark ×
  rate`` (a long pays when the rate is positive, a short receives it) out of the cross wallet
  or its isolated margin, as a ``funding`` event whose ``realized_pnl`` is what it received
  (negative: paid); then the step is judged as any other, so funding can liquidate.

Money is conserved: ``final.balance + final.insurance_fund - final.socialized_loss`` equals
``balance + rules.insurance_fund + Σ realized_pnl``.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import numpy as np

from margin.closing import Closing, capped_fee, close_out  # noqa: F401 (re-exported)
from margin.ledger import EVENT_TYPES, Event, FinalState, SettlementState, step_label  # noqa: F401 (re-exported)
from margin.cuts import SLICING_STYLES, Cuts
from margin.scenario import Position, Scenario
from margin.stopping import Orders
from margin.tiers import tier_matrix


class Settler(Cuts, Orders):
    """Judges one step at fixed prices and applies the rules; shared by both walkers."""

    def _fee(self, notional: float, *caps: float) -> float:
        """The fee on closing ``notional`` [quote], capped by the least of ``caps`` (:func:`capped_fee`)."""
        return capped_fee(self.rules.liquidation_fee_rate * notional, min(caps))

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.rules = scenario.rules
        self.positions: tuple[Position, ...] = scenario.positions
        self.markets = [scenario.markets[p.market] for p in self.positions]
        self.entry_basis = scenario.rules.mm_basis == "entry"
        self.isolated = [i for i, p in enumerate(self.positions) if p.is_isolated]
        self.market_col = {name: j for j, name in enumerate(scenario.markets)}
        self.col = [self.market_col[p.market] for p in self.positions]
        self.col_index = np.array(self.col, dtype=np.intp)
        self.sign = np.array([p.sign for p in self.positions], dtype=float)
        self.isolated_mask = np.array([p.is_isolated for p in self.positions], dtype=bool)
        self.discount = scenario.rules.liquidation_fill_discount
        self.entry = np.array([p.entry for p in self.positions], dtype=float)
        # Each position's tier table as one row (padded: floor inf, the last rate and amount),
        # for the breach search's array forms.
        self.floors, self.rates, self.cums = tier_matrix(self.markets)
        self.setup_money(scenario)
        self.cross = self.pool_members[None]  # the USDT pool's cross positions
        # each pool's members' sizes out of a list of every position's (a tuple, or one size)
        self.pool_sizes = {key: itemgetter(*members) if members else tuple
                           for key, members in self.pool_members.items()}
        self.orders = [i for i, p in enumerate(self.positions) if p.has_orders]
        self.usdt_isolated = [i for i in self.isolated if self.money[i] is None]
        # the pools with a cross position (one without can never be in breach: nothing to judge)
        self.pool_keys = tuple(key for key in (None, *self.coin_keys) if self.pool_members[key])

    def new_state(self, start: "FinalState | None" = None) -> SettlementState:
        """The scenario's own state, or ``start`` (where an earlier walk ended) to continue it."""
        n = len(self.positions)
        if start is not None:
            if len(start.sizes) != n:
                raise ValueError("start: holds a state of another account")
            sliced = np.array(start.sliced, dtype=bool) if len(start.sliced) == n else np.zeros(n, dtype=bool)
            state = SettlementState(size=np.array(start.sizes, dtype=float), margin=np.array(start.margins, dtype=float),
                                    cross_wallet=float(start.cross_wallet), fund=float(start.insurance_fund),
                                    socialized=float(start.socialized_loss), bankrupt=bool(start.bankrupt), sliced=sliced)
            if start.collateral:
                state.collateral = np.array(start.collateral, dtype=float)
                state.coin_fund = np.array([np.nan if f is None else f for f in start.coin_funds], dtype=float)
                state.coin_socialized = np.array(start.coin_socialized, dtype=float)
                return state
        else:
            state = SettlementState(
                size=np.array([p.size for p in self.positions], dtype=float),
                margin=np.array([p.margin if p.is_isolated else 0.0 for p in self.positions], dtype=float),
                cross_wallet=self.scenario.cross_wallet, fund=self.rules.insurance_fund, sliced=np.zeros(n, dtype=bool))
        self._start_collateral(state)
        return state

    def _start_collateral(self, state: SettlementState) -> None:
        """Each entry's amount as the scenario states it, and each coin's insurance fund: the
        USDT fund's value in the coin at the coin market's price now."""
        scenario = self.scenario
        state.collateral = np.array([scenario.coin_wallet(k) for k in range(len(self.entries))], dtype=float)
        state.coin_fund = np.array([self.rules.insurance_fund / scenario.markets[c.market].price if c.coin_pool
                                    else np.nan for c in self.entries], dtype=float)
        state.coin_socialized = np.zeros(len(self.entries))

    def holding(self, state: SettlementState, key: int | None, sizes: list[float]) -> tuple[Any, ...]:
        """All that :meth:`pool` reads of pool ``key`` besides the prices: its wallet, its
        members' sizes (of ``sizes``, ``state.size`` as a list) and (the USDT pool) its collateral."""
        collateral = None if key is not None or state.collateral is None else state.collateral.tobytes()
        return self.wallet(state, key), self.pool_sizes[key](sizes), collateral

    def cross_pool(self, state: SettlementState, prices: np.ndarray) -> tuple[float, float, list[int]]:
        """(cross equity, cross MM, open cross positions) of the USDT pool [quote]."""
        return self.pool(state, prices, None)

    # --- the step -----------------------------------------------------------------------------
    def charge_funding(self, state: SettlementState, prices: np.ndarray, rates: np.ndarray, count: int,
                       step: Any, row: int) -> int:
        """Charge ``count`` funding intervals at mark ``prices`` and ``rates`` [fraction per
        interval] (both by market, ``(M,)``): each open position pays ``side × value at the mark
        × rate × count`` [its currency] (received when negative) from its pool's cross wallet or
        its isolated margin. Returns how many ``funding`` events were added. Vectorized over
        positions."""
        self._prices = prices
        mark = prices[self.col_index]
        value = state.size * mark
        if self.inverse_mask.any():  # an inverse position's value at the mark is in its coin
            value = np.where(self.inverse_mask, state.size * np.array(self.cv) / mark, value)
        paid = np.where(state.size > 0, self.sign * value * rates[self.col_index] * count, 0.0)
        cross = ~self.isolated_mask
        if self.coin_keys:
            assert state.collateral is not None  # an account with collateral entries holds these
            for key in self.coin_keys:
                mine = cross & (np.array([m == key for m in self.money]))
                state.collateral[key] -= float(paid[mine].sum())
            cross = cross & ~self.inverse_mask
        state.cross_wallet -= float(paid[cross].sum())
        state.margin -= np.where(self.isolated_mask, paid, 0.0)
        charged = np.flatnonzero(paid != 0.0)
        for i in charged:
            self._event(state, "funding", int(i), step, row, float(mark[i]), float(state.size[i]),
                        realized=-float(paid[i]))
        return int(charged.shape[0])

    def settle(self, state: SettlementState, prices: np.ndarray, step: Any, row: int,
               only: set[tuple[str, Any]] | None = None, cooling: set[int] | None = None,
               maybe: set[tuple[str, Any]] | None = None) -> int:
        """Apply every liquidation due at these prices; returns how many events were added.
        ``only`` restricts the judgement to some pools (``("isolated", i)``, ``("pool", key)``)
        and ``cooling`` carries the positions sliced earlier in this step, which wait for a
        later step (updated): :func:`margin.crossing.settle_row` settles a step's happenings
        in the order the price meets them, at its crossings, then at its mark.

        ``maybe``: the pools that may be in breach here (:meth:`margin.breach.BreachSearch.suspects`),
        the others known clear: see :meth:`_known_clear`."""
        self._prices = prices
        before = len(state.events)
        if state.sliced is None:
            state.sliced = np.zeros(len(self.positions), dtype=bool)
        cooling = set() if cooling is None else cooling  # sliced in this step: the rest waits for a later step
        marks = prices.tolist()
        keys = self.pool_keys
        sizes = state.size.tolist()
        # pool key: what it held when it was judged and left alone; isolated positions judged and
        # left alone (only their own close changes them); those known clear from the start
        clear, left_alone = self._known_clear(state, keys, sizes, maybe)
        while True:
            acted = self._judge_isolated(state, prices, marks, step, row, only, cooling, left_alone)
            # A pool is judged again only when what it holds changed since it was left alone at
            # these prices (cooling only grows, so it would be left alone again).
            sizes = state.size.tolist() if acted else sizes
            acted = False
            for key in keys:
                if only is not None and ("pool", key) not in only:
                    continue
                held = self.holding(state, key, sizes)
                if clear.get(key) == held:
                    continue
                equity, mm, members = self.pool(state, prices, key)
                if members and not cooling.intersection(members) and self.rules.breached(equity, mm):
                    if self._first_slice(state, members, prices, step, row, equity=equity, key=key):
                        cooling.update(members)
                    else:
                        self._liquidate_cross(state, prices, step, row, key)
                    acted = True
                    sizes = state.size.tolist()
                else:
                    clear[key] = held
            # No pool acted: every isolated position is now left alone, closed or cooling (an
            # isolated one acts on its own margin only), every pool clear at what it holds, so
            # another round would find nothing.
            if not acted:
                return len(state.events) - before

    def _judge_isolated(self, state: SettlementState, prices: np.ndarray, marks: list[float], step: Any, row: int,
                        only: set[tuple[str, Any]] | None, cooling: set[int], left_alone: set[int]) -> bool:
        """:meth:`settle`'s round over the isolated positions at ``marks`` (``prices`` as a list):
        each in breach is sliced first (into ``cooling``) or liquidated; one clear, or cured by
        its slices, joins ``left_alone``. Returns whether any acted."""
        acted = False
        sizes, margins = state.size.tolist(), state.margin.tolist()
        for i in self.isolated:
            size = sizes[i]
            if size <= 0 or i in cooling or i in left_alone or (only is not None and ("isolated", i) not in only):
                continue
            price = marks[self.col[i]]
            if self.rules.breached(margins[i] + self.pnl(i, size, price), self.maintenance(i, size, price)):
                if self._first_slice(state, [i], prices, step, row):
                    cooling.add(i)
                elif self._liquidate_isolated(state, i, price, step, row):
                    left_alone.add(i)  # cured: judged clear at these prices by the slicing loop itself
                acted = True
            else:
                left_alone.add(i)
        return acted

    def _known_clear(self, state: SettlementState, keys: tuple[int | None, ...], sizes: list[float],
                     maybe: set[tuple[str, Any]] | None) -> tuple[dict[Any, tuple[Any, ...]], set[int]]:
        """The pools (with what they hold now) and isolated positions not in ``maybe``: known to be
        clear at the step's prices, so :meth:`settle` judges a pool of them only once what it
        holds changes (an isolated close credits its pool's wallet), an isolated one never: the
        same events as judging them all, without their sums."""
        if maybe is None:
            return {}, set()
        clear = {key: self.holding(state, key, sizes) for key in keys if ("pool", key) not in maybe}
        return clear, {i for i in self.isolated if ("isolated", i) not in maybe}

    def _first_slice(self, state: SettlementState, members: list[int], prices: np.ndarray, step: Any, row: int,
                     equity: float | None = None, key: int | None = None) -> bool:
        """``liquidation = "slice_then_full"`` (Hyperliquid): a pool's first breach closes
        ``partial_fraction`` of each of its positions at the mark and nothing more in that step
        (the cooldown); a breach at a later step closes the rest in full. A pool already
        without equity is closed in full at once. Returns whether a slice was taken."""
        if self.rules.liquidation != "slice_then_full":
            return False
        assert state.sliced is not None  # set by the slicing loop before a cut
        if state.sliced[members].any():
            return False
        if equity is None:  # an isolated position
            i = members[0]
            equity = state.margin[i] + self.pnl(i, state.size[i], float(prices[self.col[i]]))
        if equity <= 0:
            return False
        isolated = len(members) == 1 and self.positions[members[0]].is_isolated
        for i in members:
            price = float(prices[self.col[i]])
            cut = self.rules.partial_fraction * state.size[i]
            if cut >= state.size[i] * (1 - 1e-12):
                return False  # a slice of the whole is a full close
            price = self.fill(i, price)
            realized = self.pnl(i, cut, price)
            left = state.margin[i] + realized if isolated else self.wallet(state, key) + realized
            fee = self._fee(self.value(i, cut, price), equity, left)
            equity -= fee
            if isolated:
                state.margin[i] += realized - fee
            else:
                self.credit(state, key, realized - fee)
            self.to_fund(state, self.money[i], fee)
            state.size[i] -= cut
            assert state.sliced is not None  # set by the slicing loop before a cut
            state.sliced[i] = True
            self._event(state, "partial_liquidation", i, step, row, price, cut, realized, fee, fee)
        return True

    def _liquidate_isolated(self, state: SettlementState, i: int, price: float, step: Any, row: int) -> bool:
        """Liquidate isolated position ``i``, in breach at the mark ``price``: by slices (a slicing
        style) until cured, else (or when slices cannot cure it) in full. Returns whether it is
        left open, cured (so clear at ``price``)."""
        rules = self.rules
        fill = self.fill(i, price)  # judged on the mark, filled here
        key = self.money[i]
        if rules.liquidation in SLICING_STYLES and self._slice_isolated(state, i, price, fill, step, row):
            return True
        price = fill
        size, margin = state.size[i], state.margin[i]
        realized = self.pnl(i, size, price)
        equity = margin + realized
        closing = close_out(equity, self.value(i, size, price), rules.liquidation_fee_rate, rules.settlement)
        fee, fund_gain, returned = float(closing.fee), float(closing.to_fund), float(closing.returned)
        self.credit(state, key, returned)
        self.to_fund(state, key, fund_gain)
        state.size[i] = 0.0
        state.margin[i] = 0.0
        self._event(state, "liquidation", i, step, row, price, size, realized, fee, fund_gain)
        if equity < 0:
            self._cover_deficit(state, -equity, i, price, step, row)
        return False

    def _liquidate_cross(self, state: SettlementState, prices: np.ndarray, step: Any, row: int,
                         key: int | None = None) -> None:
        rules = self.rules
        if rules.liquidation in SLICING_STYLES:
            start_size = state.size.copy()
            while True:
                equity, mm, open_cross = self.pool(state, prices, key)
                if not open_cross or not self.rules.breached(equity, mm):
                    return  # cured
                cuts = self._cross_cuts(state, prices, open_cross, start_size, equity, mm)
                if equity <= 0 or not cuts:
                    break  # cannot be cured by slicing, or the last slice: close in full
                for i, cut in cuts.items():
                    price = self.fill(i, float(prices[self.col[i]]))
                    realized = self.pnl(i, cut, price)
                    # the cash behind the fee: the wallet and, in the USDT pool, its collateral at
                    # collateral value (USDC at 1.0 and no haircut is balance, to the bit)
                    cash = self.wallet(state, key) + (self.collateral_value(state, prices)
                                                      if key is None and self.usdt_entries else 0.0)
                    fee = self._fee(self.value(i, cut, price), equity, cash + realized)
                    equity -= fee
                    self.credit(state, key, realized - fee)
                    self.to_fund(state, key, fee)
                    state.size[i] -= cut
                    kind = "liquidation" if state.size[i] <= 0 else "partial_liquidation"
                    self._event(state, kind, i, step, row, price, cut, realized, fee, fee)
        equity, _, open_cross = self.pool(state, prices, key)
        if key is None and self.usdt_entries:  # the whole pool goes: its collateral is sold first
            self.sell_collateral(state, prices, open_cross[0], step, row)
            equity, _, open_cross = self.pool(state, prices, key)
        fills = {i: self.fill(i, float(prices[self.col[i]])) for i in open_cross}
        if self.discount:  # the pool's equity where its positions fill
            equity = self.wallet(state, key) + sum(self.pnl(i, state.size[i], fills[i]) for i in open_cross)
        if rules.bankruptcy_split == "maintenance_share" and len(open_cross) > 1:
            self._close_cross_by_share(state, prices, open_cross, fills, equity, step, row, key)
            return
        notional = sum(self.value(i, state.size[i], fills[i]) for i in open_cross)
        closing = close_out(equity, notional, rules.liquidation_fee_rate, rules.settlement)
        remaining = float(closing.fee)  # the pool's fee, told position by position in its events
        closes = []
        for i in open_cross:
            price = fills[i]
            size = state.size[i]
            realized = self.pnl(i, size, price)
            linear = self.positions[i].contract_value == 0  # (rate × size) × price, as it has always run
            fee = capped_fee(rules.liquidation_fee_rate * size * price if linear
                             else rules.liquidation_fee_rate * self.value(i, size, price), remaining)
            remaining -= fee
            closes.append((i, price, size, realized, fee))
            state.size[i] = 0.0
        fees = sum(c[4] for c in closes)
        # Bankruptcy: the trader loses the whole pool and the fund keeps what was left above
        # zero; mark: the trader keeps what is left after the fee.
        self.set_wallet(state, key, float(closing.returned))
        self.to_fund(state, key, float(closing.to_fund))
        leftover = float(closing.to_fund) - fees
        for n, (i, price, size, realized, fee) in enumerate(closes):
            gain = fee + (leftover if n == len(closes) - 1 else 0.0)
            self._event(state, "liquidation", i, step, row, price, size, realized, fee, gain)
        if equity < 0:
            worst = min(closes, key=lambda c: c[3])
            self._cover_deficit(state, -equity, worst[0], worst[1], step, row)

    def _close_cross_by_share(self, state: SettlementState, prices: np.ndarray, open_cross: list[int],
                              fills: dict[int, float], equity: float, step: Any, row: int,
                              key: int | None = None) -> None:
        """``bankruptcy_split = "maintenance_share"`` (dYdX): each cross position is settled
        against its own share of the pool's equity, the share its maintenance margin is of the
        pool's (``TNC × |DMMR| / TMMR``), which puts its bankruptcy price at
        ``mark − side × share / size``: its fee is capped by its share, what is left of the share
        goes back (``"mark"``) or to the fund, and a share below zero is that position's loss
        beyond margin."""
        rules = self.rules
        sizes = np.array([state.size[i] for i in open_cross])
        fill = np.array([fills[i] for i in open_cross])
        mm = np.array([self.maintenance(i, state.size[i], float(prices[self.col[i]])) for i in open_cross])
        values = np.array([self.value(i, state.size[i], fills[i]) for i in open_cross])
        weight = mm if mm.sum() > 0 else values
        share = equity * weight / weight.sum()
        closing = close_out(share, values, rules.liquidation_fee_rate, rules.settlement)
        self.set_wallet(state, key, float(closing.returned.sum()))
        self.to_fund(state, key, float(closing.to_fund.sum()))
        for k, i in enumerate(open_cross):
            realized = self.pnl(i, sizes[k], fill[k])
            state.size[i] = 0.0
            self._event(state, "liquidation", i, step, row, float(fill[k]), float(sizes[k]), realized,
                        float(closing.fee[k]), float(closing.to_fund[k]))
        for k, i in enumerate(open_cross):
            if closing.deficit[k] > 0:
                self._cover_deficit(state, float(closing.deficit[k]), i, float(fill[k]), step, row)

    def balance(self, state: SettlementState) -> float:
        """The USDT wallet [quote]: the cross wallet plus the USDT isolated margins still locked
        (a coin's are in :meth:`entry_extras`)."""
        sizes, margins = state.size.tolist(), state.margin.tolist()
        locked = 0.0  # added one by one, in order: sum() of floats is compensated from Python 3.12
        for i in self.usdt_isolated:
            if sizes[i] > 0:
                locked += margins[i]
        return state.cross_wallet + locked

    def final(self, state: SettlementState) -> FinalState:
        open_ids = tuple(p.id for i, p in enumerate(self.positions) if state.size[i] > 0)
        return FinalState(
            balance=self.balance(state), cross_wallet=state.cross_wallet,
            insurance_fund=state.fund, socialized_loss=state.socialized,
            open_positions=open_ids, sizes=tuple(map(float, state.size)),
            margins=tuple(map(float, state.margin)), bankrupt=state.bankrupt,
            sliced=tuple(map(bool, state.sliced)) if state.sliced is not None else (),
            **self.entry_extras(state),
        )

    def entry_extras(self, state: SettlementState) -> dict[str, Any]:
        """:class:`FinalState`'s fields for the collateral entries (none without any)."""
        if not self.entries:
            return {}
        assert state.collateral is not None and state.coin_fund is not None and state.coin_socialized is not None
        held = [float(state.collateral[k]) + float(sum(state.margin[i] for i in self.isolated
                                                      if state.size[i] > 0 and self.money[i] == k))
                for k in range(len(self.entries))]
        return dict(assets=tuple(c.asset for c in self.entries), collateral=tuple(map(float, state.collateral)),
                    held=tuple(held), coin_funds=tuple(None if np.isnan(f) else float(f) for f in state.coin_fund),
                    coin_socialized=tuple(map(float, state.coin_socialized)))
