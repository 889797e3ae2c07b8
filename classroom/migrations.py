"""The schema's history and its upgrade, under a lock so that many servers can open one database.

``schema_version`` holds one row: the version of the tables in this database. :func:`upgrade`
runs in one transaction that first takes a lock (PostgreSQL ``pg_advisory_xact_lock``; SQLite an
exclusive transaction, ``BEGIN EXCLUSIVE``): four servers opening one empty database at once
find, one after the other, either nothing (the first creates the tables) or the tables made.
An empty database gets the tables of :mod:`classroom.schema` at once; an older one takes each
missing step in order. A database newer than this code is refused.

The versions: 1 the rooms, participants, questions, answers and join attempts; 2 the class
market (positions and cascade runs); 3 the crash replay the teacher drives; 4 the store by role
(folded nickname keys under a unique index, the failed-join counters, answers by round, question
kinds and timers, presence, the projector token, the replay's clock).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import (
    Boolean, Column, Connection, Engine, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint, bindparam, func, inspect, select, text, update,
)

from classroom import schema as t
from classroom.codes import nickname_key

LOCK_KEY = 0x6D61726C  # the advisory lock's number ("marl")


class SchemaError(RuntimeError):
    """A database this code cannot use (newer than it knows)."""


# ----------------------------------------------------------------------------- the tables as they were

legacy = MetaData()  # versions 1 to 3, as those versions created them (for upgrades and their tests)

_V1 = (
    Table("rooms", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("code", String(8), nullable=False, unique=True), Column("teacher_digest", String(64), nullable=False),
          Column("created_at", Float, nullable=False), Column("expires_at", Float, nullable=False),
          Column("capacity", Integer, nullable=False), Column("locked", Boolean, nullable=False),
          Column("closed", Boolean, nullable=False), Column("show_names", Boolean, nullable=False),
          Column("version", Integer, nullable=False), Column("activity", Integer, nullable=False),
          Column("mode", String(8), nullable=False), Column("scenario", Text, nullable=True),
          Column("shock", Float, nullable=False), Column("prices", Text, nullable=False),
          Column("question_id", Integer, nullable=True)),
    Table("participants", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
          Column("token_digest", String(64), nullable=False, unique=True),
          Column("nickname", String(64), nullable=False), Column("joined_at", Float, nullable=False),
          Column("removed", Boolean, nullable=False), Index("participants_room", "room_id")),
    Table("questions", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
          Column("number", Integer, nullable=False), Column("spec", Text, nullable=False),
          Column("text", Text, nullable=False), Column("unit", String(32), nullable=False),
          Column("engine_value", Float, nullable=False), Column("asked_at", Float, nullable=False),
          Column("revealed", Boolean, nullable=False), UniqueConstraint("room_id", "number")),
    Table("answers", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("question_id", Integer, ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
          Column("participant_id", Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
          Column("value", Float, nullable=False), Column("answered_at", Float, nullable=False),
          UniqueConstraint("question_id", "participant_id")),
    Table("join_attempts", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("client", String(128), nullable=False), Column("at", Float, nullable=False),
          Index("join_attempts_client", "client", "at")),
)
_V2 = (
    Table("class_markets", legacy, Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"),
                                          primary_key=True), Column("spec", Text, nullable=False)),
    Table("positions", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
          Column("participant_id", Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
          Column("side", String(8), nullable=False), Column("mode", String(8), nullable=False),
          Column("leverage", Float, nullable=False), Column("notional", Float, nullable=False),
          Column("opened_at", Float, nullable=False), UniqueConstraint("room_id", "participant_id")),
    Table("cascade_runs", legacy, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
          Column("number", Integer, nullable=False), Column("shock", Float, nullable=False),
          Column("result", Text, nullable=False), Column("ran_at", Float, nullable=False),
          UniqueConstraint("room_id", "number")),
)
_V3 = (
    Table("room_replays", legacy, Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"),
                                         primary_key=True),
          Column("crash", String(40), nullable=False), Column("step", Integer, nullable=False),
          Column("playing", Boolean, nullable=False)),
)


def _create(tables: tuple[Table, ...]) -> Callable[[Connection], None]:
    def step(connection: Connection) -> None:
        legacy.create_all(connection, tables=list(tables))
    return step


_ADDED = (  # version 4's new columns: (table, column DDL)
    ("rooms", "projector_digest VARCHAR(64)"), ("rooms", "questions_asked INTEGER NOT NULL DEFAULT 0"),
    ("participants", "nickname_key VARCHAR(96)"), ("participants", "session_digest VARCHAR(64)"),
    ("participants", "last_seen FLOAT"), ("questions", "kind VARCHAR(8) NOT NULL DEFAULT 'number'"),
    ("questions", "round INTEGER NOT NULL DEFAULT 1"), ("questions", "closes_at FLOAT"),
    ("room_replays", "started_at FLOAT"), ("room_replays", "steps_per_second FLOAT"),
    ("room_replays", "last_step INTEGER"),
)


def _step_4(connection: Connection) -> None:
    for table, column in _ADDED:
        connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column}"))
    connection.execute(update(t.rooms).values(questions_asked=select(func.coalesce(func.max(t.questions.c.number), 0))
                                              .where(t.questions.c.room_id == t.rooms.c.id).scalar_subquery()))
    taken: set[tuple[int, str]] = set()
    for row in connection.execute(select(t.participants.c.id, t.participants.c.room_id, t.participants.c.nickname)
                                  .order_by(t.participants.c.id)).all():
        key = nickname_key(row.nickname)
        if (row.room_id, key) in taken:  # two names that are one now: the later keeps its own key
            key = f"{key}#{row.id}"
        taken.add((row.room_id, key))
        connection.execute(update(t.participants).where(t.participants.c.id == row.id).values(nickname_key=key))
    t.metadata.create_all(connection, tables=[t.responses, t.join_limits])
    connection.execute(text("INSERT INTO responses (question_id, participant_id, round, value, answered_at) "
                            "SELECT question_id, participant_id, 1, value, answered_at FROM answers"))
    connection.execute(text("DROP TABLE answers"))
    connection.execute(text("DROP TABLE join_attempts"))
    connection.execute(update(t.room_replays).values(playing=bindparam("off", False)))  # a v3 replay had no clock
    for index in t.participants.indexes | t.rooms.indexes:
        if index.name in ("participants_nickname", "rooms_expires"):
            index.create(connection)


STEPS: tuple[Callable[[Connection], None], ...] = (_create(_V1), _create(_V2), _create(_V3), _step_4)
LATEST = len(STEPS)
assert LATEST == t.VERSION


def current_version(connection: Connection) -> int:
    """The schema version of the database behind ``connection`` (0 for an empty one)."""
    if not inspect(connection).has_table("schema_version"):
        return 0
    row = connection.execute(select(t.schema_version.c.version)).first()
    return 0 if row is None else int(row[0])


def _locked(engine: Engine) -> Connection:
    """A connection whose transaction (begun by the caller) holds the schema lock once begun."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="EXCLUSIVE").connect()
    return engine.connect()


def upgrade(engine: Engine, *, to: int = LATEST) -> int:
    """Bring the database up to version ``to`` (default: the latest), all in one transaction
    under the schema lock; returns the version it is at."""
    with _locked(engine) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        version = current_version(connection)
        if version > LATEST:
            raise SchemaError(f"database schema is version {version}; this Margin Lab knows up to {LATEST}")
        if version >= to:
            return version
        if version == 0 and to == LATEST:
            t.metadata.create_all(connection)
        else:
            t.metadata.create_all(connection, tables=[t.schema_version])
            for step in STEPS[version:to]:
                step(connection)
        connection.execute(t.schema_version.delete())
        connection.execute(t.schema_version.insert().values(version=to))
        return to


__all__ = ["LATEST", "LOCK_KEY", "STEPS", "SchemaError", "current_version", "legacy", "upgrade"]
