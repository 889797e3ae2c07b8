"""Questions and answers in a room: asking (numbered by an atomic counter), the timer, rounds
(re-asking the same question for peer instruction), the students' answers (one per seat per
question and round, a second one replacing the first, by an upsert on that unique key), the
reveal, and the results by round.

An answer is refused, in its own transaction and by the store's clock, once the question is
revealed or its timer has run out. What a question is and its engine answer come from
:mod:`classroom.questions`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Mapping

from sqlalchemy import Connection, select, update

from margin.fields import ScenarioError, number
from margin.scenario import scenario_from_dict, scenario_to_dict
from classroom import schema as t
from classroom.codes import RoomError
from classroom.limits import MAX_TIMER, MIN_TIMER
from classroom.questions import Asked, check_answer, check_choice, compare_rounds, prepare
from classroom.records import Answers, Question, RoundComparison
from classroom.store.db import Database
from classroom.store.room import bump, projector_row, teacher_row
from classroom.store.seats import seat_row, upsert


def question_record(row: Any, *, show_value: bool) -> Question:
    """A question row as a :class:`Question` (its engine value only when ``show_value``)."""
    spec = json.loads(row.spec)
    options = spec.get("options") or ()
    if row.kind == "choice" and not options and spec.get("kind") == "lesson":
        from teach.lessons import get_lesson
        options = get_lesson(spec["lesson"]).answer.options
    return Question(number=row.number, spec=spec, text=row.text, unit=row.unit, revealed=bool(row.revealed),
                    value=float(row.engine_value) if show_value else None, kind=row.kind,
                    options=tuple(options), round=int(row.round), closes_at=row.closes_at, asked_at=row.asked_at)


def _timer(seconds: Any, now: float) -> float | None:
    """When answers close for a timer of ``seconds`` [s] started ``now`` (None: no timer)."""
    if seconds is None:
        return None
    try:
        return now + number(seconds, "seconds", low=MIN_TIMER, high=MAX_TIMER)
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None


def ask(db: Database, code: Any, key: Any, question: Mapping[str, Any], *, seconds: Any = None) -> Question:
    """Put a question on every screen, numbered next in the room, with a timer of ``seconds``
    (None: none); a lesson's question pushes the lesson's account too. The engine's answer is
    computed before the write (outside the room's lock) and kept."""
    from classroom.store.screen import canonical, checked_scenario
    account = db.read(lambda c: teacher_row(c, code, key, now=db.clock(), writing=False).scenario)
    asked = prepare(question, None if account is None else scenario_from_dict(json.loads(account)))
    lesson_account = None if asked.account is None else canonical(scenario_to_dict(checked_scenario(asked.account)))

    def work(connection: Connection) -> Question:
        now = db.clock()
        room = teacher_row(connection, code, key, now=now)
        if asked.account is None and room.scenario != account:
            raise RoomError("question", "the room's account changed while the question was prepared: ask again")
        closes_at = _timer(seconds, now)
        bump(connection, room.id, now, seen=True)
        number_ = int(connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(
            questions_asked=t.rooms.c.questions_asked + 1).returning(t.rooms.c.questions_asked)).scalar_one())
        qid = connection.execute(t.questions.insert().values(
            room_id=room.id, number=number_, spec=json.dumps(asked.spec, sort_keys=True), text=asked.text,
            unit=asked.unit, engine_value=asked.value, asked_at=now, revealed=False, kind=asked.kind, round=1,
            closes_at=closes_at)).inserted_primary_key[0]
        values: dict[str, Any] = {"question_id": qid}
        if lesson_account is not None:  # the lesson's account, at its own prices
            connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
            values.update(scenario=lesson_account, shock=0.0, prices="{}")
        connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(**values))
        return _asked_record(asked, number_, closes_at, now)
    return db.write(work)


def _asked_record(asked: Asked, number_: int, closes_at: float | None, now: float) -> Question:
    return Question(number=number_, spec=asked.spec, text=asked.text, unit=asked.unit, revealed=False,
                    value=asked.value, kind=asked.kind, options=asked.options, round=1, closes_at=closes_at,
                    asked_at=now)


def _on_screen(connection: Connection, room: Any, number_: Any = None) -> Any:
    """The question on screen (or question ``number_`` of the room); RoomError when there is none."""
    if number_ is None:
        if room.question_id is None:
            raise RoomError("question", "none is on screen: ask one first")
        where = t.questions.c.id == room.question_id
    else:
        where = (t.questions.c.room_id == room.id) & (t.questions.c.number == _int(number_, "question"))
    row = connection.execute(select(t.questions).where(where)).first()
    if row is None:
        raise RoomError("question", f"the room has no question {number_}")
    return row


def _int(value: Any, field: str) -> int:
    try:
        return int(number(value, field, low=1, high=1e9, integer=True))
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None


def set_timer(db: Database, code: Any, key: Any, seconds: Any) -> Question:
    """Start a timer of ``seconds`` [s] on the question on screen (None: take the timer off)."""
    def work(connection: Connection) -> Question:
        now = db.clock()
        room = teacher_row(connection, code, key, now=now)
        row = _on_screen(connection, room)
        bump(connection, room.id, now, seen=True)
        connection.execute(update(t.questions).where(t.questions.c.id == row.id).values(closes_at=_timer(seconds, now)))
        return question_record(_on_screen(connection, room), show_value=True)
    return db.write(work)


def reask(db: Database, code: Any, key: Any, number_: Any = None, *, seconds: Any = None) -> Question:
    """Ask the question on screen (or question ``number_``, put back on screen) again as its next
    round: answers open again (with a timer of ``seconds``, or none), the earlier rounds' answers
    are kept, the reveal waits for the teacher."""
    def work(connection: Connection) -> Question:
        now = db.clock()
        room = teacher_row(connection, code, key, now=now)
        row = _on_screen(connection, room, number_)
        bump(connection, room.id, now, seen=True)
        connection.execute(update(t.questions).where(t.questions.c.id == row.id).values(
            round=t.questions.c.round + 1, revealed=False, closes_at=_timer(seconds, now)))
        connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(question_id=row.id))
        return question_record(connection.execute(select(t.questions).where(t.questions.c.id == row.id)).first(),
                               show_value=True)
    return db.write(work)


def answer(db: Database, code: Any, token: Any, value: Any) -> float:
    """A student's answer to the question on screen (a number [its unit], or an option's index
    for a choice question), in its current round; a second answer replaces the first until the
    reveal or the timer's end. Returns the answer as stored."""
    def work(connection: Connection) -> float:
        now = db.clock()
        room, seat = seat_row(connection, code, token, now=now, lock=True)
        if room.question_id is None:
            raise RoomError("answer", "no question is open")
        q = question_record(_on_screen(connection, room), show_value=False)
        if q.revealed:
            raise RoomError("answer", "the answer has been revealed: answers are closed")
        if q.closed(now):
            raise RoomError("answer", f"time is up: answers to question {q.number} are closed")
        stored = check_choice(value, q.options) if q.kind == "choice" else check_answer(value, q.unit)
        bump(connection, room.id, now, seen=False)
        connection.execute(upsert(connection, t.responses).values(
            question_id=room.question_id, participant_id=seat.id, round=q.round, value=stored, answered_at=now)
            .on_conflict_do_update(index_elements=["question_id", "participant_id", "round"],
                                   set_={"value": stored, "answered_at": now}))
        connection.execute(update(t.participants).where(t.participants.c.id == seat.id).values(last_seen=now))
        return stored
    return db.write(work)


def my_answer(db: Database, code: Any, token: Any) -> float | None:
    """The student's answer to the question on screen in its current round, None if none yet."""
    def work(connection: Connection) -> float | None:
        room, seat = seat_row(connection, code, token, now=db.clock())
        if room.question_id is None:
            return None
        row = _on_screen(connection, room)
        return connection.execute(select(t.responses.c.value).where(
            t.responses.c.question_id == row.id, t.responses.c.participant_id == seat.id,
            t.responses.c.round == row.round)).scalar()
    return db.read(work)


def reveal(db: Database, code: Any, key: Any) -> None:
    """Reveal the question on screen: answers close, every screen shows the engine's value."""
    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        row = _on_screen(connection, room)
        bump(connection, room.id, db.clock(), seen=True)
        connection.execute(update(t.questions).where(t.questions.c.id == row.id).values(revealed=True))
    db.write(work)


def _answers(connection: Connection, q: Any, round_: int, *, show_value: bool = True) -> Answers:
    rows = connection.execute(select(t.responses.c.value, t.responses.c.participant_id).where(
        t.responses.c.question_id == q.id, t.responses.c.round == round_).order_by(t.responses.c.id)).all()
    return Answers(question=question_record(q, show_value=show_value), values=tuple(r.value for r in rows),
                   participant_ids=tuple(r.participant_id for r in rows), round=round_)


def answers(db: Database, code: Any, key: Any, number_: Any = None, *, round_: Any = None) -> Answers | None:
    """The answers to question ``number_`` (default: the one on screen) in ``round_`` (default:
    its current round), None if there is no such question."""
    def work(connection: Connection) -> Answers | None:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        try:
            q = _on_screen(connection, room, number_)
        except RoomError:
            return None
        return _answers(connection, q, q.round if round_ is None else _int(round_, "round"))
    return db.read(work)


def rounds(db: Database, code: Any, key: Any, number_: Any = None) -> RoundComparison | None:
    """Question ``number_`` (default: the one on screen) round by round (teacher)."""
    def work(connection: Connection) -> RoundComparison | None:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        try:
            q = _on_screen(connection, room, number_)
        except RoomError:
            return None
        return compare_rounds(question_record(q, show_value=True),
                              [_answers(connection, q, r) for r in range(1, int(q.round) + 1)])
    return db.read(work)


def public_rounds(db: Database, code: Any, token: Any) -> RoundComparison | None:
    """The question on screen round by round for the projector: counts without who gave them,
    the engine's value (and who was right) only once revealed."""
    def work(connection: Connection) -> RoundComparison | None:
        room = projector_row(connection, code, token, now=db.clock())
        if room.question_id is None:
            return None
        q = _on_screen(connection, room)
        shown = bool(q.revealed)
        found = compare_rounds(question_record(q, show_value=shown),
                               [_answers(connection, q, r, show_value=shown) for r in range(1, int(q.round) + 1)])
        return replace(found, answers=tuple(replace(a, participant_ids=()) for a in found.answers))
    return db.read(work)


__all__ = ["answer", "answers", "ask", "my_answer", "public_rounds", "question_record", "reask", "reveal", "rounds",
           "set_timer"]
