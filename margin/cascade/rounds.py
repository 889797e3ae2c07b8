"""The cascade itself: an initial shock, rounds of forced orders moving the price, the
traders settled; and the tipping curve over many shocks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from margin.cascade.crowd import LEVERAGE_EDGES, Crowd
from margin.cascade.deleverage import OutsideCandidates, OutsideDeleveraging, deleverage
from margin.fields import ScenarioError
from margin.closing import close_out

IMPACTS = ("linear", "sqrt", "none")
SETTLEMENTS = ("bankruptcy", "mark")
IMPACT_PER_DEPTH = 0.01  # one depth of forced selling moves the price 1 %
MIN_PRICE_FACTOR = 0.01  # the price never falls below 1 % of the shocked price in this model

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
    never more than the collateral. With auto-deleveraging, ``adl_size`` [base] is how much of
    a trader's position was closed to cover others' deficits and ``adl_given_up`` [quote] what
    that took from it (the gap between the bankruptcy price it was closed at and the mark)."""

    round: np.ndarray
    fill_price: np.ndarray
    equity: np.ndarray
    fee: np.ndarray
    to_fund: np.ndarray
    returned: np.ndarray
    deficit: np.ndarray
    adl_size: np.ndarray | None = None
    adl_given_up: np.ndarray | None = None


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
    adl: bool = False
    outside: OutsideDeleveraging | None = None  # what ADL took from positions outside the crowd

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
        paid, what auto-deleveraging covered (the learner's part included, and told apart as
        ``auto_deleveraged_outside``), what was socialized."""
        t = self.traders
        if t is None:
            return {}
        hit = t.round >= 0
        deficit = float(t.deficit[hit].sum())
        paid = min(deficit, self.insurance_fund)
        out = {
            "equity_at_liquidation": float(t.equity[hit].sum()),
            "fees": float(t.fee[hit].sum()),
            "insurance_fund_kept": float(t.to_fund[hit].sum()),
            "returned_to_traders": float(t.returned[hit].sum()),
            "deficit": deficit,
            "paid_by_insurance_fund": paid,
            "socialized": deficit - paid,
        }
        if self.adl and t.adl_given_up is not None and t.adl_size is not None:
            covered = float(t.adl_given_up.sum())
            if self.outside is not None:  # the learner's positions in the queue gave up their part too
                covered += float(self.outside.given_up.sum())
                out["auto_deleveraged_outside"] = float(self.outside.given_up.sum())
            out["auto_deleveraged"] = covered
            out["auto_deleveraged_traders"] = int((t.adl_size > 0).sum())
            out["socialized"] = max(deficit - paid - covered, 0.0)
        return out


def checked_depth_impact(depth: float, impact: str) -> tuple[float, str]:
    if impact not in IMPACTS:
        raise ScenarioError("impact", f"must be {' or '.join(repr(i) for i in IMPACTS)}, got {impact!r}")
    if isinstance(depth, bool) or not isinstance(depth, (int, float, np.integer, np.floating)) or math.isnan(depth) \
            or depth <= 0:
        raise ScenarioError("depth", f"must be a number > 0 (or null for an infinitely deep book), got {depth!r}")
    return float(depth), impact


def checked_shock(shock: Any, where: str = "shock") -> float:
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


def _counts(crowd: Crowd, price: np.ndarray | float, trigger: str = "at_maintenance") -> tuple[np.ndarray, np.ndarray]:
    """How many longs and shorts are liquidated at ``price``: :meth:`margin.scenario.Rules.breached`
    on liquidation prices sorted once, so a trader whose liquidation price is the price itself
    is liquidated at ``"at_maintenance"`` and not at ``"below_maintenance"``."""
    side: Literal["left", "right"] = "left" if trigger == "below_maintenance" else "right"
    n_long = np.searchsorted(-crowd.long_liq_sorted, -np.asarray(price), side=side)
    n_short = np.searchsorted(crowd.short_liq_sorted, np.asarray(price), side=side)
    return n_long, n_short


def run_cascade(crowd: Crowd, shock: float, depth: float, impact: str = "linear", *,
                max_rounds: int = 10_000, liquidation_fee_rate: float = 0.005,
                settlement: str = "bankruptcy", insurance_fund: float = math.inf,
                outcomes: bool = True, adl: bool = False, trigger: str = "at_maintenance",
                outside: OutsideCandidates | None = None) -> CascadeResult:
    """Shock the price by ``shock`` [fraction] and run rounds of liquidation until none is new;
    ``settlement`` as in the scenario rules: ``"bankruptcy"`` (the trader loses all its
    collateral, the fund keeps what was left) or ``"mark"`` (the trader keeps what is left
    after the fee). With ``adl``, what the insurance fund cannot pay is covered by
    auto-deleveraging profitable opposite positions, the crowd's and ``outside`` ones (the
    learner's), round by round, off the book (:mod:`margin.cascade.deleverage`).
    ``trigger``: ``rules.liquidation_trigger``.
    """
    depth, impact = checked_depth_impact(depth, impact)
    shock = checked_shock(shock)
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
        n_long, n_short = (int(x) for x in _counts(crowd, price, trigger))
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
    taken = None
    if adl and traders is not None:
        traders, taken = deleverage(crowd, traders, ids, rounds_of, np.array(prices), insurance_fund, outside)
    return CascadeResult(shock=shock, depth=depth, impact=impact, start_price=p0, rounds=rounds,
                         stopped=stopped, traders=traders, liquidation_fee_rate=liquidation_fee_rate,
                         settlement=settlement, insurance_fund=insurance_fund, adl=adl, outside=taken)


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
    depth, impact = checked_depth_impact(depth, impact)
    shocked = crowd.entry_price * (1.0 + checked_shock(shock))
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
                  *, max_rounds: int = 10_000, trigger: str = "at_maintenance") -> TippingCurve:
    """Run one cascade per initial shock, all shocks in lockstep (vectorized over shocks and
    traders: each round is one ``searchsorted`` per shock)."""
    depth, impact = checked_depth_impact(depth, impact)
    shocks = np.asarray([checked_shock(s, f"shocks[{i}]") for i, s in enumerate(np.atleast_1d(shocks))], dtype=float)
    p0 = crowd.entry_price
    shocked = p0 * (1.0 + shocks)
    price = shocked.copy()
    n_long = np.zeros(len(shocks), dtype=np.int64)
    n_short = np.zeros(len(shocks), dtype=np.int64)
    rounds = np.ones(len(shocks), dtype=np.int64)
    active = np.ones(len(shocks), dtype=bool)
    for _ in range(max_rounds):
        new_long, new_short = _counts(crowd, price, trigger)
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


