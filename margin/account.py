"""Accounting at given mark prices: equity, maintenance margin, liquidation and bankruptcy prices.

Everything is in the quote currency of linear contracts. The cross pool is the cross wallet
(balance less isolated margins) plus the unrealized PnL of cross positions; an isolated position
is judged on its own margin plus its own PnL.

The one-position Bybit example (1 BTC long at 20,000, 50x, MMR 0.5 % on entry):

>>> from margin.scenario import scenario_from_dict
>>> s = scenario_from_dict({"balance": 1000, "rules": {"mm_basis": "entry"},
...     "markets": {"BTC": {"price": 20000, "mmr": 0.005}},
...     "positions": [{"id": "btc", "market": "BTC", "side": "long", "size": 1,
...                    "entry": 20000, "leverage": 50, "mode": "isolated"}]})
>>> [(round(p.liquidation_price, 2), round(p.bankruptcy_price, 2)) for p in liquidation_prices(s)]
[(19700.0, 19600.0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from margin.liquidation import (  # noqa: F401  (read as margin.account's too)
    REACH_FACTOR, LiquidationPrice, liquidation_prices, position_liquidation_price,
)
from margin.returns import pnl_fraction, return_on_margin  # noqa: F401  (read as margin.account's too)
from margin.scenario import Rules, Scenario
from margin.tiers import maintenance_margin

# Status codes along a sweep or in a snapshot. Binance sends a margin call at a margin ratio of
# 80 %; we call a position "at risk" from there on.
HEALTHY, AT_RISK, LIQUIDATED, BANKRUPT = 0, 1, 2, 3
STATUS_NAMES = ("healthy", "at risk", "liquidated", "bankrupt")
AT_RISK_RATIO = 0.8


# ----------------------------------------------------------------------------- compiled account


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledAccount:
    """A scenario's positions as parallel numpy arrays, one entry per position.

    Tier tables are padded to the longest table with ``floor = inf`` so a tier lookup is one
    broadcast comparison.
    """

    market_names: tuple[str, ...]
    market_index: np.ndarray  # (P,) int: column of the position's market in market_names
    sign: np.ndarray  # (P,) +1 long, -1 short
    size: np.ndarray  # (P,) [base]
    entry: np.ndarray  # (P,) [quote per base]
    isolated: np.ndarray  # (P,) bool
    margin: np.ndarray  # (P,) isolated margin [quote], 0 for cross
    floors: np.ndarray  # (P, T) [quote]
    mmr: np.ndarray  # (P, T) [fraction]
    cum: np.ndarray  # (P, T) [quote]
    entry_basis: bool
    cross_wallet: float
    rules: Rules = Rules()
    # inverse contracts and collateral (:mod:`margin.inverse`, :mod:`margin.collateral`); empty or
    # all-linear for an account that holds neither
    contract_value: np.ndarray | None = None  # (P,) [USD per contract]; 0 for a linear contract
    pool: np.ndarray | None = None  # (P,) int: -1 the USDT pool, k the coin pool of collateral entry k
    collateral: np.ndarray | None = None  # (K,) amounts [asset units] (a coin pool's: its cross wallet)
    collateral_market: np.ndarray | None = None  # (K,) int: the market that prices each entry
    collateral_factor: np.ndarray | None = None  # (K,) 1 − haircut; 0 for a coin pool's wallet (not in USDT)
    coin_pools: tuple[int, ...] = ()  # the collateral entries that are coin pools' wallets

    @property
    def n_positions(self) -> int:
        return int(self.sign.shape[0])

    @property
    def inverse(self) -> np.ndarray:
        """(P,) bool: the position is an inverse contract."""
        return np.zeros(self.n_positions, dtype=bool) if self.contract_value is None else self.contract_value > 0


def compile_account(scenario: Scenario) -> CompiledAccount:
    """Arrays for vectorized evaluation of ``scenario``."""
    names = tuple(scenario.markets)
    positions = scenario.positions
    n_tiers = max((len(scenario.markets[p.market].tiers) for p in positions), default=1)
    floors = np.full((len(positions), n_tiers), np.inf)
    mmr = np.zeros((len(positions), n_tiers))
    cum = np.zeros((len(positions), n_tiers))
    for row, position in enumerate(positions):
        table_floors, table_rates, table_cums = scenario.markets[position.market].tier_tables
        n = table_floors.shape[0]
        floors[row, :n], mmr[row, :n], cum[row, :n] = table_floors, table_rates, table_cums
        mmr[row, n:] = table_rates[-1]
        cum[row, n:] = table_cums[-1]
    return CompiledAccount(
        market_names=names,
        market_index=np.array([names.index(p.market) for p in positions], dtype=np.intp),
        sign=np.array([p.sign for p in positions], dtype=float),
        size=np.array([p.size for p in positions], dtype=float),
        entry=np.array([p.entry for p in positions], dtype=float),
        isolated=np.array([p.is_isolated for p in positions], dtype=bool),
        margin=np.array([p.margin if p.is_isolated else 0.0 for p in positions], dtype=float),
        floors=floors,
        mmr=mmr,
        cum=cum,
        entry_basis=scenario.rules.mm_basis == "entry",
        cross_wallet=scenario.cross_wallet,
        rules=scenario.rules,
        **_coin_arrays(scenario, names),
    )


def _coin_arrays(scenario: Scenario, names: tuple[str, ...]) -> dict[str, Any]:
    """The inverse contracts' and the collateral's arrays of :class:`CompiledAccount`."""
    if not scenario.collateral and not any(p.is_inverse for p in scenario.positions):
        return {}
    coins = {c.asset: k for k, c in enumerate(scenario.collateral) if c.coin_pool}
    entries = scenario.collateral
    return dict(
        contract_value=np.array([p.contract_value for p in scenario.positions], dtype=float),
        pool=np.array([coins.get(scenario.currency(p), -1) for p in scenario.positions], dtype=np.intp),
        collateral=np.array([scenario.coin_wallet(k) for k in range(len(entries))], dtype=float),
        collateral_market=np.array([names.index(c.market) for c in entries], dtype=np.intp),
        collateral_factor=np.array([0.0 if c.coin_pool else c.factor for c in entries], dtype=float),
        coin_pools=tuple(coins.values()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Valuation:
    """The account valued at a batch of price points (leading axis ``G``)."""

    notional: np.ndarray  # (G, P) [quote]
    unrealized_pnl: np.ndarray  # (G, P) [quote]
    maintenance_margin: np.ndarray  # (G, P) [quote]
    cross_equity: np.ndarray  # (G,) [quote]
    cross_maintenance: np.ndarray  # (G,) [quote]
    position_equity: np.ndarray  # (G, P): isolated equity, or the cross equity for cross
    position_maintenance: np.ndarray  # (G, P): own MM if isolated, cross MM for cross
    status: np.ndarray  # (G, P) int8: HEALTHY, AT_RISK, LIQUIDATED or BANKRUPT
    # With inverse contracts, a position's amounts are in its settlement coin; these say how:
    to_usdt: np.ndarray | float = 1.0  # (G, P) [USDT per unit of the position's currency]
    coin_equity: np.ndarray | None = None  # (G, C) each coin pool's equity [coin] (C = len(coin_pools))
    coin_maintenance: np.ndarray | None = None  # (G, C) [coin]
    coin_price: np.ndarray | None = None  # (G, C) [USDT per coin]
    collateral_value: np.ndarray | float = 0.0  # (G,) the USDT pool's collateral at its value [USDT]


def value_account(account: CompiledAccount, prices: np.ndarray, *,
                  size: np.ndarray | None = None, margin: np.ndarray | None = None,
                  cross_wallet: float | np.ndarray | None = None,
                  collateral: np.ndarray | None = None) -> Valuation:
    """Value the account at mark ``prices`` of shape ``(G, M)`` (markets in ``market_names``).

    ``size`` [base or contracts] (0 = closed), ``margin`` [its currency], ``cross_wallet``
    [quote] and ``collateral`` (amounts per entry, a coin pool's its cross wallet) override the
    scenario's, per price point or for all (used to trace a simulation).
    """
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    size = account.size if size is None else np.asarray(size, dtype=float)
    margin = account.margin if margin is None else np.asarray(margin, dtype=float)
    wallet = account.cross_wallet if cross_wallet is None else np.asarray(cross_wallet, dtype=float)
    mark = prices[:, account.market_index]  # (G, P)
    notional = size * mark
    upnl = account.sign * size * (mark - account.entry)
    basis = size * account.entry if account.entry_basis else notional
    inverse = account.inverse
    contract_value = account.contract_value  # None: no inverse contract
    if contract_value is not None and inverse.any():  # in the coin: value size × cv / price, PnL size × cv × (1/entry − 1/mark)
        cv = np.where(inverse, contract_value, 1.0)
        notional = np.where(inverse, size * cv / mark, notional)
        upnl = np.where(inverse, account.sign * size * cv * (1.0 / account.entry - 1.0 / mark), upnl)
        basis = np.where(inverse, size * cv / account.entry, basis) if account.entry_basis else notional
    mm = maintenance_margin(np.broadcast_to(basis, mark.shape), account.floors, account.mmr, account.cum)
    open_ = size > 0
    cross = (~account.isolated) & open_ & ~inverse
    cross_equity = wallet + (upnl * cross).sum(axis=1)
    cross_mm = (mm * cross).sum(axis=1)
    pool = account.pool  # None: no collateral entry, every cross position in the USDT pool
    extra = _pools_in_coins(account, prices, upnl, mm, open_, collateral) if pool is not None else {}
    if extra:
        cross_equity = cross_equity + extra["collateral_value"]
    iso_equity = margin + upnl
    pool_equity = cross_equity[:, None] if pool is None else np.where(
        pool < 0, cross_equity[:, None], np.take(extra["coin_equity_full"], pool, axis=1))
    pool_mm = cross_mm[:, None] if pool is None else np.where(
        pool < 0, cross_mm[:, None], np.take(extra["coin_mm_full"], pool, axis=1))
    position_equity = np.where(account.isolated, iso_equity, pool_equity)
    position_mm = np.where(account.isolated, mm, pool_mm)
    status = classify(position_equity, position_mm, account.rules)
    status = np.where(open_, status, HEALTHY).astype(np.int8)
    return Valuation(
        notional=notional, unrealized_pnl=upnl, maintenance_margin=mm,
        cross_equity=cross_equity, cross_maintenance=cross_mm,
        position_equity=position_equity, position_maintenance=position_mm, status=status,
        **{k: v for k, v in extra.items() if not k.endswith("_full")},
    )


def _pools_in_coins(account: CompiledAccount, prices: np.ndarray, upnl: np.ndarray, mm: np.ndarray,
                    open_: np.ndarray, collateral: np.ndarray | None) -> dict[str, np.ndarray]:
    """The USDT pool's collateral value and every coin pool's equity, maintenance and price."""
    assert (account.pool is not None and account.collateral is not None and account.collateral_market is not None
            and account.collateral_factor is not None)  # compiled together (_coin_arrays)
    amounts = np.broadcast_to(account.collateral if collateral is None else np.asarray(collateral, dtype=float),
                              (prices.shape[0], account.collateral.shape[0]))
    price = prices[:, account.collateral_market]  # (G, K) [USDT per asset unit]
    value = (amounts * price * account.collateral_factor).sum(axis=1)
    cross = np.broadcast_to(~account.isolated & open_, upnl.shape)
    members = cross[:, :, None] & (account.pool[:, None] == np.arange(amounts.shape[1])[None, :])[None]  # (G, P, K)
    equity = amounts + (upnl[:, :, None] * members).sum(axis=1)  # (G, K); a USDT-pool entry's is unused
    maintenance = (mm[:, :, None] * members).sum(axis=1)
    coins = list(account.coin_pools)
    to_usdt = np.where(account.pool < 0, 1.0, np.take(price, np.maximum(account.pool, 0), axis=1))
    return {"collateral_value": value, "coin_equity": equity[:, coins], "coin_maintenance": maintenance[:, coins],
            "coin_price": price[:, coins], "to_usdt": to_usdt, "coin_equity_full": equity, "coin_mm_full": maintenance}


def owned_value(valuation: Valuation, size: np.ndarray, isolated: np.ndarray) -> np.ndarray:
    """What the trader owns at each price point [quote] ``(G,)``: the cross pool's equity (its
    collateral at its collateral value), each coin pool's and each open isolated position's
    equity (a coin's at the price of its market), each floored at 0 (a loss beyond a pool's
    margin is the insurance fund's, not the trader's). The one definition of an account's value: the
    lab's equity, the replay's start and the stress lab's start value are all it.

    >>> from margin.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"balance": 100, "markets": {"X": {"price": 10, "mmr": 0.01}},
    ...     "positions": [{"id": "a", "market": "X", "side": "long", "size": 10, "entry": 10,
    ...                    "leverage": 5, "mode": "isolated"}]})
    >>> a = compile_account(s)
    >>> owned_value(value_account(a, np.array([[10.0], [5.0]])), a.size, a.isolated).tolist()
    [100.0, 80.0]
    """
    open_isolated = (np.asarray(size) > 0) & isolated
    equity = np.maximum(valuation.position_equity, 0.0)
    if valuation.coin_equity is not None:  # a coin's equity at the coin's price
        equity = equity * valuation.to_usdt
    iso = np.where(open_isolated, equity, 0.0).sum(axis=-1)
    owned = np.maximum(valuation.cross_equity, 0.0) + iso
    if valuation.coin_equity is not None:
        owned = owned + (np.maximum(valuation.coin_equity, 0.0) * valuation.coin_price).sum(axis=-1)
    return owned


def account_value(scenario: Scenario, prices: Mapping[str, float] | None = None, *,
                  sizes: Sequence[float] | None = None, margins: Sequence[float] | None = None,
                  cross_wallet: float | None = None, collateral: Sequence[float] | None = None) -> float:
    """:func:`owned_value` of the account at its prices (or ``prices``), in its own state or
    the one given (sizes, isolated margins, cross wallet, collateral, as a walk leaves them)
    [quote]."""
    account = compile_account(scenario)
    size = account.size if sizes is None else np.asarray(sizes, dtype=float)
    value = value_account(account, price_vector(scenario, prices)[None, :], size=size,
                          margin=None if margins is None else np.asarray(margins, dtype=float),
                          cross_wallet=cross_wallet,
                          collateral=None if collateral is None or not len(collateral) else np.asarray(collateral))
    return float(owned_value(value, size, account.isolated)[0])


def classify(equity: np.ndarray, maintenance: np.ndarray, rules: Rules = Rules()) -> np.ndarray:
    """Status code of a pool with this equity and maintenance margin [quote]; liquidated as
    the rules' trigger says (:meth:`margin.scenario.Rules.breached`).

    >>> classify(np.array([100.0, 60.0, 40.0, -1.0]), np.array([50.0, 50.0, 50.0, 50.0])).tolist()
    [0, 1, 2, 3]
    """
    equity = np.asarray(equity, dtype=float)
    maintenance = np.asarray(maintenance, dtype=float)
    status = np.full(np.broadcast(equity, maintenance).shape, HEALTHY, dtype=np.int8)
    status = np.where(maintenance >= AT_RISK_RATIO * equity, AT_RISK, status)
    status = np.where(rules.breached(equity, maintenance), LIQUIDATED, status)
    status = np.where(equity <= 0, BANKRUPT, status)
    # A pool with nothing to maintain is healthy whatever its ratio says.
    return np.where((maintenance <= 0) & (equity > 0), HEALTHY, status).astype(np.int8)


def price_vector(scenario: Scenario, prices: Mapping[str, float] | None = None) -> np.ndarray:
    """Mark prices in market order, the scenario's own unless overridden."""
    base = scenario.prices
    if prices:
        base.update({k: float(v) for k, v in prices.items()})
    return np.array([base[name] for name in scenario.markets], dtype=float)


# ----------------------------------------------------------------------------- evaluate


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossSnapshot:
    """The cross pool. ``margin_ratio`` = MM / equity [fraction]; ``inf`` when equity ≤ 0.
    ``collateral_value`` [quote] is what its collateral counts (already in ``equity``)."""

    wallet: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    liquidatable: bool
    collateral_value: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinSnapshot:
    """A coin pool (the inverse contracts settled in ``asset``), its amounts [coin]; ``price``
    [USDT per coin] values it."""

    asset: str
    wallet: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    liquidatable: bool
    price: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionSnapshot:
    """One position; its amounts in ``currency`` (USDT, or an inverse contract's coin)."""

    id: str
    mode: str
    notional: float
    unrealized_pnl: float
    maintenance_margin: float
    equity: float
    liquidatable: bool
    status: str
    currency: str = "USDT"


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    cross: CrossSnapshot
    positions: tuple[PositionSnapshot, ...]
    coins: tuple[CoinSnapshot, ...] = ()


def margin_ratio(equity: float, maintenance: float) -> float:
    """Maintenance margin over equity [fraction]; 1 or more means liquidatable."""
    if equity <= 0:
        return math.inf if maintenance > 0 or equity < 0 else 0.0
    return maintenance / equity


def evaluate(scenario: Scenario, prices: Mapping[str, float] | None = None) -> Snapshot:
    """The account at the scenario's mark prices, or at ``prices`` overriding some of them."""
    account = compile_account(scenario)
    value = value_account(account, price_vector(scenario, prices)[None, :])
    cross_equity = float(value.cross_equity[0])
    cross_mm = float(value.cross_maintenance[0])
    has_cross = bool((~account.isolated & ~account.inverse).any())
    cross_liquidatable = has_cross and scenario.rules.breached(cross_equity, cross_mm)
    positions = []
    for i, position in enumerate(scenario.positions):
        equity = float(value.position_equity[0, i])
        own_mm = float(value.maintenance_margin[0, i])
        pool_mm = float(value.position_maintenance[0, i])
        liquidatable = (scenario.rules.breached(equity, pool_mm) if position.is_isolated or position.is_inverse
                        else cross_liquidatable)
        positions.append(PositionSnapshot(
            id=position.id, mode=position.mode, notional=float(value.notional[0, i]),
            unrealized_pnl=float(value.unrealized_pnl[0, i]), maintenance_margin=own_mm,
            equity=equity, liquidatable=bool(liquidatable),
            status=STATUS_NAMES[int(value.status[0, i])], currency=scenario.currency(position),
        ))
    cross = CrossSnapshot(
        wallet=account.cross_wallet, equity=cross_equity, maintenance_margin=cross_mm,
        margin_ratio=margin_ratio(cross_equity, cross_mm), liquidatable=bool(cross_liquidatable),
        collateral_value=float(np.sum(value.collateral_value)),
    )
    return Snapshot(cross=cross, positions=tuple(positions), coins=_coin_snapshots(scenario, account, value))


def _coin_snapshots(scenario: Scenario, account: CompiledAccount, value: Valuation) -> tuple[CoinSnapshot, ...]:
    out: list[CoinSnapshot] = []
    if not account.coin_pools:
        return ()
    assert (account.collateral is not None and value.coin_equity is not None and value.coin_maintenance is not None
            and value.coin_price is not None)  # an account with coin pools is valued with them
    for c, k in enumerate(account.coin_pools):
        equity, mm = float(value.coin_equity[0, c]), float(value.coin_maintenance[0, c])
        members = (account.pool == k) & ~account.isolated
        out.append(CoinSnapshot(asset=scenario.collateral[k].asset, wallet=float(account.collateral[k]), equity=equity,
                                maintenance_margin=mm, margin_ratio=margin_ratio(equity, mm),
                                liquidatable=bool(members.any() and scenario.rules.breached(equity, mm)),
                                price=float(value.coin_price[0, c])))
    return tuple(out)
