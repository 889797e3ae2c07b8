"""The stress lab's inputs: plain session keys ↔ a :class:`margin.stress.StressSpec`, error
messages that name the cell, and the run a worker process does (:func:`stress_models`). Pure (no
Streamlit), so it is tested on its own.

Plain keys (values in the units people type):

- ``stress.vol.<MARKET>``: annual volatility [%]
- ``stress.corr.<A>.<B>``: correlation of a pair, ``A`` before ``B`` in the account's order
- ``stress.horizon`` [days], ``stress.step`` (a label of ``STEPS``), ``stress.dof`` (ν),
  ``stress.paths``, ``stress.seed``

The keys and their defaults for an account are named once in ``ui/common/controls.py`` (a link
or a lesson sets them on arrival).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from margin.scenario import Scenario, ScenarioError
from margin.stress import StressResult, StressSpec, run_stress, stress_spec
from margin.limits import MAX_LAB_PATH_STEPS
from margin.presets import market_label
from ui.common.controls import corr_key, pairs, stress_defaults, vol_key

STEPS = {"5 minutes": 5, "15 minutes": 15, "1 hour": 60, "4 hours": 240, "1 day": 1440}
PATH_OPTIONS = (500, 1_000, 2_000, 5_000, 10_000, 20_000)
MAX_PATH_STEPS = MAX_LAB_PATH_STEPS  # per model (margin.limits)


def n_steps(horizon_days: float, step_label: str) -> int:
    """Steps in the horizon (at least one).

    >>> n_steps(7, "1 hour"), n_steps(1, "5 minutes"), n_steps(1, "1 day")
    (168, 288, 1)
    """
    return max(1, round(float(horizon_days) * 1440 / STEPS.get(step_label, 60)))


def settings(state: Mapping[str, Any], markets: list[str]) -> dict[str, Any]:
    """The inputs of a run, read from the plain keys: JSON-ready, the cache key."""
    defaults = stress_defaults(markets)

    def get(key: str) -> Any:
        value = state.get(key, defaults[key])
        return defaults[key] if value is None else value

    return {
        "vol": {m: _maybe_number(state.get(vol_key(m), defaults[vol_key(m)])) for m in markets},
        "corr": {f"{a}|{b}": _maybe_number(state.get(corr_key(a, b), defaults[corr_key(a, b)])) for a, b in pairs(markets)},
        "horizon": float(get("stress.horizon")), "step": str(get("stress.step")),
        "dof": float(get("stress.dof")), "paths": int(get("stress.paths")), "seed": int(get("stress.seed")),
    }


def _maybe_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def spec_for(scenario: Scenario, chosen: Mapping[str, Any], model: str) -> StressSpec:
    """The :class:`StressSpec` of ``chosen`` (from :func:`settings`); :class:`ScenarioError`
    naming the field when an input is missing or wrong."""
    for market, vol in chosen["vol"].items():
        if vol is None:
            raise ScenarioError(f"volatility.{market}", "is empty: type a number")
    correlation = {}
    for pair, rho in chosen["corr"].items():
        a, b = pair.split("|")
        if rho is None:
            raise ScenarioError(f"correlation[{a}, {b}]", "is empty: type a number")
        correlation[(a, b)] = rho
    steps = n_steps(chosen["horizon"], chosen["step"])
    if steps * chosen["paths"] > MAX_PATH_STEPS:
        raise ScenarioError(
            "size", f"{chosen['paths']:,} paths × {steps:,} steps is more than the lab runs at once "
                    f"({MAX_PATH_STEPS / 1e6:.0f} million path-steps per model): choose fewer paths, a "
                    f"shorter horizon or a longer step")
    return stress_spec(
        scenario, volatility={m: v / 100 for m, v in chosen["vol"].items()}, correlation=correlation,
        model=model, dof=chosen["dof"], horizon_days=chosen["horizon"], n_steps=steps,
        n_paths=chosen["paths"], seed=chosen["seed"])


def error_text(err: ScenarioError) -> str:
    """The error in the table's words: ``Correlation BTC–SOL: must be in [-1, 1], got 1.5``.

    >>> error_text(ScenarioError("correlation[BTCUSDT, SOLUSDT]", "must be in [-1, 1], got 1.5"))
    'Correlation BTC–SOL: must be in [-1, 1], got 1.5'
    >>> error_text(ScenarioError("volatility.ETHUSDT", "is empty: type a number"))
    'Volatility of ETH: is empty: type a number'
    """
    field = err.field
    if field.startswith("volatility."):
        where = f"Volatility of {market_label(field.split('.', 1)[1])}"
    elif field.startswith("correlation[") and field.endswith("]"):
        a, _, b = field[len("correlation["):-1].partition(", ")
        where = f"Correlation {market_label(a)}–{market_label(b)}"
    elif field == "correlation":
        where = "Correlation table"
    elif field == "dof":
        where = "Degrees of freedom ν"
    elif field in ("size", "n_paths"):
        where = "Run size"
    else:
        where = field.replace("_", " ").capitalize()
    return f"{where}: {err.problem}"


def step_text(minutes: float) -> str:
    """``5 minutes``, ``1 hour``, ``4 hours``, ``1 day``.

    >>> step_text(5), step_text(60), step_text(240), step_text(1440), step_text(90)
    ('5 minutes', '1 hour', '4 hours', '1 day', '90 minutes')
    """
    if minutes % 1440 == 0:
        days = int(minutes // 1440)
        return "1 day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = int(minutes // 60)
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{minutes:g} minutes"


def horizon_text(days: float) -> str:
    """``7 days``, ``1 day``.

    >>> horizon_text(7.0), horizon_text(1)
    ('7 days', '1 day')
    """
    return "1 day" if days == 1 else f"{days:g} days"


CHUNK_PATHS = 500  # paths between two progress reports (and cancel checks) of a stress worker


def stress_models(scenario: Scenario, specs: Mapping[str, StressSpec],
                  progress: Callable[[int, int], None]) -> dict[str, StressResult]:
    """Every spec run on ``scenario`` (model → result), paths counted across the models."""
    out: dict[str, StressResult] = {}
    offset, total = 0, sum(spec.n_paths for spec in specs.values())
    for model, spec in specs.items():
        def one(done: int, _total: int, offset: int = offset) -> None:
            progress(offset + done, total)
        out[model] = run_stress(scenario, spec, progress=one, chunk_paths=CHUNK_PATHS)
        offset += spec.n_paths
    return out


