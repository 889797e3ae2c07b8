"""The teacher's instruments in words (pure, no Streamlit): the class list, a question's timer,
an answer as the class reads it, a choice question's reveal, rounds of peer instruction, the
fields of the ask form, and "my rooms". Times are [unix s] by the store's clock; the store's
records are :mod:`classroom.records`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from classroom.records import ClassList, Question, RoomSummary, RoundComparison
from margin.numbers import percent, price


RIGHT_MARK = "✓ right"  # the right option's mark, in words as well as an outline


def clock_text(seconds: float) -> str:
    """A time left [s] as a countdown reads, rounded up to the second.

    >>> clock_text(65.2), clock_text(9.01), clock_text(0), clock_text(3600)
    ('1:06', '0:10', '0:00', '60:00')
    """
    whole = max(0, math.ceil(seconds - 1e-9))
    return f"{whole // 60}:{whole % 60:02d}"


def timer_words(closes_at: float | None, now: float) -> str:
    """What a screen says of a question's timer at ``now`` (empty without a timer).

    >>> timer_words(1065.0, 1000.0), timer_words(1000.0, 1000.0), timer_words(None, 1000.0)
    ('Answers close in 1:05', 'Time is up: answers are closed.', '')
    """
    if closes_at is None:
        return ""
    if now >= closes_at:
        return "Time is up: answers are closed."
    return f"Answers close in {clock_text(closes_at - now)}"


def class_words(class_list: ClassList) -> str:
    """The class now in one sentence (counts only: what a projected screen may say).

    >>> from classroom.records import ClassList, ClassMember
    >>> m = lambda i, c, a: ClassMember(participant_id=i, nickname=str(i), connected=c, answered=a, last_seen=None)
    >>> class_words(ClassList(number=2, round=1, members=(m(1, True, True), m(2, True, False), m(3, False, False))))
    '3 students joined, 2 connected now; question 2: 1 answered, 2 not yet.'
    >>> class_words(ClassList(number=None, round=None, members=()))
    'No student has joined yet.'
    """
    if not class_list.students:
        return "No student has joined yet."
    joined = f"{class_list.students} student{'s' if class_list.students != 1 else ''} joined"
    words = f"{joined}, {class_list.connected} connected now"
    if class_list.number is None:
        return words + "; no question is open."
    rnd = f" (round {class_list.round})" if (class_list.round or 1) > 1 else ""
    return words + f"; question {class_list.number}{rnd}: {class_list.answered} answered, {class_list.waiting} not yet."


def class_rows(class_list: ClassList) -> list[dict[str, str]]:
    """The class by nickname for the teacher's console: connected and answered as words."""
    asked = class_list.number is not None
    return [{"Nickname": m.nickname, "Connected": "yes" if m.connected else "no",
             "Answered": ("yes" if m.answered else "not yet") if asked else "no question"} for m in class_list.members]


def answer_text(question: Question, value: float | None) -> str:
    """An answer as the class reads it: an option's text, or a number with its unit.

    >>> from classroom.records import Question
    >>> q = Question(number=1, spec={}, text="?", unit="", revealed=True, value=0.0, kind="choice", options=("Cross", "Isolated"))
    >>> answer_text(q, 1.0), answer_text(q, None)
    ('B. Isolated', 'no answer')
    """
    if value is None:
        return "no answer"
    if question.kind == "choice":
        index = int(value)
        return option_label(index, question.options[index]) if 0 <= index < len(question.options) else f"option {index + 1}"
    return f"{price(value)} {question.unit}".strip()


def option_label(index: int, option: str, right: int | None = None) -> str:
    """An option as a chart's axis and a radio list name it: its letter, its text, and "right"
    on the right one once revealed (so the right one never depends on colour alone).

    >>> option_label(0, "Cross", right=0), option_label(2, "Neither")
    ('A. Cross ✓ right', 'C. Neither')
    """
    return f"{chr(ord('A') + index)}. {option}" + (f" {RIGHT_MARK}" if right == index else "")


def choice_reveal_words(question: Question, counts: Sequence[int]) -> str:
    """The one-line takeaway beside a choice question's reveal.

    >>> from classroom.records import Question
    >>> q = Question(number=1, spec={}, text="?", unit="", revealed=True, value=0.0, kind="choice", options=("Cross", "Isolated", "Neither"))
    >>> choice_reveal_words(q, (1, 2, 1))
    'The right answer is A. Cross: 1 of 4 chose it; the most chosen was B. Isolated (2).'
    """
    right = int(question.value) if question.value is not None else -1
    total = sum(counts)
    if not 0 <= right < len(question.options):
        return f"{total} answers."
    words = f"The right answer is {option_label(right, question.options[right])}: {counts[right]} of {total} chose it"
    top = max(range(len(counts)), key=lambda i: counts[i]) if counts else right
    if total and top != right and counts[top] > counts[right]:
        words += f"; the most chosen was {option_label(top, question.options[top])} ({counts[top]})"
    return words + "."


def rounds_words(compared: RoundComparison) -> str:
    """Rounds side by side in words: each round's right answers, then who moved between the
    last two rounds (only students who answered both are counted as moving).

    >>> from classroom.records import Question, RoundComparison, RoundMove, RoundTally
    >>> q = Question(number=1, spec={}, text="?", unit="", revealed=True, value=0.0)
    >>> rounds_words(RoundComparison(question=q, tallies=(RoundTally(round=1, answered=4, right=1),
    ...     RoundTally(round=2, answered=3, right=2)), moves=(RoundMove(from_round=1, to_round=2, to_right=1,
    ...     to_wrong=0, stayed_right=1, stayed_wrong=1),)))
    'Round 1: 1 of 4 right. Round 2: 2 of 3 right. Of the 3 who answered both rounds, 1 moved to the right answer, 0 moved away from it, 1 stayed right and 1 stayed wrong.'
    """
    words = " ".join(f"Round {t.round}: {t.right} of {t.answered} right." for t in compared.tallies)
    if compared.moves:
        m = compared.moves[-1]
        both = m.to_right + m.to_wrong + m.stayed_right + m.stayed_wrong
        words += (f" Of the {both} who answered both rounds, {m.to_right} moved to the right answer, {m.to_wrong} "
                  f"moved away from it, {m.stayed_right} stayed right and {m.stayed_wrong} stayed wrong.")
    return words


def moment_note(question: Question, scenario: Mapping[str, Any] | None, shock: float,
                prices: Mapping[str, float]) -> str:
    """Which moment a revealed number is for, when the room's lab shows another: the engine
    answers on the account at its own prices (as the question asks), while the lab shows the
    account now, after the teacher's shock [fraction] and slider ``prices`` [USDT]. Empty for a
    choice question or when the market has not moved from the account's own prices.

    >>> from classroom.records import Question
    >>> q = Question(number=1, spec={}, text="?", unit="USDT per BTC", revealed=True, value=84_000.0)
    >>> account = {"markets": {"BTCUSDT": {"price": 100_000.0}}}
    >>> moment_note(q, account, -0.05, {})
    'That is at the moment of the question, on the account at its own prices. The lab shows the account now, at a whole-market shock of -5.0 %: its liquidation prices there are those of now.'
    >>> moment_note(q, account, 0.0, {"BTCUSDT": 100_000.0})
    ''
    """
    if question.kind == "choice" or scenario is None:
        return ""
    own = {name: float(m.get("price", 0.0)) for name, m in (scenario.get("markets") or {}).items()}
    moved = [name for name, p in prices.items() if name in own and abs(float(p) - own[name]) > 1e-9 * max(1.0, own[name])]
    if not shock and not moved:
        return ""
    now = f"a whole-market shock of {percent(shock, signed=True)}" if shock else "the prices the teacher moved"
    return ("That is at the moment of the question, on the account at its own prices. The lab shows the account "
            f"now, at {now}: its liquidation prices there are those of now.")


_FIELDS = {"question.text": "Question", "question.right": "The right option", "question.options": "Options",
           "seconds": "Timer [s]", "question.lesson": "Lesson", "question.position": "Position"}


def form_message(message: str) -> str:
    """A store's refusal (``<field>: <problem>``) with the field named as the ask form labels it.

    >>> form_message("question.options[1]: repeats the option 'Cross'")
    "Option 2: repeats the option 'Cross'"
    >>> form_message("question.right: must be a number, got nothing")
    'The right option: choose one'
    >>> form_message("seconds: must be at least 5, got 2")
    'Timer [s]: must be at least 5, got 2'
    """
    field, sep, problem = message.partition(": ")
    if not sep:
        return message
    if field == "question.right" and "got nothing" in problem:
        return "The right option: choose one"
    line = re.fullmatch(r"question\.options\[(\d+)\]", field)
    if line:
        return f"Option {int(line[1]) + 1}: {problem}"
    return f"{_FIELDS.get(field, field)}: {problem}"


def option_lines(text: str) -> list[str]:
    """The options a teacher typed, one a line (blank lines at the ends dropped, a blank line
    between two options kept, so the store refuses it naming that option).

    >>> option_lines("Cross\\n\\nIsolated\\n\\n"), option_lines("  ")
    (['Cross', '', 'Isolated'], [])
    """
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def utc_text(seconds: float) -> str:
    """A time [unix s] as a short UTC date and time.

    >>> utc_text(1_800_000_000)
    '2027-01-15 08:00 UTC'
    """
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def my_rooms_rows(rooms: Sequence[RoomSummary]) -> list[dict[str, str | int]]:
    """"My rooms" as a table's rows: code, when opened, state, students, questions, answers."""
    return [{"Room": r.code, "Opened": utc_text(r.opened_at), "State": r.state, "Students": r.students,
             "Questions": r.questions, "Answers": r.answers, "Class-market runs": r.cascades} for r in rooms]


__all__ = ["RIGHT_MARK", "answer_text", "class_rows", "choice_reveal_words", "class_words", "clock_text", "form_message", "moment_note", "my_rooms_rows",
           "option_label", "option_lines", "rounds_words", "timer_words", "utc_text"]
