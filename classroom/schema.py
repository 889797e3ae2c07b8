"""The rooms' tables (SQLAlchemy Core) as they are now, and every rule the database itself keeps.

The constraints, each the one place its rule is enforced whatever the interleaving:

* a join code names one room (``rooms.code`` unique);
* one nickname per room: ``participants_nickname`` is unique on ``(room_id, nickname_key)``,
  the folded key of :func:`classroom.codes.nickname_key`; a removed student's row stays, so the
  same name cannot come back;
* one answer per seat per question and round: ``responses`` unique on ``(question_id,
  participant_id, round)`` (a second answer is an upsert on it, replacing the first);
* question numbers: ``rooms.questions_asked`` is bumped with ``UPDATE … RETURNING`` and
  ``questions`` is unique on ``(room_id, number)``; cascade rounds likewise unique per room;
* one position per student (``positions`` unique on ``(room_id, participant_id)``);
* the failed-join counters: one row per session or address in ``join_limits``, bumped with
  ``UPDATE … SET failures = failures + 1``.

Capacity is a locking read: every write to a room first takes the room's row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transactions begin ``IMMEDIATE``), so the
count of seats it reads cannot move before its insert. The history of the tables and the
upgrade of an older database are in :mod:`classroom.migrations`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint,
)

VERSION = 4  # the version these tables are (classroom.migrations.LATEST)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

rooms = Table(
    "rooms", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(8), nullable=False, unique=True),
    Column("teacher_digest", String(64), nullable=False),
    Column("projector_digest", String(64), nullable=True),  # the read-only projector token's digest
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
    Column("questions_asked", Integer, nullable=False, default=0, server_default="0"),
)
Index("rooms_expires", rooms.c.expires_at)

participants = Table(
    "participants", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("nickname", String(64), nullable=False),  # as typed (NFC), shown as text only
    Column("joined_at", Float, nullable=False),
    Column("removed", Boolean, nullable=False, default=False),
    Column("nickname_key", String(96), nullable=True),  # classroom.codes.nickname_key(nickname)
    Column("session_digest", String(64), nullable=True),  # the browser session that joined
    Column("last_seen", Float, nullable=True),  # [unix s], written at most every PRESENCE_EVERY
)
Index("participants_room", participants.c.room_id)
Index("participants_nickname", participants.c.room_id, participants.c.nickname_key, unique=True)

questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, ... within the room
    Column("spec", Text, nullable=False),  # what is asked, JSON (classroom.questions)
    Column("text", Text, nullable=False),
    Column("unit", String(32), nullable=False),
    Column("engine_value", Float, nullable=False),  # [unit]; a choice question: the right option's index
    Column("asked_at", Float, nullable=False),
    Column("revealed", Boolean, nullable=False, default=False),
    Column("kind", String(8), nullable=False, default="number", server_default="number"),  # or "choice"
    Column("round", Integer, nullable=False, default=1, server_default="1"),  # the round being answered
    Column("closes_at", Float, nullable=True),  # [unix s] answers close then; None: no timer
    UniqueConstraint("room_id", "number"),
)

responses = Table(
    "responses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question_id", Integer, ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
    Column("participant_id", Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False, default=1),
    Column("value", Float, nullable=False),  # [unit]; a choice question: the option's index
    Column("answered_at", Float, nullable=False),
    UniqueConstraint("question_id", "participant_id", "round", name="responses_one_per_round"),
)

join_limits = Table(
    "join_limits", metadata,
    Column("who", String(80), primary_key=True),  # "session:<digest>" or "address:<ip>"
    Column("window_start", Float, nullable=False),  # [unix s]
    Column("failures", Integer, nullable=False),
)

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
    Column("result", Text, nullable=False),  # JSON (classroom.market.run_class_cascade)
    Column("ran_at", Float, nullable=False),
    UniqueConstraint("room_id", "number"),
)

room_replays = Table(
    "room_replays", metadata,
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("crash", String(40), nullable=False),  # a shipped crash's id (margin.crashes.crash_ids)
    Column("step", Integer, nullable=False),  # the step at started_at (0 = before the crash)
    Column("playing", Boolean, nullable=False, default=False),
    Column("started_at", Float, nullable=True),  # [unix s] when it stood at ``step``, playing
    Column("steps_per_second", Float, nullable=True),  # [1/s] while playing
    Column("last_step", Integer, nullable=True),  # the crash's last step
)


__all__ = ["VERSION", "cascade_runs", "class_markets", "join_limits", "metadata", "participants", "positions",
           "questions", "responses", "room_replays", "rooms", "schema_version"]
