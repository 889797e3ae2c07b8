"""The rooms' store: every fact a classroom room shares lives here, in the database, so any
number of server processes can serve one room (see :mod:`classroom` for the public face).

Each method is one short transaction. Teacher actions take the room's code and the teacher key;
student actions the code and the participant token; a wrong one is refused with
:class:`classroom.codes.RoomError` (``<field>: <problem>``) and nothing is stored. Every change
a student's screen shows bumps the room's ``version``; every change at all (a join, an answer)
bumps its ``activity``. Screens poll those two numbers, a one-row query.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from sqlalchemy import Connection, Engine, create_engine, event, func, select, update
from sqlalchemy.exc import IntegrityError

from margin.fields import ScenarioError, number
from margin.scenario import Scenario, scenario_from_dict, scenario_to_dict
from classroom import schema as t
from classroom.codes import RoomError, check_nickname, digest, new_code, new_token, normalize_code, token_matches
from classroom.market import (
    ClassMarket, check_class_market, check_position, class_market_from_dict, position_from_dict, run_class_cascade,
)
from classroom.questions import check_answer, is_close, prepare, typical_mistake

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "MARGIN_LAB_DATA_DIR"
DATABASE_URL_ENV = "MARGIN_LAB_DATABASE_URL"
DEFAULT_HOURS = 4.0  # a room expires this long after it opens [h]
MAX_HOURS = 48.0
DEFAULT_CAPACITY = 60
MAX_CAPACITY = 300
JOIN_WINDOW = 60.0  # [s]
MAX_FAILED_JOINS = 10  # failed join attempts from one client within JOIN_WINDOW
MAX_SCENARIO_CHARS = 200_000
MODES = ("follow", "explore")


def default_url() -> str:
    """``MARGIN_LAB_DATABASE_URL`` if set (``postgresql://…`` uses psycopg), else a SQLite
    file ``rooms.sqlite3`` in ``MARGIN_LAB_DATA_DIR`` (default: ``data/`` in the repository)."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    folder = Path(os.environ.get(DATA_DIR_ENV) or ROOT / "data")
    return f"sqlite:///{folder / 'rooms.sqlite3'}"


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``: SQLite in WAL mode with a 5 s busy timeout and foreign
    keys on (its folder created); PostgreSQL through psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 5.0, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
        return engine
    return create_engine(url, pool_pre_ping=True)


# ----------------------------------------------------------------------------- what comes back


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedRoom:
    """A new room: its join ``code``, the ``teacher_key`` (shown once, kept in the teacher's
    link) and when it expires [unix s]."""

    code: str
    teacher_key: str
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Seat:
    """A participant: the ``token`` (kept in the student's link) is only returned by join."""

    code: str
    participant_id: int
    nickname: str
    token: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """The question on screen. ``value`` [unit] is the engine's answer, None until revealed
    (on a student's screen)."""

    number: int
    spec: Mapping[str, Any]
    text: str
    unit: str
    revealed: bool
    value: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomState:
    """What every screen in the room shows, at ``version``: the pushed account (scenario dict,
    None before the first push), the ``shock`` [fraction], the slider ``prices`` [USDT], the
    ``mode`` ("follow" or "explore") and the question on screen."""

    code: str
    version: int
    activity: int
    mode: str
    scenario: Mapping[str, Any] | None
    shock: float
    prices: Mapping[str, float]
    question: Question | None
    locked: bool
    closed: bool
    expired: bool
    show_names: bool
    expires_at: float
    cascades: int
    replay: Mapping[str, Any] | None = None  # {"crash", "step", "playing"} while a crash replay is on screen


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    id: int
    nickname: str
    joined_at: float
    removed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Answers:
    """The answers to one question [its unit], in the order given, with who gave them."""

    question: Question
    values: tuple[float, ...]
    participant_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.values)


# ----------------------------------------------------------------------------- the store


class RoomStore:
    """The rooms in one database (``url``: see :func:`default_url`). ``clock`` gives the time
    [unix s] (tests move it)."""

    def __init__(self, url: str | None = None, *, clock: Callable[[], float] = time.time):
        self.url = url or default_url()
        self.engine = make_engine(self.url)
        self.clock = clock
        self.schema_version = t.upgrade(self.engine)

    def dispose(self) -> None:
        """Close the connections (the data stays)."""
        self.engine.dispose()

    # ------------------------------------------------------------------ reading a room

    def _room(self, connection: Connection, code: Any, *, for_student: bool = False) -> Any:
        code = normalize_code(code)
        row = connection.execute(select(t.rooms).where(t.rooms.c.code == code)).first()
        if row is None:
            raise RoomError("code", f"no room has the code {code}: check it on the board")
        if for_student and row.closed:
            raise RoomError("code", f"room {code} is closed")
        if for_student and row.expires_at <= self.clock():
            raise RoomError("code", f"room {code} has expired")
        return row

    def _teacher(self, connection: Connection, code: Any, key: Any, *, writing: bool = True) -> Any:
        room = self._room(connection, code)
        if not token_matches(key, room.teacher_digest):
            raise RoomError("teacher key", "does not open this room: use the teacher link you were given")
        if writing and room.closed:
            raise RoomError("room", f"room {room.code} is closed: its results can still be read")
        if writing and room.expires_at <= self.clock():
            raise RoomError("room", f"room {room.code} has expired: its results can still be read")
        return room

    def _seat(self, connection: Connection, code: Any, token: Any) -> tuple[Any, Any]:
        room = self._room(connection, code, for_student=True)
        if not isinstance(token, str) or not token or len(token) > 200:
            raise RoomError("participant", "no seat in this room: join with the code and a nickname")
        row = connection.execute(select(t.participants).where(
            t.participants.c.token_digest == digest(token), t.participants.c.room_id == room.id)).first()
        if row is None:
            raise RoomError("participant", "no seat in this room: join with the code and a nickname")
        if row.removed:
            raise RoomError("participant", "the teacher removed you from this room")
        return room, row

    def _bump(self, connection: Connection, room_id: int, *, seen: bool) -> None:
        values: dict[str, Any] = {"activity": t.rooms.c.activity + 1}
        if seen:
            values["version"] = t.rooms.c.version + 1
        connection.execute(update(t.rooms).where(t.rooms.c.id == room_id).values(**values))

    def version(self, code: str) -> tuple[int, int]:
        """``(version, activity)`` of the room: the cheap poll."""
        with self.engine.connect() as connection:
            row = connection.execute(select(t.rooms.c.version, t.rooms.c.activity)
                                     .where(t.rooms.c.code == normalize_code(code))).first()
        if row is None:
            raise RoomError("code", "no room has this code")
        return int(row.version), int(row.activity)

    def state(self, code: str, *, teacher: bool = False) -> RoomState:
        """What the room's screens show now; the engine's answer only once revealed, unless
        ``teacher`` (the caller has checked the key)."""
        with self.engine.connect() as connection:
            room = self._room(connection, code)
            question = None
            if room.question_id is not None:
                q = connection.execute(select(t.questions).where(t.questions.c.id == room.question_id)).first()
                question = _question(q, show_value=teacher or q.revealed)
            cascades = connection.execute(select(func.count()).select_from(t.cascade_runs)
                                          .where(t.cascade_runs.c.room_id == room.id)).scalar_one()
            replay = connection.execute(select(t.room_replays).where(t.room_replays.c.room_id == room.id)).first()
        return RoomState(
            code=room.code, version=room.version, activity=room.activity, mode=room.mode,
            scenario=None if room.scenario is None else json.loads(room.scenario), shock=room.shock,
            prices=json.loads(room.prices), question=question, locked=room.locked, closed=room.closed,
            expired=room.expires_at <= self.clock(), show_names=room.show_names, expires_at=room.expires_at,
            cascades=int(cascades),
            replay=None if replay is None else {"crash": replay.crash, "step": int(replay.step),
                                                "playing": bool(replay.playing)})

    # ------------------------------------------------------------------ the teacher

    def open_room(self, *, hours: float = DEFAULT_HOURS, capacity: int = DEFAULT_CAPACITY) -> OpenedRoom:
        """Open a room for ``hours`` [h] and at most ``capacity`` students."""
        try:
            hours = number(hours, "hours", low=0.0, low_open=True, high=MAX_HOURS)
            capacity = int(number(capacity, "capacity", low=1, high=MAX_CAPACITY, integer=True))
        except ScenarioError as err:
            raise RoomError(err.field, err.problem) from None
        key = new_token(32)
        now = self.clock()
        for _ in range(20):
            code = new_code()
            try:
                with self.engine.begin() as connection:
                    connection.execute(t.rooms.insert().values(
                        code=code, teacher_digest=digest(key), created_at=now, expires_at=now + hours * 3600.0,
                        capacity=capacity, locked=False, closed=False, show_names=False, version=1, activity=1,
                        mode="follow", scenario=None, shock=0.0, prices="{}", question_id=None))
                return OpenedRoom(code=code, teacher_key=key, expires_at=now + hours * 3600.0)
            except IntegrityError:
                continue  # the code was taken: draw another
        raise RuntimeError("could not draw a free join code in 20 tries")

    def check_teacher(self, code: str, key: str) -> None:
        """Raise :class:`RoomError` unless ``key`` is the room's teacher key (closed rooms too)."""
        with self.engine.connect() as connection:
            self._teacher(connection, code, key, writing=False)

    def _teacher_update(self, code: str, key: str, *, seen: bool = True, **values: Any) -> None:
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(**values))
            self._bump(connection, room.id, seen=seen)

    def lock(self, code: str, key: str, locked: bool = True) -> None:
        """Lock the room (no one new may join) or unlock it."""
        self._teacher_update(code, key, locked=bool(locked))

    def close(self, code: str, key: str) -> None:
        """Close the room for good: no joins, answers or positions; results stay readable."""
        self._teacher_update(code, key, closed=True)

    def show_names(self, code: str, key: str, show: bool) -> None:
        """Show nicknames on the teacher's screens (anonymous by default)."""
        self._teacher_update(code, key, show_names=bool(show))

    def set_mode(self, code: str, key: str, mode: str) -> None:
        """``"follow"``: every student's lab follows the teacher; ``"explore"``: hands the controls back."""
        if mode not in MODES:
            raise RoomError("mode", f"must be 'follow' or 'explore', got {str(mode)[:20]!r}")
        self._teacher_update(code, key, mode=mode)

    def push_account(self, code: str, key: str, account: Mapping[str, Any]) -> None:
        """Put an account (a scenario dict, validated by the engine's loader) on every screen,
        at its own prices and no shock."""
        scenario = _checked_scenario(account)
        text = json.dumps(scenario_to_dict(scenario), sort_keys=True, separators=(",", ":"))
        if len(text) > MAX_SCENARIO_CHARS:
            raise RoomError("account", f"is too large for a room ({len(text):,} characters, at most {MAX_SCENARIO_CHARS:,})")
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
            connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(scenario=text, shock=0.0,
                                                                                     prices="{}"))
            self._bump(connection, room.id, seen=True)

    def move_market(self, code: str, key: str, *, shock: Any = None, prices: Mapping[str, Any] | None = None) -> None:
        """Move the whole-market ``shock`` [fraction, -0.9 to 0.9] and/or markets' slider
        ``prices`` [USDT, > 0] on every screen."""
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            if room.scenario is None:
                raise RoomError("account", "push an account to the room first")
            markets = json.loads(room.scenario)["markets"]
            values: dict[str, Any] = {}
            try:
                if shock is not None:
                    values["shock"] = number(shock, "shock", low=-0.9, high=0.9)
                if prices:
                    moved = json.loads(room.prices)
                    for name, value in prices.items():
                        if name not in markets:
                            raise RoomError("prices", f"{str(name)[:40]} is not a market of the room's account")
                        moved[name] = number(value, f"prices.{name}", low=0.0, low_open=True, high=1e12)
                    values["prices"] = json.dumps(moved, sort_keys=True)
            except RoomError:
                raise
            except ScenarioError as err:
                raise RoomError(err.field, err.problem) from None
            if values:
                connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(**values))
                connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
                self._bump(connection, room.id, seen=True)

    def move_replay(self, code: str, key: str, *, crash: Any = None, step: Any = None,
                    playing: bool | None = None) -> dict[str, Any] | None:
        """Put a crash replay on every screen (``crash``: a shipped crash's id; the one on
        screen when None), at ``step`` (0 = before the crash, up to its last step), playing or
        paused; the lab's shock and prices wait until the teacher moves them again. Returns the
        replay as stored."""
        from margin.crashes import crash_ids, load_crash
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            if room.scenario is None:
                raise RoomError("account", "push an account to the room first")
            now = connection.execute(select(t.room_replays).where(t.room_replays.c.room_id == room.id)).first()
            crash_id = crash if crash is not None else (now.crash if now is not None else None)
            if crash_id not in crash_ids():
                raise RoomError("crash", f"must be one of {', '.join(crash_ids())}, got {str(crash_id)[:40]!r}")
            last = load_crash(crash_id).n_steps - 1
            if step is None:
                step = now.step if now is not None and now.crash == crash_id else 0
            try:
                step = int(number(step, "step", low=0, high=last, integer=True))
            except ScenarioError as err:
                raise RoomError(err.field, err.problem) from None
            playing = bool(playing) if playing is not None else bool(now.playing if now is not None else False)
            connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
            connection.execute(t.room_replays.insert().values(room_id=room.id, crash=crash_id, step=step,
                                                              playing=playing))
            self._bump(connection, room.id, seen=True)
        return {"crash": crash_id, "step": step, "playing": playing}

    def stop_replay(self, code: str, key: str) -> None:
        """Take the crash replay off the screens: the lab at the room's shock and prices again."""
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
            self._bump(connection, room.id, seen=True)

    def participants(self, code: str, key: str) -> list[Participant]:
        """Everyone who joined, in order (the removed marked so)."""
        with self.engine.connect() as connection:
            room = self._teacher(connection, code, key, writing=False)
            rows = connection.execute(select(t.participants).where(t.participants.c.room_id == room.id)
                                      .order_by(t.participants.c.id)).all()
        return [Participant(id=r.id, nickname=r.nickname, joined_at=r.joined_at, removed=r.removed) for r in rows]

    def remove(self, code: str, key: str, participant_id: int) -> None:
        """Remove a participant: their link stops working; their answers stay in the results."""
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            done = connection.execute(update(t.participants).where(
                t.participants.c.id == int(participant_id), t.participants.c.room_id == room.id).values(removed=True))
            if done.rowcount == 0:
                raise RoomError("participant", "is not in this room")
            self._bump(connection, room.id, seen=True)

    def ask(self, code: str, key: str, question: Mapping[str, Any]) -> Question:
        """Put a question on every screen (see :mod:`classroom.questions`); a lesson's question
        pushes the lesson's account too. The engine's answer is computed now and kept."""
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            scenario = None if room.scenario is None else scenario_from_dict(json.loads(room.scenario))
            asked = prepare(question, scenario)
            number_ = 1 + connection.execute(select(func.count()).select_from(t.questions)
                                             .where(t.questions.c.room_id == room.id)).scalar_one()
            qid = connection.execute(t.questions.insert().values(
                room_id=room.id, number=number_, spec=json.dumps(asked.spec, sort_keys=True), text=asked.text,
                unit=asked.unit, engine_value=asked.value, asked_at=self.clock(), revealed=False)).inserted_primary_key[0]
            values: dict[str, Any] = {"question_id": qid}
            if asked.account is not None:  # the lesson's account, at its own prices
                connection.execute(t.room_replays.delete().where(t.room_replays.c.room_id == room.id))
                values.update(scenario=json.dumps(scenario_to_dict(_checked_scenario(asked.account)), sort_keys=True,
                                                  separators=(",", ":")), shock=0.0, prices="{}")
            connection.execute(update(t.rooms).where(t.rooms.c.id == room.id).values(**values))
            self._bump(connection, room.id, seen=True)
        return Question(number=number_, spec=asked.spec, text=asked.text, unit=asked.unit, revealed=False,
                        value=asked.value)

    def reveal(self, code: str, key: str) -> None:
        """Reveal the question on screen: answers close, every screen shows the engine's value."""
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            if room.question_id is None:
                raise RoomError("question", "none is on screen: ask one first")
            connection.execute(update(t.questions).where(t.questions.c.id == room.question_id).values(revealed=True))
            self._bump(connection, room.id, seen=True)

    def clear_question(self, code: str, key: str) -> None:
        """Take the question off the screens (it stays in the results)."""
        self._teacher_update(code, key, question_id=None)

    def answers(self, code: str, key: str, number_: int | None = None) -> Answers | None:
        """The answers to question ``number_`` (default: the one on screen), None if there is none."""
        with self.engine.connect() as connection:
            room = self._teacher(connection, code, key, writing=False)
            if number_ is None:
                if room.question_id is None:
                    return None
                q = connection.execute(select(t.questions).where(t.questions.c.id == room.question_id)).first()
            else:
                q = connection.execute(select(t.questions).where(
                    t.questions.c.room_id == room.id, t.questions.c.number == int(number_))).first()
            if q is None:
                return None
            rows = connection.execute(select(t.answers.c.value, t.answers.c.participant_id)
                                      .where(t.answers.c.question_id == q.id).order_by(t.answers.c.id)).all()
        return Answers(question=_question(q, show_value=True), values=tuple(r.value for r in rows),
                       participant_ids=tuple(r.participant_id for r in rows))

    def set_class_market(self, code: str, key: str, settings: Mapping[str, Any]) -> ClassMarket:
        """The class market's limits, depth and crowd (see :class:`classroom.market.ClassMarket`)."""
        market = check_class_market(settings)
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            connection.execute(t.class_markets.delete().where(t.class_markets.c.room_id == room.id))
            connection.execute(t.class_markets.insert().values(room_id=room.id, spec=json.dumps(market.as_dict())))
            self._bump(connection, room.id, seen=True)
        return market

    def class_market(self, code: str) -> ClassMarket:
        """The room's class market (the defaults until the teacher sets one)."""
        with self.engine.connect() as connection:
            room = self._room(connection, code)
            return self._market(connection, room.id)

    def _market(self, connection: Connection, room_id: int) -> ClassMarket:
        row = connection.execute(select(t.class_markets.c.spec).where(t.class_markets.c.room_id == room_id)).first()
        return ClassMarket() if row is None else class_market_from_dict(json.loads(row.spec))

    def run_cascade(self, code: str, key: str, shock: Any) -> dict[str, Any]:
        """Shock the class market by ``shock`` [fraction, -0.3 to 0.3]: the engine's cascade with
        every student's position riding it; stored as the room's next round, and returned."""
        try:
            shock = number(shock, "shock", low=-0.3, high=0.3)
        except ScenarioError as err:
            raise RoomError(err.field, err.problem) from None
        if shock == 0:
            raise RoomError("shock", "must move the price: 0 % starts no cascade")
        with self.engine.connect() as connection:
            room = self._teacher(connection, code, key)
            market = self._market(connection, room.id)
            rows = connection.execute(select(t.positions, t.participants.c.nickname).join(
                t.participants, t.participants.c.id == t.positions.c.participant_id).where(
                t.positions.c.room_id == room.id, t.participants.c.removed.is_(False)).order_by(t.positions.c.id)).all()
        students = [(r.participant_id, r.nickname, position_from_dict(r._mapping)) for r in rows]
        result = run_class_cascade(market, shock, students)
        result["market"] = market.as_dict()
        with self.engine.begin() as connection:
            room = self._teacher(connection, code, key)
            number_ = 1 + connection.execute(select(func.count()).select_from(t.cascade_runs)
                                             .where(t.cascade_runs.c.room_id == room.id)).scalar_one()
            result["number"] = number_
            connection.execute(t.cascade_runs.insert().values(room_id=room.id, number=number_, shock=shock,
                                                              result=json.dumps(result), ran_at=self.clock()))
            self._bump(connection, room.id, seen=True)
        return result

    def cascades(self, code: str, key: str) -> list[dict[str, Any]]:
        """Every class cascade of the room, in order (see :func:`classroom.market.run_class_cascade`)."""
        with self.engine.connect() as connection:
            room = self._teacher(connection, code, key, writing=False)
            rows = connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                                      .order_by(t.cascade_runs.c.number)).all()
        return [json.loads(r.result) for r in rows]

    def class_positions(self, code: str, key: str) -> list[dict[str, Any]]:
        """The students' open positions: ``{"participant_id", "nickname", "side", "mode", "leverage", "notional"}``."""
        with self.engine.connect() as connection:
            room = self._teacher(connection, code, key, writing=False)
            rows = connection.execute(select(t.positions, t.participants.c.nickname).join(
                t.participants, t.participants.c.id == t.positions.c.participant_id).where(
                t.positions.c.room_id == room.id).order_by(t.positions.c.id)).all()
        return [{"participant_id": r.participant_id, "nickname": r.nickname, "side": r.side, "mode": r.mode,
                 "leverage": r.leverage, "notional": r.notional} for r in rows]

    def results_csv(self, code: str, key: str) -> str:
        """The room's data as CSV: one row per answer (question, answer, engine value, error)
        and one per student per cascade round (position, fate, round). Nicknames only when the
        teacher chose to show them."""
        with self.engine.connect() as connection:
            room = self._teacher(connection, code, key, writing=False)
            people = {r.id: r.nickname for r in connection.execute(
                select(t.participants).where(t.participants.c.room_id == room.id)).all()}
            answered = connection.execute(select(t.questions, t.answers.c.value, t.answers.c.participant_id).join(
                t.answers, t.answers.c.question_id == t.questions.c.id).where(t.questions.c.room_id == room.id)
                .order_by(t.questions.c.number, t.answers.c.id)).all()
            runs = connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                                      .order_by(t.cascade_runs.c.number)).all()
        order = {pid: i + 1 for i, pid in enumerate(sorted(people))}

        def who(pid: int) -> str:
            return _cell(people[pid]) if room.show_names else f"Student {order.get(pid, 0)}"

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["room", "kind", "item", "student", "text", "unit", "answer", "engine_value", "error",
                         "side", "mode", "leverage", "notional_usdt", "fate", "round", "price_usdt"])
        for r in answered:
            writer.writerow([room.code, "answer", r.number, who(r.participant_id), _cell(r.text), r.unit, r.value,
                             r.engine_value, r.value - r.engine_value] + [""] * 7)
        for run in runs:
            result = json.loads(run.result)
            for s in result["students"]:
                p = s["position"]
                fate = "survived" if s["round"] is None else "liquidated"
                writer.writerow([room.code, "cascade", result["number"], who(s["participant_id"]),
                                 f"shock {result['shock'] * 100:g} %", "", "", "", "", p["side"], p["mode"],
                                 p["leverage"], p["notional"], fate, "" if s["round"] is None else s["round"],
                                 "" if s["price"] is None else s["price"]])
        return out.getvalue()

    # ------------------------------------------------------------------ students

    def join(self, code: Any, nickname: Any, *, client: str) -> Seat:
        """Join a room with its code and a nickname. ``client`` names where the attempt comes
        from (an address or a session): more than 10 failed attempts from it within a minute
        are refused for the rest of that minute, so codes cannot be guessed by trying."""
        client = str(client)[:128]
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(t.join_attempts.delete().where(t.join_attempts.c.at < now - JOIN_WINDOW))
            failed = connection.execute(select(func.count()).select_from(t.join_attempts).where(
                t.join_attempts.c.client == client, t.join_attempts.c.at >= now - JOIN_WINDOW)).scalar_one()
            if failed >= MAX_FAILED_JOINS:
                raise RoomError("code", "too many wrong tries from here: wait a minute, then type the code again")
        try:
            name = check_nickname(nickname)
            with self.engine.begin() as connection:
                room = self._room(connection, code, for_student=True)
                if room.locked:
                    raise RoomError("room", f"room {room.code} is locked: the teacher lets no one new in")
                people = connection.execute(select(t.participants.c.nickname).where(
                    t.participants.c.room_id == room.id, t.participants.c.removed.is_(False))).scalars().all()
                if len(people) >= room.capacity:
                    raise RoomError("room", f"room {room.code} is full ({room.capacity} students)")
                if name.casefold() in {p.casefold() for p in people}:
                    raise RoomError("nickname", f"{name} is taken in this room: pick another")
                token = new_token(16)
                pid = connection.execute(t.participants.insert().values(
                    room_id=room.id, token_digest=digest(token), nickname=name, joined_at=now,
                    removed=False)).inserted_primary_key[0]
                self._bump(connection, room.id, seen=False)
            return Seat(code=room.code, participant_id=int(pid), nickname=name, token=token)
        except RoomError as err:
            if err.field == "code":  # a wrong, closed or expired code counts as a guess
                with self.engine.begin() as connection:
                    connection.execute(t.join_attempts.insert().values(client=client, at=now))
            raise

    def seat(self, code: Any, token: Any) -> Seat:
        """The participant a link's token names in this room (RoomError if none, or removed)."""
        with self.engine.connect() as connection:
            room, row = self._seat(connection, code, token)
        return Seat(code=room.code, participant_id=row.id, nickname=row.nickname)

    def answer(self, code: Any, token: Any, value: Any) -> float:
        """A student's answer to the question on screen [its unit]; a second answer replaces
        the first until the reveal. Returns the answer as stored."""
        with self.engine.begin() as connection:
            room, seat = self._seat(connection, code, token)
            if room.question_id is None:
                raise RoomError("answer", "no question is open")
            q = connection.execute(select(t.questions).where(t.questions.c.id == room.question_id)).first()
            if q.revealed:
                raise RoomError("answer", "the answer has been revealed: answers are closed")
            answer = check_answer(value, q.unit)
            connection.execute(t.answers.delete().where(t.answers.c.question_id == q.id,
                                                        t.answers.c.participant_id == seat.id))
            connection.execute(t.answers.insert().values(question_id=q.id, participant_id=seat.id, value=answer,
                                                         answered_at=self.clock()))
            self._bump(connection, room.id, seen=False)
        return answer

    def my_answer(self, code: Any, token: Any) -> float | None:
        """The student's answer to the question on screen, None if none yet."""
        with self.engine.connect() as connection:
            room, seat = self._seat(connection, code, token)
            if room.question_id is None:
                return None
            return connection.execute(select(t.answers.c.value).where(
                t.answers.c.question_id == room.question_id, t.answers.c.participant_id == seat.id)).scalar()

    def open_position(self, code: Any, token: Any, position: Mapping[str, Any]) -> dict[str, Any]:
        """A student's one position in the class market (a new one replaces it), within the
        teacher's limits (:func:`classroom.market.check_position`)."""
        with self.engine.begin() as connection:
            room, seat = self._seat(connection, code, token)
            checked = check_position(position, self._market(connection, room.id))
            connection.execute(t.positions.delete().where(t.positions.c.room_id == room.id,
                                                          t.positions.c.participant_id == seat.id))
            connection.execute(t.positions.insert().values(
                room_id=room.id, participant_id=seat.id, side=checked.side, mode=checked.mode,
                leverage=checked.leverage, notional=checked.notional, opened_at=self.clock()))
            self._bump(connection, room.id, seen=False)
        return {"side": checked.side, "mode": checked.mode, "leverage": checked.leverage, "notional": checked.notional}

    def my_position(self, code: Any, token: Any) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            room, seat = self._seat(connection, code, token)
            row = connection.execute(select(t.positions).where(t.positions.c.room_id == room.id,
                                                               t.positions.c.participant_id == seat.id)).first()
        return None if row is None else {"side": row.side, "mode": row.mode, "leverage": row.leverage,
                                         "notional": row.notional}

    def my_fate(self, code: Any, token: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The latest class cascade and this student's fate in it, None before the first one
        (or when the student had no position then)."""
        with self.engine.connect() as connection:
            room, seat = self._seat(connection, code, token)
            row = connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                                     .order_by(t.cascade_runs.c.number.desc()).limit(1)).first()
        if row is None:
            return None
        result = json.loads(row.result)
        mine = next((s for s in result["students"] if s["participant_id"] == seat.id), None)
        return None if mine is None else (result, mine)


# ----------------------------------------------------------------------------- helpers


def _question(row: Any, *, show_value: bool) -> Question:
    return Question(number=row.number, spec=json.loads(row.spec), text=row.text, unit=row.unit,
                    revealed=bool(row.revealed), value=float(row.engine_value) if show_value else None)


def _checked_scenario(account: Any) -> Scenario:
    try:
        return scenario_from_dict(account)
    except ScenarioError as err:
        raise RoomError(f"account.{err.field}", err.problem) from None


def _cell(text: str) -> str:
    """Text for a spreadsheet cell: a leading = + - @ would be read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@dataclass(frozen=True, slots=True, kw_only=True)
class Reveal:
    """A revealed question for the class: the answers [unit], the engine's value, how many are
    close (:func:`classroom.questions.is_close`) and the typical mistakes found, each with how
    many made it."""

    question: Question
    values: tuple[float, ...]
    close: int
    mistakes: tuple[tuple[str, int], ...]


def reveal_summary(answers: Answers, scenario: Mapping[str, Any] | None) -> Reveal:
    """What the reveal shows, from the answers (``scenario``: the room's account, for a typed
    question's mistakes)."""
    q = answers.question
    value = float(q.value) if q.value is not None else math.nan
    parsed = None if scenario is None or q.spec.get("kind") == "lesson" else scenario_from_dict(scenario)
    counts: dict[str, int] = {}
    for answer in answers.values:
        words = typical_mistake(q.spec, answer, parsed, value)
        if words is not None:
            counts[words] = counts.get(words, 0) + 1
    return Reveal(question=q, values=answers.values, close=sum(is_close(a, value, q.unit) for a in answers.values),
                  mistakes=tuple(sorted(counts.items(), key=lambda kv: -kv[1])))


__all__ = ["Answers", "DATABASE_URL_ENV", "DATA_DIR_ENV", "OpenedRoom", "Participant", "Question", "Reveal",
           "RoomState", "RoomStore", "Seat", "default_url", "make_engine", "reveal_summary"]
