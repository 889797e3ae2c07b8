"""The lessons as data: ``assets/lessons.json`` read into frozen :class:`Lesson` objects.

Each lesson names a story (``assets/scenarios/<story>.json``, optionally patched, or a
scenario embedded in the lesson), the page to open with its starting controls, a question,
and a **quantity**: a named engine computation (:mod:`teach.quantities`) whose value is the
answer; :mod:`teach.verdicts` checks a prediction against it and explains, in words.

>>> get_lesson("liq-vs-bankruptcy").page
'lab'
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from margin.numbers import money, price
from margin.presets import load_story

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FORMAT = "margin-lessons/1"



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
    """One guided lesson (see ``assets/lessons.json``).

    ``formulas``: the arithmetic its texts print, each as the expression it ``prints`` (the
    account's numbers in ``{placeholders}``, the unknown as the word ``price``) and the value it
    ``equals``; the texts show one as ``{formula[name]}`` (:func:`teach.verdicts.formula_texts`),
    and a test evaluates each on random accounts against the engine.
    """

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
    formulas: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # name: {"prints", "equals"}


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
            formulas=dict(raw.get("formulas", {})),
        )
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

