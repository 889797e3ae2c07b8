"""Stress test: thousands of correlated price paths, each walked under the account's own rules.

The model
---------
Every market's mark follows a geometric random walk with correlated steps. Over a step of
``dt`` years (crypto trades around the clock: a year is 365 × 24 × 60 minutes) the log-return of
market ``j`` is ``σ_j √dt ε_j − ½ σ_j² dt``, where ``σ_j`` is the annual volatility [fraction]
and ``ε`` is a vector of unit-variance shocks with the chosen correlation matrix ``C``:

* ``"normal"``: ``ε = L z`` with ``z`` independent standard normals and ``L Lᵀ = C``.
* ``"student_t"``: ``ε = L z · √((ν − 2) / W)`` with one ``W ~ χ²(ν)`` per step and path,
  **shared by every market** (the multivariate t). Its variance is 1 whatever ν > 2, so the
  model has the same volatility and correlation as the normal one, only fatter tails; and as
  one ``W`` scales every market at once, a violent step hits every market together, as crashes
  do. As ν → ∞, ``√((ν − 2) / W)`` → 1 and the model becomes the normal one (same seed, same
  ``z``).

Reproducible by construction: path ``k`` is drawn from block ``b = k // BLOCK_PATHS`` whose
two streams (``z`` and ``W``) are ``SeedSequence(seed, spawn_key=(b, 0))`` and ``(b, 1)``
(the children that ``SeedSequence(seed).spawn`` would hand out). The same seed gives the same
paths whatever the chunk size, the number of paths or the model, and path ``k`` of a run of
1,000 paths is path ``k`` of a run of 10,000.

The account on every path
-------------------------
Liquidation is path-dependent and judged by the engine itself. For each chunk of paths
(``(markets × paths × steps)`` arrays of about ``CHUNK_BYTES``) the steps at which a group
*may* breach are found vectorized over paths × steps: the cross pool's equity − MM along every
path with the engine's own piecewise-linear algebra (:class:`margin.simulate.PoolExcess`), and
each isolated position's crossings of its closed-form liquidation price
(:func:`margin.simulate.isolated_threshold`). Paths that never come near a breach keep every
position to the horizon. On each other path the engine's settlement
(:meth:`margin.settle.Settler.settle`: full or partial liquidation, settlement, fees,
insurance fund, cascades) is applied at the candidate steps, event to event, as
:func:`margin.simulate.simulate` does; most paths have 0–2 events, and the events are those of
``simulate`` on the same path (tested). A position liquidated on the way stays closed even if
the price comes back.

The figures
-----------
* **start value** [quote]: the account's value now, wallet + unrealized PnL at the current
  marks (so a run with zero volatility loses exactly 0).
* **final value** [quote]: wallet (cross wallet + isolated margins still locked) + the
  unrealized PnL of the positions still open at the horizon. Never negative: the venue
  liquidates before that and a deficit is the insurance fund's.
* **loss** = start value − final value (negative: a gain).
* **liquidation** of a position: any liquidation or partial liquidation on the path.
* **wipe-out**: final value ≤ ``WIPEOUT_FRACTION`` (1 %) of the start value.
* **bankruptcy**: a close beyond a bankruptcy price on the path (a loss beyond margin, which
  the insurance fund or other traders pay).
* **VaR 99 %**: the smallest loss among the worst 1 % of paths; **ES 99 %**: the mean loss of
  those worst 1 % (``ceil(1 % × paths)`` of them).

>>> from margin.scenario import scenario_from_dict
>>> s = scenario_from_dict({"balance": 1000, "markets": {"BTCUSDT": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTCUSDT", "side": "long", "size": 50, "entry": 100,
...                    "leverage": 20, "mode": "isolated"}]})
>>> spec = stress_spec(s, n_paths=1_000, n_steps=24, horizon_days=1, seed=7)
>>> result = run_stress(s, spec)
>>> stress = result.variants["As built"]
>>> float(stress.liquidation_probability[0]), stress.start_value
(0.135, 1000.0)
>>> run_stress(s, spec).variants["As built"].final_value.tolist() == stress.final_value.tolist()
True
"""

from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from margin.account import account_value, price_vector
from margin.presets import market_defaults
from margin.scenario import Scenario, ScenarioError, scenario_to_dict
from margin.variants import account_variants
from margin.paths import PricePath
from margin.settle import Event, SettlementState, Settler
from margin.simulate import PoolExcess, isolated_threshold

MODELS = ("normal", "student_t")
MODEL_LABELS = {"normal": "Normal", "student_t": "Fat tails (Student-t)"}
MINUTES_PER_YEAR = 365 * 24 * 60  # crypto trades around the clock
BLOCK_PATHS = 100  # paths drawn from one pair of seeded streams: the unit of reproducibility
CHUNK_BYTES = 64 * 2**20  # target size of one (markets × paths × steps) float64 array
WIPEOUT_FRACTION = 0.01
VAR_LEVEL = 0.99
FALLBACK_VOLATILITY = 0.8  # for a market missing from assets/markets.json [fraction per year]
FALLBACK_CORRELATION = 0.5
MAX_VOLATILITY = 10.0  # 1,000 % a year: beyond that the model means nothing
MAX_PATHS = 1_000_000
MAX_STEPS = 100_000
SAMPLER_THREADS = 1  # threads drawing the next chunk while the current one is walked (2 measured no faster on 2 cores)
MIN_LOG_PRICE = -700.0  # exp(-700) > 0: a price never underflows to zero, whatever the tail

Progress = Callable[[int, int], None]


# ----------------------------------------------------------------------------- the spec


@dataclass(frozen=True, slots=True, kw_only=True)
class StressSpec:
    """What to simulate. Hashable, so a page can cache on it.

    ``volatility`` [fraction per year] and the ``correlation`` matrix follow ``markets``;
    ``dof`` (ν) is used by the ``"student_t"`` model only; the horizon [days] is cut into
    ``n_steps`` equal steps.
    """

    markets: tuple[str, ...]
    volatility: tuple[float, ...]
    correlation: tuple[tuple[float, ...], ...]
    model: str = "normal"
    dof: float = 3.0
    horizon_days: float = 1.0
    n_steps: int = 288
    n_paths: int = 2_000
    seed: int = 0

    @property
    def step_minutes(self) -> float:
        """Length of one step [minutes]."""
        return self.horizon_days * 24 * 60 / self.n_steps

    @property
    def dt_years(self) -> float:
        """Length of one step [years]."""
        return self.step_minutes / MINUTES_PER_YEAR

    def with_model(self, model: str) -> "StressSpec":
        return replace(self, model=_choice(model, "model", MODELS))

    def as_dict(self) -> dict[str, Any]:
        return {
            "markets": list(self.markets), "volatility": dict(zip(self.markets, self.volatility)),
            "correlation": [list(row) for row in self.correlation], "model": self.model,
            "dof": self.dof, "horizon_days": self.horizon_days, "n_steps": self.n_steps,
            "step_minutes": self.step_minutes, "n_paths": self.n_paths, "seed": self.seed,
        }


def default_volatility(markets: Sequence[str]) -> dict[str, float]:
    """Annual volatility [fraction] per market from ``assets/markets.json``
    (``FALLBACK_VOLATILITY`` for a market it does not list).

    >>> default_volatility(["BTCUSDT", "NEWUSDT"])
    {'BTCUSDT': 0.55, 'NEWUSDT': 0.8}
    """
    known = market_defaults()["markets"]
    return {m: float(known[m]["annual_volatility"]) if m in known else FALLBACK_VOLATILITY for m in markets}


def default_correlation(markets: Sequence[str]) -> np.ndarray:
    """Correlation matrix for ``markets`` from ``assets/markets.json``; a pair it does not list
    gets ``FALLBACK_CORRELATION``.

    >>> default_correlation(["BTCUSDT", "ETHUSDT"]).tolist()
    [[1.0, 0.85], [0.85, 1.0]]
    """
    table = market_defaults()["correlation"]
    order = table["order"]
    matrix = np.array(table["matrix"], dtype=float)
    out = np.eye(len(markets))
    for a, first in enumerate(markets):
        for b, second in enumerate(markets):
            if a != b:
                known = first in order and second in order
                out[a, b] = matrix[order.index(first), order.index(second)] if known else FALLBACK_CORRELATION
    return out


def validate_correlation(matrix: Any, markets: Sequence[str]) -> np.ndarray:
    """A correlation matrix as a float array, or :class:`ScenarioError` naming the cell.

    It must be square, finite, within [−1, 1], symmetric, with a unit diagonal and positive
    semi-definite (no set of pairs that contradict each other).

    >>> validate_correlation([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]], "ABC")
    Traceback (most recent call last):
    ...
    margin.fields.ScenarioError: correlation: is not positive semi-definite (smallest eigenvalue -0.8): the pairs contradict each other; move the most extreme correlations towards 0
    """
    names = list(markets)
    try:
        c = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError("correlation", "must be a square table of numbers") from None
    m = len(names)
    if c.shape != (m, m):
        raise ScenarioError("correlation", f"must be {m}×{m} (one row and column per market), got shape {c.shape}")
    for a in range(m):
        for b in range(m):
            where = f"correlation[{names[a]}, {names[b]}]"
            value = c[a, b]
            if not math.isfinite(value):
                raise ScenarioError(where, "must be a finite number")
            if a == b and abs(value - 1.0) > 1e-9:
                raise ScenarioError(where, f"a market's correlation with itself must be 1, got {value:g}")
            if not -1.0 <= value <= 1.0:
                raise ScenarioError(where, f"must be in [-1, 1], got {value:g}")
            if b > a and abs(value - c[b, a]) > 1e-9:
                raise ScenarioError(
                    where, f"must equal correlation[{names[b]}, {names[a]}] (symmetric), got {value:g} "
                           f"and {c[b, a]:g}")
    c = (c + c.T) / 2
    np.fill_diagonal(c, 1.0)
    smallest = float(np.linalg.eigvalsh(c).min()) if m else 0.0
    if smallest < -1e-9:
        raise ScenarioError(
            "correlation", f"is not positive semi-definite (smallest eigenvalue {smallest:.3g}): the "
                           "pairs contradict each other; move the most extreme correlations towards 0")
    return c


def correlation_factor(correlation: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L Lᵀ = correlation``: Cholesky when positive definite, else from
    the eigen-decomposition (a semi-definite matrix, e.g. two markets with correlation 1).

    >>> L = correlation_factor(np.array([[1.0, 1.0], [1.0, 1.0]]))
    >>> np.allclose(L @ L.T, [[1, 1], [1, 1]])
    True
    """
    try:
        return np.linalg.cholesky(correlation)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(correlation)
        return vectors * np.sqrt(np.clip(values, 0.0, None))


def stress_spec(scenario: Scenario, *, volatility: Mapping[str, float] | None = None,
                correlation: Any = None, model: str = "normal", dof: float = 3.0,
                horizon_days: float = 1.0, n_steps: int = 288, n_paths: int = 2_000,
                seed: int = 0) -> StressSpec:
    """A validated :class:`StressSpec` for the scenario's markets (in scenario order).

    ``volatility`` overrides the defaults per market; ``correlation`` is a full matrix in the
    scenario's market order, or a mapping ``{(market_a, market_b): rho}`` overriding pairs.
    Every problem raises :class:`ScenarioError` naming the field.
    """
    markets = tuple(scenario.markets)
    vols = default_volatility(markets)
    for name, value in (volatility or {}).items():
        if name not in vols:
            raise ScenarioError(f"volatility.{name}", f"unknown market (markets: {', '.join(markets)})")
        vols[name] = _number(value, f"volatility.{name}")
        if not 0 <= vols[name] <= MAX_VOLATILITY:
            raise ScenarioError(f"volatility.{name}",
                                f"must be in [0, {MAX_VOLATILITY:g}] (0 % to {MAX_VOLATILITY:.0%} a year), got {vols[name]:g}")
    if correlation is None or isinstance(correlation, Mapping):
        matrix = default_correlation(markets)
        for pair, value in (correlation or {}).items():
            a, b = pair
            for name in (a, b):
                if name not in markets:
                    raise ScenarioError(f"correlation[{a}, {b}]", f"unknown market {name!r} (markets: {', '.join(markets)})")
            if a == b:
                raise ScenarioError(f"correlation[{a}, {b}]", "a market's correlation with itself is always 1")
            rho = _number(value, f"correlation[{a}, {b}]")
            matrix[markets.index(a), markets.index(b)] = matrix[markets.index(b), markets.index(a)] = rho
    else:
        matrix = correlation
    matrix = validate_correlation(matrix, markets)
    model = _choice(model, "model", MODELS)
    dof = _number(dof, "dof")
    if dof <= 2:
        raise ScenarioError("dof", f"must be > 2 (at ν ≤ 2 the variance is infinite), got {dof:g}")
    horizon_days = _number(horizon_days, "horizon_days")
    if not 0 < horizon_days <= 3650:
        raise ScenarioError("horizon_days", f"must be in (0, 3650] days, got {horizon_days:g}")
    n_steps = _integer(n_steps, "n_steps", 1, MAX_STEPS)
    n_paths = _integer(n_paths, "n_paths", 1, MAX_PATHS)
    seed = _integer(seed, "seed", 0, 2**63 - 1)
    return StressSpec(
        markets=markets, volatility=tuple(vols[m] for m in markets),
        correlation=tuple(tuple(float(x) for x in row) for row in matrix), model=model, dof=dof,
        horizon_days=horizon_days, n_steps=n_steps, n_paths=n_paths, seed=seed,
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ScenarioError(where, "must be a number, got bool")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(where, f"must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ScenarioError(where, f"must be a finite number, got {value!r}")
    return number


def _integer(value: Any, where: str, low: int, high: int) -> int:
    number = _number(value, where)
    if number != int(number):
        raise ScenarioError(where, f"must be a whole number, got {value!r}")
    if not low <= number <= high:
        raise ScenarioError(where, f"must be in [{low:,}, {high:,}], got {int(number):,}")
    return int(number)


def _choice(value: Any, where: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ScenarioError(where, f"must be {' or '.join(repr(a) for a in allowed)}, got {value!r}")
    return value


# ----------------------------------------------------------------------------- sampling


def _streams(seed: int, block: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The ``z`` and ``W`` generators of one block of paths."""
    return (np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, 0))),
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, 1))))


def sample_prices(spec: StressSpec, start_prices: Sequence[float], first: int = 0,
                  count: int | None = None) -> np.ndarray:
    """Mark prices of paths ``first .. first + count − 1``: shape ``(markets, paths, steps + 1)``
    [quote per base]; column 0 is ``start_prices``, column k the mark k steps later.

    Markets lie on the first axis so that every per-market operation runs over contiguous
    memory.

    >>> spec = StressSpec(markets=("X",), volatility=(0.0,), correlation=((1.0,),), n_steps=3)
    >>> sample_prices(spec, [100.0], count=2).tolist()
    [[[100.0, 100.0, 100.0, 100.0], [100.0, 100.0, 100.0, 100.0]]]
    """
    count = spec.n_paths - first if count is None else count
    return _Sampler(spec, start_prices, count).fill(first, count).copy()


class _Sampler:
    """Draws chunks of paths into buffers it keeps, so that a long run does not pay for fresh
    memory (page faults) on every chunk. ``buffers`` output arrays are used in turn: a chunk
    stays valid until ``buffers`` more chunks have been drawn. ``workers`` threads may fill
    disjoint path ranges of one chunk at once, each with its own scratch block."""

    def __init__(self, spec: StressSpec, start_prices: Sequence[float], max_paths: int,
                 buffers: int = 1, workers: int = 1):
        self.spec = spec
        n_markets, n_steps = len(spec.markets), spec.n_steps
        self.start = np.asarray(start_prices, dtype=float)
        vol = np.asarray(spec.volatility, dtype=float)
        dt = spec.dt_years
        # σ√dt L turns independent unit shocks into correlated log-returns (before the drift).
        self.factor = np.sqrt(dt) * vol[:, None] * correlation_factor(np.array(spec.correlation))
        # Start price and drift −½σ²dt per step (it makes each normal mark a martingale).
        self.scale = (self.start[:, None] * np.exp(-0.5 * (vol**2 * dt)[:, None] * np.arange(n_steps + 1)))[:, None, :]
        self.work = [(np.empty((BLOCK_PATHS, n_markets, n_steps)), np.empty((BLOCK_PATHS, n_steps)))
                     for _ in range(workers)]  # one block each: it stays in cache
        self.outputs = [np.empty((n_markets, max_paths, n_steps + 1)) for _ in range(buffers)]
        self.turn = 0

    def release(self) -> None:
        """Drop the output and work buffers (a run's largest arrays, ~64 MB each)."""
        self.outputs, self.work = [], []

    def next_buffer(self, count: int) -> np.ndarray:
        out = self.outputs[self.turn][:, :count, :]
        self.turn = (self.turn + 1) % len(self.outputs)
        return out

    def fill(self, first: int, count: int) -> np.ndarray:
        """Paths ``first .. first + count − 1`` into the next buffer, on this thread."""
        out = self.next_buffer(count)
        self.fill_range(out, first, first, count)
        return out

    def fill_range(self, out: np.ndarray, out_first: int, first: int, count: int, worker: int = 0) -> None:
        """Paths ``first .. first + count − 1`` into their columns of ``out`` (whose column 0
        is path ``out_first``)."""
        spec = self.spec
        n_markets, n_steps = len(spec.markets), spec.n_steps
        target = out[:, first - out_first:first - out_first + count, :]
        target[:, :, 0] = 0.0
        shocks_buffer, scratch_buffer = self.work[worker]
        for block in range(first // BLOCK_PATHS, (first + count - 1) // BLOCK_PATHS + 1):
            base = block * BLOCK_PATHS
            low, high = max(first, base), min(first + count, base + BLOCK_PATHS)
            z_stream, w_stream = _streams(spec.seed, block)
            shocks = shocks_buffer[:high - low]
            # Draw the block's prefix up to the last path wanted: the same numbers as the whole
            # block would give, so neither chunking nor the number of paths changes a path.
            if low == base:
                z_stream.standard_normal(out=shocks)
            else:
                shocks[...] = z_stream.standard_normal((high - base, n_markets, n_steps))[low - base:]
            if spec.model == "student_t":
                w = w_stream.chisquare(spec.dof, (high - base, n_steps))[low - base:]
                shocks *= np.sqrt((spec.dof - 2.0) / w)[:, None, :]
            # Correlate while the block is in cache: log-return of market j = Σ_k factor[j, k] z_k.
            # Every operation here and below is elementwise or a running sum along one path, so a
            # path's numbers do not depend on how many paths share the array.
            scratch = scratch_buffer[:high - low]
            for j in range(n_markets):
                mixed = target[j, low - first:high - first, 1:]
                np.multiply(shocks[:, 0, :], self.factor[j, 0], out=mixed)
                for k in range(1, n_markets):
                    if self.factor[j, k] != 0.0:
                        np.multiply(shocks[:, k, :], self.factor[j, k], out=scratch)
                        mixed += scratch
        np.cumsum(target, axis=-1, out=target)
        np.maximum(target, MIN_LOG_PRICE, out=target)
        np.exp(target, out=target)
        target *= self.scale


def sample_path(scenario: Scenario, spec: StressSpec, index: int) -> PricePath:
    """Path ``index`` of the run as a :class:`PricePath` (rows = steps 0 .. n_steps), ready for
    :func:`margin.simulate.simulate`."""
    _check_markets(scenario, spec)
    if not 0 <= index < spec.n_paths:
        raise ScenarioError("path", f"must be in [0, {spec.n_paths - 1}], got {index}")
    marks = sample_prices(spec, price_vector(scenario), index, 1)[:, 0, :].T
    return PricePath(steps=np.arange(spec.n_steps + 1), markets=spec.markets, marks=np.ascontiguousarray(marks))


def _check_markets(scenario: Scenario, spec: StressSpec) -> None:
    if tuple(scenario.markets) != spec.markets:
        raise ScenarioError("markets", f"the spec is for {', '.join(spec.markets)}; the account holds "
                                       f"{', '.join(scenario.markets)}")


def chunk_paths_for(spec: StressSpec, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Paths per chunk: whole blocks, so that one (markets × paths × steps) array stays near
    ``chunk_bytes``."""
    per_path = 8 * len(spec.markets) * (spec.n_steps + 1)
    blocks = max(1, chunk_bytes // (per_path * BLOCK_PATHS))
    return int(blocks * BLOCK_PATHS)


# ----------------------------------------------------------------------------- one account variant


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

    def summary(self) -> dict[str, Any]:
        """Every headline figure, JSON-ready."""
        return {
            "start_value": self.start_value,
            "probability_liquidation": dict(zip(self.position_ids, map(float, self.liquidation_probability))),
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


@dataclass(slots=True)
class _Outcome:
    """Per-path results of one chunk (internal)."""

    final_value: np.ndarray
    liquidated: np.ndarray
    first_liquidation_step: np.ndarray
    bankrupt: np.ndarray
    events: dict[int, tuple[Event, ...]] = field(default_factory=dict)


class _VariantRunner:
    """Walks one account variant along a chunk of paths.

    The breach *search* is vectorized over paths × steps with the engine's own algebra; the
    breach *judgement and settlement* is the engine's :meth:`margin.settle.Settler.settle`,
    called on each path at each candidate step, exactly as :func:`margin.simulate.simulate`
    calls it. A candidate is a step at which a group may breach (with a hair of tolerance);
    ``settle`` checks exactly and does nothing where nothing is due, so the events are those
    of ``simulate`` on the same path (tested).
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        settler = self.settler = Settler(scenario)
        positions = scenario.positions
        self.col = np.array(settler.col, dtype=np.intp)
        self.sign = np.array([p.sign for p in positions], dtype=float)
        self.size = np.array([p.size for p in positions], dtype=float)
        self.entry = np.array([p.entry for p in positions], dtype=float)
        self.index = {p.id: i for i, p in enumerate(positions)}
        self.cross = frozenset(settler.cross)
        start_prices = price_vector(scenario)
        self.start_value = account_value(scenario)
        # Step 0 is the account's own prices on every path: settle it once (an account that is
        # liquidatable as it stands is liquidated there), and search the other steps from the
        # state it leaves.
        self.opening = settler.new_state()
        settler.settle(self.opening, start_prices, 0, 0)
        self.cross_by_market: dict[int, list[int]] = {}
        for i in settler.cross:
            if self.opening.size[i] > 0:
                self.cross_by_market.setdefault(settler.col[i], []).append(i)
        # Each isolated position can only breach beyond one price (its excess is monotone in
        # its price): the engine's closed-form liquidation price, widened by a hair.
        self.thresholds = {i: isolated_threshold(settler, self.opening, i) for i in settler.isolated}
        # As in simulate: a candidate is confirmed by the exact check, so the tolerance only has
        # to exceed the rounding of the vectorized sums.
        scale = 1.0 + abs(scenario.cross_wallet) + float(np.sum(self.size * self.entry))
        self.tolerance = 1e-9 * scale

    def search(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, dict[int, np.ndarray]]:
        """Vectorized breach search on a chunk ``(markets, paths, rows)`` from the state after
        step 0: per path the first candidate row (``rows`` = none), the cross excess
        (equity − wallet − MM, ``(paths, rows)``) and each isolated position's candidate rows."""
        n_markets, n_paths, n_rows = prices.shape
        first = np.full(n_paths, n_rows, dtype=np.int64)
        paths = np.arange(n_paths)
        cross_excess = None
        if self.cross_by_market:
            flat = np.zeros(n_paths * n_rows)
            for j, members in self.cross_by_market.items():
                column = prices[j].reshape(-1, 1)
                flat += PoolExcess(self.settler, column).group(members, self.opening, 0, column.shape[0], 0)
            cross_excess = flat.reshape(n_paths, n_rows)
            hits = cross_excess <= self.tolerance - self.opening.cross_wallet
            hits[:, 0] = False  # step 0 is settled
            at = hits.argmax(axis=1)
            first = np.where(hits[paths, at], np.minimum(first, at), first)
        isolated_hits = {}
        for i, threshold in self.thresholds.items():
            if threshold is None:
                continue  # closed at step 0, or a long that can never lose its margin
            column = prices[self.col[i]]
            hits = column <= threshold if self.sign[i] > 0 else column >= threshold
            hits[:, 0] = False
            isolated_hits[i] = hits
            at = hits.argmax(axis=1)
            first = np.where(hits[paths, at], np.minimum(first, at), first)
        return first, cross_excess, isolated_hits

    def walk(self, marks: np.ndarray, start: int, cross_excess: np.ndarray | None,
             isolated_hits: dict[int, np.ndarray]) -> SettlementState:
        """Event to event along one path ``marks`` (rows, markets) from candidate row ``start``,
        reusing the precomputed search rows while the groups they describe are unchanged."""
        settler = self.settler
        state = replace(self.opening, size=self.opening.size.copy(), margin=self.opening.margin.copy(),
                        events=list(self.opening.events))
        n_rows = marks.shape[0]
        hits_of: dict[int, np.ndarray | None] = {i: isolated_hits.get(i) for i in settler.isolated}
        next_of: dict[int, int | None] = {i: -1 for i in settler.isolated}  # -1: to be found
        row = start
        while row < n_rows:
            candidates = []
            if cross_excess is not None:
                found = _first_true(cross_excess[row:] <= self.tolerance - state.cross_wallet)
                if found is not None:
                    candidates.append(row + found)
            for i in settler.isolated:
                if next_of[i] is not None and next_of[i] < row:
                    next_of[i] = self._next_isolated(i, state, marks, hits_of[i], row)
                if next_of[i] is not None:
                    candidates.append(next_of[i])
            if not candidates:
                break
            at = min(candidates)
            before = len(state.events)
            added = settler.settle(state, marks[at], at, at)
            row = at + 1
            if not added:
                continue
            touched = {self.index[e.position] for e in state.events[before:]}
            for i in touched - self.cross:
                hits_of[i] = None  # margin or size changed: the precomputed rows no longer hold
                next_of[i] = -1
            if touched & self.cross and row < n_rows:
                cross_excess = self._cross_excess(state, marks, row)
        return state

    def _next_isolated(self, i: int, state: SettlementState, marks: np.ndarray, hits: np.ndarray | None,
                       row: int) -> int | None:
        if state.size[i] <= 0:
            return None
        if hits is not None:
            found = _first_true(hits[row:])
        else:
            threshold = isolated_threshold(self.settler, state, i)
            if threshold is None:
                return None
            column = marks[row:, self.col[i]]
            found = _first_true(column <= threshold if self.sign[i] > 0 else column >= threshold)
        return None if found is None else row + found

    def _cross_excess(self, state: SettlementState, marks: np.ndarray, row: int) -> np.ndarray | None:
        """The cross pool's excess from ``row`` on, after its positions changed (``None``: no
        cross position left)."""
        open_by_market: dict[int, list[int]] = {}
        for i in self.settler.cross:
            if state.size[i] > 0:
                open_by_market.setdefault(self.settler.col[i], []).append(i)
        if not open_by_market:
            return None
        pools = PoolExcess(self.settler, marks)
        excess = np.full(marks.shape[0], np.inf)
        excess[row:] = sum(pools.group(m, state, row, marks.shape[0], j) for j, m in open_by_market.items())
        return excess

    def _record(self, outcome: _Outcome, n: Any, state: SettlementState) -> None:
        """Mark path ``n`` (an index, or ``slice(None)`` for every path) with ``state``'s events."""
        first_step: dict[int, int] = {}
        for event in state.events:
            if event.type in ("liquidation", "partial_liquidation"):
                first_step.setdefault(self.index[event.position], int(event.step))
        for i, step in first_step.items():
            outcome.liquidated[n, i] = True
            outcome.first_liquidation_step[n, i] = step
        outcome.bankrupt[n] = state.bankrupt

    def run(self, prices: np.ndarray, first_path: int, keep_events: bool = False) -> _Outcome:
        n_markets, n_paths, n_rows = prices.shape
        n_positions = self.size.shape[0]
        last = prices[:, :, -1].T  # (paths, markets): marks at the horizon
        opening = self.opening
        # Paths without a candidate keep the state step 0 left to the horizon.
        pnl = self.sign * opening.size * (last[:, self.col] - self.entry)
        outcome = _Outcome(
            final_value=self.settler.final(opening).balance + pnl.sum(axis=1),
            liquidated=np.zeros((n_paths, n_positions), dtype=bool),
            first_liquidation_step=np.full((n_paths, n_positions), -1, dtype=np.int32),
            bankrupt=np.zeros(n_paths, dtype=bool),
        )
        if opening.events:
            self._record(outcome, slice(None), opening)
            if keep_events:
                outcome.events.update({first_path + n: tuple(opening.events) for n in range(n_paths)})
        if not (opening.size > 0).any():
            return outcome
        first, cross_excess, isolated_hits = self.search(prices)
        for n in np.flatnonzero(first < n_rows):
            marks = np.ascontiguousarray(prices[:, n, :].T)
            state = self.walk(marks, int(first[n]), None if cross_excess is None else cross_excess[n],
                              {i: hits[n] for i, hits in isolated_hits.items()})
            outcome.final_value[n] = self.settler.final(state).balance + float(
                np.sum(self.sign * state.size * (last[n, self.col] - self.entry)))
            self._record(outcome, n, state)
            if keep_events and state.events:
                outcome.events[first_path + int(n)] = tuple(state.events)
        return outcome


def _first_true(flags: np.ndarray) -> int | None:
    if flags.shape[0] == 0:
        return None
    found = int(flags.argmax())
    return found if flags[found] else None


# ----------------------------------------------------------------------------- the run


@dataclass(frozen=True, slots=True, kw_only=True)
class StressResult:
    """A stress run: the spec, the starting marks and every variant's results."""

    spec: StressSpec
    start_prices: tuple[float, ...]
    variants: Mapping[str, VariantStress]
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"spec": self.spec.as_dict(), "seconds": self.seconds,
                "variants": {label: v.summary() for label, v in self.variants.items()}}


def _variant_key(scenario: Scenario) -> str:
    raw = scenario_to_dict(scenario)
    return json.dumps({k: raw[k] for k in ("balance", "rules", "markets", "positions")}, sort_keys=True)


def run_stress(scenario: Scenario, spec: StressSpec, *,
               variants: Mapping[str, Scenario] | None = None, chunk_paths: int | None = None,
               progress: Progress | None = None, keep_events: bool = False) -> StressResult:
    """Simulate ``spec.n_paths`` paths and walk each account variant along every one.

    ``variants`` defaults to :func:`margin.scenario.account_variants` (as built, all cross,
    all isolated); all see the same paths. Chunks of ``chunk_paths`` paths (whole blocks;
    default: about ``CHUNK_BYTES`` per array) bound the memory; ``progress(done, total)`` is
    called after each chunk. Identical variants are walked once.
    """
    _check_markets(scenario, spec)
    started = time.perf_counter()
    variants = dict(account_variants(scenario) if variants is None else variants)
    for variant in variants.values():
        _check_markets(variant, spec)
    runners: dict[str, _VariantRunner] = {}
    shared: dict[str, str] = {}  # label -> label of the identical variant walked instead
    for label, variant in variants.items():
        key = _variant_key(variant)
        twin = next((other for other, runner in runners.items() if _variant_key(runner.scenario) == key), None)
        if twin is None:
            runners[label] = _VariantRunner(variant)
        else:
            shared[label] = twin
    if chunk_paths is None:
        chunk_paths = chunk_paths_for(spec)
    chunk_paths = max(BLOCK_PATHS, int(chunk_paths) // BLOCK_PATHS * BLOCK_PATHS)
    start_prices = price_vector(scenario)
    outcomes: dict[str, list[_Outcome]] = {label: [] for label in runners}
    total = spec.n_paths
    chunks = [(first, min(chunk_paths, total - first)) for first in range(0, total, chunk_paths)]
    # The next chunk is drawn by worker threads while this one is walked: drawing is numpy
    # work that releases the GIL, walking is mostly Python. Two output buffers take turns; the
    # workers split a chunk's paths at a block boundary.
    sampler = _Sampler(spec, start_prices, min(chunk_paths, total), buffers=2, workers=SAMPLER_THREADS)

    def draw(pool: ThreadPoolExecutor, first: int, count: int) -> tuple[np.ndarray, list[Any]]:
        out = sampler.next_buffer(count)
        share = -(-count // (SAMPLER_THREADS * BLOCK_PATHS)) * BLOCK_PATHS
        jobs = [pool.submit(sampler.fill_range, out, first, low, min(share, first + count - low), worker)
                for worker, low in enumerate(range(first, first + count, share))]
        return out, jobs

    with ThreadPoolExecutor(max_workers=SAMPLER_THREADS, thread_name_prefix="stress-sampler") as pool:
        pending = draw(pool, *chunks[0])
        for k, (first, count) in enumerate(chunks):
            prices, jobs = pending
            for job in jobs:
                job.result()
            if k + 1 < len(chunks):
                pending = draw(pool, *chunks[k + 1])
            for label, runner in runners.items():
                outcomes[label].append(runner.run(prices, first, keep_events))
            if progress is not None:
                progress(first + count, total)
    # Free the two chunk buffers (~2 × 64 MB) before the results are concatenated: the
    # sampler's, and the last chunk's view of one of them.
    sampler.release()
    del prices, pending
    results: dict[str, VariantStress] = {}
    for label, runner in runners.items():
        parts = outcomes[label]
        events: dict[int, tuple[Event, ...]] | None = None
        if keep_events:
            events = {}
            for part in parts:
                events.update(part.events)
        results[label] = VariantStress(
            label=label, scenario=runner.scenario, start_value=runner.start_value,
            final_value=np.concatenate([p.final_value for p in parts]),
            liquidated=np.concatenate([p.liquidated for p in parts]),
            first_liquidation_step=np.concatenate([p.first_liquidation_step for p in parts]),
            bankrupt=np.concatenate([p.bankrupt for p in parts]),
            events=events,
        )
    for label, twin in shared.items():
        results[label] = replace(results[twin], label=label, scenario=variants[label])
    ordered = {label: results[label] for label in variants}
    return StressResult(spec=spec, start_prices=tuple(map(float, start_prices)), variants=ordered,
                        seconds=time.perf_counter() - started)


def path_events(scenario: Scenario, spec: StressSpec, index: int) -> tuple[Event, ...]:
    """The events the stress run finds on path ``index`` for ``scenario`` (as built), by the
    same chunk code as :func:`run_stress` on a one-path chunk."""
    _check_markets(scenario, spec)
    prices = sample_prices(spec, price_vector(scenario), index, 1)
    return _VariantRunner(scenario).run(prices, index, keep_events=True).events.get(index, ())


# ----------------------------------------------------------------------------- tables


def summary_frame(results: Mapping[str, StressResult]) -> pd.DataFrame:
    """One row per (model, variant): every headline figure, ready for CSV.

    ``results`` maps a model label (e.g. "Normal") to its run.
    """
    rows = []
    for model_label, result in results.items():
        spec = result.spec
        for label, stress in result.variants.items():
            row: dict[str, Any] = {
                "model": model_label, "variant": label, "paths": stress.n_paths, "steps": spec.n_steps,
                "horizon_days": spec.horizon_days, "dof": spec.dof if spec.model == "student_t" else None,
                "seed": spec.seed,
            }
            figures = stress.summary()
            per_position = figures.pop("probability_liquidation")
            row.update(figures)
            for pid, p in per_position.items():
                row[f"probability_liquidation[{pid}]"] = p
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- command line


def _pairs(items: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    out = []
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ScenarioError(option, f"must look like NAME=VALUE, got {item!r}")
        out.append((name, text))
    return out


def spec_from_args(scenario: Scenario, args: Any) -> StressSpec:
    volatility = {name: _number(text, f"--vol {name}") for name, text in _pairs(args.vol, "--vol")}
    correlation = {}
    for name, text in _pairs(args.corr, "--corr"):
        a, sep, b = name.partition(":")
        if not sep:
            raise ScenarioError("--corr", f"must look like MARKET:MARKET=RHO, got {name}={text}")
        correlation[(a, b)] = _number(text, f"--corr {name}")
    return stress_spec(scenario, volatility=volatility, correlation=correlation, model=args.model,
                       dof=args.dof, horizon_days=args.horizon_days, n_steps=args.steps,
                       n_paths=args.paths, seed=args.seed)


def command_stress(args: Any) -> dict[str, Any]:
    from margin.scenario import load_scenario
    scenario = load_scenario(args.scenario)
    spec = spec_from_args(scenario, args)
    result = run_stress(scenario, spec)
    return result.summary()


def command_stress_bench(args: Any) -> dict[str, Any]:
    paths = 1_000 if args.quick else args.paths
    return run_stress_benchmark(paths=paths, steps=args.steps, positions=args.positions,
                                horizon_days=args.horizon_days, repeat=1 if args.quick else 3,
                                echo=sys.stderr)


def register_cli(commands: Any) -> None:
    """Add ``stress`` and ``stress-bench`` to ``python -m margin``."""
    p = commands.add_parser("stress", help="odds of liquidation, wipe-out and bankruptcy over random paths")
    p.add_argument("scenario", help="scenario file, or - for standard input")
    p.add_argument("--paths", type=int, default=2_000, help="number of paths (default 2,000)")
    p.add_argument("--steps", type=int, default=288, help="steps per path (default 288)")
    p.add_argument("--horizon-days", type=float, default=1.0, help="horizon [days] (default 1)")
    p.add_argument("--model", choices=MODELS, default="normal", help="shock distribution (default normal)")
    p.add_argument("--dof", type=float, default=3.0, help="Student-t degrees of freedom ν > 2 (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--vol", action="append", metavar="MARKET=VOL", help="annual volatility [fraction], e.g. BTCUSDT=0.6")
    p.add_argument("--corr", action="append", metavar="A:B=RHO", help="correlation of a pair, e.g. BTCUSDT:ETHUSDT=0.9")
    p.set_defaults(run=command_stress)
    p = commands.add_parser("stress-bench", help="time and peak memory of a 10,000-path stress run")
    p.add_argument("--paths", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=1_000)
    p.add_argument("--positions", type=int, default=10)
    p.add_argument("--horizon-days", type=float, default=1.0)
    p.add_argument("--quick", action="store_true", help="1,000 paths, for a smoke run")
    p.set_defaults(run=command_stress_bench)


# ----------------------------------------------------------------------------- benchmark


def _bench_child(arguments: str) -> None:
    """Run in a fresh interpreter: time one stress run per model, then its peak memory."""
    import os
    import resource
    import tracemalloc

    from margin.bench import bench_account

    options = json.loads(arguments)
    scenario = bench_account(options["positions"])
    spec = stress_spec(scenario, n_paths=options["paths"], n_steps=options["steps"],
                       horizon_days=options["horizon_days"], model=options["model"], seed=1)
    run_stress(scenario, replace(spec, n_paths=BLOCK_PATHS, n_steps=10))  # warm up imports
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu = [], []
    for _ in range(options["repeat"]):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_stress(scenario, spec)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # all threads: less sensitive to a busy machine
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    run_stress(scenario, spec)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    summary = {label: {"any_liquidation": v.any_liquidation_probability,
                       "wipeout": v.wipeout_probability, "bankruptcy": v.bankruptcy_probability}
               for label, v in result.variants.items()}
    json.dump({"seconds": float(np.median(times)), "best_seconds": min(times), "runs": len(times),
               "cpu_seconds": float(np.median(cpu)), "load_average_1min": os.getloadavg()[0],
               "peak_rss_mib": rss_kib / 1024, "rss_before_run_mib": baseline_kib / 1024,
               "tracemalloc_peak_mib": traced_peak / 2**20, "chunk_paths": chunk_paths_for(spec),
               "markets": len(spec.markets), "probabilities": summary}, sys.stdout)


def run_stress_benchmark(*, paths: int = 10_000, steps: int = 1_000, positions: int = 10,
                         horizon_days: float = 1.0, repeat: int = 3, echo: Any = sys.stderr) -> dict[str, Any]:
    """Time (median of ``repeat`` runs) and peak memory of a stress run (three account
    variants) per model, each model in a fresh interpreter so that its peak resident memory is
    the run's own; then the peak of numpy's allocations under ``tracemalloc``."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    print(f"Margin Lab stress benchmark: {paths:,} paths × {steps:,} steps × {positions} positions "
          f"(5 markets, horizon {horizon_days:g} d), three account variants", file=echo, flush=True)
    results: dict[str, Any] = {"paths": paths, "steps": steps, "positions": positions,
                               "horizon_days": horizon_days, "targets": {"seconds": 2.0, "peak_rss_mib": 1024}}
    for model in MODELS:
        options = json.dumps({"paths": paths, "steps": steps, "positions": positions,
                              "horizon_days": horizon_days, "model": model, "repeat": repeat})
        child = subprocess.run(
            [sys.executable, "-c", "import sys, margin.stress as s; s._bench_child(sys.argv[1])", options],
            capture_output=True, text=True, cwd=root, env=env, check=False)
        if child.returncode != 0:
            raise ScenarioError("stress-bench", f"the benchmark child failed: {child.stderr.strip()[-500:]}")
        figures = json.loads(child.stdout)
        results[model] = figures
        liquidated = ", ".join(f"{label} {v['any_liquidation']:.1%}" for label, v in figures["probabilities"].items())
        print(f"{MODEL_LABELS[model]}\n"
              f"  time    {figures['seconds']:.2f} s wall (median of {figures['runs']}, best "
              f"{figures['best_seconds']:.2f} s), {figures['cpu_seconds']:.2f} s CPU; load average "
              f"{figures['load_average_1min']:.1f} on {os.cpu_count()} cores   target < 2 s\n"
              f"  memory  peak RSS {figures['peak_rss_mib']:.0f} MiB (of which {figures['rss_before_run_mib']:.0f} "
              f"MiB interpreter and numpy before the run), numpy peak (tracemalloc) "
              f"{figures['tracemalloc_peak_mib']:.0f} MiB; chunks of {figures['chunk_paths']:,} paths   "
              f"target < 1,024 MiB\n"
              f"  paths with a liquidation: {liquidated}", file=echo, flush=True)
    return results
