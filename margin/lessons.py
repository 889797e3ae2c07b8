"""Guided lessons: each asks the learner to predict a number (or pick an answer), and the engine
computes the truth at check time and explains the difference.

The lesson texts live in ``assets/lessons.json`` (data, not code). Each lesson names a story
(``assets/scenarios/<story>.json``, optionally patched, or a scenario embedded in the lesson),
the page to open with its starting controls, a question, and a **quantity**: a named engine
computation (below) whose value is the answer. Nothing here restates the rules: liquidation
prices come from :func:`margin.account.position_liquidation_price`, shocks from
:func:`margin.sweep.sweep_shock` (refined by bisection on :func:`margin.account.evaluate`),
losses and socialized amounts from :func:`margin.simulate.simulate`, crash paths from
:mod:`margin.crashes`, probabilities from :mod:`margin.stress`, cascades from
:mod:`margin.cascade`.

Messages are templates filled with the engine's numbers: ``{answer}``, ``{expected}``,
``{alt}`` (a typical wrong answer the engine also computes) and the quantity's own context
(``{mm}``, ``{pnl[btc-long]}``, ...), every number already formatted with its unit.

>>> result = check("liq-vs-bankruptcy", 0.297)
>>> result.correct, result.expected
(False, 0.294)
>>> print(result.message.splitlines()[0])
You said 0.2970 USDT per DOGE; the engine says 0.2940 USDT per DOGE.
>>> check("liq-vs-bankruptcy", 0.2941).correct
True
"""

from __future__ import annotations

import copy
import json
import math
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from margin.numbers import money, percent, price
from margin.account import evaluate, position_liquidation_price
from margin.presets import load_story
from margin.scenario import Scenario, ScenarioError, scenario_from_dict, scenario_to_dict
from margin.simulate import PricePath, SimulationResult, price_path, simulate
from margin.sweep import shock_prices, sweep_shock

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FORMAT = "margin-lessons/1"
SHOCK_GRID = np.linspace(0.0, -0.99, 991)  # 0.1 % apart, refined by bisection
LABELS = {"BTCUSDT": "BTC", "ETHUSDT": "ETH", "SOLUSDT": "SOL", "XRPUSDT": "XRP", "DOGEUSDT": "DOGE"}


# ----------------------------------------------------------------------------- numbers in words
# Same output as ui.format (the engine does not import the UI); a test checks they agree.


# ----------------------------------------------------------------------------- the lesson data


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """How the learner answers: a ``number`` in ``unit`` (within ``abs_tolerance`` or
    ``rel_tolerance`` of the engine's value) or a ``choice`` among ``options``."""

    kind: str
    unit: str = ""
    options: tuple[str, ...] = ()
    abs_tolerance: float = 0.0
    rel_tolerance: float = 0.0
    step: float = 1.0
    format: str = "%.2f"

    def describe(self, value: float | str | None) -> str:
        """A value in this answer's unit, formatted for a sentence."""
        if value is None:
            return "—"
        if self.kind == "choice":
            return f"“{value}”"
        if self.unit == "%":
            return f"{float(value):.2f} %"
        if self.unit == "USDT":
            return money(float(value))
        return f"{price(float(value))} {self.unit}".strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Lesson:
    """One guided lesson (see ``assets/lessons.json``)."""

    id: str
    title: str
    concept: str
    terms: tuple[str, ...]
    page: str
    controls: Mapping[str, Any]
    instruction: str
    question: str
    answer: Answer
    quantity: Mapping[str, Any]
    explanation: str
    mistakes: tuple[Mapping[str, Any], ...] = ()
    explanations: Mapping[str, str] = field(default_factory=dict)  # choice lessons: per answer
    takeaway: str = ""
    story: str | None = None
    patch: Mapping[str, Any] = field(default_factory=dict)
    scenario: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The verdict on an answer: ``expected`` is the engine's value (in the answer's unit, or
    the right option); ``message`` says why, with the numbers: the verdict, a blank line, then
    the explanation."""

    correct: bool
    expected: float | str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """A quantity's value [answer unit] and the numbers its messages quote (formatted)."""

    value: float | str
    context: Mapping[str, Any]


class LessonError(ValueError):
    """A lesson file that does not hold together (unknown quantity, story, option...)."""


def _read_lessons() -> list[dict[str, Any]]:
    raw = json.loads((ASSETS / "lessons.json").read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise LessonError(f"assets/lessons.json: format must be {FORMAT!r}")
    return raw["lessons"]


@lru_cache(maxsize=1)
def lessons() -> tuple[Lesson, ...]:
    """Every lesson, in teaching order."""
    out = []
    for raw in _read_lessons():
        a = raw["answer"]
        answer = Answer(kind=a["kind"], unit=a.get("unit", ""), options=tuple(a.get("options", ())),
                        abs_tolerance=float(a.get("abs_tolerance", 0.0)),
                        rel_tolerance=float(a.get("rel_tolerance", 0.0)),
                        step=float(a.get("step", 1.0)), format=a.get("format", "%.2f"))
        lesson = Lesson(
            id=raw["id"], title=raw["title"], concept=raw["concept"], terms=tuple(raw.get("terms", ())),
            page=raw["page"], controls=dict(raw.get("controls", {})), instruction=raw["instruction"],
            question=raw["question"], answer=answer, quantity=raw["quantity"],
            explanation=raw.get("explanation", ""), mistakes=tuple(raw.get("mistakes", ())),
            explanations=dict(raw.get("explanations", {})), takeaway=raw.get("takeaway", ""),
            story=raw.get("story"), patch=raw.get("patch", {}), scenario=raw.get("scenario"),
        )
        if lesson.quantity.get("kind") not in QUANTITIES:
            raise LessonError(f"lesson {lesson.id}: unknown quantity {lesson.quantity.get('kind')!r}")
        out.append(lesson)
    return tuple(out)


def lesson_ids() -> list[str]:
    return [lesson.id for lesson in lessons()]


def get_lesson(lesson_id: str) -> Lesson:
    for lesson in lessons():
        if lesson.id == lesson_id:
            return lesson
    raise LessonError(f"unknown lesson {lesson_id!r} (lessons: {', '.join(lesson_ids())})")


def lesson_scenario(lesson: Lesson | str) -> dict[str, Any]:
    """The lesson's account as a scenario dict (a fresh copy, safe to hand to the session)."""
    lesson = get_lesson(lesson) if isinstance(lesson, str) else lesson
    if lesson.scenario is not None:
        raw = copy.deepcopy(dict(lesson.scenario))
        raw.setdefault("format", "margin-scenario/1")
        return raw
    if lesson.story is None:
        raise LessonError(f"lesson {lesson.id}: needs a story or a scenario")
    return apply_patch(load_story(lesson.story), lesson.patch)


def apply_patch(raw: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of scenario ``raw`` with ``patch`` merged in: objects merge key by key; the
    ``positions`` object maps a position id to the fields to change; lists replace.

    >>> apply_patch({"rules": {"a": 1, "b": 2}, "positions": [{"id": "x", "mode": "cross"}]},
    ...             {"rules": {"b": 3}, "positions": {"x": {"mode": "isolated"}}})
    {'rules': {'a': 1, 'b': 3}, 'positions': [{'id': 'x', 'mode': 'isolated'}]}
    """
    out = copy.deepcopy(raw)
    for key, value in patch.items():
        if key == "positions" and isinstance(value, Mapping):
            by_id = {p["id"]: p for p in out["positions"]}
            for pid, fields in value.items():
                if pid not in by_id:
                    raise LessonError(f"patch: unknown position {pid!r}")
                by_id[pid].update(copy.deepcopy(fields))
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = apply_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ----------------------------------------------------------------------------- quantities


def _position_index(scenario: Scenario, position_id: str) -> int:
    for index, position in enumerate(scenario.positions):
        if position.id == position_id:
            return index
    raise LessonError(f"unknown position {position_id!r}")


def _label(market: str) -> str:
    return LABELS.get(market, market[:-4] if market.endswith("USDT") else market)


def _pool_at(scenario: Scenario, prices: Mapping[str, float], position_id: str | None) -> dict[str, float]:
    """Equity and maintenance margin of the pool a position belongs to (the cross pool when
    ``position_id`` is None or cross) at ``prices``."""
    snapshot = evaluate(scenario, prices)
    if position_id is not None:
        index = _position_index(scenario, position_id)
        if scenario.positions[index].is_isolated:
            p = snapshot.positions[index]
            return {"equity": p.equity, "mm": p.maintenance_margin}
    return {"equity": snapshot.cross.equity, "mm": snapshot.cross.maintenance_margin}


def _pnl_context(scenario: Scenario, prices: Mapping[str, float]) -> dict[str, Any]:
    """``pnl[id]`` (signed) and ``loss[id]`` (minus the PnL) of every position at ``prices``."""
    snapshot = evaluate(scenario, prices)
    return {"pnl": {p.id: money(p.unrealized_pnl) for p in snapshot.positions},
            "loss": {p.id: money(-p.unrealized_pnl) for p in snapshot.positions}}


def q_liquidation_price(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Mark price [USDT per coin] of the position's market at which it is liquidated
    (``which="liquidation"``) or bankrupt (``"bankruptcy"``), the other markets held."""
    index = _position_index(scenario, spec["position"])
    position = scenario.positions[index]
    result = position_liquidation_price(scenario, index)
    which = spec.get("which", "liquidation")
    value = result.liquidation_price if which == "liquidation" else result.bankruptcy_price
    if value is None:
        raise LessonError(f"{position.id}: no positive {which} price")
    at = _pool_at(scenario, {position.market: value}, position.id)
    current = scenario.markets[position.market].price
    return Measure(value=float(value), context={
        "liquidation": price(result.liquidation_price), "bankruptcy": price(result.bankruptcy_price),
        "current": price(current), "coin": _label(position.market), "market": position.market,
        "mm": money(at["mm"]), "equity": money(at["equity"]),
        "move": percent(value / current - 1.0), "distance": percent(abs(value / current - 1.0)),
        **_pnl_context(scenario, {position.market: value}),
    })


def _liquidatable(scenario: Scenario, prices: Mapping[str, float], position_id: str | None) -> bool:
    pool = _pool_at(scenario, prices, position_id)
    return pool["equity"] <= pool["mm"]


def _shock_dict(scenario: Scenario, shock: float) -> dict[str, float]:
    row = shock_prices(scenario, np.array([shock]))[0]
    return dict(zip(scenario.markets, map(float, row)))


def liquidation_shock(scenario: Scenario, position_id: str | None = None) -> float | None:
    """The whole-market shock [fraction, ≤ 0] at which the pool of ``position_id`` (the cross
    pool when None) is first liquidatable, to 1e-7; None if no shock down to −99 % does it."""
    sweep = sweep_shock(scenario, SHOCK_GRID)
    v = sweep.valuation
    if position_id is None:
        pool_equity, pool_mm = v.cross_equity, v.cross_maintenance
    else:
        i = _position_index(scenario, position_id)
        pool_equity, pool_mm = v.position_equity[:, i], v.position_maintenance[:, i]
    breached = pool_equity <= pool_mm
    if not breached.any():
        return None
    first = int(np.argmax(breached))
    if first == 0:
        return 0.0
    high, low = float(SHOCK_GRID[first - 1]), float(SHOCK_GRID[first])  # safe, breached
    while high - low > 1e-7:
        mid = (high + low) / 2
        if _liquidatable(scenario, _shock_dict(scenario, mid), position_id):
            low = mid
        else:
            high = mid
    return low


def q_liquidation_shock(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The market shock [%] at which the cross pool (or ``position``'s pool) is liquidated.

    Context: the pool at that shock, what the account has lost by then, what is left after a
    walk just past it (simulated), and with ``compare_isolated`` the shock at which that
    position alone, isolated on its initial margin, would be liquidated."""
    shock = liquidation_shock(scenario, spec.get("position"))
    if shock is None:
        raise LessonError("no shock down to -99 % liquidates this pool")
    prices = _shock_dict(scenario, shock)
    pool = _pool_at(scenario, prices, spec.get("position"))
    start = _pool_at(scenario, {}, spec.get("position"))
    context: dict[str, Any] = {
        "equity": money(pool["equity"]), "mm": money(pool["mm"]), "wallet": money(scenario.cross_wallet),
        "start_equity": money(start["equity"]), "lost": money(start["equity"] - pool["equity"]),
        **_pnl_context(scenario, prices),
        "prices": {_label(m): price(p) for m, p in prices.items()},
    }
    beyond = min(shock - 0.005, 0.0)
    result = simulate(scenario, _shock_path(scenario, np.linspace(0.0, beyond, 21)), trace=True)
    context["left_after"] = money(max(float(result.trace.total_equity[-1]), 0.0))
    context["wallet_after"] = money(result.final.balance)
    compare = spec.get("compare_isolated")
    if compare:
        raw = scenario_to_dict(scenario)
        alone = apply_patch(raw, {"positions": {compare: {"mode": "isolated", "margin": None}}})
        alone["positions"] = [p for p in alone["positions"] if p["id"] == compare]
        alone["balance"] = max(alone["balance"], _initial_margin(alone["positions"][0]))
        iso = liquidation_shock(scenario_from_dict(alone), compare)
        context["isolated_shock"] = "—" if iso is None else f"{iso * 100:.2f} %"
    return Measure(value=shock * 100.0, context=context)


def _initial_margin(position: Mapping[str, Any]) -> float:
    return float(position["size"]) * float(position["entry"]) / float(position["leverage"])


def _shock_path(scenario: Scenario, shocks: Sequence[float]) -> PricePath:
    rows = shock_prices(scenario, np.asarray(shocks, dtype=float))
    return price_path({name: rows[:, j] for j, name in enumerate(scenario.markets)})


def _path(scenario: Scenario, spec: Mapping[str, Any], kind: str = "mark") -> PricePath:
    """A price path from a lesson: ``{"shock_to": x, "steps": n}`` (a straight whole-market
    walk), ``{"prices": {market: [...]}}``, ``{"crash": id}`` (a shipped crash, ``kind`` mark or
    last, via :mod:`margin.crashes`) or ``{"custom_crash": {...}}`` (its keyword arguments)."""
    if "shock_to" in spec:
        return _shock_path(scenario, np.linspace(0.0, float(spec["shock_to"]), int(spec.get("steps", 21))))
    if "prices" in spec:
        return price_path({m: np.asarray(v, dtype=float) for m, v in spec["prices"].items()})
    if "crash" in spec:
        from margin.crashes import crash_path, load_crash
        return crash_path(load_crash(spec["crash"]), scenario, kind)
    if "custom_crash" in spec:
        from margin.crashes import crash_path, custom_crash
        return crash_path(custom_crash(**spec["custom_crash"]), scenario, kind)
    raise LessonError(f"unknown path {dict(spec)!r}")


def _simulation_context(scenario: Scenario, result: SimulationResult) -> dict[str, Any]:
    deficit = sum(e.amount for e in result.events if e.type == "bankruptcy")
    paid = -sum(e.insurance_fund_delta for e in result.events if e.type == "bankruptcy")
    return {
        "wallet_before": money(scenario.balance), "wallet_after": money(result.final.balance),
        "wallet_lost": money(scenario.balance - result.final.balance),
        "deficit": money(deficit), "fund_paid": money(paid), "fund_start": money(scenario.rules.insurance_fund),
        "socialized": money(result.final.socialized_loss),
        "closed": ", ".join(dict.fromkeys(e.position for e in result.events)) or "none",
        "open": ", ".join(result.final.open_positions) or "none",
        **_pnl_context(scenario, {}),
        "realized": {e.position: money(e.realized_pnl) for e in result.events if e.type == "liquidation"},
    }


def q_wallet_lost(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """How much of the wallet [USDT] a walk along the path costs: balance − final balance."""
    result = simulate(scenario, _path(scenario, spec["path"]))
    return Measure(value=float(scenario.balance - result.final.balance),
                   context=_simulation_context(scenario, result))


def q_wallet_left(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The wallet balance [USDT] after a walk along the path (before the unrealized PnL of the
    positions still open): what the closes on the way took out of it."""
    result = simulate(scenario, _path(scenario, spec["path"]))
    return Measure(value=float(result.final.balance), context=_simulation_context(scenario, result))


def q_socialized_loss(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The loss [USDT] neither the trader nor the insurance fund could pay along the path."""
    result = simulate(scenario, _path(scenario, spec["path"]))
    return Measure(value=float(result.final.socialized_loss), context=_simulation_context(scenario, result))


def q_position_loss(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Minus the position's unrealized PnL [USDT] at the scenario's prices."""
    index = _position_index(scenario, spec["position"])
    return Measure(value=-float(evaluate(scenario).positions[index].unrealized_pnl), context={})


def q_mark_liquidates(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Choice: is ``position`` liquidated along the crash's **mark** path? (option 0 = yes,
    option 1 = no). Context: the lowest mark and last prices, the liquidation price, and when
    the last price alone would have liquidated it."""
    index = _position_index(scenario, spec["position"])
    position = scenario.positions[index]
    column = list(scenario.markets).index(position.market)
    on_mark = simulate(scenario, _path(scenario, spec["path"], "mark"))
    last_path = _path(scenario, spec["path"], "last")
    on_last = simulate(scenario, last_path)
    hit_mark = [e for e in on_mark.events if e.position == position.id]
    hit_last = [e for e in on_last.events if e.position == position.id]
    liq = position_liquidation_price(scenario, index).liquidation_price
    mark_path = _path(scenario, spec["path"], "mark")
    context = {
        "liquidation": price(liq), "coin": _label(position.market),
        "mark_low": price(float(mark_path.marks[:, column].min())),
        "last_low": price(float(last_path.marks[:, column].min())),
        "last_step": str(hit_last[0].step) if hit_last else "never",
        "mark_step": str(hit_mark[0].step) if hit_mark else "never",
    }
    return Measure(value=int(0 if hit_mark else 1), context=context)


def q_fat_tail_ratio(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Choice: how the fat-tailed model's liquidation probability compares with the normal
    model's for ``position`` (same volatility, seed and paths), bucketed by ``bounds``
    (ratios separating the options, ascending)."""
    from margin.stress import run_stress, stress_spec

    index = _position_index(scenario, spec["position"])
    figures = {}
    for model in ("normal", "student_t"):
        stress = stress_spec(scenario, model=model, dof=float(spec.get("dof", 3.0)),
                             horizon_days=float(spec["horizon_days"]), n_steps=int(spec["n_steps"]),
                             n_paths=int(spec["n_paths"]), seed=int(spec["seed"]))
        figures[model] = run_stress(scenario, stress, variants={"As built": scenario}).variants["As built"]
    p_normal = float(figures["normal"].liquidation_probability[index])
    p_t = float(figures["student_t"].liquidation_probability[index])
    ratio = math.inf if p_normal == 0 else p_t / p_normal
    option = int(np.searchsorted(np.asarray(spec["bounds"], dtype=float), ratio, side="right"))
    context = {
        "p_normal": percent(p_normal, 2), "p_t": percent(p_t, 2),
        "n_normal": f"{round(p_normal * int(spec['n_paths'])):,}", "n_t": f"{round(p_t * int(spec['n_paths'])):,}",
        "ratio": "infinitely many" if math.isinf(ratio) else f"{ratio:.1f}",
        "paths": f"{int(spec['n_paths']):,}",
        "es_normal": money(figures["normal"].expected_shortfall()), "es_t": money(figures["student_t"].expected_shortfall()),
        "var_normal": money(figures["normal"].value_at_risk()), "var_t": money(figures["student_t"].value_at_risk()),
    }
    return Measure(value=option, context=context)


def q_cascade_drop(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Where a market liquidation cascade comes to rest: the final price move [%] from the
    start, by :mod:`margin.cascade` (``spec["input"]`` in the ``python -m margin cascade``
    input format; the lesson's account is the learner). Context: the rounds, how many
    traders and how much notional were liquidated, and the learner's fate."""
    from margin.cascade import cascade_input_from_dict, run_spec

    run = run_spec(cascade_input_from_dict({**dict(spec["input"]), "scenario": scenario_to_dict(scenario)}))
    result = run.result
    fates = []
    for fate in run.learner:
        if fate["round"] is None:
            fates.append(f"your {_label(fate['market'])} {fate['side']} survives")
        else:
            fates.append(f"your {_label(fate['market'])} {fate['side']} is liquidated in round "
                         f"{fate['round']}, at {price(fate['price'])}")
    own = [position_liquidation_price(scenario, i).liquidation_price for i in range(len(scenario.positions))]
    start_price = result.start_price
    accounting = result.accounting()
    context = {
        "shock": f"{result.shock * 100:.2f} %", "final_price": price(result.final_price),
        "rounds": f"{result.active_rounds:,}", "liquidated": f"{result.liquidated_count:,}",
        "traders": f"{run.crowd.n_traders:,}", "notional": money(result.liquidated_notional),
        "amplification": f"{result.amplification:.1f}", "fate": "; ".join(fates) or "you hold nothing here",
        "own_liquidation": ", ".join(price(p) for p in own if p is not None) or "—",
        "own_move": ", ".join(percent(p / start_price - 1.0) for p in own if p is not None) or "—",
        "socialized": money(accounting.get("socialized", 0.0)),
    }
    return Measure(value=float(result.final_drop) * 100.0, context=context)


Quantity = Callable[[Scenario, Mapping[str, Any]], Measure]
QUANTITIES: dict[str, Quantity] = {
    "liquidation_price": q_liquidation_price,
    "liquidation_shock": q_liquidation_shock,
    "wallet_lost": q_wallet_lost,
    "wallet_left": q_wallet_left,
    "socialized_loss": q_socialized_loss,
    "position_loss": q_position_loss,
    "mark_liquidates": q_mark_liquidates,
    "fat_tail_ratio": q_fat_tail_ratio,
    "cascade_drop": q_cascade_drop,
}


def measure(lesson: Lesson, spec: Mapping[str, Any] | None = None) -> Measure:
    """Compute the lesson's quantity (or ``spec``, e.g. a mistake's) on the lesson's account
    (``spec["patch"]`` patches the account first)."""
    spec = lesson.quantity if spec is None else spec
    return _measure_cached(lesson.id, json.dumps(spec, sort_keys=True))


@lru_cache(maxsize=256)
def _measure_cached(lesson_id: str, spec_json: str) -> Measure:
    lesson = get_lesson(lesson_id)
    spec = json.loads(spec_json)
    raw = lesson_scenario(lesson)
    if spec.get("patch"):
        raw = apply_patch(raw, spec["patch"])
    try:
        scenario = scenario_from_dict(raw)
    except ScenarioError as err:
        raise LessonError(f"lesson {lesson_id}: {err}") from None
    return QUANTITIES[spec["kind"]](scenario, spec)


def expected(lesson_id: str) -> float | str:
    """The engine's answer: a number in the lesson's unit, or the right option's text."""
    lesson = get_lesson(lesson_id)
    value = measure(lesson).value
    return lesson.answer.options[int(value)] if lesson.answer.kind == "choice" else _rounded(lesson, float(value))


def _rounded(lesson: Lesson, value: float) -> float:
    """The value at the precision the answer's input shows (its printf format)."""
    digits = _format_digits(lesson.answer.format)
    return round(value, digits) if digits is not None else value


def _format_digits(fmt: str) -> int | None:
    if fmt.startswith("%.") and fmt.endswith("f"):
        return int(fmt[2:-1])
    return None


def question_text(lesson_id: str) -> str:
    """The question with the engine's numbers it quotes filled in."""
    lesson = get_lesson(lesson_id)
    return _fill(lesson.question, measure(lesson).context, {})


class _Numbers(dict):
    """format_map mapping that leaves unknown fields visible rather than failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, context: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    values = _Numbers({**context, **extra})
    formatter = string.Formatter()
    out = []
    for literal, name, spec, conversion in formatter.parse(template):
        out.append(literal)
        if name is None:
            continue
        try:
            obj, _ = formatter.get_field(name, (), values)
            out.append(format(obj, spec or ""))
        except (KeyError, IndexError, AttributeError):
            out.append("{" + name + "}")
    return "".join(out)


# ----------------------------------------------------------------------------- the check


def check(lesson_id: str, answer: float | int | str | None) -> CheckResult:
    """Check ``answer`` (a number in the lesson's unit, or an option's text or index) against
    the engine and explain the difference in words with the numbers."""
    lesson = get_lesson(lesson_id)
    truth = measure(lesson)
    if lesson.answer.kind == "choice":
        return _check_choice(lesson, truth, answer)
    return _check_number(lesson, truth, answer)


def _check_choice(lesson: Lesson, truth: Measure, answer: Any) -> CheckResult:
    options = lesson.answer.options
    right = options[int(truth.value)]
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, bool) and 0 <= answer < len(options):
        answer = options[int(answer)]
    why = _fill(lesson.explanations.get(right, lesson.explanation), truth.context, {"expected": right})
    if answer is None or answer not in options:
        return CheckResult(correct=False, expected=right,
                           message="Pick one of the answers first: the engine's answer stays hidden until you do.")
    if answer == right:
        return CheckResult(correct=True, expected=right, message=f"Right: “{right}”.\n\n{why}")
    return CheckResult(correct=False, expected=right,
                       message=f"You chose “{answer}”; the engine says “{right}”.\n\n{why}")


def _check_number(lesson: Lesson, truth: Measure, answer: Any) -> CheckResult:
    spec = lesson.answer
    value = _rounded(lesson, float(truth.value))
    describe = spec.describe
    if answer is None or isinstance(answer, bool) or not isinstance(answer, (int, float, np.number)) \
            or not math.isfinite(float(answer)):
        return CheckResult(correct=False, expected=value,
                           message=f"Enter a number first ({spec.unit}). The engine's answer stays hidden until you do.")
    answer = float(answer)
    extra = {"answer": describe(answer), "expected": describe(value)}
    tolerance = max(spec.abs_tolerance, spec.rel_tolerance * abs(value))
    explanation = _fill(lesson.explanation, truth.context, extra)
    if abs(answer - value) <= tolerance + 1e-12:
        close = "" if answer == value else f" (you said {describe(answer)}, close enough)"
        return CheckResult(correct=True, expected=value,
                           message=f"Right: the engine says {describe(value)}{close}.\n\n{explanation}".strip())
    verdict = f"You said {describe(answer)}; the engine says {describe(value)}."
    parts = []
    mistake = _matching_mistake(lesson, answer)
    if mistake is not None:
        template, alt = mistake
        parts.append(_fill(template, truth.context, {**extra, "alt": describe(alt)}))
    else:
        hint = _diagnosis(lesson, answer, value)
        if hint:
            parts.append(hint)
    parts.append(explanation)
    return CheckResult(correct=False, expected=value, message=verdict + "\n\n" + " ".join(p for p in parts if p))


def _matching_mistake(lesson: Lesson, answer: float) -> tuple[str, float] | None:
    """The first typical mistake whose value (fixed, or computed by the engine) the answer
    matches within the lesson's tolerance."""
    for mistake in lesson.mistakes:
        if "value" in mistake:
            alt = float(mistake["value"])
        else:
            alt = float(measure(lesson, mistake["quantity"]).value)
        alt = _rounded(lesson, alt)
        tolerance = max(lesson.answer.abs_tolerance, lesson.answer.rel_tolerance * abs(alt))
        if abs(answer - alt) <= tolerance + 1e-12:
            return mistake["message"], alt
    return None


def _diagnosis(lesson: Lesson, answer: float, value: float) -> str:
    """What the account looks like at the learner's answer (for price and shock questions)."""
    kind = lesson.quantity["kind"]
    if kind not in ("liquidation_price", "liquidation_shock"):
        direction = "high" if answer > value else "low"
        return f"That is too {direction} by {lesson.answer.describe(abs(answer - value))}."
    scenario = scenario_from_dict(lesson_scenario(lesson))
    position_id = lesson.quantity.get("position")
    if kind == "liquidation_price":
        market = scenario.positions[_position_index(scenario, position_id)].market
        if answer <= 0:
            return "A price must be above zero."
        prices = {market: answer}
        where = f"At {lesson.answer.describe(answer)}"
    else:
        if answer > 0:
            return "A crash is a negative shock: enter it with a minus sign."
        prices = _shock_dict(scenario, answer / 100.0)
        where = f"After a {answer:.2f} % shock"
    pool = _pool_at(scenario, prices, position_id)
    bankruptcy = lesson.quantity.get("which") == "bankruptcy"
    floor, floor_name = (0.0, "zero") if bankruptcy else (pool["mm"], f"the maintenance margin ({money(pool['mm'])})")
    gap = pool["equity"] - floor
    if gap > 0:
        return (f"{where} the equity behind it would still be {money(pool['equity'])}, "
                f"{money(gap)} above {floor_name}: it has not happened yet.")
    return (f"{where} the equity behind it would be {money(pool['equity'])}, "
            f"{money(-gap)} below {floor_name}: it happened earlier than that.")


def explain_all() -> list[CheckResult]:
    """The right answer to every lesson, checked (used by tests and the docs)."""
    return [check(lesson.id, expected(lesson.id)) for lesson in lessons()]


__all__ = [
    "Answer", "CheckResult", "Lesson", "LessonError", "Measure", "QUANTITIES", "apply_patch", "check",
    "expected", "get_lesson", "lesson_ids", "lesson_scenario", "lessons", "liquidation_shock",
    "measure", "question_text",
]
