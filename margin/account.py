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
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np

from margin.pools import REACH_FACTOR, first_prices, state_pools  # noqa: F401  (REACH_FACTOR is read as margin.account's too)
from margin.scenario import Position, Rules, Scenario
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

    @property
    def n_positions(self) -> int:
        return int(self.sign.shape[0])


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


def value_account(account: CompiledAccount, prices: np.ndarray, *,
                  size: np.ndarray | None = None, margin: np.ndarray | None = None,
                  cross_wallet: float | np.ndarray | None = None) -> Valuation:
    """Value the account at mark ``prices`` of shape ``(G, M)`` (markets in ``market_names``).

    ``size`` [base] (0 = closed), ``margin`` [quote] and ``cross_wallet`` [quote] override the
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
    mm = maintenance_margin(np.broadcast_to(basis, mark.shape), account.floors, account.mmr, account.cum)
    open_ = size > 0
    cross = (~account.isolated) & open_
    cross_equity = wallet + (upnl * cross).sum(axis=1)
    cross_mm = (mm * cross).sum(axis=1)
    iso_equity = margin + upnl
    position_equity = np.where(account.isolated, iso_equity, cross_equity[:, None])
    position_mm = np.where(account.isolated, mm, cross_mm[:, None])
    status = classify(position_equity, position_mm, account.rules)
    status = np.where(open_, status, HEALTHY).astype(np.int8)
    return Valuation(
        notional=notional, unrealized_pnl=upnl, maintenance_margin=mm,
        cross_equity=cross_equity, cross_maintenance=cross_mm,
        position_equity=position_equity, position_maintenance=position_mm, status=status,
    )


def owned_value(valuation: Valuation, size: np.ndarray, isolated: np.ndarray) -> np.ndarray:
    """What the trader owns at each price point [quote] ``(G,)``: the cross pool's equity and
    each open isolated position's equity, each floored at 0 (a loss beyond a pool's margin is
    the insurance fund's, not the trader's). The one definition of an account's value: the
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
    iso = np.where(open_isolated, np.maximum(valuation.position_equity, 0.0), 0.0).sum(axis=-1)
    return np.maximum(valuation.cross_equity, 0.0) + iso


def account_value(scenario: Scenario, prices: Mapping[str, float] | None = None, *,
                  sizes: Sequence[float] | None = None, margins: Sequence[float] | None = None,
                  cross_wallet: float | None = None) -> float:
    """:func:`owned_value` of the account at its prices (or ``prices``), in its own state or
    the one given (sizes, isolated margins, cross wallet, as a walk leaves them) [quote]."""
    account = compile_account(scenario)
    size = account.size if sizes is None else np.asarray(sizes, dtype=float)
    value = value_account(account, price_vector(scenario, prices)[None, :], size=size,
                          margin=None if margins is None else np.asarray(margins, dtype=float),
                          cross_wallet=cross_wallet)
    return float(owned_value(value, size, account.isolated)[0])


def return_on_margin(unrealized_pnl: Any, size: Any, entry: Any, leverage: Any) -> Any:
    """ROE [fraction]: unrealized PnL over the initial margin of the open size, ``size × entry
    ÷ leverage`` [quote], as Binance's position panel shows it (Binance Support, 'How to
    Calculate PnL and ROE of USDⓈ-M Futures': ROE = PnL ÷ initial margin); Bybit calls it the
    unrealized PnL %. NaN where nothing is open.

    >>> float(return_on_margin(50.0, 0.01, 100_000.0, 20))  # a 0.5 % move at 20x
    1.0
    """
    margin = np.asarray(size, dtype=float) * np.asarray(entry, dtype=float) / np.asarray(leverage, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(margin > 0, np.asarray(unrealized_pnl, dtype=float) / margin, np.nan)


def pnl_fraction(unrealized_pnl: Any, size: Any, entry: Any) -> Any:
    """PnL % [fraction]: unrealized PnL over the open size's value at entry, ``size × entry``
    [quote]: the price move in the position's favour, whatever the leverage. NaN where nothing
    is open.

    >>> float(pnl_fraction(50.0, 0.01, 100_000.0))
    0.05
    """
    value = np.asarray(size, dtype=float) * np.asarray(entry, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(value > 0, np.asarray(unrealized_pnl, dtype=float) / value, np.nan)


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
    """The cross pool. ``margin_ratio`` = MM / equity [fraction]; ``inf`` when equity ≤ 0."""

    wallet: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    liquidatable: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionSnapshot:
    id: str
    mode: str
    notional: float
    unrealized_pnl: float
    maintenance_margin: float
    equity: float
    liquidatable: bool
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    cross: CrossSnapshot
    positions: tuple[PositionSnapshot, ...]


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
    has_cross = bool((~account.isolated).any())
    cross_liquidatable = has_cross and scenario.rules.breached(cross_equity, cross_mm)
    positions = []
    for i, position in enumerate(scenario.positions):
        equity = float(value.position_equity[0, i])
        own_mm = float(value.maintenance_margin[0, i])
        liquidatable = scenario.rules.breached(equity, own_mm) if position.is_isolated else cross_liquidatable
        positions.append(PositionSnapshot(
            id=position.id, mode=position.mode, notional=float(value.notional[0, i]),
            unrealized_pnl=float(value.unrealized_pnl[0, i]), maintenance_margin=own_mm,
            equity=equity, liquidatable=bool(liquidatable),
            status=STATUS_NAMES[int(value.status[0, i])],
        ))
    cross = CrossSnapshot(
        wallet=account.cross_wallet, equity=cross_equity, maintenance_margin=cross_mm,
        margin_ratio=margin_ratio(cross_equity, cross_mm), liquidatable=bool(cross_liquidatable),
    )
    return Snapshot(cross=cross, positions=tuple(positions))


# ----------------------------------------------------------------------------- liquidation prices




@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationPrice:
    """Mark price [quote per base] of the position's market at which it is liquidated
    (equity = maintenance margin) or bankrupt (equity = 0), every other market held.

    ``None`` where no positive price within reach does it: a root above ``REACH_FACTOR`` ×
    today's price exists only in the far tiers of a hedged pool, and is reported as none
    (``beyond_reach`` then says so, and ``reach`` [quote per base] is the price up to which
    the engine looked: words say "no liquidation below {reach}", a fact, not fixed wording). ``direction`` is the way the price must
    move to liquidate (−1 down, +1 up, 0 never); for a cross position it is the way the whole
    pool loses in this market, so every leg of one market in one pool shares one price.
    """

    id: str
    liquidation_price: float | None
    bankruptcy_price: float | None
    direction: int = 0
    bankruptcy_direction: int = 0
    beyond_reach: bool = False
    reach: float = math.inf


def position_liquidation_price(scenario: Scenario, index: int,
                               prices: Mapping[str, float] | None = None,
                               sizes: Sequence[float] | None = None,
                               margins: Sequence[float] | None = None,
                               cross_wallet: float | None = None) -> LiquidationPrice:
    """Liquidation and bankruptcy price of ``scenario.positions[index]``.

    Every other market is held at its current price. ``sizes``, ``margins`` and
    ``cross_wallet`` override the scenario's state (used during a simulation; size 0 = closed).
    """
    return _liquidation_price(scenario, _positions_in_state(scenario, sizes, margins), index,
                              _current_prices(scenario, prices), cross_wallet)


def liquidation_prices(scenario: Scenario,
                       prices: Mapping[str, float] | None = None,
                       sizes: Sequence[float] | None = None,
                       margins: Sequence[float] | None = None,
                       cross_wallet: float | None = None) -> tuple[LiquidationPrice, ...]:
    """Liquidation and bankruptcy price of every position, in scenario order, with the same
    overrides as :func:`position_liquidation_price` (the account's state is built once for all)."""
    positions = _positions_in_state(scenario, sizes, margins)
    if not positions:
        return ()
    return tuple(_solve(scenario, positions, range(len(positions)), _current_prices(scenario, prices), cross_wallet))


def _current_prices(scenario: Scenario, prices: Mapping[str, float] | None) -> dict[str, float]:
    current = scenario.prices
    if prices:
        current.update(prices)
    return current


def _positions_in_state(scenario: Scenario, sizes: Sequence[float] | None,
                        margins: Sequence[float] | None) -> list[Position]:
    positions = list(scenario.positions)
    if sizes is not None:
        positions = [replace(p, size=float(s)) for p, s in zip(positions, sizes)]
    if margins is not None:
        positions = [replace(p, margin=float(m)) if p.is_isolated else p for p, m in zip(positions, margins)]
    return positions


def _liquidation_price(scenario: Scenario, positions: Sequence[Position], index: int,
                       current: Mapping[str, float], cross_wallet: float | None) -> LiquidationPrice:
    return _solve(scenario, positions, [index], current, cross_wallet)[0]


def _solve(scenario: Scenario, positions: Sequence[Position], indices: Sequence[int],
           current: Mapping[str, float], cross_wallet: float | None) -> list[LiquidationPrice]:
    """Liquidation and bankruptcy prices of ``positions[indices]``, every pool at once
    (:func:`margin.pools.state_pools` of the one state, :func:`margin.pools.first_prices`)."""
    out: dict[int, LiquidationPrice] = {}
    live = [i for i in indices if positions[i].size > 0]
    for i in indices:
        if positions[i].size <= 0:
            out[i] = LiquidationPrice(id=positions[i].id, liquidation_price=None, bankruptcy_price=None)
    if live:
        n = len(live)
        marks = np.array([[current[name] for name in scenario.markets]], dtype=float)
        size = np.array([[p.size for p in positions]], dtype=float)
        margin = np.array([[p.margin if p.is_isolated else 0.0 for p in positions]], dtype=float)
        wallet = scenario.cross_wallet if cross_wallet is None else cross_wallet
        pools, held = state_pools(scenario, np.array(live), size.repeat(n, 0), margin.repeat(n, 0),
                                  np.full(n, wallet, dtype=float), marks.repeat(n, 0))
        here = np.array([current[positions[i].market] for i in live], dtype=float)
        own_side = np.array([positions[i].sign for i in live])
        (liq, liq_dir, liq_far), (bank, bank_dir, bank_far) = first_prices(pools, held, here, own_side)
        for row, i in enumerate(live):
            out[i] = LiquidationPrice(
                id=positions[i].id, liquidation_price=_price_or_none(liq[row]),
                bankruptcy_price=_price_or_none(bank[row]), direction=int(liq_dir[row]),
                bankruptcy_direction=int(bank_dir[row]), beyond_reach=bool(liq_far[row] or bank_far[row]),
                reach=float(REACH_FACTOR * here[row]))
    return [out[i] for i in indices]


def _price_or_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
