"""What a stress run shows for one account variant: per-path final values, liquidations and
bankruptcies, and the probabilities and tail losses read off them (``VariantStress``); the
runs themselves are in :mod:`margin.stress.runner`.

A probability read off a few thousand paths is an estimate: each comes with its count and a
95 % interval (Wilson's score interval, :func:`wilson_interval`), and a ratio of two of them
on the same paths (fat tails against normal moves, one variant against another: the runs
share their random numbers, so the paths are paired) with Tang's score interval for a ratio
of paired proportions (:func:`paired_ratio`). Where that interval holds 1, the paths cannot
tell the two apart (:attr:`PairedRatio.too_few_paths`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Mapping

import numpy as np

from margin.scenario import Scenario
from margin.settle import Event
from margin.stress.spec import VAR_LEVEL, WIPEOUT_FRACTION


# ----------------------------------------------------------------------------- how sure


CONFIDENCE = 0.95  # the level of every interval the stress lab states [fraction]


def _z(confidence: float) -> float:
    """The normal quantile of a two-sided ``confidence`` (1.959964 for 95 %)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(count: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval [fraction] for a proportion of ``count`` paths out of ``n``.

    It stays inside [0, 1] and keeps its coverage for the rare events a stress test counts (a
    normal-approximation interval around 0 of 5,000 paths would be [0, 0]).

    Parameters
    ----------
    count : int
        Paths on which the event happened.
    n : int
        Paths in all (> 0).
    confidence : float [fraction]
        Two-sided level, default 0.95.

    Returns
    -------
    tuple of float [fraction]
        ``(low, high)``.

    Source: E. B. Wilson (1927), JASA 22, 209; Newcombe (1998), "Two-sided confidence intervals
    for the single proportion", Statistics in Medicine 17, 857, Table I, method 3:

    >>> [round(v, 4) for v in wilson_interval(81, 263)], [round(v, 4) for v in wilson_interval(0, 20)]
    ([0.2553, 0.3662], [0.0, 0.1611])
    """
    if n <= 0 or not 0 <= count <= n:
        raise ValueError(f"count, n: need 0 <= count <= n and n > 0, got {count} of {n}")
    z = _z(confidence)
    centre = (count + z * z / 2.0) / (n + z * z)
    half = z * math.sqrt(count * (n - count) / n + z * z / 4.0) / (n + z * z)
    low = 0.0 if count == 0 else max(0.0, centre - half)  # exact at the ends, not a rounding off them
    high = 1.0 if count == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True, slots=True, kw_only=True)
class Proportion:
    """A probability read off ``n`` paths: ``count`` of them, and its interval [fraction]."""

    count: int
    n: int
    low: float
    high: float

    @property
    def estimate(self) -> float:
        return self.count / self.n


def proportion(count: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """``count`` of ``n`` paths with its Wilson interval (:func:`wilson_interval`)."""
    low, high = wilson_interval(count, n, confidence)
    return Proportion(count=count, n=n, low=low, high=high)


@dataclass(frozen=True, slots=True, kw_only=True)
class PairedRatio:
    """How many times as often an event happens under one run (a) as under another (b) on the
    same ``n`` paths: ``count_a`` and ``count_b`` paths, ``both`` on which both had it, the
    ratio ``count_a / count_b`` (inf when b never did, nan when neither) and Tang's score
    interval ``low``..``high``."""

    count_a: int
    count_b: int
    both: int
    n: int
    low: float
    high: float

    @property
    def estimate(self) -> float:
        if self.count_b == 0:
            return math.nan if self.count_a == 0 else math.inf
        return self.count_a / self.count_b

    @property
    def too_few_paths(self) -> bool:
        """The interval holds 1: these paths cannot tell whether a or b makes it likelier."""
        return self.low <= 1.0 <= self.high


def paired_ratio(flags_a: np.ndarray, flags_b: np.ndarray, confidence: float = CONFIDENCE) -> PairedRatio:
    """The ratio of two probabilities on the same paths, per-path flags ``flags_a`` and
    ``flags_b`` (booleans, one per path), with Tang's asymptotic score interval for a ratio of
    paired proportions (Tang, Tang & Chan (2003), Statistics in Medicine 22, 1217; recommended
    by Fagerland, Lydersen & Laake (2014), Statistics in Medicine 33, 2850). Paired, because
    the stress lab's models and variants walk the same random numbers: a path that wipes out
    one account tends to wipe out the other, and an interval for independent samples (Katz's
    log interval) would ignore it.

    Fagerland, Lydersen & Laake's worked example (Cavo et al. 2012: 59 both, 6 a only, 16 b
    only, 80 neither): 0.8667, 95 % interval 0.7476 to 0.9876.

    >>> a = np.array([1] * 59 + [1] * 6 + [0] * 16 + [0] * 80, bool)
    >>> b = np.array([1] * 59 + [0] * 6 + [1] * 16 + [0] * 80, bool)
    >>> r = paired_ratio(a, b)
    >>> round(r.estimate, 4), round(r.low, 4), round(r.high, 4), r.too_few_paths
    (0.8667, 0.7476, 0.9876, False)
    """
    a, b = np.asarray(flags_a, dtype=bool), np.asarray(flags_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.shape[0] == 0:
        raise ValueError("flags_a, flags_b: need one flag per path, the same paths")
    n11, n12, n21 = int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum())
    low, high = tang_interval(n11, n12, n21, a.shape[0], confidence)
    return PairedRatio(count_a=n11 + n12, count_b=n11 + n21, both=n11, n=int(a.shape[0]), low=low, high=high)


def tang_interval(n11: int, n12: int, n21: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Tang's score interval for ``(n11 + n12) / (n11 + n21)`` of a paired 2 × 2 table of ``n``
    pairs: the ratios ``φ`` whose score statistic lies within ±z, each limit solved by bisection
    on ``log φ`` to a relative 1e-12 (the statistic falls as ``φ`` rises). ``(0, inf)`` when
    neither happened; a limit is 0 or inf where its count is 0."""
    z = _z(confidence)
    count_a, count_b = n11 + n12, n11 + n21

    def score(phi: float) -> float:
        a_ = n * (1.0 + phi)
        b_ = count_b * phi * phi - (n11 + n12 + 2 * n21)
        c_ = n21 * (1.0 - phi) * (n11 + n12 + n21) / n
        p21 = (-b_ + math.sqrt(max(b_ * b_ - 4.0 * a_ * c_, 0.0))) / (2.0 * a_)
        spread = n * (1.0 + phi) * p21 + (n11 + n12 + n21) * (phi - 1.0)
        top = count_a - count_b * phi
        return top / math.sqrt(spread) if spread > 0 else math.copysign(math.inf, top) if top else 0.0

    def limit(target: float) -> float:
        low, high = math.log(1e-12), math.log(1e12)
        while high - low > 1e-12:
            middle = (low + high) / 2.0
            low, high = (middle, high) if score(math.exp(middle)) > target else (low, middle)
        return math.exp((low + high) / 2.0)

    low = 0.0 if count_a == 0 else limit(z)
    high = math.inf if count_b == 0 else limit(-z)
    return low, high



@dataclass(frozen=True, slots=True, kw_only=True)
class VariantStress:
    """One account variant over every path.

    Arrays are per path (axis 0) and per position (axis 1, scenario order); amounts [quote].
    ``first_liquidation_step`` is −1 where the position was never liquidated. ``events``
    holds every path's events (``keep_events=True`` only).
    """

    label: str
    scenario: Scenario
    start_value: float
    final_value: np.ndarray
    liquidated: np.ndarray
    first_liquidation_step: np.ndarray
    bankrupt: np.ndarray
    events: Mapping[int, tuple[Event, ...]] | None = None
    closed_on_arrival: tuple[str, ...] = ()  # positions closed on the way from their entries, before the run

    @property
    def position_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.scenario.positions)

    @property
    def n_paths(self) -> int:
        return int(self.final_value.shape[0])

    @property
    def loss(self) -> np.ndarray:
        """Start value − final value per path [quote] (negative: a gain)."""
        return self.start_value - self.final_value

    @property
    def liquidation_probability(self) -> np.ndarray:
        """Per position: the fraction of paths on which it was (at least partly) liquidated."""
        return self.liquidated.mean(axis=0) if self.liquidated.size else np.zeros(self.liquidated.shape[1])

    @property
    def any_liquidation_probability(self) -> float:
        return float(self.liquidated.any(axis=1).mean())

    @property
    def wiped_out(self) -> np.ndarray:
        """Per path: the final value is at most 1 % of the start value."""
        return self.final_value <= WIPEOUT_FRACTION * max(self.start_value, 0.0)

    @property
    def wipeout_probability(self) -> float:
        return float(self.wiped_out.mean())

    @property
    def bankruptcy_probability(self) -> float:
        return float(self.bankrupt.mean())

    @property
    def expected_loss(self) -> float:
        return float(self.loss.mean())

    def value_at_risk(self, level: float = VAR_LEVEL) -> float:
        """The smallest loss among the worst ``1 − level`` of paths [quote]."""
        return float(_tail(self.loss, level)[0])

    def expected_shortfall(self, level: float = VAR_LEVEL) -> float:
        """The mean loss of the worst ``1 − level`` of paths [quote]."""
        return float(_tail(self.loss, level).mean())

    def proportions(self, confidence: float = CONFIDENCE) -> dict[str, Proportion]:
        """Each probability as a count of paths with its interval: ``any_liquidation``,
        ``wipeout``, ``bankruptcy`` and ``liquidation[<position id>]``."""
        flags = {"any_liquidation": self.liquidated.any(axis=1), "wipeout": self.wiped_out, "bankruptcy": self.bankrupt}
        flags.update({f"liquidation[{pid}]": self.liquidated[:, k] for k, pid in enumerate(self.position_ids)})
        return {name: proportion(int(np.count_nonzero(f)), self.n_paths, confidence) for name, f in flags.items()}

    def summary(self) -> dict[str, Any]:
        """Every headline figure, JSON-ready; ``counts`` and ``intervals_95`` (low, high) give
        each probability's paths and its 95 % interval (:meth:`proportions`)."""
        told = self.proportions()
        return {
            "paths": self.n_paths,
            "counts": {name: p.count for name, p in told.items()},
            "intervals_95": {name: [p.low, p.high] for name, p in told.items()},
            "start_value": self.start_value,
            "probability_liquidation": dict(zip(self.position_ids, map(float, self.liquidation_probability))),
            "closed_on_arrival": list(self.closed_on_arrival),
            "probability_any_liquidation": self.any_liquidation_probability,
            "probability_wipeout": self.wipeout_probability,
            "probability_bankruptcy": self.bankruptcy_probability,
            "expected_loss": self.expected_loss,
            "value_at_risk_99": self.value_at_risk(),
            "expected_shortfall_99": self.expected_shortfall(),
            "mean_final_value": float(self.final_value.mean()),
            "median_final_value": float(np.median(self.final_value)),
        }


def _tail(loss: np.ndarray, level: float) -> np.ndarray:
    """The worst ``ceil((1 − level) × n)`` losses, smallest first."""
    k = max(1, math.ceil((1.0 - level) * loss.shape[0] - 1e-9))
    return np.sort(np.partition(loss, loss.shape[0] - k)[loss.shape[0] - k:])

