"""Faults of the room store become sentences, never raw exceptions, and nothing is lost in
silence: four processes opening one empty database at once, a SQLite file deleted or replaced
under a running store, a database locked or unreachable, connections dropped, an upgrade of a
version 3 database with its rooms, and a backup restored."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from classroom import RoomError, RoomStore, StoreGone, StoreUnavailable, migrations, schema
from classroom.store import db as store_db
from tests.paths import ROOT

OPEN_AT_ONCE = """
import sys
from classroom import RoomStore
print("ready", flush=True)
sys.stdin.readline()
store = RoomStore(sys.argv[1])
print(store.schema_version, store.open_room().code)
store.dispose()
"""


def test_four_processes_open_one_empty_database_at_once(url):
    runs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, url], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for run in runs:  # every interpreter started and imported: then all open the database at once
        assert run.stdout.readline().strip() == "ready", run.stderr.read()[-800:]
    for run in runs:
        run.stdin.write("go\n")
        run.stdin.flush()
    outcomes = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [err[-800:] for _, err in outcomes]
    assert sorted(out.split()[0] for out, _ in outcomes) == ["4"] * 4
    store = RoomStore(url)
    with store.engine.connect() as connection:
        assert connection.execute(select(schema.schema_version.c.version)).scalars().all() == [4]
        assert connection.execute(select(func.count()).select_from(schema.rooms)).scalar_one() == 4
    store.dispose()


def test_a_sqlite_file_deleted_under_the_store_stops_it_with_a_sentence(tmp_path, caplog):
    path = tmp_path / "rooms.sqlite3"
    store = RoomStore(f"sqlite:///{path}")
    room = store.open_room()
    for name in [p for p in tmp_path.iterdir() if p.name.startswith("rooms.sqlite3")]:
        name.unlink()
    with caplog.at_level(logging.ERROR, logger="classroom"):
        for call, args in [(store.join, (room.code, "Ada")), (store.open_room, ()), (store.version, (room.code,))]:
            with pytest.raises(StoreGone) as caught:
                call(*args, **({"session": "s"} if call == store.join else {}))
            assert caught.value.field == "database" and "gone or been replaced" in str(caught.value)
            assert caught.value.error_id in str(caught.value) and caught.value.error_id in caplog.text
    assert not path.exists()  # nothing written into a new empty file
    store.dispose()


def test_a_sqlite_file_replaced_under_the_store_stops_it(tmp_path):
    path = tmp_path / "rooms.sqlite3"
    store = RoomStore(f"sqlite:///{path}")
    room = store.open_room()
    other = RoomStore(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    other.open_room()
    other.dispose()
    os.replace(tmp_path / "other.sqlite3", path)
    with pytest.raises(StoreGone):
        store.join(room.code, "Ada", session="s")
    store.dispose()


def test_a_locked_sqlite_database_is_a_sentence_then_recovers(tmp_path, monkeypatch):
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(store_db, "BACKOFF", 0.01)
    path = tmp_path / "rooms.sqlite3"
    store = RoomStore(f"sqlite:///{path}")
    room = store.open_room()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.join(room.code, "Ada", session="s")
        assert "not reachable just now; try again in a moment" in str(caught.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.join(room.code, "Ada", session="s").nickname == "Ada"  # by itself, once the lock is gone
    store.dispose()


def test_an_unreachable_postgresql_is_a_sentence_with_a_logged_id(caplog, monkeypatch):
    import socket
    monkeypatch.setattr(store_db, "BACKOFF", 0.01)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    with caplog.at_level(logging.ERROR, logger="classroom"):
        store = RoomStore(f"postgresql://postgres@127.0.0.1:{port}/rooms")  # a server starting in an outage
        with pytest.raises(StoreUnavailable) as caught:
            store.open_room()
    assert isinstance(caught.value, RoomError) and "not reachable" in str(caught.value)
    assert str(port) not in str(caught.value)  # no host or port for a visitor; the log has them
    assert caught.value.error_id in caplog.text and str(port) in caplog.text


def test_a_store_opened_during_an_outage_recovers_by_itself(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the store's folder should be")
    store = RoomStore(f"sqlite:///{blocker / 'rooms.sqlite3'}")  # never raises: a page can always hold it
    with pytest.raises(StoreUnavailable, match="not reachable"):
        store.open_room()
    blocker.unlink()  # the cause goes away
    room = store.open_room()
    assert store.join(room.code, "Ada", session="s").nickname == "Ada" and store.schema_version == 4
    store.dispose()


def test_dropped_postgresql_connections_are_retried(pg_url, pg_server_url):
    import psycopg
    store = RoomStore(pg_url)
    room = store.open_room()
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    assert store.join(room.code, "Ada", session="s").nickname == "Ada"
    store.dispose()


def test_a_version_3_database_upgrades_with_its_rooms(url):
    engine = store_db.make_engine(url)
    assert migrations.upgrade(engine, to=3) == 3
    legacy = migrations.legacy.tables
    with engine.begin() as connection:
        connection.execute(legacy["rooms"].insert().values(
            id=1, code="ABCDEF", teacher_digest="0" * 64, created_at=0.0, expires_at=4e9, capacity=60, locked=False,
            closed=False, show_names=False, version=5, activity=9, mode="follow", scenario=None, shock=0.0,
            prices="{}", question_id=1))
        for pid, name in ((1, "Ada"), (2, "ＡＤＡ"), (3, "Bob")):
            connection.execute(legacy["participants"].insert().values(
                id=pid, room_id=1, token_digest=str(pid) * 64, nickname=name, joined_at=0.0, removed=False))
        connection.execute(legacy["questions"].insert().values(
            id=1, room_id=1, number=2, spec='{"kind": "liquidation_shock"}', text="?", unit="%", engine_value=-5.0,
            asked_at=0.0, revealed=False))
        connection.execute(legacy["answers"].insert().values(question_id=1, participant_id=1, value=-4.0, answered_at=1.0))
        connection.execute(legacy["room_replays"].insert().values(room_id=1, crash="x", step=3, playing=True))
    engine.dispose()
    store = RoomStore(url)
    assert store.schema_version == 4
    with store.engine.connect() as connection:
        keys = connection.execute(select(schema.participants.c.nickname_key).order_by(schema.participants.c.id)).all()
        assert [k[0] for k in keys] == ["ada", "ada#2", "bob"]  # the second "ADA" keeps its seat, under its own key
        assert connection.execute(select(schema.rooms.c.questions_asked)).scalar_one() == 2
        assert connection.execute(select(schema.responses.c.round, schema.responses.c.value)).all() == [(1, -4.0)]
        assert not connection.execute(select(schema.room_replays.c.playing)).scalar_one()
        assert "answers" not in {r[0] for r in connection.execute(text(
            "SELECT name FROM sqlite_master" if url.startswith("sqlite") else
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()}
    with pytest.raises(RoomError, match="taken"):
        store.join("ABCDEF", "ada", session="s")
    store.dispose()


def test_a_backup_restores_the_rooms(tmp_path):
    url = f"sqlite:///{tmp_path / 'live' / 'rooms.sqlite3'}"
    store = RoomStore(url)
    rooms = [store.open_room() for _ in range(3)]
    seat = store.join(rooms[0].code, "Ada", session="s")
    backup = tmp_path / "backups" / "rooms-monday.sqlite3"
    command = [sys.executable, "-m", "classroom", "--url", url]
    done = subprocess.run([*command, "backup", str(backup)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "backed up" in done.stdout, done.stderr
    store.open_room()  # after the backup: lost in the restore, as expected
    store.dispose()
    for name in (tmp_path / "live").iterdir():
        name.unlink()  # the disk is lost
    done = subprocess.run([*command, "restore", str(backup)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "restored" in done.stdout, done.stderr
    back = RoomStore(url)
    assert back.my_rooms([(r.code, r.teacher_key) for r in rooms]) != []
    assert {r.code for r in back.my_rooms([(r.code, r.teacher_key) for r in rooms])} == {r.code for r in rooms}
    assert back.seat(rooms[0].code, seat.token).nickname == "Ada"
    back.dispose()


def test_backup_and_restore_refuse_in_words(tmp_path, capsys):
    from classroom.__main__ import main
    cases = [(["--url", "postgresql://u@h/db", "backup", str(tmp_path / "b")], "pg_dump"),
             (["--url", f"sqlite:///{tmp_path / 'none.sqlite3'}", "backup", str(tmp_path / "b")], "no room store"),
             (["--url", f"sqlite:///{tmp_path / 'r.sqlite3'}", "restore", str(tmp_path / "missing")], "no backup")]
    (tmp_path / "junk").write_text("not a database")
    cases.append((["--url", f"sqlite:///{tmp_path / 'r.sqlite3'}", "restore", str(tmp_path / "junk")], "not a Margin"))
    for args, words in cases:
        assert main(args) == 2
        assert words in capsys.readouterr().err
    assert not Path(tmp_path / "r.sqlite3").exists()
