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
from typing import Mapping, Sequence

import numpy as np

from margin.scenario import Market, Position, Scenario

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
        tiers = scenario.markets[position.market].tiers
        for col, tier in enumerate(tiers):
            floors[row, col], mmr[row, col], cum[row, col] = tier.floor, tier.mmr, tier.cum
        mmr[row, len(tiers):] = tiers[-1].mmr
        cum[row, len(tiers):] = tiers[-1].cum
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
    )


def tiered_maintenance(notional: np.ndarray, floors: np.ndarray, mmr: np.ndarray,
                       cum: np.ndarray) -> np.ndarray:
    """Maintenance margin [quote] of ``notional`` [quote], broadcasting over leading axes.

    ``notional`` has shape ``(..., P)``; the tier tables ``(P, T)``. The tier is the last one
    whose floor is ≤ the notional.

    >>> float(tiered_maintenance(np.array([60_000.0]), np.array([[0, 50_000]]),
    ...                          np.array([[0.004, 0.005]]), np.array([[0, 50.0]]))[0])
    250.0
    """
    tier = (notional[..., None] >= floors).sum(axis=-1) - 1
    tier = np.maximum(tier, 0)
    rate = np.take_along_axis(np.broadcast_to(mmr, notional.shape + mmr.shape[-1:]), tier[..., None], -1)[..., 0]
    amount = np.take_along_axis(np.broadcast_to(cum, notional.shape + cum.shape[-1:]), tier[..., None], -1)[..., 0]
    return notional * rate - amount


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
    mm = tiered_maintenance(np.broadcast_to(basis, mark.shape), account.floors, account.mmr, account.cum)
    open_ = size > 0
    cross = (~account.isolated) & open_
    cross_equity = wallet + (upnl * cross).sum(axis=1)
    cross_mm = (mm * cross).sum(axis=1)
    iso_equity = margin + upnl
    position_equity = np.where(account.isolated, iso_equity, cross_equity[:, None])
    position_mm = np.where(account.isolated, mm, cross_mm[:, None])
    status = classify(position_equity, position_mm)
    status = np.where(open_, status, HEALTHY).astype(np.int8)
    return Valuation(
        notional=notional, unrealized_pnl=upnl, maintenance_margin=mm,
        cross_equity=cross_equity, cross_maintenance=cross_mm,
        position_equity=position_equity, position_maintenance=position_mm, status=status,
    )


def classify(equity: np.ndarray, maintenance: np.ndarray) -> np.ndarray:
    """Status code of a pool with this equity and maintenance margin [quote].

    >>> classify(np.array([100.0, 60.0, 40.0, -1.0]), np.array([50.0, 50.0, 50.0, 50.0])).tolist()
    [0, 1, 2, 3]
    """
    equity = np.asarray(equity, dtype=float)
    maintenance = np.asarray(maintenance, dtype=float)
    status = np.full(np.broadcast(equity, maintenance).shape, HEALTHY, dtype=np.int8)
    status = np.where(maintenance >= AT_RISK_RATIO * equity, AT_RISK, status)
    status = np.where(equity <= maintenance, LIQUIDATED, status)
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
    cross_liquidatable = has_cross and cross_equity <= cross_mm
    positions = []
    for i, position in enumerate(scenario.positions):
        equity = float(value.position_equity[0, i])
        own_mm = float(value.maintenance_margin[0, i])
        liquidatable = equity <= own_mm if position.is_isolated else cross_liquidatable
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


REACH_FACTOR = 10.0  # a root above 10 × today's price is "none within reach" [× price]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationPrice:
    """Mark price [quote per base] of the position's market at which it is liquidated
    (equity = maintenance margin) or bankrupt (equity = 0), every other market held.

    ``None`` where no positive price within reach does it: a root above ``REACH_FACTOR`` ×
    today's price exists only in the far tiers of a hedged pool, and is reported as none
    (``beyond_reach`` then says so). ``direction`` is the way the price must
    move to liquidate (−1 down, +1 up, 0 never); for a cross position it is the way the whole
    pool loses in this market, so every leg of one market in one pool shares one price.
    """

    id: str
    liquidation_price: float | None
    bankruptcy_price: float | None
    direction: int = 0
    bankruptcy_direction: int = 0
    beyond_reach: bool = False


def _segment_roots(constant: float, members: Sequence[Position], market: Market,
                   entry_basis: bool, with_maintenance: bool) -> list[float]:
    """Positive roots of f(p) = constant + Σ side·size·(p − entry) − Σ MM(p) over members.

    f is linear between tier breakpoints (p = floor / size). On each segment the tier of every
    member is fixed, so the root has a closed form; a root counts only if it lies in the
    segment whose tiers produced it (the tier is re-chosen at the solution).
    """
    breakpoints = {0.0}
    if with_maintenance and not entry_basis:
        for position in members:
            for tier in market.tiers[1:]:
                breakpoints.add(tier.floor / position.size)
    edges = sorted(breakpoints) + [math.inf]
    roots: list[float] = []
    tiers = market.tiers
    # Per member: (sign·size, sign·size·entry, size, entry), and the index of its tier. The
    # probes ascend from segment to segment and tiers ascend by floor (the scenario checks it),
    # so each member's tier index only moves up: no search from the first tier every time.
    terms = [(p.sign * p.size, p.sign * p.size * p.entry, p.size, p.entry) for p in members]
    tier_index = [0] * len(members)
    for low, high in zip(edges[:-1], edges[1:]):
        probe = low * 2 + 1.0 if math.isinf(high) else (low + high) / 2
        slope = 0.0
        intercept = constant
        for k, (signed_size, signed_cost, size, entry) in enumerate(terms):
            slope += signed_size
            intercept -= signed_cost
            if not with_maintenance:
                continue
            if entry_basis:
                intercept -= market.maintenance_margin(size * entry)
            else:
                notional = size * probe
                j = tier_index[k]
                while j + 1 < len(tiers) and notional >= tiers[j + 1].floor:
                    j += 1
                tier_index[k] = j
                slope -= size * tiers[j].mmr
                intercept += tiers[j].cum
        if slope == 0:
            continue
        root = -intercept / slope
        tolerance = 1e-12 * max(abs(root), 1.0)
        if root > 0 and low - tolerance <= root <= high + tolerance:
            if not roots or abs(roots[-1] - root) > tolerance:
                roots.append(root)
    return roots


def _pick_root(roots: list[float], current: float, adverse: int) -> tuple[float | None, int, bool]:
    """The root met first when the price moves the way that hurts (``adverse``: −1 down, +1 up);
    else the nearest one the other way. A root above ``REACH_FACTOR`` × ``current`` is left
    out. Returns ``(root, direction of the move to it, whether there is none only because the
roots were out of reach)``.

    >>> _pick_root([80.0, 5e25], 100.0, -1)
    (80.0, -1, False)
    >>> _pick_root([5e25], 100.0, -1)
    (None, 0, True)
    """
    reach = REACH_FACTOR * current
    within = [r for r in roots if r <= reach]
    below = [r for r in within if r <= current]
    above = [r for r in within if r > current]
    first = (max(below), -1) if below else None
    second = (min(above), 1) if above else None
    ordered = (first, second) if adverse <= 0 else (second, first)
    for choice in ordered:
        if choice is not None:
            return choice[0], choice[1], False
    return None, 0, len(within) < len(roots)


def _local_slope(members: Sequence[Position], market: Market, here: float, entry_basis: bool,
                 with_maintenance: bool) -> float:
    """d/dp of Σ side·size·(p − entry) − Σ MM(p) over ``members`` at price ``here``: its sign
    says which way a move hurts the pool (positive: a fall hurts)."""
    slope = 0.0
    for p in members:
        slope += p.sign * p.size
        if with_maintenance and not entry_basis:
            slope -= p.size * market.tier_for(p.size * here).mmr
    return slope


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
    current = _current_prices(scenario, prices)
    return tuple(_liquidation_price(scenario, positions, i, current, cross_wallet) for i in range(len(positions)))


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
    position = positions[index]
    market = scenario.markets[position.market]
    entry_basis = scenario.rules.mm_basis == "entry"
    if position.size <= 0:
        return LiquidationPrice(id=position.id, liquidation_price=None, bankruptcy_price=None)
    if position.is_isolated:
        members = [position]
        constant = position.margin
        constant_mm = 0.0
    else:
        wallet = scenario.cross_wallet if cross_wallet is None else cross_wallet
        members, constant, constant_mm = [], wallet, 0.0
        for other in positions:
            if other.is_isolated or other.size <= 0:
                continue
            if other.market == position.market:
                members.append(other)
                continue
            mark = current[other.market]
            constant += other.sign * other.size * (mark - other.entry)
            basis = other.entry if entry_basis else mark
            constant_mm += scenario.markets[other.market].maintenance_margin(other.size * basis)
    here = current[position.market]
    liquidation, direction, far_liq = _pick_root(
        _segment_roots(constant - constant_mm, members, market, entry_basis, True), here,
        _adverse(_local_slope(members, market, here, entry_basis, True), position.sign))
    bankruptcy, bankruptcy_direction, far_bank = _pick_root(
        _segment_roots(constant, members, market, entry_basis, False), here,
        _adverse(_local_slope(members, market, here, entry_basis, False), position.sign))
    return LiquidationPrice(id=position.id, liquidation_price=liquidation, bankruptcy_price=bankruptcy,
                            direction=direction, bankruptcy_direction=bankruptcy_direction,
                            beyond_reach=far_liq or far_bank)


def _adverse(slope: float, sign: int) -> int:
    """The move that hurts: down where the pool gains with the price, up where it loses; a
    pool whose excess does not move with the price takes the position's own side."""
    if slope > 0:
        return -1
    if slope < 0:
        return 1
    return -sign
