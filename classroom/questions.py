"""What a room can ask, and the engine's answer to it. Nothing here restates a rule: a lesson's
question is the lesson's (:mod:`teach.verdicts`), a typed question's value comes from the
lessons' quantities (:mod:`teach.quantities`, which call :mod:`margin.account` and
:mod:`margin.sweep`).

A question's ``spec`` (kept in the database as JSON) is one of

* ``{"kind": "lesson", "lesson": "<id>"}``: a lesson (numeric or choice), asked on the
  lesson's account;
* ``{"kind": "choice", "text": "<question>", "options": ["<option>", ...], "right": <index>}``:
  a question the teacher types, with 2 to 8 options and the right one (0 for the first);
* ``{"kind": "liquidation_price", "position": "<id>", "which": "liquidation" | "bankruptcy"}``:
  the mark price [USDT per coin] of the position's market at which it is liquidated (or
  bankrupt), every other market held, on the room's account at its own prices;
* ``{"kind": "liquidation_shock"}``: the whole-market shock [%] at which the cross pool is
  first liquidated, on the room's account.

An answer is **close** when it is within 1 % of the engine's value (for an answer in %, within
1 percentage point). A choice question's answers, and its value, are option indexes; its
answer is **right** when it is the right option, a number's when it is close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from margin.account import position_liquidation_price
from margin.fields import ScenarioError, choice, mapping, number, text
from margin.numbers import price as price_text
from margin.presets import market_label, position_labels
from margin.scenario import Scenario
from teach.lessons import LessonError, get_lesson, lesson_ids, lesson_scenario
from teach.quantities import position_index, q_liquidation_price, q_liquidation_shock
from teach.verdicts import expected, mistake_words, question_text
from classroom.codes import RoomError
from classroom.limits import MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS
from classroom.records import Answers, Question, RoundComparison, RoundMove, RoundTally

KINDS = ("lesson", "liquidation_price", "liquidation_shock", "choice")
CLOSE_FRACTION = 0.01  # within 1 % counts as close
MAX_ANSWER = 1e9  # no answer in any unit here is larger [USDT, USDT per coin or %]


def numeric_lessons() -> list[str]:
    """The lessons answered with a number."""
    return [i for i in lesson_ids() if get_lesson(i).answer.kind == "number"]


def room_lessons() -> list[str]:
    """The lessons a room can ask: every lesson answered with a number or a choice."""
    return [i for i in lesson_ids() if get_lesson(i).answer.kind in ("number", "choice")]


@dataclass(frozen=True, slots=True, kw_only=True)
class Asked:
    """A question ready to store: its ``spec``, the words on screen, the answer's ``unit``, the
    engine's ``value`` [unit] and, for a lesson, the ``account`` it is asked on (scenario dict)."""

    spec: Mapping[str, Any]
    text: str
    unit: str
    value: float
    account: Mapping[str, Any] | None = None
    kind: str = "number"  # or "choice": ``value`` is then the right option's index
    options: tuple[str, ...] = ()


def prepare(raw: Any, scenario: Scenario | None) -> Asked:
    """Check a question ``raw`` and compute the engine's answer, on the room's ``scenario``
    (None when no account was pushed yet)."""
    try:
        return _prepare(raw, scenario)
    except RoomError:
        raise
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None


def _prepare(raw: Any, scenario: Scenario | None) -> Asked:
    spec = mapping(raw, "question")
    kind = choice(spec.get("kind"), "question.kind", KINDS)
    if kind == "lesson":
        lesson_id = choice(spec.get("lesson"), "question.lesson", tuple(room_lessons()))
        lesson = get_lesson(lesson_id)
        spec_out = {"kind": kind, "lesson": lesson_id}
        if lesson.answer.kind == "choice":
            options = tuple(lesson.answer.options)
            return Asked(spec=spec_out, text=question_text(lesson_id), unit="", kind="choice", options=options,
                         value=float(options.index(str(expected(lesson_id)))), account=lesson_scenario(lesson))
        return Asked(spec=spec_out, text=question_text(lesson_id),
                     unit=lesson.answer.unit, value=float(expected(lesson_id)), account=lesson_scenario(lesson))
    if kind == "choice":
        return _typed_choice(spec)
    if scenario is None:
        raise RoomError("question", "push an account to the room first: the question is about it")
    if kind == "liquidation_shock":
        try:
            measure = q_liquidation_shock(scenario, {})
        except LessonError:
            raise RoomError("question", "no shock down to -99 % liquidates this account's cross pool") from None
        return Asked(spec={"kind": kind}, unit="%", value=float(measure.value),
                     text="How large a whole-market shock (in %, a fall is negative) liquidates the cross pool?")
    position_id = text(spec.get("position"), "question.position")
    which = choice(spec.get("which", "liquidation"), "question.which", ("liquidation", "bankruptcy"))
    try:
        index = position_index(scenario, position_id)
        measure = q_liquidation_price(scenario, {"position": position_id, "which": which})
    except LessonError as err:
        raise RoomError("question.position", str(err)) from None
    position = scenario.positions[index]
    coin = market_label(position.market)
    label = position_labels(scenario)[position.id]  # the id only where two positions read alike
    held = ", every other market held" if len(scenario.markets) > 1 else ""
    verb = "liquidated" if which == "liquidation" else "bankrupt (equity zero)"
    return Asked(spec={"kind": kind, "position": position_id, "which": which}, unit=f"USDT per {coin}",
                 value=float(measure.value),
                 text=f"At what {coin} price is the {label} {verb}{held}?")


def _typed_choice(spec: Mapping[str, Any]) -> Asked:
    """A choice question the teacher typed: its words, 2 to 8 distinct options, the right one."""
    words = " ".join(text(spec.get("text"), "question.text").split())
    if not words or len(words) > MAX_QUESTION_CHARS:
        raise RoomError("question.text", f"must be 1 to {MAX_QUESTION_CHARS} characters, got {len(words)}")
    raw = spec.get("options")
    if not isinstance(raw, (list, tuple)) or not 2 <= len(raw) <= MAX_OPTIONS:
        raise RoomError("question.options", f"must be a list of 2 to {MAX_OPTIONS} options")
    options = []
    for i, option in enumerate(raw):
        option = " ".join(text(option, f"question.options[{i}]").split())
        if not option or len(option) > MAX_OPTION_CHARS:
            raise RoomError(f"question.options[{i}]", f"must be 1 to {MAX_OPTION_CHARS} characters")
        if option.casefold() in {o.casefold() for o in options}:
            raise RoomError(f"question.options[{i}]", f"repeats the option {option!r}")
        options.append(option)
    right = int(number(spec.get("right"), "question.right", low=0, high=len(options) - 1, integer=True))
    return Asked(spec={"kind": "choice", "text": words, "options": options, "right": right}, text=words, unit="",
                 value=float(right), kind="choice", options=tuple(options))


def check_choice(value: Any, options: Sequence[str]) -> float:
    """A student's choice: an option's index (or its text) as the index stored, or :class:`RoomError`."""
    if isinstance(value, str) and value in options:
        return float(list(options).index(value))
    try:
        index = number(value, "answer", low=0, high=len(options) - 1, integer=True)
    except ScenarioError:
        raise RoomError("answer", f"pick one of the {len(options)} options") from None
    return float(index)


def check_answer(value: Any, unit: str) -> float:
    """A student's answer [unit] as a finite number in a sensible range, or :class:`RoomError`."""
    try:
        answer = number(value, "answer", low=-MAX_ANSWER, high=MAX_ANSWER)
    except ScenarioError as err:
        raise RoomError("answer", err.problem) from None
    if unit.startswith("USDT per") and answer <= 0:
        raise RoomError("answer", f"a price must be above zero, got {answer:g}")
    if unit == "%" and not -100.0 <= answer <= 1000.0:
        raise RoomError("answer", f"a move in % must be between -100 and 1000, got {answer:g}")
    return answer


def is_close(answer: float, value: float, unit: str) -> bool:
    """Whether ``answer`` is within 1 % of ``value`` (1 percentage point for a % answer)."""
    if unit == "%":
        return abs(answer - value) <= CLOSE_FRACTION * 100.0 + 1e-9
    return abs(answer - value) <= CLOSE_FRACTION * abs(value) + 1e-12


def typical_mistake(spec: Mapping[str, Any], answer: float, scenario: Scenario | None,
                    value: float | None = None) -> str | None:
    """The typical mistake ``answer`` matches, explained, or None. A lesson's mistakes are the
    lesson's own (:func:`teach.verdicts.mistake_words`); a typed price question recognises the
    other of the liquidation and bankruptcy prices, and the entry price, each within 1 %, when
    the answer is nearer to it than to the engine's ``value``. A lesson's answer within 1 % of
    the engine's value is no mistake (as the lesson's own check says it is right first)."""
    unit = "%" if spec["kind"] == "liquidation_shock" else "USDT"
    if spec["kind"] == "lesson":
        if value is not None and is_close(answer, value, unit):
            return None
        return mistake_words(spec["lesson"], answer)
    if spec["kind"] != "liquidation_price" or scenario is None:
        return None
    index = position_index(scenario, spec["position"])
    position = scenario.positions[index]
    prices = position_liquidation_price(scenario, index)
    other = prices.bankruptcy_price if spec["which"] == "liquidation" else prices.liquidation_price
    candidates = []
    if other is not None and math.isfinite(other):
        if spec["which"] == "liquidation":
            words = (f"{price_text(other)} is the bankruptcy price, where the equity behind the position reaches zero. "
                     "Liquidation comes earlier, as soon as the equity falls to the maintenance margin.")
        else:
            words = (f"{price_text(other)} is the liquidation price, where the equity falls to the maintenance "
                     "margin. The bankruptcy price lies further on, where the equity reaches zero.")
        candidates.append((float(other), words))
    candidates.append((position.entry, f"{price_text(position.entry)} is the entry price: at the entry the position "
                                       "has lost nothing yet. It is liquidated only after the price has moved against it."))
    near = [(abs(answer - alt), words) for alt, words in candidates if is_close(answer, alt, unit)
            and (value is None or abs(answer - alt) < abs(answer - value))]
    return min(near)[1] if near else None


def is_right(question: Question, value: float) -> bool:
    """Whether an answer [the question's unit, or an option's index] is right: the right option,
    or close to the engine's value (:func:`is_close`)."""
    if question.value is None:
        return False
    if question.kind == "choice":
        return int(value) == int(question.value)
    return is_close(value, question.value, question.unit)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reveal:
    """A revealed question for the class: the answers [unit], the engine's value, how many are
    close or right (``close``), the typical mistakes found, each with how many made it, and for
    a choice question how many chose each option (``counts``)."""

    question: Question
    values: tuple[float, ...]
    close: int
    mistakes: tuple[tuple[str, int], ...]
    counts: tuple[int, ...] = ()


def option_counts(question: Question, values: Sequence[float]) -> tuple[int, ...]:
    """How many chose each option of a choice question (empty for a number question)."""
    if question.kind != "choice":
        return ()
    return tuple(sum(int(v) == i for v in values) for i in range(len(question.options)))


def reveal_summary(answers: Answers, scenario: Mapping[str, Any] | None) -> Reveal:
    """What the reveal shows, from the answers (``scenario``: the room's account, for a typed
    question's mistakes)."""
    from margin.scenario import scenario_from_dict
    q = answers.question
    value = float(q.value) if q.value is not None else math.nan
    counts: dict[str, int] = {}
    if q.kind != "choice":
        parsed = None if scenario is None or q.spec.get("kind") == "lesson" else scenario_from_dict(scenario)
        for answer in answers.values:
            words = typical_mistake(q.spec, answer, parsed, value)
            if words is not None:
                counts[words] = counts.get(words, 0) + 1
    return Reveal(question=q, values=answers.values, close=sum(is_right(q, a) for a in answers.values),
                  mistakes=tuple(sorted(counts.items(), key=lambda kv: -kv[1])),
                  counts=option_counts(q, answers.values))


def compare_rounds(question: Question, rounds: Sequence[Answers]) -> RoundComparison:
    """A question's rounds side by side: each round's tally and, between consecutive rounds,
    how the students who answered both moved (peer instruction: Crouch and Mazur, 2001)."""
    tallies = tuple(RoundTally(round=a.round, answered=a.count, right=sum(is_right(question, v) for v in a.values),
                               counts=option_counts(question, a.values)) for a in rounds)
    moves = []
    for before, after in zip(rounds, rounds[1:]):
        was = {p: is_right(question, v) for p, v in zip(before.participant_ids, before.values)}
        now = {p: is_right(question, v) for p, v in zip(after.participant_ids, after.values)}
        both = [(was[p], now[p]) for p in now if p in was]
        moves.append(RoundMove(from_round=before.round, to_round=after.round,
                               to_right=sum(not a and b for a, b in both), to_wrong=sum(a and not b for a, b in both),
                               stayed_right=sum(a and b for a, b in both),
                               stayed_wrong=sum(not a and not b for a, b in both)))
    return RoundComparison(question=question, tallies=tallies, moves=tuple(moves), answers=tuple(rounds))


__all__ = ["Asked", "CLOSE_FRACTION", "KINDS", "Reveal", "check_answer", "check_choice", "compare_rounds", "is_close",
           "is_right", "numeric_lessons", "option_counts", "prepare", "reveal_summary", "room_lessons",
           "typical_mistake"]
