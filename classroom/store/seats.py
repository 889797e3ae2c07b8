"""The room's seats: joining (with the failed-join limits), the students' tokens, removal, and
presence (a page's own touch, or the push hub's one write per room for every open stream; who
is connected, who has answered), for the teacher by name and for the projector
as counts.

A join is one write transaction that holds, in this order, the session's failed-join counter
(its row locked by ``UPDATE … RETURNING``), the room's row (locked), and only on a failed code
the address's counter (an atomic upsert). The session's limit is read first, so a student's own
typos refuse only that student; seats, one name per room and a removed student's exclusion are
checked under the room's lock, with the unique index on the folded nickname behind them.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Connection, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from classroom import schema as t
from classroom.codes import RoomError, check_nickname, digest, new_token, nickname_key
from classroom.limits import (
    JOIN_WINDOW, MAX_FAILED_JOINS_PER_ADDRESS, MAX_FAILED_JOINS_PER_SESSION, PRESENCE_EVERY, PRESENCE_WINDOW,
)
from classroom.records import ClassCounts, ClassList, ClassMember, Participant, Seat
from classroom.store.db import Database
from classroom.store.room import bump, projector_row, room_row, teacher_row

NO_SEAT = "no seat in this room: join with the code and a nickname"


def upsert(connection: Connection, table: Any) -> Any:
    """The dialect's ``INSERT`` (SQLite or PostgreSQL), which has ``on_conflict_do_*``."""
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


def seat_row(connection: Connection, code: Any, token: Any, *, now: float, lock: bool = False) -> tuple[Any, Any]:
    """``(room, participant)`` a student's token names (``lock``: the room's row locked);
    :class:`RoomError` when the room is closed or expired, or the seat is not in it or removed."""
    room = room_row(connection, code, now=now, lock=lock, for_student=True)
    if not isinstance(token, str) or not token or len(token) > 200:
        raise RoomError("participant", NO_SEAT)
    row = connection.execute(select(t.participants).where(
        t.participants.c.token_digest == digest(token), t.participants.c.room_id == room.id)).first()
    if row is None:
        raise RoomError("participant", NO_SEAT)
    if row.removed:
        raise RoomError("participant", "the teacher removed you from this room")
    return room, row


# ----------------------------------------------------------------------------- joining


def join(db: Database, code: Any, nickname: Any, *, session: str, address: str | None) -> Seat:
    """A seat in the room for ``nickname``, asked from browser ``session`` at network ``address``."""
    session_key = "session:" + digest(str(session))
    address_key = None if address is None else "address:" + str(address)[:64]

    def work(connection: Connection) -> Seat | RoomError:
        now = db.clock()
        if _failures(connection, session_key, now, lock=True) >= MAX_FAILED_JOINS_PER_SESSION:
            return RoomError("code", "too many wrong tries from this browser: wait a minute, then type the code again")
        if address_key is not None and _failures(connection, address_key, now) >= MAX_FAILED_JOINS_PER_ADDRESS:
            return RoomError("code", "too many wrong tries from your network: wait a minute, then type the code again")
        try:
            return _seat_someone(connection, code, nickname, session_key, now)
        except RoomError as err:
            if err.field == "code":  # a wrong, closed or expired code counts as a guess
                connection.execute(update(t.join_limits).where(t.join_limits.c.who == session_key)
                                   .values(failures=t.join_limits.c.failures + 1))
                if address_key is not None:
                    _count_failure(connection, address_key, now)
            return err  # returned, not raised: the counts above are committed
    result = db.write(work)
    if isinstance(result, RoomError):
        raise result
    return result


def _failures(connection: Connection, who: str, now: float, *, lock: bool = False) -> int:
    """Failed joins of ``who`` in the current window (``lock``: its row created if need be and
    locked for this transaction, the window restarted if it is over)."""
    if not lock:
        row = connection.execute(select(t.join_limits).where(t.join_limits.c.who == who)).first()
        return 0 if row is None or row.window_start <= now - JOIN_WINDOW else int(row.failures)
    connection.execute(upsert(connection, t.join_limits).values(who=who, window_start=now, failures=0)
                       .on_conflict_do_nothing(index_elements=["who"]))
    over = t.join_limits.c.window_start <= now - JOIN_WINDOW
    return int(connection.execute(update(t.join_limits).where(t.join_limits.c.who == who).values(
        failures=case((over, 0), else_=t.join_limits.c.failures),
        window_start=case((over, now), else_=t.join_limits.c.window_start)).returning(t.join_limits.c.failures))
        .scalar_one())


def _count_failure(connection: Connection, who: str, now: float) -> None:
    over = t.join_limits.c.window_start <= now - JOIN_WINDOW
    connection.execute(upsert(connection, t.join_limits).values(who=who, window_start=now, failures=1)
                       .on_conflict_do_update(index_elements=["who"], set_={
                           "failures": case((over, 1), else_=t.join_limits.c.failures + 1),
                           "window_start": case((over, now), else_=t.join_limits.c.window_start)}))


def _seat_someone(connection: Connection, code: Any, nickname: Any, session_key: str, now: float) -> Seat:
    name = check_nickname(nickname)
    key = nickname_key(name)
    room = room_row(connection, code, now=now, lock=True, for_student=True)
    if room.locked:
        raise RoomError("room", f"room {room.code} is locked: the teacher lets no one new in")
    people = t.participants.c
    if connection.execute(select(people.id).where(people.room_id == room.id, people.removed.is_(True),
                                                  people.session_digest == digest(session_key))).first():
        raise RoomError("room", "the teacher removed you from this room")
    same = connection.execute(select(people.removed).where(people.room_id == room.id,
                                                           people.nickname_key == key)).first()
    if same is not None and same.removed:
        raise RoomError("nickname", f"{name} was removed from this room by the teacher")
    if same is not None:
        raise RoomError("nickname", f"{name} is taken in this room: pick another")
    seated = connection.execute(select(func.count()).select_from(t.participants).where(
        people.room_id == room.id, people.removed.is_(False))).scalar_one()
    if seated >= room.capacity:
        raise RoomError("room", f"room {room.code} is full ({room.capacity} students)")
    bump(connection, room.id, now, seen=False)
    token = new_token(16)
    pid = connection.execute(t.participants.insert().values(
        room_id=room.id, token_digest=digest(token), nickname=name, nickname_key=key, joined_at=now,
        removed=False, session_digest=digest(session_key), last_seen=now)).inserted_primary_key[0]
    return Seat(code=room.code, participant_id=int(pid), nickname=name, token=token)


# ----------------------------------------------------------------------------- seats


def seat(db: Database, code: Any, token: Any) -> Seat:
    """The participant a link's token names in this room (RoomError if none, or removed)."""
    room, row = db.read(lambda c: seat_row(c, code, token, now=db.clock()))
    return Seat(code=room.code, participant_id=row.id, nickname=row.nickname)


def participants(db: Database, code: Any, key: Any) -> list[Participant]:
    """Everyone who joined, in order (the removed marked so)."""
    def work(connection: Connection) -> list[Participant]:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        return [Participant(id=r.id, nickname=r.nickname, joined_at=r.joined_at, removed=r.removed,
                            last_seen=r.last_seen)
                for r in connection.execute(select(t.participants).where(t.participants.c.room_id == room.id)
                                            .order_by(t.participants.c.id)).all()]
    return db.read(work)


def remove(db: Database, code: Any, key: Any, participant_id: Any) -> None:
    """Remove a participant: their link stops working and neither their nickname nor their
    browser session may join this room again; their answers stay in the results."""
    try:
        pid = int(participant_id)
    except (TypeError, ValueError):
        raise RoomError("participant", "is not in this room") from None

    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        done = connection.execute(update(t.participants).where(
            t.participants.c.id == pid, t.participants.c.room_id == room.id).values(removed=True))
        if done.rowcount == 0:
            raise RoomError("participant", "is not in this room")
        bump(connection, room.id, db.clock(), seen=True)
    db.write(work)


def touch(db: Database, code: Any, token: Any) -> None:
    """The student is here: ``last_seen`` set to now, written at most every ``PRESENCE_EVERY``
    seconds (a read otherwise); a student coming back bumps the room's activity."""
    now = db.clock()
    _, row = db.read(lambda c: seat_row(c, code, token, now=now))
    if row.last_seen is not None and row.last_seen > now - PRESENCE_EVERY:
        return

    def work(connection: Connection) -> None:
        room, seat_ = seat_row(connection, code, token, now=now, lock=True)
        connection.execute(update(t.participants).where(t.participants.c.id == seat_.id).values(last_seen=now))
        if seat_.last_seen is None or seat_.last_seen <= now - PRESENCE_WINDOW:
            bump(connection, room.id, now, seen=False)
    db.write(work)


def here(db: Database, code: Any, participant_ids: Iterable[int]) -> int:
    """Presence from the push hub: the participants with an event stream open in one server
    process are here now, ``last_seen`` set for all of them in one write per room (not one per
    student, nor a page run); the removed, a closed or an expired room are left alone. A
    student back after more than ``PRESENCE_WINDOW`` bumps the room's activity, as
    :func:`touch` does. Returns how many seats were marked."""
    ids = sorted({int(i) for i in participant_ids})
    if not ids:
        return 0
    people = t.participants.c

    def work(connection: Connection) -> int:
        now = db.clock()
        try:
            room = room_row(connection, code, now=now, lock=True, for_student=True)
        except RoomError:
            return 0
        mine = (people.room_id == room.id) & people.id.in_(ids) & people.removed.is_(False)
        back = connection.execute(select(func.count()).select_from(t.participants).where(
            mine, (people.last_seen.is_(None)) | (people.last_seen <= now - PRESENCE_WINDOW))).scalar_one()
        if back:
            bump(connection, room.id, now, seen=False)
        return int(connection.execute(update(t.participants).where(mine).values(last_seen=now)).rowcount)
    return db.write(work)


def _members(connection: Connection, room: Any, now: float) -> ClassList:
    question = None if room.question_id is None else connection.execute(
        select(t.questions.c.id, t.questions.c.number, t.questions.c.round)
        .where(t.questions.c.id == room.question_id)).first()
    answered: set[int] = set()
    if question is not None:
        answered = set(connection.execute(select(t.responses.c.participant_id).where(
            t.responses.c.question_id == question.id, t.responses.c.round == question.round)).scalars().all())
    rows = connection.execute(select(t.participants).where(
        t.participants.c.room_id == room.id, t.participants.c.removed.is_(False)).order_by(t.participants.c.id)).all()
    return ClassList(number=None if question is None else question.number,
                     round=None if question is None else question.round,
                     members=tuple(ClassMember(participant_id=r.id, nickname=r.nickname, answered=r.id in answered,
                                               connected=r.last_seen is not None and r.last_seen > now - PRESENCE_WINDOW,
                                               last_seen=r.last_seen) for r in rows))


def class_list(db: Database, code: Any, key: Any) -> ClassList:
    """The class now, by nickname (the teacher's key only): connected, answered or not yet."""
    return db.read(lambda c: _members(c, teacher_row(c, code, key, now=db.clock(), writing=False), db.clock()))


def class_counts(db: Database, code: Any, token: Any) -> ClassCounts:
    """The class now as counts only (a projector token or the teacher key)."""
    found = db.read(lambda c: _members(c, projector_row(c, code, token, now=db.clock()), db.clock()))
    return ClassCounts(students=found.students, connected=found.connected, answered=found.answered,
                       waiting=found.waiting)


__all__ = ["class_counts", "class_list", "here", "join", "participants", "remove", "seat", "seat_row", "touch", "upsert"]
