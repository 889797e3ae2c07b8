"""The crowd of a cascade: who the traders are, drawn once, sorted by liquidation price."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from margin import fields
from margin.fields import ScenarioError
from margin.roots import Pools, first_root, segment_roots
from margin.scenario import Market, Tier  # noqa: F401 (doctests)
from margin.tiers import maintenance_margin as tiered_maintenance
from margin.limits import MAX_PAGE_TRADERS, MAX_TRADERS  # noqa: F401  (the bounds live in margin.limits)

MAX_ENTRY_MARGIN_RATIO = 0.8  # leverage is capped so that MM ≤ 80 % of margin at entry
LEVERAGE_EDGES = (1.0, 3.0, 5.0, 10.0, 20.0, 50.0)  # lower edges of the leverage buckets [x]


def leverage_bucket_labels(edges: Sequence[float] = LEVERAGE_EDGES) -> tuple[str, ...]:
    """``("1-3x", "3-5x", ..., "50x+")``."""
    labels = [f"{a:g}-{b:g}x" for a, b in zip(edges[:-1], edges[1:])]
    return tuple(labels + [f"{edges[-1]:g}x+"])


LEVERAGE_BUCKETS = leverage_bucket_labels()


def leverage_bucket(leverage: np.ndarray | float) -> np.ndarray:
    """The index in :data:`LEVERAGE_BUCKETS` of each leverage [x].

    >>> leverage_bucket(np.array([1.0, 2.9, 3.0, 75.0])).tolist()
    [0, 0, 1, 5]
    """
    edges = np.array(LEVERAGE_EDGES)
    return np.clip(np.searchsorted(edges, leverage, side="right") - 1, 0, len(edges) - 1)

# ----------------------------------------------------------------------------- the crowd


@dataclass(frozen=True, slots=True, kw_only=True)
class CrowdParams:
    """Who the traders are.

    ``leverage_mean`` [x] and ``leverage_spread`` (σ of log leverage) set a lognormal
    leverage, clipped to [1, ``leverage_max``] and to the market tier's maximum.
    ``size_median`` [quote] and ``size_spread`` (σ of log notional) set a lognormal notional.
    ``long_share`` [fraction] of traders are long. ``cross_share`` [fraction] are in cross
    mode, with an extra wallet buffer of on average ``cross_buffer`` [fraction of margin]
    (uniform between 0 and twice that) behind the position; isolated traders have only their
    margin.
    """

    n_traders: int = 20_000
    leverage_mean: float = 10.0
    leverage_spread: float = 0.6
    leverage_max: float = 100.0
    long_share: float = 0.6
    size_median: float = 5_000.0
    size_spread: float = 1.0
    cross_share: float = 0.5
    cross_buffer: float = 0.5
    seed: int = 7


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Crowd:
    """The traders as parallel arrays (one entry per trader), all entered at ``entry_price``.

    ``side`` +1 long / −1 short; ``size`` [base]; ``notional`` [quote] at entry; ``margin``
    and ``buffer`` [quote]; ``collateral = margin + buffer`` is all the trader can lose.
    ``liquidation_price`` [quote per base] (0 for a long that can never be liquidated),
    ``bankruptcy_price`` (equity = 0). ``bucket`` indexes :data:`LEVERAGE_BUCKETS`.
    ``long_order`` lists longs by liquidation price, highest first (the first to go on the way
    down); ``short_order`` shorts, lowest first. ``long_cum``/``short_cum`` are the cumulative
    sizes in those orders [base], with a leading 0.
    """

    market: Market
    params: CrowdParams
    entry_price: float
    side: np.ndarray
    leverage: np.ndarray
    size: np.ndarray
    notional: np.ndarray
    margin: np.ndarray
    buffer: np.ndarray
    cross: np.ndarray
    liquidation_price: np.ndarray
    bankruptcy_price: np.ndarray
    bucket: np.ndarray
    long_order: np.ndarray
    short_order: np.ndarray
    long_liq_sorted: np.ndarray  # liquidation prices of longs in long_order (descending)
    short_liq_sorted: np.ndarray  # of shorts in short_order (ascending)
    long_cum: np.ndarray
    short_cum: np.ndarray

    @property
    def n_traders(self) -> int:
        return int(self.side.shape[0])

    @property
    def collateral(self) -> np.ndarray:
        return self.margin + self.buffer


def _tier_tables(market: Market) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    floors, mmr, cum = market.tier_tables
    max_lev = np.array([t.max_leverage for t in market.tiers])
    return floors, mmr, cum, max_lev


def maintenance_margin(market: Market, notional: np.ndarray) -> np.ndarray:
    """Tiered maintenance margin [quote] of notionals [quote]: :func:`margin.tiers.maintenance_margin`.

    >>> m = Market(name="X", price=1.0, tiers=(Tier(floor=0.0, mmr=0.004),
    ...            Tier(floor=50_000.0, mmr=0.005, cum=50.0)))
    >>> maintenance_margin(m, np.array([10_000.0, 60_000.0])).tolist()
    [40.0, 250.0]
    """
    return tiered_maintenance(notional, *market.tier_tables)


def liquidation_price(market: Market, side: np.ndarray, size: np.ndarray, entry: float,
                      collateral: np.ndarray) -> np.ndarray:
    """Mark price [quote per base] at which collateral + PnL = tiered maintenance margin, for
    every trader at once (:func:`margin.roots.segment_roots`, the engine's one root solver):
    the root met first as the price moves against the trader. 0 for a long whose collateral
    covers the whole notional (never liquidated), inf for such a short.

    >>> m = Market(name="X", price=20_000.0, tiers=(Tier(floor=0.0, mmr=0.005),))
    >>> liquidation_price(m, np.array([1, -1]), np.array([1.0, 1.0]), 20_000.0,
    ...                   np.array([400.0, 400.0])).round(2).tolist()
    [19698.49, 20298.51]
    """
    floors, rates, cums = market.tier_tables
    pools = Pools.single(side=side, size=size, entry=entry, constant=collateral, floors=floors, rates=rates, cums=cums)
    here = np.full(np.asarray(size).shape[0], float(entry))
    root, _, _ = first_root(segment_roots(pools, with_maintenance=True), here, -np.asarray(side))
    return np.where(np.isnan(root), np.where(np.asarray(side) > 0, 0.0, np.inf), root)


def checked_params(params: CrowdParams) -> CrowdParams:
    def value_of(name: str) -> Any:
        value = getattr(params, name)
        return value.item() if isinstance(value, np.generic) else value

    def number(name: str, low: float, high: float, *, open_low: bool = False) -> float:
        return fields.number(value_of(name), f"crowd.{name}", low=low, high=high, low_open=open_low)

    n = fields.whole(value_of("n_traders"), "crowd.n_traders", 1, MAX_TRADERS)
    seed = fields.whole(value_of("seed"), "crowd.seed", 0, 2**32 - 1)
    leverage_max = number("leverage_max", 1, 1_000)
    leverage_mean = number("leverage_mean", 1, 1_000)
    if leverage_mean > leverage_max:
        raise ScenarioError("crowd.leverage_mean", f"must be ≤ leverage_max ({leverage_max:g}), got {leverage_mean:g}")
    return replace(
        params, n_traders=int(n), seed=int(seed), leverage_mean=leverage_mean, leverage_max=leverage_max,
        leverage_spread=number("leverage_spread", 0, 3), long_share=number("long_share", 0, 1),
        size_median=number("size_median", 0, 1e12, open_low=True), size_spread=number("size_spread", 0, 3),
        cross_share=number("cross_share", 0, 1), cross_buffer=number("cross_buffer", 0, 100),
    )


CROWD_CACHE_ENTRIES = 4  # crowds kept per process, the most recently asked for
CROWD_CACHE_TRADERS = MAX_PAGE_TRADERS  # a larger crowd is drawn each time (2,000,000 traders: ~200 MB)
_crowds: OrderedDict[tuple[Market, CrowdParams], Crowd] = OrderedDict()
_crowds_lock = threading.Lock()


def build_crowd(market: Market, params: CrowdParams = CrowdParams()) -> Crowd:
    """Draw the crowd (deterministic for ``params.seed``) and sort it by liquidation price.

    Drawn once per market and parameters and reused: the last :data:`CROWD_CACHE_ENTRIES`
    crowds of at most :data:`CROWD_CACHE_TRADERS` traders are kept, keyed on the whole market
    (its price, tiers and the closing-fee reserve inside its maintenance, and its name, which
    the crowd carries) and every crowd parameter, as checked. A crowd's arrays are read-only,
    so that the one kept can be handed to every caller.

    >>> m = Market(name="X", price=100.0, tiers=(Tier(floor=0.0, mmr=0.005),))
    >>> build_crowd(m, CrowdParams(n_traders=1_000, seed=1)) is build_crowd(m, CrowdParams(n_traders=1_000, seed=1))
    True
    >>> build_crowd(m, CrowdParams(n_traders=1_000, seed=1)).size.flags.writeable
    False
    """
    params = checked_params(params)
    key = (market, params)
    with _crowds_lock:
        crowd = _crowds.get(key)
        if crowd is not None:
            _crowds.move_to_end(key)
            return crowd
    crowd = _draw_crowd(market, params)
    if params.n_traders <= CROWD_CACHE_TRADERS:
        with _crowds_lock:
            _crowds[key] = crowd
            while len(_crowds) > CROWD_CACHE_ENTRIES:
                _crowds.popitem(last=False)
    return crowd


def clear_crowds() -> None:
    """Forget the crowds kept by :func:`build_crowd` (the next ask draws anew)."""
    with _crowds_lock:
        _crowds.clear()


def _draw_crowd(market: Market, params: CrowdParams) -> Crowd:
    """:func:`build_crowd` without the cache."""
    rng = np.random.default_rng(params.seed)
    n = params.n_traders
    side = np.where(rng.random(n) < params.long_share, 1, -1).astype(np.int8)
    sigma = params.leverage_spread
    leverage = rng.lognormal(math.log(params.leverage_mean) - sigma**2 / 2, sigma, n) if sigma > 0 \
        else np.full(n, params.leverage_mean)
    notional = rng.lognormal(math.log(params.size_median), params.size_spread, n) if params.size_spread > 0 \
        else np.full(n, params.size_median)
    floors, mmr, cum, max_lev = _tier_tables(market)
    tier = np.clip(np.searchsorted(floors, notional, side="right") - 1, 0, len(floors) - 1)
    # no trader may be liquidatable at entry: cap leverage by the tier's maximum and so that
    # maintenance margin is at most 80 % of the initial margin
    mm_rate = mmr[tier] - cum[tier] / notional
    cap = np.minimum(max_lev[tier], MAX_ENTRY_MARGIN_RATIO / np.maximum(mm_rate, 1e-12))
    leverage = np.clip(leverage, 1.0, np.minimum(params.leverage_max, cap))
    cross = rng.random(n) < params.cross_share
    margin = notional / leverage
    buffer = np.where(cross, rng.uniform(0.0, 2.0 * params.cross_buffer, n) * margin, 0.0)
    return _sorted_crowd(market, params, side, leverage, notional, margin, buffer, cross)


def _sorted_crowd(market: Market, params: CrowdParams, side: np.ndarray, leverage: np.ndarray,
                  notional: np.ndarray, margin: np.ndarray, buffer: np.ndarray, cross: np.ndarray,
                  known: np.ndarray | None = None) -> Crowd:
    """The traders' liquidation and bankruptcy prices, and the crowd sorted by them (``known``:
    the liquidation prices of the first traders, already found: each trader's is its own)."""
    entry = market.price
    size = notional / entry
    collateral = margin + buffer
    n_known = 0 if known is None else known.shape[0]
    liq = liquidation_price(market, side[n_known:], size[n_known:], entry, collateral[n_known:])
    if known is not None:
        liq = np.concatenate([known, liq])
    bankrupt = np.maximum(entry - side * collateral / size, 0.0)
    bucket = leverage_bucket(leverage)
    longs = np.flatnonzero(side > 0)
    shorts = np.flatnonzero(side < 0)
    long_order = longs[np.argsort(-liq[longs], kind="stable")]
    short_order = shorts[np.argsort(liq[shorts], kind="stable")]
    arrays = dict(
        side=side, leverage=leverage, size=size, notional=notional, margin=margin, buffer=buffer, cross=cross,
        liquidation_price=liq, bankruptcy_price=bankrupt, bucket=bucket.astype(np.int8), long_order=long_order,
        short_order=short_order, long_liq_sorted=liq[long_order], short_liq_sorted=liq[short_order],
        long_cum=np.concatenate([[0.0], np.cumsum(size[long_order])]),
        short_cum=np.concatenate([[0.0], np.cumsum(size[short_order])]),
    )
    for array in arrays.values():
        array.flags.writeable = False
    return Crowd(market=market, params=params, entry_price=entry, **arrays)


@dataclass(frozen=True, slots=True, kw_only=True)
class Trader:
    """One named trader added to the crowd (a student of a class): ``side`` +1 long / −1 short,
    ``leverage`` [x], ``notional`` [quote] entered at the market's price, ``cross`` and, for a
    cross trader, ``wallet`` [quote]: all the trader can lose (its margin, notional / leverage,
    and the rest of the wallet behind it); an isolated trader can lose its margin only."""

    side: int
    leverage: float
    notional: float
    cross: bool
    wallet: float = 0.0


def with_traders(crowd: Crowd, traders: Sequence[Trader]) -> Crowd:
    """``crowd`` with ``traders`` appended after it (indices ``crowd.n_traders`` onward), all
    re-sorted by liquidation price: their forced orders move the price like everyone else's.

    >>> m = Market(name="X", price=100.0, tiers=(Tier(floor=0.0, mmr=0.005),))
    >>> both = with_traders(build_crowd(m, CrowdParams(n_traders=1_000, seed=1)),
    ...                     [Trader(side=1, leverage=20.0, notional=5_000.0, cross=False)])
    >>> both.n_traders, round(float(both.liquidation_price[-1]), 4)
    (1001, 95.4774)
    """
    if not traders:
        return crowd
    side = np.array([t.side for t in traders], dtype=np.int8)
    leverage = np.array([t.leverage for t in traders], dtype=float)
    notional = np.array([t.notional for t in traders], dtype=float)
    cross = np.array([t.cross for t in traders], dtype=bool)
    margin = notional / leverage
    buffer = np.where(cross, np.maximum(np.array([t.wallet for t in traders], dtype=float) - margin, 0.0), 0.0)
    return _sorted_crowd(
        crowd.market, crowd.params, np.concatenate([crowd.side, side]), np.concatenate([crowd.leverage, leverage]),
        np.concatenate([crowd.notional, notional]), np.concatenate([crowd.margin, margin]),
        np.concatenate([crowd.buffer, buffer]), np.concatenate([crowd.cross, cross]), known=crowd.liquidation_price)


