"""The rooms' tables (SQLAlchemy Core) and the schema's version, which upgrades itself.

``schema_version`` holds one row: the version of the tables in this database. :func:`upgrade`
applies each missing step of :data:`STEPS` in order, each in its own transaction, and refuses a
database newer than this code. Step 1 holds the rooms, their participants, questions, answers
and join attempts; step 2 adds the class market (positions and cascade runs); step 3 the crash
replay the teacher drives.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import (
    Boolean, Column, Connection, Engine, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint, inspect, select,
)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

rooms = Table(
    "rooms", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(8), nullable=False, unique=True),
    Column("teacher_digest", String(64), nullable=False),
    Column("created_at", Float, nullable=False),  # [unix s]
    Column("expires_at", Float, nullable=False),  # [unix s]
    Column("capacity", Integer, nullable=False),
    Column("locked", Boolean, nullable=False, default=False),
    Column("closed", Boolean, nullable=False, default=False),
    Column("show_names", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=1),  # bumps when what students see changes
    Column("activity", Integer, nullable=False, default=1),  # bumps on any change (joins, answers too)
    Column("mode", String(8), nullable=False, default="follow"),  # "follow" or "explore"
    Column("scenario", Text, nullable=True),  # the pushed account, scenario JSON
    Column("shock", Float, nullable=False, default=0.0),  # [fraction]
    Column("prices", Text, nullable=False, default="{}"),  # market -> slider price [USDT], JSON
    Column("question_id", Integer, nullable=True),  # the question on screen
)

participants = Table(
    "participants", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("nickname", String(64), nullable=False),
    Column("joined_at", Float, nullable=False),
    Column("removed", Boolean, nullable=False, default=False),
)
Index("participants_room", participants.c.room_id)

questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, ... within the room
    Column("spec", Text, nullable=False),  # what is asked, JSON (classroom.questions)
    Column("text", Text, nullable=False),
    Column("unit", String(32), nullable=False),
    Column("engine_value", Float, nullable=False),
    Column("asked_at", Float, nullable=False),
    Column("revealed", Boolean, nullable=False, default=False),
    UniqueConstraint("room_id", "number"),
)

answers = Table(
    "answers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question_id", Integer, ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
    Column("participant_id", Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    Column("value", Float, nullable=False),
    Column("answered_at", Float, nullable=False),
    UniqueConstraint("question_id", "participant_id"),
)

join_attempts = Table(
    "join_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(128), nullable=False),
    Column("at", Float, nullable=False),
)
Index("join_attempts_client", join_attempts.c.client, join_attempts.c.at)

STEP_1 = (rooms, participants, questions, answers, join_attempts)

class_markets = Table(
    "class_markets", metadata,
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("spec", Text, nullable=False),  # limits, depth and crowd, JSON (classroom.market)
)

positions = Table(
    "positions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("participant_id", Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    Column("side", String(8), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("leverage", Float, nullable=False),  # [x]
    Column("notional", Float, nullable=False),  # [USDT] at entry
    Column("opened_at", Float, nullable=False),
    UniqueConstraint("room_id", "participant_id"),
)

cascade_runs = Table(
    "cascade_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, ... within the room
    Column("shock", Float, nullable=False),  # [fraction]
    Column("result", Text, nullable=False),  # JSON (classroom.market.ClassCascade.as_dict)
    Column("ran_at", Float, nullable=False),
    UniqueConstraint("room_id", "number"),
)

STEP_2 = (class_markets, positions, cascade_runs)

room_replays = Table(
    "room_replays", metadata,
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("crash", String(40), nullable=False),  # a shipped crash's id (margin.crashes.crash_ids)
    Column("step", Integer, nullable=False),  # the step on screen, 0 = before the crash
    Column("playing", Boolean, nullable=False, default=False),
)

STEP_3 = (room_replays,)


def _create(tables: tuple[Table, ...]) -> Callable[[Connection], None]:
    def step(connection: Connection) -> None:
        metadata.create_all(connection, tables=list(tables))
    return step


STEPS: tuple[Callable[[Connection], None], ...] = (_create(STEP_1), _create(STEP_2), _create(STEP_3))
LATEST = len(STEPS)


class SchemaError(RuntimeError):
    """A database this code cannot use (newer than it knows)."""


def current_version(connection: Connection) -> int:
    """The schema version of the database behind ``connection`` (0 for an empty one)."""
    if not inspect(connection).has_table("schema_version"):
        return 0
    row = connection.execute(select(schema_version.c.version)).first()
    return 0 if row is None else int(row[0])


def upgrade(engine: Engine, *, to: int = LATEST) -> int:
    """Bring the database up to version ``to`` (default: the latest), step by step; returns
    the version it is at. Safe to call from many processes at once (each step and its version
    bump are one transaction; a step already taken is skipped)."""
    with engine.begin() as connection:
        metadata.create_all(connection, tables=[schema_version])
        if connection.execute(select(schema_version.c.version)).first() is None:
            connection.execute(schema_version.insert().values(version=0))
    while True:
        with engine.begin() as connection:
            version = current_version(connection)
            if version > LATEST:
                raise SchemaError(f"database schema is version {version}; this Margin Lab knows up to {LATEST}")
            if version >= to:
                return version
            STEPS[version](connection)
            connection.execute(schema_version.update().where(schema_version.c.version == version)
                               .values(version=version + 1))


__all__ = ["LATEST", "STEPS", "SchemaError", "answers", "cascade_runs", "class_markets", "current_version",
           "join_attempts", "metadata", "participants", "positions", "questions", "room_replays", "rooms", "schema_version",
           "upgrade"]
