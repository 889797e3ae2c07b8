"""The push transport on a real server (``streamlit run serve_app.py``, the ASGI entry) on
SQLite and PostgreSQL: a store write from another process (this test's) reaches an event-stream
client within a second, a reconnect starts at the current screen, a closed room ends the stream;
nothing secret travels; bad tickets get one 404; a stopped server ends its streams; and the
events pass through the project's nginx (deploy/nginx/nginx.conf as it is) at once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from urllib.parse import urlencode

import pytest

from classroom import RoomStore
from deploy.farm import nginx_command, render_nginx, stop_process, wait_healthy
from margin.presets import load_story
from push.listen import EventStreamClient, StreamRefused
from push.ticket import issue_ticket, stream_key
from tests.apart import run_apart
from tests.conftest import _free_port, start_streamlit, stop_streamlit
from tests.paths import ROOT

pytestmark = pytest.mark.servers

SECRET = "push-test-cookie-secret"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rooms.sqlite3'}"
    return request.getfixturevalue("pg_url")


def serve(database: str):
    """``streamlit run serve_app.py`` on a free port: (process, host, port)."""
    process, url = start_streamlit(ROOT / "serve_app.py", env={"MARGIN_LAB_DATABASE_URL": database,
                                                                 "STREAMLIT_SERVER_COOKIE_SECRET": SECRET})
    host, port = url.removeprefix("http://").split(":")
    return process, host, int(port)


def room_for(store: RoomStore, students: int = 1):
    room = store.open_room(capacity=students)
    store.push_account(room.code, room.teacher_key, load_story("default"))
    seats = [store.join(room.code, f"S{i}", client=f"c{i}") for i in range(students)]
    return room, seats


def address(code: str, participant_id: int, expires_at: float, secret: str = SECRET) -> str:
    ticket = issue_ticket(code=code, participant_id=participant_id, expires_at=expires_at, key=stream_key(secret))
    return "/api/room-stream?" + urlencode({"t": ticket})


async def next_event(events, timeout: float = 10.0):
    return await asyncio.wait_for(anext(events), timeout)


def test_the_stream_follows_the_store_of_another_process(database):
    process, host, port = serve(database)
    store = RoomStore(database)
    try:
        room, (seat,) = room_for(store)
        path = address(room.code, seat.participant_id, store.state(room.code).expires_at)
        assert seat.token not in path and room.teacher_key not in path

        async def scenario() -> tuple[list[float], dict, list[str], bytes]:
            delays, raw = [], b""
            stream = await EventStreamClient.open(host, port, path, patience=60)  # the streams start with the server
            events = stream.events()
            first = (await next_event(events, 60)).json()
            for k in range(1, 4):
                await asyncio.to_thread(store.move_market, room.code, room.teacher_key, shock=-0.01 * k)
                written = time.monotonic()
                event = await next_event(events)
                assert f"shock of -{k}.0 %" in event.json()["html"]
                delays.append(event.received - written)
                raw += event.data.encode()
            await stream.close()
            await asyncio.to_thread(store.move_market, room.code, room.teacher_key, shock=-0.07)
            stream = await EventStreamClient.open(host, port, path)  # back after a lost connection
            events = stream.events()
            again = (await next_event(events)).json()
            await asyncio.to_thread(store.close, room.code, room.teacher_key)
            rest = [(e.name, e.data) async for e in events]  # the server ends the stream
            await stream.close()
            return delays, {"first": first, "again": again}, rest, raw

        delays, screens, rest, raw = run_apart(scenario())
        print(f"store write -> stream event: {', '.join(f'{d:.3f} s' for d in delays)}")
        assert max(delays) < 1.0
        assert screens["again"]["v"] == screens["first"]["v"] + 4 and "shock of -7.0 %" in screens["again"]["html"]
        assert [name for name, _ in rest] == ["end"] and '"reason":"closed"' in rest[0][1]
        assert seat.token.encode() not in raw and room.teacher_key.encode() not in raw
    finally:
        store.dispose()
        stop_streamlit(process)


def test_bad_tickets_get_one_404_and_a_stopped_server_ends_its_streams(tmp_path):
    database = f"sqlite:///{tmp_path / 'rooms.sqlite3'}"
    process, host, port = serve(database)
    store = RoomStore(database)
    try:
        room, seats = room_for(store, 3)
        expires = store.state(room.code).expires_at
        bad = [address("ZZZZZZ", 1, expires),  # a room that does not exist, signed by the server
               address(room.code, seats[0].participant_id, expires, secret="another server's secret"),
               address(room.code, seats[0].participant_id, time.time() - 1),  # expired
               f"/api/room-stream?{urlencode({'t': seats[0].token})}",  # a seat token is no ticket
               "/api/room-stream"]

        async def refusals() -> list[tuple[int, str]]:
            ready = await EventStreamClient.open(host, port, address(room.code, seats[0].participant_id, expires),
                                                 patience=60)  # the streams have started
            await ready.close()
            out = []
            for path in bad:
                with pytest.raises(StreamRefused) as refused:
                    await EventStreamClient.open(host, port, path)
                out.append((refused.value.status, refused.value.body))
            return out

        assert set(run_apart(refusals())) == {(404, "Not found")}  # a bad ticket: 404 even while starting

        async def stopped() -> list[list[str]]:
            streams = [await EventStreamClient.open(host, port, address(room.code, s.participant_id, expires), patience=60)
                       for s in seats]
            for stream in streams:
                await next_event(stream.events(), 60)
            process.send_signal(signal.SIGTERM)
            ended = [[e.name async for e in stream.events()] for stream in streams]
            for stream in streams:
                await stream.close()
            return ended

        started = time.monotonic()
        assert run_apart(asyncio.wait_for(stopped(), 20)) == [[], [], []]
        process.wait(timeout=20)  # uvicorn would wait for the streams for ever; they end at once
        print(f"stopped with 3 streams open in {time.monotonic() - started:.1f} s")
    finally:
        store.dispose()
        stop_streamlit(process)


def test_events_pass_through_the_projects_nginx_at_once(nginx_binary, tmp_path):
    database = f"sqlite:///{tmp_path / 'rooms.sqlite3'}"
    process, host, port = serve(database)
    store = RoomStore(database)
    nginx = None
    try:
        listen = _free_port()
        render_nginx(tmp_path / "nginx", f"127.0.0.1:{listen}", [f"{host}:{port}"])
        with (tmp_path / "nginx" / "logs" / "access.log").open("ab") as log:
            nginx = subprocess.Popen(nginx_command(tmp_path / "nginx"), stdout=log, stderr=subprocess.STDOUT)
        wait_healthy(f"http://127.0.0.1:{listen}", nginx, "nginx", tmp_path / "nginx" / "logs" / "error.log", 20)
        room, (seat,) = room_for(store)
        path = address(room.code, seat.participant_id, store.state(room.code).expires_at)

        async def through() -> list[float]:
            stream = await EventStreamClient.open("127.0.0.1", listen, path, patience=60)
            events = stream.events()
            await next_event(events, 60)
            delays = []
            for k in range(1, 4):
                await asyncio.to_thread(store.move_market, room.code, room.teacher_key, shock=-0.01 * k)
                written = time.monotonic()
                delays.append((await next_event(events)).received - written)
            await stream.close()
            return delays

        delays = run_apart(through())
        print(f"through nginx: {', '.join(f'{d:.3f} s' for d in delays)}")
        assert max(delays) < 1.0  # not held in nginx's buffers
        assert seat.token not in (tmp_path / "nginx" / "logs" / "access.log").read_text()
    finally:
        if nginx is not None:
            stop_process(nginx)
        store.dispose()
        stop_streamlit(process)
