"""A liquidation cascade in one market: a crowd of synthetic traders, rounds of forced selling.

A **stylized model**, vectorized over traders (no Python loop over them):

* Every trader holds one position in the same market, opened at the current price ``P0``.
  Traders differ only by side, leverage, size and margin mode. An isolated trader can lose
  its margin; a cross trader also has an extra wallet buffer behind the position (a fraction
  of its margin). Maintenance margin follows the market's tiers, judged on the mark.
* An initial shock moves the price to ``P0 × (1 + shock)``. Every trader whose liquidation
  price is crossed is liquidated at that price, all at once (one **round**). Their forced
  orders (longs sell, shorts buy) move the price through the order book: ``depth`` [quote] of
  forced selling moves it 1 % (``"linear"``), or 1 % × √(selling / depth) (``"sqrt"``).
  The impact is permanent and counts all forced selling so far, measured at ``P0`` (in base
  units, as a book's depth is), and applies to the shocked price:
  ``P_(r+1) = P_shock × (1 − 1 % × f(sold_r / depth))`` (a buy pushes up the same way).
  Nobody else trades: no new buyers, no funding, no hedging, one mark price for all.
* Rounds repeat until a round liquidates nobody new (or ``max_rounds``).

Because the impact depends only on the cumulative forced selling, one more liquidation can
only push the price further the same way: the cascade is a monotone fixed-point iteration,
so a larger initial shock never ends at a smaller final drop, and with no impact the final
drop equals the shock.

Traders are sorted once by liquidation price; a round is then one ``searchsorted`` against
cumulative sums, O(log N).

>>> from margin.scenario import Market, Tier
>>> market = Market(name="BTCUSDT", price=100.0, tiers=(Tier(floor=0.0, mmr=0.005),))
>>> crowd = build_crowd(market, CrowdParams(n_traders=1_000, seed=1))
>>> calm = run_cascade(crowd, shock=-0.05, depth=math.inf)
>>> round(calm.final_drop, 6)
-0.05
>>> run_cascade(crowd, shock=-0.05, depth=100_000.0).final_drop < -0.05
True
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence, TextIO

import numpy as np

from margin.scenario import Market, Scenario, ScenarioError, Tier, parse_tiers, scenario_from_dict
from margin.roots import Pools, first_root, segment_roots
from margin.settle import close_out
from margin.simulate import PricePath, simulate
from margin.tiers import maintenance_margin as tiered_maintenance

IMPACTS = ("linear", "sqrt", "none")
SETTLEMENTS = ("bankruptcy", "mark")
IMPACT_PER_DEPTH = 0.01  # one depth of forced selling moves the price 1 %
MIN_PRICE_FACTOR = 0.01  # the price never falls below 1 % of the shocked price in this model
MAX_ENTRY_MARGIN_RATIO = 0.8  # leverage is capped so that MM ≤ 80 % of margin at entry
LEVERAGE_EDGES = (1.0, 3.0, 5.0, 10.0, 20.0, 50.0)  # lower edges of the leverage buckets [x]
MAX_TRADERS = 2_000_000


def leverage_bucket_labels(edges: Sequence[float] = LEVERAGE_EDGES) -> tuple[str, ...]:
    """``("1-3x", "3-5x", ..., "50x+")``."""
    labels = [f"{a:g}-{b:g}x" for a, b in zip(edges[:-1], edges[1:])]
    return tuple(labels + [f"{edges[-1]:g}x+"])


LEVERAGE_BUCKETS = leverage_bucket_labels()


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


def _params_checked(params: CrowdParams) -> CrowdParams:
    def number(name: str, low: float, high: float, *, open_low: bool = False) -> float:
        value = getattr(params, name)
        where = f"crowd.{name}"
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ScenarioError(where, f"must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(where, f"must be finite, got {value}")
        if value < low or value > high or (open_low and value == low):
            raise ScenarioError(where, f"must be in {'(' if open_low else '['}{low:g}, {high:g}], got {value:g}")
        return value

    n = number("n_traders", 1, MAX_TRADERS)
    if not n.is_integer():
        raise ScenarioError("crowd.n_traders", f"must be a whole number, got {n:g}")
    seed = number("seed", 0, 2**32 - 1)
    if not seed.is_integer():
        raise ScenarioError("crowd.seed", f"must be a whole number, got {seed:g}")
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


def build_crowd(market: Market, params: CrowdParams = CrowdParams()) -> Crowd:
    """Draw the crowd (deterministic for ``params.seed``) and sort it by liquidation price."""
    params = _params_checked(params)
    rng = np.random.default_rng(params.seed)
    n = params.n_traders
    entry = market.price
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
    size = notional / entry
    collateral = margin + buffer
    liq = liquidation_price(market, side, size, entry, collateral)
    bankrupt = np.maximum(entry - side * collateral / size, 0.0)
    bucket = np.clip(np.searchsorted(np.array(LEVERAGE_EDGES), leverage, side="right") - 1, 0, len(LEVERAGE_EDGES) - 1)
    longs = np.flatnonzero(side > 0)
    shorts = np.flatnonzero(side < 0)
    long_order = longs[np.argsort(-liq[longs], kind="stable")]
    short_order = shorts[np.argsort(liq[shorts], kind="stable")]
    return Crowd(
        market=market, params=params, entry_price=entry, side=side, leverage=leverage, size=size,
        notional=notional, margin=margin, buffer=buffer, cross=cross, liquidation_price=liq,
        bankruptcy_price=bankrupt, bucket=bucket.astype(np.int8), long_order=long_order,
        short_order=short_order, long_liq_sorted=liq[long_order], short_liq_sorted=liq[short_order],
        long_cum=np.concatenate([[0.0], np.cumsum(size[long_order])]),
        short_cum=np.concatenate([[0.0], np.cumsum(size[short_order])]),
    )


# ----------------------------------------------------------------------------- the cascade


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Round:
    """One round: the price the round's liquidations fill at [quote per base] and what they
    were. ``liquidated_notional`` [quote] is size × fill price; ``by_leverage`` the same per
    leverage bucket."""

    round: int
    price: float
    liquidated_count: int
    liquidated_notional: float
    by_leverage: np.ndarray  # (B,) [quote]
    count_by_leverage: np.ndarray  # (B,)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TraderOutcome:
    """Per trader (arrays over the crowd). ``round`` is the round of liquidation (−1 =
    survived); ``fill_price`` [quote per base] (NaN if survived). Amounts [quote]:
    ``equity`` at liquidation (collateral + PnL at the fill), ``fee`` (liquidation fee, never
    more than the equity left), ``to_fund`` (what the insurance fund keeps, fee included),
    ``returned`` (what the trader keeps), ``deficit`` (loss beyond the collateral).
    ``returned + to_fund − deficit == equity`` and ``collateral − returned`` (the loss) is
    never more than the collateral."""

    round: np.ndarray
    fill_price: np.ndarray
    equity: np.ndarray
    fee: np.ndarray
    to_fund: np.ndarray
    returned: np.ndarray
    deficit: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeResult:
    """A cascade from start to rest. ``rounds[0]`` is the start (price ``P0``, nobody
    liquidated); ``rounds[1]`` the shocked price; the last round liquidated nobody new unless
    ``stopped == "max rounds"``."""

    shock: float
    depth: float
    impact: str
    start_price: float
    rounds: tuple[Round, ...]
    stopped: str
    traders: TraderOutcome | None
    liquidation_fee_rate: float
    settlement: str
    insurance_fund: float

    @property
    def final_price(self) -> float:
        return self.rounds[-1].price

    @property
    def final_drop(self) -> float:
        """Final price move from the start [fraction] (negative = down)."""
        return self.final_price / self.start_price - 1.0

    @property
    def amplification(self) -> float:
        """Final move over the initial shock (1 = no amplification)."""
        return self.final_drop / self.shock if self.shock else 1.0

    @property
    def prices(self) -> np.ndarray:
        return np.array([r.price for r in self.rounds])

    @property
    def liquidated_count(self) -> int:
        return sum(r.liquidated_count for r in self.rounds)

    @property
    def liquidated_notional(self) -> float:
        return float(sum(r.liquidated_notional for r in self.rounds))

    @property
    def active_rounds(self) -> int:
        """Rounds in which somebody was liquidated."""
        return sum(1 for r in self.rounds if r.liquidated_count)

    def accounting(self) -> dict[str, float]:
        """Money totals [quote] over the crowd: collateral lost, fees, what the fund kept and
        paid, what was socialized."""
        t = self.traders
        if t is None:
            return {}
        hit = t.round >= 0
        deficit = float(t.deficit[hit].sum())
        paid = min(deficit, self.insurance_fund)
        return {
            "equity_at_liquidation": float(t.equity[hit].sum()),
            "fees": float(t.fee[hit].sum()),
            "insurance_fund_kept": float(t.to_fund[hit].sum()),
            "returned_to_traders": float(t.returned[hit].sum()),
            "deficit": deficit,
            "paid_by_insurance_fund": paid,
            "socialized": deficit - paid,
        }


def _check_depth_impact(depth: float, impact: str) -> tuple[float, str]:
    if impact not in IMPACTS:
        raise ScenarioError("impact", f"must be {' or '.join(repr(i) for i in IMPACTS)}, got {impact!r}")
    if isinstance(depth, bool) or not isinstance(depth, (int, float, np.integer, np.floating)) or math.isnan(depth) \
            or depth <= 0:
        raise ScenarioError("depth", f"must be a number > 0 (or null for an infinitely deep book), got {depth!r}")
    return float(depth), impact


def _check_shock(shock: Any, where: str = "shock") -> float:
    if isinstance(shock, bool) or not isinstance(shock, (int, float, np.integer, np.floating)):
        raise ScenarioError(where, f"must be a number, got {shock!r}")
    shock = float(shock)
    if not -0.99 <= shock <= 1.0 or math.isnan(shock):
        raise ScenarioError(where, f"must be in [-0.99, 1] (a fraction of the price), got {shock:g}")
    return shock


def price_factor(net_sold: np.ndarray | float, depth: float, impact: str) -> np.ndarray:
    """Price multiplier after ``net_sold`` [quote at P0] of forced selling (negative = buying).

    >>> float(price_factor(2e6, 1e6, "linear")), float(price_factor(4e6, 1e6, "sqrt"))
    (0.98, 0.98)
    """
    net_sold = np.asarray(net_sold, dtype=float)
    if impact == "none" or math.isinf(depth):
        return np.ones_like(net_sold)
    units = np.abs(net_sold) / depth
    move = IMPACT_PER_DEPTH * (units if impact == "linear" else np.sqrt(units))
    return np.maximum(1.0 - np.sign(net_sold) * move, MIN_PRICE_FACTOR)


def _counts(crowd: Crowd, price: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """How many longs and shorts are liquidated at ``price`` (liquidation at equality)."""
    n_long = np.searchsorted(-crowd.long_liq_sorted, -np.asarray(price), side="right")
    n_short = np.searchsorted(crowd.short_liq_sorted, np.asarray(price), side="right")
    return n_long, n_short


def run_cascade(crowd: Crowd, shock: float, depth: float, impact: str = "linear", *,
                max_rounds: int = 10_000, liquidation_fee_rate: float = 0.005,
                settlement: str = "bankruptcy", insurance_fund: float = math.inf,
                outcomes: bool = True) -> CascadeResult:
    """Shock the price by ``shock`` [fraction] and run rounds of liquidation until none is new.

    ``settlement`` as in the scenario rules: ``"bankruptcy"`` (the trader loses all its
    collateral, the fund keeps what was left) or ``"mark"`` (the trader keeps what is left
    after the fee).
    """
    depth, impact = _check_depth_impact(depth, impact)
    shock = _check_shock(shock)
    if settlement not in SETTLEMENTS:
        raise ScenarioError("settlement", f"must be 'bankruptcy' or 'mark', got {settlement!r}")
    p0 = crowd.entry_price
    shocked = p0 * (1.0 + shock)
    reference = p0  # forced selling is measured in base units × P0
    n_buckets = len(LEVERAGE_EDGES)
    prices = [p0]
    cum_long = [0]  # longs liquidated by the end of each round (a prefix of long_order)
    cum_short = [0]
    price = shocked
    stopped = "max rounds"
    for _ in range(max_rounds):
        n_long, n_short = (int(x) for x in _counts(crowd, price))
        prices.append(price)
        cum_long.append(n_long)
        cum_short.append(n_short)
        if n_long == cum_long[-2] and n_short == cum_short[-2]:
            stopped = "no new liquidations"  # this round is empty: the cascade is at rest
            break
        net = (crowd.long_cum[n_long] - crowd.short_cum[n_short]) * reference
        price = shocked * float(price_factor(net, depth, impact))
    n_rounds = len(prices)
    round_long = np.searchsorted(np.array(cum_long), np.arange(cum_long[-1]), side="right")
    round_short = np.searchsorted(np.array(cum_short), np.arange(cum_short[-1]), side="right")
    ids = np.concatenate([crowd.long_order[:cum_long[-1]], crowd.short_order[:cum_short[-1]]])
    rounds_of = np.concatenate([round_long, round_short]).astype(np.int64)
    fill = np.array(prices)[rounds_of]
    sold = crowd.size[ids] * fill
    bucket = crowd.bucket[ids].astype(np.int64)
    by = np.bincount(rounds_of * n_buckets + bucket, weights=sold, minlength=n_rounds * n_buckets)
    count_by = np.bincount(rounds_of * n_buckets + bucket, minlength=n_rounds * n_buckets)
    by = by.reshape(n_rounds, n_buckets)
    count_by = count_by.reshape(n_rounds, n_buckets)
    rounds = tuple(
        Round(round=r, price=prices[r], liquidated_count=int(count_by[r].sum()),
              liquidated_notional=float(by[r].sum()), by_leverage=by[r], count_by_leverage=count_by[r])
        for r in range(n_rounds)
    )
    traders = _outcomes(crowd, ids, rounds_of, fill, liquidation_fee_rate, settlement) if outcomes else None
    return CascadeResult(shock=shock, depth=depth, impact=impact, start_price=p0, rounds=rounds,
                         stopped=stopped, traders=traders, liquidation_fee_rate=liquidation_fee_rate,
                         settlement=settlement, insurance_fund=insurance_fund)


def _outcomes(crowd: Crowd, ids: np.ndarray, rounds_of: np.ndarray, fill: np.ndarray, fee_rate: float,
              settlement: str) -> TraderOutcome:
    """Settle every liquidated trader at its round's fill price (vectorized)."""
    n = crowd.n_traders
    round_ = np.full(n, -1, dtype=np.int64)
    fill_price = np.full(n, np.nan)
    round_[ids] = rounds_of
    fill_price[ids] = fill
    zeros = np.zeros(n)
    equity, fee, to_fund, returned, deficit = zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy()
    collateral = crowd.collateral[ids]
    eq = collateral + crowd.side[ids] * crowd.size[ids] * (fill - crowd.entry_price)
    closing = close_out(eq, crowd.size[ids] * fill, fee_rate, settlement)  # the engine's settlement rule
    equity[ids], fee[ids], to_fund[ids], returned[ids] = eq, closing.fee, closing.to_fund, closing.returned
    deficit[ids] = closing.deficit
    return TraderOutcome(round=round_, fill_price=fill_price, equity=equity, fee=fee, to_fund=to_fund,
                         returned=returned, deficit=deficit)


def final_price_fixed_point(crowd: Crowd, shock: float, depth: float, impact: str = "linear") -> float:
    """The price the cascade comes to rest at, found without walking rounds (a check).

    Sorted by liquidation price, let ``T_j`` be the price after the first ``j`` traders are
    liquidated and ``F(j)`` how many are liquidated at ``T_j``; the cascade stops at the least
    ``j`` with ``F(j) ≤ j`` (the least fixed point of a monotone map). Only for one-sided
    cascades (a fall liquidates longs only, a rise shorts only), which is every cascade here.
    """
    depth, impact = _check_depth_impact(depth, impact)
    shocked = crowd.entry_price * (1.0 + _check_shock(shock))
    if shock == 0:
        return shocked
    falling = shock < 0
    cum = crowd.long_cum if falling else -crowd.short_cum
    after = shocked * price_factor(cum * crowd.entry_price, depth, impact)  # T_j, j = 0..n
    n_long, n_short = _counts(crowd, after)
    liquidated = n_long if falling else n_short
    j = int(np.argmax(liquidated <= np.arange(len(after))))
    return float(after[j])


# ----------------------------------------------------------------------------- tipping point


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TippingCurve:
    """Final move against initial shock [fraction], one entry per shock.

    ``runaway_shock`` is the smallest shock (in size) at which the cascade at least
    ``RUNAWAY_RATIO`` times amplifies it, or None when none does in this range.
    ``liquidated_notional`` [quote] is the liquidated size valued at the start price.
    """

    shocks: np.ndarray
    final_drops: np.ndarray
    rounds: np.ndarray
    liquidated_notional: np.ndarray
    runaway_shock: float | None

    @property
    def amplification(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.shocks != 0, self.final_drops / self.shocks, 1.0)


RUNAWAY_RATIO = 2.0


def tipping_point(crowd: Crowd, shocks: Sequence[float] | np.ndarray, depth: float, impact: str = "linear",
                  *, max_rounds: int = 10_000) -> TippingCurve:
    """Run one cascade per initial shock, all shocks in lockstep (vectorized over shocks and
    traders: each round is one ``searchsorted`` per shock)."""
    depth, impact = _check_depth_impact(depth, impact)
    shocks = np.asarray([_check_shock(s, f"shocks[{i}]") for i, s in enumerate(np.atleast_1d(shocks))], dtype=float)
    p0 = crowd.entry_price
    shocked = p0 * (1.0 + shocks)
    price = shocked.copy()
    n_long = np.zeros(len(shocks), dtype=np.int64)
    n_short = np.zeros(len(shocks), dtype=np.int64)
    rounds = np.ones(len(shocks), dtype=np.int64)
    active = np.ones(len(shocks), dtype=bool)
    for _ in range(max_rounds):
        new_long, new_short = _counts(crowd, price)
        moved = (new_long != n_long) | (new_short != n_short)
        active &= moved
        if not active.any():
            break
        n_long = np.where(active, new_long, n_long)
        n_short = np.where(active, new_short, n_short)
        net = (crowd.long_cum[n_long] - crowd.short_cum[n_short]) * p0
        price = np.where(active, shocked * price_factor(net, depth, impact), price)
        rounds += active
    liquidated = (crowd.long_cum[n_long] + crowd.short_cum[n_short]) * p0  # size at the start price
    finals = price / p0 - 1.0
    runaway = None
    with np.errstate(divide="ignore", invalid="ignore"):
        amplified = (shocks != 0) & (np.abs(finals) >= RUNAWAY_RATIO * np.abs(shocks))
    if amplified.any():
        runaway = float(shocks[amplified][np.argmin(np.abs(shocks[amplified]))])
    return TippingCurve(shocks=shocks, final_drops=finals, rounds=rounds, liquidated_notional=liquidated,
                        runaway_shock=runaway)


# ----------------------------------------------------------------------------- the learner


def learner_path(scenario: Scenario, market: str, result: CascadeResult) -> PricePath:
    """The cascade's price moves applied to the learner's account, one row per round: the
    crowd's market moves as the cascade did (relative to its start), every other market
    holds still."""
    if market not in scenario.markets:
        raise ScenarioError("scenario", f"has no market {market!r} (markets: {', '.join(scenario.markets)})")
    multipliers = result.prices / result.start_price
    names = tuple(scenario.markets)
    columns = [scenario.markets[n].price * (multipliers if n == market else np.ones_like(multipliers))
               for n in names]
    return PricePath(steps=np.arange(len(multipliers)), markets=names, marks=np.column_stack(columns))


def learner_fate(scenario: Scenario, market: str, result: CascadeResult) -> list[dict[str, Any]]:
    """Each of the learner's positions and the round at which it dies (None = survives),
    from :func:`margin.simulate.simulate` along :func:`learner_path`."""
    simulation = simulate(scenario, learner_path(scenario, market, result))
    first: dict[str, Any] = {}
    for event in simulation.events:
        if event.type in ("liquidation", "partial_liquidation") and event.position not in first:
            first[event.position] = event
    out = []
    for position in scenario.positions:
        event = first.get(position.id)
        out.append({
            "id": position.id, "market": position.market, "side": position.side, "mode": position.mode,
            "round": None if event is None else int(event.step),
            "event": None if event is None else event.type,
            "price": None if event is None else event.price,
        })
    return out


# ----------------------------------------------------------------------------- input and CLI


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeInput:
    market: Market
    crowd: CrowdParams
    depth: float
    impact: str
    shock: float
    shocks: tuple[float, ...] | None = None
    scenario: Scenario | None = None
    liquidation_fee_rate: float = 0.005
    settlement: str = "bankruptcy"
    insurance_fund: float = math.inf
    max_rounds: int = 10_000
    extra: Mapping[str, Any] = field(default_factory=dict)


def _num(raw: Mapping[str, Any], key: str, where: str, default: Any = None) -> Any:
    value = raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(where, f"must be a number, got {value!r}")
    return float(value)


def cascade_input_from_dict(raw: Any) -> CascadeInput:
    """Validate the ``python -m margin cascade`` input (see the README for the format)."""
    if not isinstance(raw, Mapping):
        raise ScenarioError("input", f"must be an object, got {type(raw).__name__}")
    scenario = None
    if raw.get("scenario") is not None:
        try:
            scenario = scenario_from_dict(raw["scenario"])
        except ScenarioError as err:
            raise ScenarioError(f"scenario.{err.field}", err.problem) from None
    market_raw = raw.get("market", {})
    if not isinstance(market_raw, Mapping):
        raise ScenarioError("market", f"must be an object, got {type(market_raw).__name__}")
    name = market_raw.get("name")
    if name is not None and not isinstance(name, str):
        raise ScenarioError("market.name", f"must be a string, got {name!r}")
    if scenario is not None:
        name = name or (scenario.positions[0].market if scenario.positions else next(iter(scenario.markets)))
        if name not in scenario.markets:
            raise ScenarioError("market.name", f"is not a market of the scenario ({', '.join(scenario.markets)})")
    name = name or "MARKET"
    base = scenario.markets[name] if scenario is not None else None
    price = _num(market_raw, "price", "market.price")
    if price is None:
        if base is None:
            raise ScenarioError("market.price", "is required (a number > 0)")
        price = base.price
    if not math.isfinite(price) or price <= 0:
        raise ScenarioError("market.price", f"must be a finite number > 0, got {price:g}")
    if "tiers" in market_raw:
        tiers = parse_tiers(market_raw["tiers"], "market.tiers")
    elif "mmr" in market_raw:
        mmr = _num(market_raw, "mmr", "market.mmr")
        if not 0 <= mmr < 1:
            raise ScenarioError("market.mmr", f"must be in [0, 1), got {mmr:g}")
        tiers = (Tier(floor=0.0, mmr=mmr),)
    elif base is not None:
        tiers = base.tiers
    else:
        raise ScenarioError("market", "needs 'tiers' or 'mmr'")
    market = Market(name=name, price=price, tiers=tiers)

    crowd_raw = raw.get("crowd", {})
    if not isinstance(crowd_raw, Mapping):
        raise ScenarioError("crowd", f"must be an object, got {type(crowd_raw).__name__}")
    known = set(CrowdParams.__dataclass_fields__)
    for key in crowd_raw:
        if key not in known:
            raise ScenarioError(f"crowd.{key}", f"unknown parameter (known: {', '.join(sorted(known))})")
    crowd = _params_checked(CrowdParams(**dict(crowd_raw)))

    if "depth" not in raw:
        raise ScenarioError("depth", "is required: notional [quote] that moves the price 1 % (null = no impact)")
    depth = math.inf if raw["depth"] is None else _num(raw, "depth", "depth")
    impact = raw.get("impact", "linear")
    depth, impact = _check_depth_impact(depth, impact)
    if "shock" not in raw:
        raise ScenarioError("shock", "is required: the initial price move as a fraction, e.g. -0.05")
    shock = _check_shock(raw["shock"])
    shocks = None
    if raw.get("shocks") is not None:
        if not isinstance(raw["shocks"], list) or not raw["shocks"] or len(raw["shocks"]) > 10_000:
            raise ScenarioError("shocks", "must be a list of 1 to 10,000 fractions")
        shocks = tuple(_check_shock(s, f"shocks[{i}]") for i, s in enumerate(raw["shocks"]))
    fee = _num(raw, "liquidation_fee_rate", "liquidation_fee_rate", 0.005)
    if not 0 <= fee < 1:
        raise ScenarioError("liquidation_fee_rate", f"must be in [0, 1), got {fee:g}")
    settlement = raw.get("settlement", "bankruptcy")
    if settlement not in SETTLEMENTS:
        raise ScenarioError("settlement", f"must be 'bankruptcy' or 'mark', got {settlement!r}")
    fund = math.inf if raw.get("insurance_fund") is None else _num(raw, "insurance_fund", "insurance_fund")
    if fund < 0:
        raise ScenarioError("insurance_fund", f"must be ≥ 0, got {fund:g}")
    max_rounds = _num(raw, "max_rounds", "max_rounds", 10_000)
    if not max_rounds.is_integer() or not 1 <= max_rounds <= 1_000_000:
        raise ScenarioError("max_rounds", f"must be a whole number in [1, 1000000], got {max_rounds:g}")
    return CascadeInput(market=market, crowd=crowd, depth=depth, impact=impact, shock=shock, shocks=shocks,
                        scenario=scenario, liquidation_fee_rate=fee, settlement=settlement,
                        insurance_fund=fund, max_rounds=int(max_rounds))


def run_input(spec: CascadeInput) -> dict[str, Any]:
    """Run a validated input; the JSON-ready answer of ``python -m margin cascade``."""
    crowd = build_crowd(spec.market, spec.crowd)
    result = run_cascade(crowd, spec.shock, spec.depth, spec.impact, max_rounds=spec.max_rounds,
                         liquidation_fee_rate=spec.liquidation_fee_rate, settlement=spec.settlement,
                         insurance_fund=spec.insurance_fund)
    out: dict[str, Any] = {"rounds": [_round_dict(r) for r in result.rounds], "final": {
        "price": result.final_price, "drop": result.final_drop, "initial_shock": result.shock,
        "amplification": result.amplification, "rounds": len(result.rounds) - 1,
        "rounds_with_liquidations": result.active_rounds, "stopped": result.stopped,
        "liquidated_count": result.liquidated_count, "liquidated_notional": result.liquidated_notional,
        "traders": crowd.n_traders, **result.accounting(),
    }}
    if spec.shocks is not None:
        curve = tipping_point(crowd, spec.shocks, spec.depth, spec.impact, max_rounds=spec.max_rounds)
        out["tipping"] = {"shocks": curve.shocks.tolist(), "final_drops": curve.final_drops.tolist(),
                          "rounds": curve.rounds.tolist(), "runaway_shock": curve.runaway_shock}
    if spec.scenario is not None:
        out["learner"] = learner_fate(spec.scenario, spec.market.name, result)
    return out


def _round_dict(r: Round) -> dict[str, Any]:
    return {"round": r.round, "price": r.price, "liquidated_count": r.liquidated_count,
            "liquidated_notional": r.liquidated_notional,
            "by_leverage": {label: float(v) for label, v in zip(LEVERAGE_BUCKETS, r.by_leverage) if v}}


def _read_json(source: str) -> Any:
    from margin.fields import parse_json, read_bytes
    return parse_json(read_bytes(source, what="input"), "input", nan_to_field=True)


def command_cascade(args: Any) -> dict[str, Any]:
    return run_input(cascade_input_from_dict(_read_json(args.input)))


def command_cascade_bench(args: Any) -> dict[str, Any]:
    return run_cascade_benchmarks(quick=args.quick, echo=sys.stderr)


def register_cli(commands: Any) -> None:
    """Add ``cascade`` and ``cascade-bench`` to ``python -m margin``."""
    p = commands.add_parser("cascade", help="a liquidation cascade in one market (JSON input, see README)")
    p.add_argument("input", help="cascade input JSON file, or - for standard input")
    p.set_defaults(run=command_cascade)
    p = commands.add_parser("cascade-bench", help="time the cascade: 100,000 traders, 50-shock tipping curve")
    p.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    p.set_defaults(run=command_cascade_bench)


# ----------------------------------------------------------------------------- benchmark

BENCH_MARKET = Market(name="BTCUSDT", price=100_000.0, tiers=parse_tiers(
    [{"floor": 0, "mmr": 0.004, "max_leverage": 125}, {"floor": 50_000, "mmr": 0.005, "max_leverage": 100},
     {"floor": 250_000, "mmr": 0.01, "max_leverage": 50}, {"floor": 1_000_000, "mmr": 0.025, "max_leverage": 20},
     {"floor": 10_000_000, "mmr": 0.05, "max_leverage": 10}], "tiers"))


def _median(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_cascade_benchmarks(quick: bool = False, echo: TextIO = sys.stderr) -> dict[str, Any]:
    """Median wall-clock times: one 100,000-trader cascade (crowd drawn, sorted, cascade run,
    every trader settled), and the 50-shock tipping curve over the same crowd."""
    repeats = 3 if quick else 15
    n = 100_000
    params = CrowdParams(n_traders=n, seed=11)
    depth = 25_000_000.0
    shocks = np.linspace(-0.005, -0.30, 50)
    crowd = build_crowd(BENCH_MARKET, params)
    result = run_cascade(crowd, -0.05, depth)

    def whole() -> None:
        run_cascade(build_crowd(BENCH_MARKET, params), -0.05, depth)

    build = _median(lambda: build_crowd(BENCH_MARKET, params), repeats)
    cascade_only = _median(lambda: run_cascade(crowd, -0.05, depth), repeats)
    total = _median(whole, repeats)
    curve = tipping_point(crowd, shocks, depth)
    tipping = _median(lambda: tipping_point(crowd, shocks, depth), repeats)
    tipping_with_build = _median(lambda: tipping_point(build_crowd(BENCH_MARKET, params), shocks, depth), repeats)
    results = {
        "traders": n,
        "cascade_rounds": len(result.rounds) - 1,
        "cascade_liquidated": result.liquidated_count,
        "cascade_final_drop": result.final_drop,
        "build_crowd_seconds": build,
        "cascade_seconds": cascade_only,
        "cascade_with_build_seconds": total,
        "cascade_target_seconds": 0.1,
        "tipping_shocks": len(shocks),
        "tipping_seconds": tipping,
        "tipping_with_build_seconds": tipping_with_build,
        "tipping_target_seconds": 2.0,
        "tipping_max_rounds": int(curve.rounds.max()),
        "repeats": repeats,
    }
    print(f"Margin Lab cascade benchmark (median of {repeats} runs; {n:,} traders, depth {depth:,.0f} per 1 %)",
          file=echo)
    print(f"  build the crowd (draw, liquidation prices, sort)  {build * 1e3:9.1f} ms", file=echo)
    print(f"  one cascade, shock -5 %: {len(result.rounds) - 1} rounds, {result.liquidated_count:,} liquidated, "
          f"final {result.final_drop * 100:+.1f} %", file=echo)
    print(f"    cascade to the end, every trader settled       {cascade_only * 1e3:9.1f} ms", file=echo)
    print(f"    crowd built + cascade to the end               {total * 1e3:9.1f} ms   target < 100 ms", file=echo)
    print(f"  tipping curve, {len(shocks)} shocks x {n:,} traders (up to {int(curve.rounds.max())} rounds)",
          file=echo)
    print(f"    curve                                          {tipping * 1e3:9.1f} ms", file=echo)
    print(f"    crowd built + curve                            {tipping_with_build * 1e3:9.1f} ms   target < 2,000 ms",
          file=echo, flush=True)
    return results
