"""A room's life: open, the teacher's and the projector's keys, lock, close, expiry and purge,
"my rooms", and the room's version, which a playing crash replay moves with the clock.

**The version.** ``rooms.version`` bumps whenever what a student sees changes; a playing replay
changes the screen every step without a write, so the version a screen reads is the stored one
plus the steps the replay has moved since it was last anchored (:func:`screen_version`). Every
write to a room first calls :func:`bump`, which settles a playing replay (its anchor moved to
the step reached, the version past every value already read) before anything else changes, so
the version only grows and any change reaches every screen.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from sqlalchemy import Connection, func, select, update

from classroom import schema as t
from classroom.codes import RoomError, digest, new_code, new_token, normalize_code, token_matches
from classroom.limits import JOIN_WINDOW, MAX_MY_ROOMS, RETENTION_DAYS
from classroom.records import OpenedRoom, RoomSummary
from classroom.store.db import Database


def room_row(connection: Connection, code: Any, *, now: float, lock: bool = False, for_student: bool = False) -> Any:
    """The room a join code names (``lock``: its row locked for this transaction, PostgreSQL
    ``FOR UPDATE``); :class:`RoomError` on field ``code`` when none (or, for a student, closed
    or expired)."""
    code = normalize_code(code)
    query = select(t.rooms).where(t.rooms.c.code == code)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise RoomError("code", f"no room has the code {code}: check it on the board")
    if for_student and row.closed:
        raise RoomError("code", f"room {code} is closed")
    if for_student and row.expires_at <= now:
        raise RoomError("code", f"room {code} has expired")
    return row


def teacher_row(connection: Connection, code: Any, key: Any, *, now: float, writing: bool = True) -> Any:
    """The room, once ``key`` proves the teacher (``writing``: locked, and refused when closed
    or expired; reading the results of a closed room stays allowed)."""
    room = room_row(connection, code, now=now, lock=writing)
    if not token_matches(key, room.teacher_digest):
        raise RoomError("teacher key", "does not open this room: use the teacher link you were given")
    if writing and room.closed:
        raise RoomError("room", f"room {room.code} is closed: its results can still be read")
    if writing and room.expires_at <= now:
        raise RoomError("room", f"room {room.code} has expired: its results can still be read")
    return room


def projector_row(connection: Connection, code: Any, token: Any, *, now: float) -> Any:
    """The room, once ``token`` is its projector token (or its teacher key): read-only."""
    room = room_row(connection, code, now=now)
    if not (token_matches(token, room.projector_digest or "") or token_matches(token, room.teacher_digest)):
        raise RoomError("projector token", "does not open this room's projector view: "
                                           "use the projector link from the teacher's console")
    return room


# ----------------------------------------------------------------------------- the version and the replay's clock


def replay_position(replay: Any, now: float) -> tuple[int, bool]:
    """Where a replay row stands at ``now`` [unix s]: ``(step, playing)``. Playing, it stood at
    ``step`` at ``started_at`` and moves ``steps_per_second``, stopping at ``last_step``."""
    rate, started, last = replay.steps_per_second, replay.started_at, replay.last_step
    if not replay.playing or started is None or not rate or last is None:
        return int(replay.step), False
    moved = max(0, math.floor((now - started) * rate + 1e-9))
    step = min(int(last), int(replay.step) + moved)
    return step, step < int(last)


def screen_version(version: int, replay: Any, now: float) -> int:
    """The version a screen reads: the stored one plus the steps a playing replay has moved."""
    return int(version) + (replay_position(replay, now)[0] - int(replay.step) if replay is not None else 0)


def bump(connection: Connection, room_id: int, now: float, *, seen: bool) -> None:
    """Record a change to the room (call it first in the transaction, after locking the room):
    ``activity`` always, the ``version`` too when students see it (``seen``), past every version
    a playing replay has shown; the replay is re-anchored at the step it reached."""
    values: dict[str, Any] = {"activity": t.rooms.c.activity + 1}
    if seen:
        moved = 0
        replay = connection.execute(select(t.room_replays).where(t.room_replays.c.room_id == room_id)).first()
        if replay is not None and replay.playing:
            step, playing = replay_position(replay, now)
            moved = step - int(replay.step)
            anchor = (replay.started_at or now) + (moved / replay.steps_per_second if replay.steps_per_second else 0)
            connection.execute(update(t.room_replays).where(t.room_replays.c.room_id == room_id).values(
                step=step, started_at=anchor if playing else None, playing=playing))
        values["version"] = t.rooms.c.version + 1 + moved
    connection.execute(update(t.rooms).where(t.rooms.c.id == room_id).values(**values))


# ----------------------------------------------------------------------------- life


def open_room(db: Database, *, hours: float, capacity: int) -> OpenedRoom:
    """A new room for ``hours`` [h] and ``capacity`` students (both checked by the caller), with
    a fresh code, teacher key and projector token; rooms expired long ago are purged first."""
    purge(db)
    key, projector = new_token(32), new_token(24)

    def work(connection: Connection) -> OpenedRoom:
        now = db.clock()
        taken = True
        for _ in range(20):
            code = new_code()
            taken = connection.execute(select(t.rooms.c.id).where(t.rooms.c.code == code)).first() is not None
            if not taken:
                break
        if taken:
            raise RoomError("room", "could not draw a free join code just now: try again")
        connection.execute(t.rooms.insert().values(
            code=code, teacher_digest=digest(key), projector_digest=digest(projector), created_at=now,
            expires_at=now + hours * 3600.0, capacity=capacity, locked=False, closed=False, show_names=False,
            version=1, activity=1, mode="follow", scenario=None, shock=0.0, prices="{}", question_id=None,
            questions_asked=0))
        return OpenedRoom(code=code, teacher_key=key, expires_at=now + hours * 3600.0, projector_token=projector)
    return db.write(work)


def teacher_update(db: Database, code: Any, key: Any, *, seen: bool = True, **values: Any) -> None:
    """Set columns of the room, as its teacher."""
    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        bump(connection, room.id, db.clock(), seen=seen)
        connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(**values))
    db.write(work)


def new_projector_token(db: Database, code: Any, key: Any) -> str:
    """A fresh projector token for the room (the previous one stops working)."""
    token = new_token(24)

    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(projector_digest=digest(token)))
    db.write(work)
    return token


def purge(db: Database) -> int:
    """Delete the rooms that expired more than ``RETENTION_DAYS`` ago (with everything they
    hold) and the failed-join counters of past windows; returns how many rooms went."""
    now = db.clock()
    gone = db.write(lambda c: c.execute(t.rooms.delete().where(
        t.rooms.c.expires_at < now - RETENTION_DAYS * 86400.0)).rowcount)
    db.write(lambda c: c.execute(t.join_limits.delete().where(t.join_limits.c.window_start < now - JOIN_WINDOW)))
    return int(gone or 0)


def room_state_word(room: Any, now: float) -> str:
    """"closed", "expired", "locked" or "open"."""
    if room.closed:
        return "closed"
    if room.expires_at <= now:
        return "expired"
    return "locked" if room.locked else "open"


def my_rooms(db: Database, pairs: Iterable[tuple[Any, Any]]) -> list[RoomSummary]:
    """The rooms among ``pairs`` of (code, teacher key) whose key opens them, newest first; a
    pair that opens nothing (a wrong key, a purged room, a malformed code) is left out."""
    keys: dict[str, list[Any]] = {}
    for pair in list(pairs)[:MAX_MY_ROOMS]:
        try:
            code, key = pair
            keys.setdefault(normalize_code(code), []).append(key)
        except (RoomError, TypeError, ValueError):
            continue

    def work(connection: Connection) -> list[RoomSummary]:
        now = db.clock()
        found = [r for r in connection.execute(select(t.rooms).where(t.rooms.c.code.in_(list(keys)))).all()
                 if any(token_matches(key, r.teacher_digest) for key in keys[r.code])]
        ids = [r.id for r in found]
        students = _counts(connection, t.participants.c.room_id, ids, t.participants.c.removed.is_(False))
        answers = dict(connection.execute(select(t.questions.c.room_id, func.count()).join(
            t.responses, t.responses.c.question_id == t.questions.c.id).where(t.questions.c.room_id.in_(ids))
            .group_by(t.questions.c.room_id)).all())
        cascades = _counts(connection, t.cascade_runs.c.room_id, ids)
        return [RoomSummary(code=r.code, opened_at=r.created_at, expires_at=r.expires_at,
                            state=room_state_word(r, now), students=students.get(r.id, 0),
                            questions=int(r.questions_asked), answers=int(answers.get(r.id, 0)),
                            cascades=cascades.get(r.id, 0))
                for r in sorted(found, key=lambda r: -r.created_at)]
    return db.read(work) if keys else []


def _counts(connection: Connection, column: Any, ids: list[int], *where: Any) -> dict[int, int]:
    rows = connection.execute(select(column, func.count()).where(column.in_(ids), *where).group_by(column)).all()
    return {int(k): int(n) for k, n in rows}


__all__ = ["bump", "my_rooms", "new_projector_token", "open_room", "projector_row", "purge", "replay_position",
           "room_row", "room_state_word", "screen_version", "teacher_row", "teacher_update"]
