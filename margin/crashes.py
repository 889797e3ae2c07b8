"""Crash paths: the shaped events in ``assets/crashes/`` and custom crashes from parameters.

A crash is a table of **multipliers** of the starting price, one series per market, for the
mark price (what liquidation is judged on) and for the last traded price (what the candle
shows). The shipped events are *shaped after* documented crashes with their published
magnitudes; they are not tick data, and say so in their ``label``.

A crash is applied to an account by :func:`crash_path`: each market's mark is the scenario's
price times the crash's multiplier. A market the crash does not carry moves with BTC scaled by
the market's beta, ``1 + beta × (m_btc − 1)``: BTC's move as a whole-market shock, by the
engine's one shock rule (:func:`margin.sweep.shock_multiplier`, floored at 1 %).

>>> crash = custom_crash(drop=0.3, duration=10, rebound=0.5, noise=0.0, seed=1)
>>> float(crash.mark[REFERENCE_MARKET].min()), crash.n_steps
(0.7, 21)
>>> round(float(crash.mark[REFERENCE_MARKET][-1]), 3)  # half of the drop recovered
0.85
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from margin.scenario import Scenario, ScenarioError
from margin.simulate import PricePath
from margin.sweep import SHOCK_FLOOR, shock_multiplier
from margin.limits import MAX_CUSTOM_STEPS  # noqa: F401  (the bounds live in margin.limits)

FORMAT = "margin-crash/1"
ASSETS = Path(__file__).resolve().parent.parent / "assets" / "crashes"
REFERENCE_MARKET = "BTCUSDT"  # markets a crash does not carry follow this one, scaled by beta
MIN_MULTIPLIER = SHOCK_FLOOR  # a market never falls below 1 % of its starting price in a crash path
CUSTOM_ID = "custom"
CUSTOM_LABEL = "A crash from your own parameters; not real data."


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Crash:
    """A crash as multipliers of the starting price [fraction of the start], per market.

    ``mark[m]`` and ``last[m]`` have one entry per step; step 0 is 1.0. ``betas`` are the
    crash's own betas to BTC (informative). ``step_minutes`` is the length of one step.
    ``funding[m]`` (optional) is market m's funding rate at each step [fraction per funding
    interval]: it overrides the scenario's ``funding_rate`` for that market along the crash.
    """

    id: str
    name: str
    shaped_after: str
    source: str
    label: str
    step_minutes: float
    betas: Mapping[str, float]
    mark: Mapping[str, np.ndarray]
    last: Mapping[str, np.ndarray]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    funding: Mapping[str, np.ndarray] = field(default_factory=dict)  # market -> rate per step [fraction per interval]

    @property
    def n_steps(self) -> int:
        return int(next(iter(self.mark.values())).shape[0])

    @property
    def markets(self) -> tuple[str, ...]:
        return tuple(self.mark)

    def minutes(self) -> np.ndarray:
        """Time since the start of every step [minutes]."""
        return np.arange(self.n_steps) * self.step_minutes


# ----------------------------------------------------------------------------- loading


def crash_ids() -> list[str]:
    """Ids of the shipped crash paths, oldest first."""
    return sorted(p.stem for p in ASSETS.glob("*.json"))


def load_crash(crash_id: str) -> Crash:
    """A shipped crash by id (``"2020-03-12"``, ...)."""
    if crash_id not in crash_ids():
        raise ScenarioError("crash", f"unknown crash {crash_id!r} (crashes: {', '.join(crash_ids())})")
    return _load_cached(crash_id)


@lru_cache(maxsize=16)
def _load_cached(crash_id: str) -> Crash:
    return crash_from_dict(json.loads((ASSETS / f"{crash_id}.json").read_text(encoding="utf-8")))


def crash_from_dict(raw: Any) -> Crash:
    """Validate a ``margin-crash/1`` document into a :class:`Crash`."""
    if not isinstance(raw, Mapping):
        raise ScenarioError("crash", f"must be an object, got {type(raw).__name__}")
    if raw.get("format") != FORMAT:
        raise ScenarioError("format", f"must be {FORMAT!r}, got {raw.get('format')!r}")
    for key in ("id", "name", "shaped_after", "source", "label"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ScenarioError(key, "must be a non-empty string")
    step_minutes = raw.get("step_minutes")
    if isinstance(step_minutes, bool) or not isinstance(step_minutes, (int, float)) or not step_minutes > 0:
        raise ScenarioError("step_minutes", f"must be a number > 0, got {step_minutes!r}")
    series: dict[str, dict[str, np.ndarray]] = {}
    length = None
    for part in ("mark", "last"):
        table = raw.get(part)
        if not isinstance(table, Mapping) or not table:
            raise ScenarioError(part, "must map markets to lists of multipliers")
        series[part] = {}
        for name, values in table.items():
            where = f"{part}.{name}"
            try:
                array = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                raise ScenarioError(where, "must be a list of numbers") from None
            if array.ndim != 1 or array.size < 2:
                raise ScenarioError(where, "must be a list of at least 2 numbers")
            if not np.all(np.isfinite(array)) or np.any(array <= 0):
                raise ScenarioError(where, "multipliers must be finite and > 0")
            if length is None:
                length = array.size
            elif array.size != length:
                raise ScenarioError(where, f"must have {length} steps like the others, got {array.size}")
            series[part][name] = array
    if set(series["mark"]) != set(series["last"]):
        raise ScenarioError("last", "must name the same markets as mark")
    if REFERENCE_MARKET not in series["mark"]:
        raise ScenarioError("mark", f"must include {REFERENCE_MARKET}")
    betas = {name: float((raw.get("markets") or {}).get(name, {}).get("beta", 1.0)) for name in series["mark"]}
    assert length is not None  # the reference market's series set it
    return Crash(
        id=raw["id"], name=raw["name"], shaped_after=raw["shaped_after"], source=raw["source"],
        label=raw["label"], step_minutes=float(step_minutes), betas=betas,
        mark=series["mark"], last=series["last"], funding=_funding_series(raw.get("funding"), length),
    )


def _funding_series(raw: Any, length: int) -> dict[str, np.ndarray]:
    """The crash's optional ``funding``: market -> one rate per step, each in [−0.05, 0.05]."""
    from margin.scenario import MAX_FUNDING_RATE

    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ScenarioError("funding", "must map markets to lists of funding rates")
    out = {}
    for name, values in raw.items():
        where = f"funding.{name}"
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ScenarioError(where, "must be a list of numbers") from None
        if array.ndim != 1 or array.size != length:
            raise ScenarioError(where, f"must have {length} steps like the prices, got {array.size}")
        if not np.all(np.isfinite(array)) or np.any(np.abs(array) > MAX_FUNDING_RATE):
            raise ScenarioError(where, f"rates must be finite and in [-{MAX_FUNDING_RATE:g}, {MAX_FUNDING_RATE:g}]")
        out[str(name)] = array
    return out


# ----------------------------------------------------------------------------- custom crashes


def _ease(t: np.ndarray) -> np.ndarray:
    """Smooth 0 → 1 over t in [0, 1] (half a cosine): slow start, fast middle, slow end."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0))


def _check_fraction(value: Any, name: str, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ScenarioError(name, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ScenarioError(name, f"must be finite, got {number}")
    if number < low or number > high or (open_low and number == low):
        bracket = "(" if open_low else "["
        raise ScenarioError(name, f"must be in {bracket}{low:g}, {high:g}], got {number:g}")
    return number


def custom_crash(*, drop: float = 0.3, duration: int = 48, rebound: float = 0.4,
                 noise: float = 0.005, seed: int = 0, betas: Mapping[str, float] | None = None,
                 wick: float = 0.03, step_minutes: float = 5.0) -> Crash:
    """A crash from parameters, deterministic for a seed.

    ``drop`` [fraction] is how far BTC's mark falls at the bottom; ``duration`` [steps] is how
    long it takes to get there; after the bottom the price recovers ``rebound`` [fraction of
    the drop] over the same number of steps. ``noise`` [fraction per step] is the volatility
    of a seeded random walk laid over the curve (the deepest point stays exactly ``drop``).
    ``betas`` maps markets to their beta to BTC: their multiplier is
    ``1 + beta × (m_btc − 1)``, floored at 1 %. The last price follows the mark with a wick
    ``wick`` [fraction] deeper than the mark at the bottom, and halfway down a step where the
    mark dips ``wick / 2`` below the last price (the reverse).

    >>> c = custom_crash(drop=0.2, duration=4, rebound=0.0, noise=0.0, wick=0.0, betas={"ETHUSDT": 1.5})
    >>> [round(float(x), 3) for x in c.mark["ETHUSDT"][:5]]
    [1.0, 0.956, 0.85, 0.744, 0.7]
    """
    drop = _check_fraction(drop, "drop", 0.0, 0.99, open_low=True)
    if isinstance(duration, bool) or not float(duration).is_integer():
        raise ScenarioError("duration", f"must be a whole number of steps, got {duration!r}")
    duration = int(duration)
    if not 1 <= duration <= MAX_CUSTOM_STEPS // 2:
        raise ScenarioError("duration", f"must be in [1, {MAX_CUSTOM_STEPS // 2}] steps, got {duration}")
    rebound = _check_fraction(rebound, "rebound", 0.0, 1.0)
    noise = _check_fraction(noise, "noise", 0.0, 0.2)
    wick = _check_fraction(wick, "wick", 0.0, 0.5)
    step_minutes = _check_fraction(step_minutes, "step_minutes", 0.0, 1440.0, open_low=True)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScenarioError("seed", f"must be a whole number ≥ 0, got {seed!r}")
    betas = dict(betas or {})
    for name, beta in betas.items():
        _check_fraction(beta, f"betas.{name}", -5.0, 10.0)
    rng = np.random.default_rng(seed)
    btc, bottom = _reference_curve(drop, duration, rebound, noise, rng)
    betas.setdefault(REFERENCE_MARKET, 1.0)
    mark, last = _marks_and_lasts(btc, bottom, duration, betas, wick, rng if noise > 0 else None)
    parameters = {"drop": drop, "duration": duration, "rebound": rebound, "noise": noise,
                  "seed": int(seed), "wick": wick, "betas": dict(betas)}
    return Crash(
        id=CUSTOM_ID, name=f"Custom crash: -{drop * 100:.0f} % over {duration} steps",
        shaped_after="Your parameters: drop, duration, rebound, noise and each market's beta.",
        source="Generated from parameters (seeded random walk over a smooth drawdown curve).",
        label=CUSTOM_LABEL, step_minutes=step_minutes, betas=dict(betas),
        mark=mark, last=last, parameters=parameters,
    )


def _reference_curve(drop: float, duration: int, rebound: float, noise: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """BTC's mark multiplier along the custom crash (eased down, noisy, the bottom exactly
    ``1 − drop``) and the step of its bottom."""
    n = 2 * duration + 1
    t = np.arange(n, dtype=float)
    draw = np.where(t <= duration, _ease(t / duration), 1.0 - rebound * _ease((t - duration) / duration))
    if noise > 0:
        walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, noise, n - 1))])
        # pin the walk to 0 at the start and at the bottom so the bottom stays where it is
        walk -= np.where(t <= duration, t / duration, 1.0) * walk[duration]
        draw = draw + walk / drop
    draw[0] = 0.0
    bottom = int(np.argmax(draw))
    return np.maximum(1.0 - drop * draw / draw[bottom], MIN_MULTIPLIER), bottom


def _marks_and_lasts(btc: np.ndarray, bottom: int, duration: int, betas: Mapping[str, float], wick: float,
                     rng: np.random.Generator | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every market's mark (BTC's move by its beta, the one shock rule) and last price (a wick
    deeper than the mark at the bottom; halfway down, one step where the mark dips below it)."""
    n = btc.shape[0]
    reverse = duration // 2 if duration >= 2 else 0
    basis = rng.normal(0.0, 0.001, n) if rng is not None else np.zeros(n)
    mark: dict[str, np.ndarray] = {}
    last: dict[str, np.ndarray] = {}
    for name, beta in betas.items():
        m = shock_multiplier(btc - 1.0, float(beta))
        lp = m * (1.0 + basis)
        lp[bottom] = m[bottom] * (1.0 - wick)  # the wick: the candle goes deeper than the mark
        if reverse > 0 and wick > 0:  # the reverse: the mark dips below the last price
            lp[reverse] = m[reverse]
            m = m.copy()
            m[reverse] = max(m[reverse] * (1.0 - wick / 2), m[bottom])
        m[0] = lp[0] = 1.0
        mark[name] = m
        last[name] = np.maximum(lp, MIN_MULTIPLIER)
    return mark, last


# ----------------------------------------------------------------------------- paths for an account


def market_multipliers(crash: Crash, scenario: Scenario, kind: str = "mark") -> dict[str, np.ndarray]:
    """Multiplier series for every market of ``scenario``: the crash's own where it carries the
    market, else BTC's scaled by the scenario market's beta (floored at 1 %)."""
    if kind not in ("mark", "last"):
        raise ScenarioError("kind", f"must be 'mark' or 'last', got {kind!r}")
    table = crash.mark if kind == "mark" else crash.last
    reference = table[REFERENCE_MARKET]
    out = {}
    for name, market in scenario.markets.items():
        if name in table:
            out[name] = table[name]
        else:
            out[name] = shock_multiplier(reference - 1.0, market.beta)  # BTC's move as a shock
    return out


def crash_path(crash: Crash, scenario: Scenario, kind: str = "mark") -> PricePath:
    """The crash applied to the scenario's prices: one column per market [quote per base]."""
    multipliers = market_multipliers(crash, scenario, kind)
    names = tuple(scenario.markets)
    marks = np.column_stack([scenario.markets[n].price * multipliers[n] for n in names])
    # Each step has a time (the crash's step length), so the markets' funding rates are charged.
    funding = {name: series for name, series in crash.funding.items() if name in scenario.markets}
    return PricePath(steps=np.arange(crash.n_steps), markets=names, marks=marks, hours=crash.minutes() / 60.0,
                     funding=funding)


def path_csv(path: PricePath) -> str:
    """The path in the CSV format ``python -m margin simulate --path`` reads."""
    buffer = io.StringIO()
    hours = path.hours
    buffer.write(",".join(("step",) + (("hours",) if hours is not None else ()) + path.markets
                          + tuple(f"funding.{m}" for m in path.funding)) + "\n")
    for k, (step, row) in enumerate(zip(path.steps, path.marks)):
        cells = [str(int(step))] + ([repr(float(hours[k]))] if hours is not None else [])
        cells += [repr(float(v)) for v in row] + [repr(float(path.funding[m][k])) for m in path.funding]
        buffer.write(",".join(cells) + "\n")
    return buffer.getvalue()
