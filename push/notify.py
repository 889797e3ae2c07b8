"""Change notification across processes: which rooms' screens moved, told to each process once.

Every change a student's screen shows bumps the room's ``version`` in the database
(:mod:`classroom.store`), whichever server process made it. Each process that serves event
streams runs one :class:`Watcher`, never one per student:

* **PostgreSQL**: ``LISTEN margin_lab_rooms`` on one connection of its own. A trigger on the
  ``rooms`` table (:func:`install_trigger`, idempotent) sends ``NOTIFY margin_lab_rooms,
  '<code>:<version>'`` when a row's ``version`` or ``closed`` changes; the notification is
  delivered when the writing transaction commits, so the state read after it is the new one.
  Every ``sweep`` seconds (and on every reconnect) one query reads the marks of all watched
  rooms, which catches a notification lost with a dropped connection and a room that expired
  without a write.
* **SQLite** (no notifications): every ``interval`` seconds, when any room is watched, one
  query reads the marks (``code, version, closed, expires_at``) of all watched rooms.

A watcher only reports; the hub (:mod:`push.hub`) compares marks with what it has shown. No
Streamlit, no Starlette here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable, Collection, Mapping

from sqlalchemy import Engine, select, text

from classroom import schema as t

CHANNEL = "margin_lab_rooms"
WATCH_SECONDS = 0.15  # SQLite: how often the one query runs [s]
SWEEP_SECONDS = 5.0  # PostgreSQL: how often the marks are read besides the notifications [s]
RETRY_SECONDS = 1.0  # after a failed query or a lost listening connection [s]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomMark:
    """What tells a watcher that a room's screen moved: its ``version``, whether it is
    ``closed`` and when it expires [unix s]."""

    code: str
    version: int
    closed: bool
    expires_at: float


def read_marks(engine: Engine, codes: Collection[str]) -> dict[str, RoomMark]:
    """The marks of the rooms ``codes`` (a missing room is absent), in one query."""
    if not codes:
        return {}
    query = select(t.rooms.c.code, t.rooms.c.version, t.rooms.c.closed, t.rooms.c.expires_at).where(
        t.rooms.c.code.in_(sorted(codes)))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return {r.code: RoomMark(code=r.code, version=int(r.version), closed=bool(r.closed),
                             expires_at=float(r.expires_at)) for r in rows}


_TRIGGER = (
    "SELECT pg_advisory_xact_lock(hashtext('margin_lab_rooms_notify'))",
    f"""CREATE OR REPLACE FUNCTION margin_lab_room_changed() RETURNS trigger AS $$
BEGIN
  IF NEW.version IS DISTINCT FROM OLD.version OR NEW.closed IS DISTINCT FROM OLD.closed THEN
    PERFORM pg_notify('{CHANNEL}', NEW.code || ':' || NEW.version);
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    "CREATE OR REPLACE TRIGGER margin_lab_room_changed AFTER UPDATE ON rooms "
    "FOR EACH ROW EXECUTE FUNCTION margin_lab_room_changed()",
)


def install_trigger(engine: Engine) -> bool:
    """On PostgreSQL (14 or later), make every change of a room's ``version`` or ``closed``
    notify :data:`CHANNEL`: idempotent, safe from many processes at once (an advisory lock
    orders them). Returns False, doing nothing, on another database."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.begin() as connection:
        for statement in _TRIGGER:
            connection.execute(text(statement))
    return True


def parse_payload(payload: str) -> tuple[str, int] | None:
    """``"<code>:<version>"`` from a notification; None when it is not one.

    >>> parse_payload("ABC234:17")
    ('ABC234', 17)
    >>> parse_payload("garbage") is None
    True
    """
    code, _, version = payload.partition(":")
    return (code, int(version)) if code and version.isdigit() else None


class Watcher:
    """The one change watcher of a process, on the store's ``engine``. :meth:`run` reports, until
    cancelled, the marks of the rooms ``watched()`` names to ``seen`` and, on PostgreSQL, each
    notification to ``poked(code, version)``. ``queries`` counts the mark queries it ran."""

    def __init__(self, engine: Engine, *, interval: float = WATCH_SECONDS, sweep: float = SWEEP_SECONDS):
        self.engine = engine
        self.interval = interval
        self.sweep = sweep
        self.queries = 0
        self.errors = 0
        self.listening = asyncio.Event()  # PostgreSQL: set while the LISTEN connection is up

    @property
    def notifies(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def run(self, watched: Callable[[], Collection[str]], seen: Callable[[Mapping[str, RoomMark]], None],
                  poked: Callable[[str, int], None]) -> None:
        if self.notifies:
            await self._listen(watched, seen, poked)
        else:
            while True:
                await asyncio.sleep(self.interval)
                await self._marks(watched, seen)

    async def _marks(self, watched: Callable[[], Collection[str]], seen: Callable[[Mapping[str, RoomMark]], None]) -> None:
        codes = list(watched())
        if not codes:
            return
        try:
            self.queries += 1
            marks = await asyncio.to_thread(read_marks, self.engine, codes)
        except Exception:  # a locked or lost database: the next round tries again
            self.errors += 1
            log.warning("room watcher: reading the rooms' marks failed", exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)
            return
        seen(marks)

    async def _listen(self, watched: Callable[[], Collection[str]], seen: Callable[[Mapping[str, RoomMark]], None],
                      poked: Callable[[str, int], None]) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while True:
                        await self._marks(watched, seen)  # what moved while not listening, and expiries
                        async for note in connection.notifies(timeout=self.sweep):
                            parsed = parse_payload(note.payload)
                            if parsed is not None:
                                poked(*parsed)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database restarted or the connection dropped: listen again
                self.errors += 1
                log.warning("room watcher: the LISTEN connection failed; reconnecting", exc_info=True)
            self.listening.clear()
            await asyncio.sleep(RETRY_SECONDS)


__all__ = ["CHANNEL", "RoomMark", "SWEEP_SECONDS", "WATCH_SECONDS", "Watcher", "install_trigger", "parse_payload",
           "read_marks"]
