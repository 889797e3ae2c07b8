"""The check: a learner's prediction against the engine's value, explained in words with the
numbers (the verdict, a blank line, then the why).

>>> result = check("liq-vs-bankruptcy", 0.297)
>>> result.correct, result.expected
(False, 0.294)
>>> print(result.message.splitlines()[0])
You said 0.2970 USDT per DOGE; the engine says 0.2940 USDT per DOGE.
>>> check("liq-vs-bankruptcy", 0.2941).correct
True
"""

from __future__ import annotations

import math
import string
from typing import Any, Mapping

import numpy as np

from margin.numbers import money
from margin.scenario import scenario_from_dict
from teach.lessons import CheckResult, Lesson, Measure, get_lesson, lesson_scenario
from teach.quantities import pool_at, position_index, shock_dict, measure

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
    return _fill(lesson.question, _context(lesson, measure(lesson)), {})


def formula_texts(lesson: Lesson, context: Mapping[str, Any], exact: bool = False, side: str = "prints") -> dict[str, str]:
    """Each of the lesson's formulas as it prints, with the account's numbers as the learner
    reads them (or, ``exact``, each number's exact decimal expansion: what the test evaluates);
    ``side="equals"``: what each equals.

    >>> formula_texts(get_lesson("liq-vs-bankruptcy"), measure(get_lesson("liq-vs-bankruptcy")).context)["liquidation"]
    '0.3000 − (240.00 − 120.00) / 40,000'
    """
    numbers = context.get("exact" if exact else "num", {})
    return {name: _fill(f[side], numbers, {}) for name, f in lesson.formulas.items()}


def _context(lesson: Lesson, truth: Measure) -> dict[str, Any]:
    """The quantity's numbers and the lesson's formulas printed with them (``{formula[name]}``)."""
    return {**truth.context, "formula": formula_texts(lesson, truth.context)}


class _Numbers(dict):
    """format_map mapping that leaves unknown fields visible rather than failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, context: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
    values = _Numbers({**context, **extra})
    formatter = string.Formatter()
    out = []
    for literal, name, spec, _conversion in formatter.parse(template):
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
    truth = Measure(value=truth.value, context=_context(lesson, truth))
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
    mistake = matching_mistake(lesson, answer)
    if mistake is not None:
        template, alt = mistake
        parts.append(_fill(template, truth.context, {**extra, "alt": describe(alt)}))
    else:
        hint = _diagnosis(lesson, answer, value)
        if hint:
            parts.append(hint)
    parts.append(explanation)
    return CheckResult(correct=False, expected=value, message=verdict + "\n\n" + " ".join(p for p in parts if p))


def matching_mistake(lesson: Lesson, answer: float) -> tuple[str, float] | None:
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
        market = scenario.positions[position_index(scenario, position_id)].market
        if answer <= 0:
            return "A price must be above zero."
        prices = {market: answer}
        where = f"At {lesson.answer.describe(answer)}"
    else:
        if answer > 0:
            return "A crash is a negative shock: enter it with a minus sign."
        prices = shock_dict(scenario, answer / 100.0)
        where = f"After a {answer:.2f} % shock"
    pool = pool_at(scenario, prices, position_id)
    bankruptcy = lesson.quantity.get("which") == "bankruptcy"
    floor, floor_name = (0.0, "zero") if bankruptcy else (pool["mm"], f"the maintenance margin ({money(pool['mm'])})")
    gap = pool["equity"] - floor
    if gap > 0:
        return (f"{where} the equity behind it would still be {money(pool['equity'])}, "
                f"{money(gap)} above {floor_name}: it has not happened yet.")
    return (f"{where} the equity behind it would be {money(pool['equity'])}, "
            f"{money(-gap)} below {floor_name}: it happened earlier than that.")



def mistake_words(lesson_id: str, answer: float) -> str | None:
    """The typical mistake an answer [the lesson's unit] matches, explained with the numbers
    (as the check says it), or None when it matches none.

    >>> print(mistake_words("cascade-contagion", -5.0))
    -5 % is the initial drop alone: that is where the price would stay if liquidations were not sold into the market.
    >>> mistake_words("cascade-contagion", -30.0) is None
    True
    """
    lesson = get_lesson(lesson_id)
    found = matching_mistake(lesson, float(answer))
    if found is None:
        return None
    template, alt = found
    value = _rounded(lesson, float(measure(lesson).value))
    describe = lesson.answer.describe
    return _fill(template, _context(lesson, measure(lesson)),
                 {"answer": describe(float(answer)), "expected": describe(value), "alt": describe(alt)})
