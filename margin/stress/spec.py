"""What a stress test simulates (:class:`StressSpec`), validated, with the markets' default
volatilities and correlations."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from margin.fields import ScenarioError, choice, number, whole
from margin.presets import market_defaults
from margin.scenario import Scenario
from margin.limits import MAX_PATHS, MAX_STEPS, MAX_STRESS_WORK, MAX_VOLATILITY  # noqa: F401  (the bounds live in margin.limits)

MODELS = ("normal", "student_t")
MODEL_LABELS = {"normal": "Normal", "student_t": "Fat tails (Student-t)"}
MINUTES_PER_YEAR = 365 * 24 * 60  # crypto trades around the clock
BLOCK_PATHS = 100  # paths drawn from one pair of seeded streams: the unit of reproducibility
CHUNK_BYTES = 32 * 2**20  # target size of one (markets × paths × steps) float64 array (64 MB measured ~5 % more CPU)
WIPEOUT_FRACTION = 0.01
VAR_LEVEL = 0.99
FALLBACK_VOLATILITY = 0.8  # for a market missing from assets/markets.json [fraction per year]
FALLBACK_CORRELATION = 0.5
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
        return replace(self, model=choice(model, "model", MODELS))

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
        vols[name] = number(value, f"volatility.{name}")
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
            rho = number(value, f"correlation[{a}, {b}]")
            matrix[markets.index(a), markets.index(b)] = matrix[markets.index(b), markets.index(a)] = rho
    else:
        matrix = correlation
    matrix = validate_correlation(matrix, markets)
    model = choice(model, "model", MODELS)
    dof = number(dof, "dof")
    if dof <= 2:
        raise ScenarioError("dof", f"must be > 2 (at ν ≤ 2 the variance is infinite), got {dof:g}")
    horizon_days = number(horizon_days, "horizon_days")
    if not 0 < horizon_days <= 3650:
        raise ScenarioError("horizon_days", f"must be in (0, 3650] days, got {horizon_days:g}")
    n_steps = whole(n_steps, "n_steps", 1, MAX_STEPS)
    n_paths = whole(n_paths, "n_paths", 1, MAX_PATHS)
    seed = whole(seed, "seed", 0, 2**63 - 1)
    check_work(n_paths, n_steps, len(scenario.positions))
    return StressSpec(
        markets=markets, volatility=tuple(vols[m] for m in markets),
        correlation=tuple(tuple(float(x) for x in row) for row in matrix), model=model, dof=dof,
        horizon_days=horizon_days, n_steps=n_steps, n_paths=n_paths, seed=seed,
    )


def check_work(n_paths: int, n_steps: int, n_positions: int) -> None:
    """Refuse a run of more than :data:`margin.limits.MAX_STRESS_WORK` paths × steps ×
    positions (per model), naming the paths.

    >>> check_work(20_000, 720, 20)
    Traceback (most recent call last):
    ...
    margin.fields.ScenarioError: n_paths: 20,000 paths × 720 steps × 20 positions is 288,000,000; the limit is 200,000,000 (fewer paths, steps or positions)
    """
    work = n_paths * n_steps * max(n_positions, 1)
    if work > MAX_STRESS_WORK:
        raise ScenarioError("n_paths", f"{n_paths:,} paths × {n_steps:,} steps × {n_positions:,} positions is "
                                       f"{work:,}; the limit is {MAX_STRESS_WORK:,} (fewer paths, steps or positions)")


def check_markets(scenario: Scenario, spec: StressSpec) -> None:
    """The spec was made for this account's markets, in its order."""
    if tuple(scenario.markets) != spec.markets:
        raise ScenarioError("markets", f"the spec is for {', '.join(spec.markets)}; the account holds "
                                       f"{', '.join(scenario.markets)}")


def chunk_paths_for(spec: StressSpec, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Paths per chunk: whole blocks, so that one (markets × paths × steps) array stays near
    ``chunk_bytes``."""
    per_path = 8 * len(spec.markets) * (spec.n_steps + 1)
    blocks = max(1, chunk_bytes // (per_path * BLOCK_PATHS))
    return int(blocks * BLOCK_PATHS)
