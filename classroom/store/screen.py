"""The room's screen: the account the teacher pushes, the market's moves, the crash replay and
the mode, and :func:`state`, what every screen shows, read by anyone who knows the code.

A playing replay is a fact in the database (the crash, the step it stood at, when, and its
steps per second), so its current step is computed from the store's clock by whoever reads it:
the class goes on when the teacher's tab closes, and pausing stores the step reached.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import Connection, func, select, update

from margin.fields import ScenarioError, number
from margin.scenario import Scenario, scenario_from_dict, scenario_to_dict
from margin.scenario_writer import canonical_json
from classroom import schema as t
from classroom.codes import RoomError, normalize_code
from margin.limits import MAX_PRICE
from classroom.limits import MAX_REPLAY_RATE, MAX_SCENARIO_CHARS, MAX_SHOCK
from classroom.records import RoomState
from classroom.store.asking import question_record
from classroom.store.db import Database
from classroom.store.room import bump, replay_position, room_row, screen_version, teacher_row

MODES = ("follow", "explore")
PLAY_SECONDS = 60.0  # a replay plays its whole crash in about this long by default [s]


canonical = canonical_json  # a scenario as the room keeps it (one text per account)


def checked_scenario(account: Any) -> Scenario:
    """The engine's loader on ``account``, its refusal as a :class:`RoomError` on ``account.<field>``."""
    try:
        return scenario_from_dict(account)
    except ScenarioError as err:
        raise RoomError(f"account.{err.field}", err.problem) from None


def default_rate(last: int) -> float:
    """Steps per second that play a crash of ``last`` + 1 steps in about a minute (a whole step
    at least, as the console's player always moved).

    >>> default_rate(119), default_rate(30)
    (2.0, 1.0)
    """
    return float(max(1, (last + 1) // int(PLAY_SECONDS)))


def version(db: Database, code: Any) -> tuple[int, int]:
    """``(version, activity)`` of the room: the cheap poll (one query)."""
    code = normalize_code(code)

    def work(connection: Connection) -> tuple[int, int]:
        row = connection.execute(select(t.rooms.c.version, t.rooms.c.activity, t.room_replays).outerjoin(
            t.room_replays, t.room_replays.c.room_id == t.rooms.c.id).where(t.rooms.c.code == code)).first()
        if row is None:
            raise RoomError("code", "no room has this code")
        replay = row if row.crash is not None else None
        return screen_version(row.version, replay, db.clock()), int(row.activity)
    return db.read(work)


def state(db: Database, code: Any, *, teacher: bool = False) -> RoomState:
    """What the room's screens show now; the engine's answer only once revealed, unless
    ``teacher`` (the caller has checked the key or the projector token)."""
    def work(connection: Connection) -> RoomState:
        now = db.clock()
        room = room_row(connection, code, now=now)
        question = None
        if room.question_id is not None:
            q = connection.execute(select(t.questions).where(t.questions.c.id == room.question_id)).first()
            question = question_record(q, show_value=teacher or q.revealed)
        cascades = connection.execute(select(func.count()).select_from(t.cascade_runs)
                                      .where(t.cascade_runs.c.room_id == room.id)).scalar_one()
        replay = connection.execute(select(t.room_replays).where(t.room_replays.c.room_id == room.id)).first()
        return RoomState(
            code=room.code, version=screen_version(room.version, replay, now), activity=room.activity,
            mode=room.mode, scenario=None if room.scenario is None else json.loads(room.scenario),
            shock=room.shock, prices=json.loads(room.prices), question=question, locked=room.locked,
            closed=room.closed, expired=room.expires_at <= now, show_names=room.show_names,
            expires_at=room.expires_at, cascades=int(cascades), replay=_replay_dict(replay, now), now=now)
    return db.read(work)


def _replay_dict(replay: Any, now: float) -> dict[str, Any] | None:
    if replay is None:
        return None
    step, playing = replay_position(replay, now)
    return {"crash": replay.crash, "step": step, "playing": playing, "last": replay.last_step,
            "steps_per_second": replay.steps_per_second}


def push_account(db: Database, code: Any, key: Any, account: Mapping[str, Any]) -> None:
    """Put an account (a scenario dict, checked by the engine's loader) on every screen, at its
    own prices and no shock; a crash replay on screen stops."""
    text = canonical(scenario_to_dict(checked_scenario(account)))
    if len(text) > MAX_SCENARIO_CHARS:
        raise RoomError("account", f"is too large for a room ({len(text):,} characters, at most {MAX_SCENARIO_CHARS:,})")

    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        bump(connection, room.id, db.clock(), seen=True)
        connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
        connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(scenario=text, shock=0.0,
                                                                                 prices="{}"))
    db.write(work)


def move_market(db: Database, code: Any, key: Any, *, shock: Any = None,
                prices: Mapping[str, Any] | None = None) -> None:
    """Move the whole-market ``shock`` [fraction, -0.9 to 0.9] and/or markets' slider
    ``prices`` [USDT, > 0] on every screen; a crash replay on screen gives way to the lab."""
    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        if room.scenario is None:
            raise RoomError("account", "push an account to the room first")
        values = _moves(json.loads(room.scenario)["markets"], json.loads(room.prices), shock, prices)
        if values:
            bump(connection, room.id, db.clock(), seen=True)
            connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(**values))
            connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
    db.write(work)


def _moves(markets: Mapping[str, Any], moved: dict[str, Any], shock: Any,
           prices: Mapping[str, Any] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    try:
        if shock is not None:
            values["shock"] = number(shock, "shock", low=-MAX_SHOCK, high=MAX_SHOCK)
        if prices:
            for name, value in prices.items():
                if name not in markets:
                    raise RoomError("prices", f"{str(name)[:40]} is not a market of the room's account")
                moved[name] = number(value, f"prices.{name}", low=0.0, low_open=True, high=MAX_PRICE)
            values["prices"] = json.dumps(moved, sort_keys=True)
    except RoomError:
        raise
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None
    return values


def move_replay(db: Database, code: Any, key: Any, *, crash: Any = None, step: Any = None,
                playing: bool | None = None, steps_per_second: Any = None) -> dict[str, Any]:
    """Put a crash replay on every screen (``crash``: a shipped crash's id; the one on screen
    when None) at ``step`` (0 = before the crash; None: where it stands now, or 0 for another
    crash), playing or paused (None: as it was). Playing, it moves ``steps_per_second`` (None:
    as it was, or :func:`default_rate`) by the store's clock, whoever reads it, and stops at
    its last step. Returns the replay as stored."""
    from margin.crashes import crash_ids, load_crash

    def work(connection: Connection) -> dict[str, Any]:
        now = db.clock()
        room = teacher_row(connection, code, key, now=now)
        if room.scenario is None:
            raise RoomError("account", "push an account to the room first")
        bump(connection, room.id, now, seen=True)  # settles a playing replay at the step it reached
        was = connection.execute(select(t.room_replays).where(t.room_replays.c.room_id == room.id)).first()
        same = was is not None and (crash is None or crash == was.crash)
        crash_id = was.crash if same and was is not None else crash
        if crash_id not in crash_ids():
            raise RoomError("crash", f"must be one of {', '.join(crash_ids())}, got {str(crash_id)[:40]!r}")
        last = load_crash(crash_id).n_steps - 1
        try:
            at = int(number(was.step if step is None and same else (step or 0), "step", low=0, high=last,
                            integer=True))
            rate = number(steps_per_second if steps_per_second is not None else
                          (was.steps_per_second if same and was.steps_per_second else default_rate(last)),
                          "steps_per_second", low=0.0, low_open=True, high=MAX_REPLAY_RATE)
        except ScenarioError as err:
            raise RoomError(err.field, err.problem) from None
        on = (bool(playing) if playing is not None else bool(same and was.playing)) and at < last
        connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
        connection.execute(t.room_replays.insert().values(room_id=room.id, crash=crash_id, step=at, playing=on,
                                                          started_at=now if on else None, steps_per_second=rate,
                                                          last_step=last))
        return {"crash": crash_id, "step": at, "playing": on, "last": last, "steps_per_second": rate}
    return db.write(work)


def stop_replay(db: Database, code: Any, key: Any) -> None:
    """Take the crash replay off the screens: the lab at the room's shock and prices again."""
    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        bump(connection, room.id, db.clock(), seen=True)
        connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
    db.write(work)


__all__ = ["MODES", "canonical", "checked_scenario", "default_rate", "move_market", "move_replay", "push_account",
           "state", "stop_replay", "version"]
