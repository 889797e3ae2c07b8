"""Backup and restore as docs/operations.md tells an operator to do them, then the rooms read
back through the store: SQLite with ``python -m classroom backup/restore`` (SQLite's online
backup API, taken while a store is open and writing) and PostgreSQL with ``pg_dump -Fc`` and
``pg_restore --clean --if-exists`` into an empty database (skipped without PostgreSQL, failed in CI)."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
import uuid

import pytest

from classroom import RoomStore
from margin.presets import load_story
from tests.paths import ROOT
from tests.services_pg import libpq_url


def some_rooms(store: RoomStore):
    """Two rooms, an account pushed, a question asked and answered: what a class leaves behind."""
    rooms = [store.open_room() for _ in range(2)]
    store.push_account(rooms[0].code, rooms[0].teacher_key, load_story("default"))
    store.ask(rooms[0].code, rooms[0].teacher_key, {"kind": "lesson", "lesson": "cross-exposure"})
    seat = store.join(rooms[0].code, "Ada", session="s")
    store.answer(rooms[0].code, seat.token, 91_000.0)
    return rooms, seat


def read_back(url: str, rooms, seat) -> None:
    back = RoomStore(url)
    try:
        assert {r.code for r in back.my_rooms([(r.code, r.teacher_key) for r in rooms])} == {r.code for r in rooms}
        assert back.seat(rooms[0].code, seat.token).nickname == "Ada"
        assert back.my_answer(rooms[0].code, seat.token) == 91_000.0
        assert back.state(rooms[0].code).scenario is not None  # the pushed account came back too
    finally:
        back.dispose()


def test_a_sqlite_backup_taken_while_the_store_writes_restores_every_room(tmp_path):
    url = f"sqlite:///{tmp_path / 'live' / 'rooms.sqlite3'}"
    store = RoomStore(url)  # open (WAL mode): recent writes sit in the -wal file when the backup runs
    rooms, seat = some_rooms(store)
    backup = tmp_path / "rooms-backup.sqlite3"
    command = [sys.executable, "-m", "classroom", "--url", url]
    done = subprocess.run([*command, "backup", str(backup)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    store.dispose()
    shutil.rmtree(tmp_path / "live")  # the disk is lost
    done = subprocess.run([*command, "restore", str(backup)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    read_back(url, rooms, seat)


def _tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.skip(f"{name} is not installed")
    return found[-1]


def test_a_pg_dump_restores_every_room_into_an_empty_database(pg_url, pg_server_url, tmp_path):
    import psycopg

    store = RoomStore(pg_url)
    rooms, seat = some_rooms(store)
    store.dispose()
    dump = tmp_path / "rooms.dump"
    done = subprocess.run([_tool("pg_dump"), "-Fc", "-f", str(dump), libpq_url(pg_url)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    base, _, _ = pg_server_url.rpartition("/")
    fresh = f"{base}/room_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{fresh.rpartition("/")[2]}"')
    try:
        done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "-d", fresh, str(dump)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        read_back(fresh, rooms, seat)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{fresh.rpartition("/")[2]}" WITH (FORCE)')
