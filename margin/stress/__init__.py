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
position to the horizon; a chunk is drawn as running log-returns, and only the paths that
some variant may see near a breach, on bounds of their marks taken from the least and greatest
log-return (:meth:`Sampler.mark_bounds`), are turned into marks step by step (the others need
only their marks at the horizon, the same bits). On each other path the engine's settlement
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
from margin.scenario import scenario_from_dict  # noqa: F401 (the doctest above)
from margin.stress.runner import Progress, StressResult, VariantRunner, VariantStress, path_events, run_stress
from margin.stress.sampler import Sampler, sample_path, sample_prices
from margin.stress.spec import (
    BLOCK_PATHS, CHUNK_BYTES, MAX_PATHS, MAX_STEPS, MAX_VOLATILITY, MINUTES_PER_YEAR, MODEL_LABELS, MODELS,
    VAR_LEVEL, WIPEOUT_FRACTION, StressSpec, check_markets, chunk_paths_for, correlation_factor,
    default_correlation, default_volatility, stress_spec, validate_correlation,
)
from margin.stress.table import summary_frame

__all__ = [
    "BLOCK_PATHS", "CHUNK_BYTES", "MAX_PATHS", "MAX_STEPS", "MAX_VOLATILITY", "MINUTES_PER_YEAR", "MODELS",
    "MODEL_LABELS", "Progress", "Sampler", "StressResult", "StressSpec", "VAR_LEVEL", "VariantRunner",
    "VariantStress", "WIPEOUT_FRACTION", "check_markets", "chunk_paths_for", "correlation_factor",
    "default_correlation", "default_volatility", "path_events", "run_stress", "sample_path", "sample_prices",
    "stress_spec", "summary_frame", "validate_correlation",
]
