"""The store's way into its database: engines, transactions that retry, faults become sentences.

* **Where.** :func:`default_url`: ``MARGIN_LAB_DATABASE_URL`` (PostgreSQL through psycopg 3),
  else the SQLite file ``rooms.sqlite3`` in ``MARGIN_LAB_DATA_DIR`` (default ``data/``).
* **Transactions.** :meth:`Database.read` and :meth:`Database.write` run one function in one
  transaction. On SQLite (WAL mode) a write transaction begins ``BEGIN IMMEDIATE``: it takes
  the write lock at once, so a transaction that read first never fails to upgrade its lock; on
  PostgreSQL a write to a room first locks the room's row (:func:`classroom.store.room.room_row`).
* **Retries.** "database is locked", a serialization failure or deadlock, a dropped connection
  and a constraint clash (another writer won the race; the next try sees it and answers in
  words) are tried again up to :data:`ATTEMPTS` times, backing off. What still fails is logged
  in full (logger ``classroom``) under a short id, and becomes :class:`StoreUnavailable`, a
  :class:`RoomError` whose sentence a student can read and which carries the id.
* **The file gone.** A SQLite store records its file's device and inode when it opens and
  compares them before every transaction: a file deleted or replaced under the running server
  stops the store with :class:`StoreGone` instead of writing rooms into a file nobody reads.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from classroom import migrations
from classroom.codes import RoomError, StoreGone, StoreUnavailable

ROOT = Path(__file__).resolve().parent.parent.parent
DATA_DIR_ENV = "MARGIN_LAB_DATA_DIR"
DATABASE_URL_ENV = "MARGIN_LAB_DATABASE_URL"
ATTEMPTS = 4  # tries of one transaction before the store gives up
BACKOFF = 0.05  # [s] the first pause between tries; doubled each time, with jitter
BUSY_TIMEOUT_MS = 5000  # SQLite waits this long for the write lock before "database is locked" [ms]

log = logging.getLogger("classroom")
T = TypeVar("T")


def default_url() -> str:
    """``MARGIN_LAB_DATABASE_URL`` if set (``postgresql://…`` uses psycopg), else a SQLite
    file ``rooms.sqlite3`` in ``MARGIN_LAB_DATA_DIR`` (default: ``data/`` in the repository)."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    folder = Path(os.environ.get(DATA_DIR_ENV) or ROOT / "data")
    return f"sqlite:///{folder / 'rooms.sqlite3'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite ``url`` (None for another database or an in-memory one).

    >>> sqlite_path("sqlite:////tmp/r.sqlite3"), sqlite_path("sqlite://"), sqlite_path("postgresql://h/db")
    (PosixPath('/tmp/r.sqlite3'), None, None)
    """
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``: SQLite in WAL mode with a 5 s busy timeout, foreign keys
    on and transactions begun explicitly (``BEGIN`` + the ``sqlite_begin`` execution option:
    ``IMMEDIATE`` for writes, ``EXCLUSIVE`` for the schema upgrade); PostgreSQL through psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver begins nothing itself: "begin" below does
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
    return engine


def _retryable(err: BaseException) -> bool:
    """Whether trying the transaction again may succeed: locked, busy, a serialization failure
    or deadlock, a lost connection, or a constraint another writer's commit just took."""
    if isinstance(err, IntegrityError):
        return True
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, OperationalError):
        words = str(err.orig).lower()
        return "readonly" not in words and "read-only" not in words and "no such" not in words
    return False


def fault(err: BaseException, problem: str = "") -> StoreUnavailable:
    """``err`` logged in full under a fresh short id, as the :class:`StoreUnavailable` to raise."""
    error_id = secrets.token_hex(4)
    log.error("classroom store error %s: %s", error_id, err, exc_info=err)
    if isinstance(err, IntegrityError):
        problem = (f"the classroom database could not save that because of a clash with another change; "
                   f"try again (error {error_id})")
    return StoreUnavailable(problem=problem, error_id=error_id)


class Database:
    """One database (``url``) behind a connection pool, read and written through :meth:`read`
    and :meth:`write`; ``clock`` gives the time [unix s] every rule of the store reads."""

    def __init__(self, url: str, *, clock: Callable[[], float]) -> None:
        self.url = url
        self.clock = clock
        self.path = sqlite_path(url)
        self.identity: tuple[int, int] | None = None
        self._engine: Engine | None = None
        self._version: int | None = None
        self._opening = threading.Lock()
        try:
            self.ready()
        except StoreUnavailable:
            pass  # logged: the first read or write tries again, and says so in words if it still fails

    def ready(self) -> int:
        """Open the database and bring its schema up to date, once (the schema version): a
        database unreachable now is tried again at the next call, so a server started during
        an outage recovers by itself. :class:`migrations.SchemaError` for a newer database."""
        if self._version is not None:
            return self._version
        with self._opening:
            if self._engine is None:
                try:
                    self._engine = make_engine(self.url)
                except (OSError, SQLAlchemyError) as err:
                    raise fault(err) from None
            if self._version is None:
                engine = self._engine
                self._version = self._retry(lambda: migrations.upgrade(engine))
                if self.path is not None:
                    stat = os.stat(self.path)
                    self.identity = (stat.st_dev, stat.st_ino)
        return self._version

    @property
    def engine(self) -> Engine:
        self.ready()
        assert self._engine is not None
        return self._engine

    @property
    def schema_version(self) -> int:
        return self.ready()

    def read(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in a read transaction (retried on a passing fault)."""
        engine = self.engine
        return self._retry(lambda: self._once(work, engine))

    def write(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in a write transaction, committed when it returns (rolled back
        when it raises), retried on a passing fault."""
        engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        return self._retry(lambda: self._once(work, engine))

    def _once(self, work: Callable[[Connection], T], engine: Engine) -> T:
        self.check_file()
        with engine.begin() as connection:
            return work(connection)

    def _retry(self, attempt: Callable[[], T]) -> T:
        for n in range(ATTEMPTS):
            try:
                return attempt()
            except RoomError:
                raise
            except (SQLAlchemyError, OSError) as err:
                if n == ATTEMPTS - 1 or not isinstance(err, SQLAlchemyError) or not _retryable(err):
                    raise fault(err) from None
                time.sleep(BACKOFF * 2 ** n * (1.0 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def check_file(self) -> None:
        """:class:`StoreGone` when the SQLite file is not the one opened (deleted or replaced)."""
        if self.path is None or self.identity is None:
            return
        try:
            stat = os.stat(self.path)
            same = (stat.st_dev, stat.st_ino) == self.identity
        except OSError:
            same = False
        if not same:
            error_id = secrets.token_hex(4)
            log.error("classroom store error %s: the database file %s was deleted or replaced under the server",
                      error_id, self.path)
            raise StoreGone(problem=f"the classroom's database file has gone or been replaced; nothing more "
                                    f"can be saved until the server is restarted (error {error_id})",
                            error_id=error_id)

    def dispose(self) -> None:
        """Close the connections (the data stays)."""
        if self._engine is not None:
            self._engine.dispose()


__all__ = ["ATTEMPTS", "DATABASE_URL_ENV", "DATA_DIR_ENV", "Database", "default_url", "fault", "make_engine",
           "sqlite_path"]
