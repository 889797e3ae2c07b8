"""The push hub in one process, against SQLite and a real PostgreSQL: one change watcher per
process (its queries counted, none per listener), each room's screen built once per version and
the same bytes handed to every listener, the stream's last event for a closed or expired room
and a removed student, its bounds, a reconnect that starts at the current screen, and presence
kept by the open streams (one write a room, no page run)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import event

from classroom import RoomStore
from classroom.limits import PRESENCE_WINDOW
from margin.presets import load_story
from push.hub import Refused, RoomHub
from push.notify import Watcher
from push.screen import room_screen
from push.ticket import StreamTicket
from tests.apart import run_apart
from tests.rooms_fixtures import Clock


# the store's ``url`` fixture (SQLite and PostgreSQL) is tests/rooms_fixtures.py's


def open_room(store: RoomStore, students: int):
    room = store.open_room(capacity=students + 1)
    store.push_account(room.code, room.teacher_key, load_story("default"))
    seats = [store.join(room.code, f"S{i}", client=f"c{i}") for i in range(students)]
    return room, seats


def ticket(room, seat) -> StreamTicket:
    return StreamTicket(code=room.code, participant_id=seat.participant_id, expires_at=2_000_000_000)


async def read(listener, count: int, timeout: float = 10.0) -> list[tuple[str, dict, bytes]]:
    """The next ``count`` events of ``listener`` (name, data, the bytes as sent)."""
    out = []
    stream = listener.stream if hasattr(listener, "stream") else listener.events()
    listener.stream = stream
    async with asyncio.timeout(timeout):
        async for chunk in stream:
            text = chunk.decode()
            if text.startswith("event:") or text.startswith("id:"):
                lines = dict(line.split(": ", 1) for line in text.strip().split("\n"))
                out.append((lines["event"], json.loads(lines["data"]), chunk))
                if len(out) == count:
                    return out
    return out


def hub_for(store: RoomStore, **kwargs) -> RoomHub:
    return RoomHub(store, watcher=Watcher(store.engine, interval=0.1, sweep=kwargs.pop("sweep", 5.0)), **kwargs)


def test_one_watcher_query_a_round_however_many_students_listen(tmp_path):
    store = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    rooms = [open_room(store, 20) for _ in range(2)]
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    async def scenario() -> tuple[list[str], list[str]]:
        hub = hub_for(store, presence_tick=3600.0)  # presence (one write a room) has its own test below
        await hub.start()
        listeners = [await hub.open(ticket(room, seat), "light") for room, seats in rooms for seat in seats]
        for listener in listeners:
            await read(listener, 1)  # each has its first screen
        draining = [asyncio.ensure_future(read(listener, 10**6, timeout=60)) for listener in listeners]
        statements.clear()
        await asyncio.sleep(1.0)  # every stream open and read, as a server writes them
        with_forty = list(statements)
        for task in draining[5:]:
            task.cancel()
        await asyncio.gather(*draining[5:], return_exceptions=True)
        for listener in listeners[5:]:
            await listener.stream.aclose()
            listener.close()
        statements.clear()
        await asyncio.sleep(1.0)
        with_five = list(statements)
        await hub.stop()
        await asyncio.gather(*draining[:5], return_exceptions=True)
        return with_forty, with_five

    with_forty, with_five = run_apart(scenario())
    # the store opens each SQLite read with BEGIN DEFERRED (classroom/store/db.py): not a query
    with_forty, with_five = ([s for s in run if not s.startswith("BEGIN")] for run in (with_forty, with_five))
    assert all("FROM rooms" in s and " IN " in s for s in with_forty + with_five), ("a query per listener", set(with_forty + with_five))
    assert 5 <= len(with_forty) <= 12 and 5 <= len(with_five) <= 12  # one a round (0.1 s): nothing per student
    assert abs(len(with_forty) - len(with_five)) <= 2
    store.dispose()


def test_each_version_is_built_once_and_every_listener_gets_the_same_bytes(url):
    store = RoomStore(url)
    room, seats = open_room(store, 30)
    teacher = RoomStore(url)  # the teacher's writes through a pool of their own

    async def scenario() -> tuple[RoomHub, list[list]]:
        hub = hub_for(store)
        await hub.start()
        listeners = [await hub.open(ticket(room, seat), "light") for seat in seats]
        got = [await read(listener, 1) for listener in listeners]
        for shock in (-0.02, -0.04, -0.06):
            await asyncio.to_thread(teacher.move_market, room.code, room.teacher_key, shock=shock)
            for k, listener in enumerate(listeners):
                got[k] += await read(listener, 1)
            await asyncio.sleep(0.3)
        await hub.stop()
        return hub, got

    hub, got = run_apart(scenario())
    versions = [[data["v"] for _, data, _ in events] for events in got]
    assert all(v == versions[0] for v in versions) and len(set(versions[0])) == 4
    assert "shock of -6.0 %" in got[0][-1][1]["html"]
    for step in range(4):  # one object for the whole class: built once, sent as it is
        assert len({id(events[step][2]) for events in got}) == 1
    assert hub.builds == 4
    teacher.dispose()
    store.dispose()


def test_a_store_write_reaches_a_listener_through_the_databases_notification(url):
    """On PostgreSQL the notification alone brings it (the marks' sweep every 60 s here);
    on SQLite the watcher's round does."""
    store = RoomStore(url)
    room, seats = open_room(store, 1)
    teacher = RoomStore(url)

    async def scenario() -> float:
        hub = hub_for(store, sweep=60.0)
        await hub.start()
        listener = await hub.open(ticket(room, seats[0]), "light")
        await read(listener, 1)
        if hub.watcher.notifies:
            await asyncio.wait_for(hub.watcher.listening.wait(), 10)
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(teacher.move_market, room.code, room.teacher_key, shock=-0.05)
        written = loop.time()
        (_, data, _), = await read(listener, 1, timeout=5)
        assert "shock of -5.0 %" in data["html"]
        await hub.stop()
        return loop.time() - written

    assert run_apart(scenario()) < 1.0
    teacher.dispose()
    store.dispose()


def test_a_closed_room_ends_every_stream_and_a_removed_student_only_theirs(url):
    store = RoomStore(url)
    room, seats = open_room(store, 3)

    async def scenario() -> list[list]:
        hub = hub_for(store)
        await hub.start()
        listeners = [await hub.open(ticket(room, seat), "light") for seat in seats]
        for listener in listeners:
            await read(listener, 1)
        await asyncio.to_thread(store.remove, room.code, room.teacher_key, seats[0].participant_id)
        removed = await read(listeners[0], 1)
        moved = [await read(listener, 1) for listener in listeners[1:]]  # the removal bumped the version
        await asyncio.to_thread(store.close, room.code, room.teacher_key)
        closed = [await read(listener, 1) for listener in listeners[1:]]
        with pytest.raises(StopAsyncIteration):
            await anext(listeners[1].stream)  # the server ends the stream after its last event
        late = await hub.open(ticket(room, seats[1]), "light")  # a reconnect is told at once
        told = await read(late, 1)
        await hub.stop()
        return [removed, *moved, *closed, told]

    removed, moved_1, moved_2, closed_1, closed_2, told = run_apart(scenario())
    assert removed[0][:2] == ("end", {"reason": "removed", "html": removed[0][1]["html"]})
    assert "removed you" in removed[0][1]["html"]
    assert moved_1[0][0] == moved_2[0][0] == "screen"
    assert [c[0][1]["reason"] for c in (closed_1, closed_2, told)] == ["closed"] * 3
    store.dispose()


def test_an_expired_room_ends_its_streams_without_any_write(tmp_path):
    clock = Clock()
    store = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}", clock=clock)
    room, seats = open_room(store, 1)

    async def scenario() -> list:
        hub = hub_for(store, clock=clock)
        await hub.start()
        listener = await hub.open(ticket(room, seats[0]), "light")
        await read(listener, 1)
        clock.now += 5 * 3600.0  # past the room's 4 hours
        ended = await read(listener, 1, timeout=5)
        await hub.stop()
        return ended

    assert run_apart(scenario())[0][1]["reason"] == "expired"
    store.dispose()


def test_a_reconnect_starts_at_the_current_screen(tmp_path):
    store = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    room, seats = open_room(store, 1)

    async def scenario() -> tuple[int, int, str]:
        hub = hub_for(store)
        await hub.start()
        first = await hub.open(ticket(room, seats[0]), "light")
        (_, before, _), = await read(first, 1)
        await first.stream.aclose()
        first.close()
        for shock in (-0.01, -0.02, -0.03):  # three steps while the student was away
            await asyncio.to_thread(store.move_market, room.code, room.teacher_key, shock=shock)
        await asyncio.sleep(0.5)
        again = await hub.open(ticket(room, seats[0]), "light")
        (_, after, _), = await read(again, 1)
        await hub.stop()
        return before["v"], after["v"], after["html"]

    before, after, html = run_apart(scenario())
    assert after == before + 3 and "shock of -3.0 %" in html
    store.dispose()


def test_a_class_arriving_costs_a_read_a_second_not_one_a_student(tmp_path):
    """Students opening their streams one after another while others listen: the room was read
    moments ago, so no new read per student (the watcher's round catches a step meanwhile)."""
    store = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    room, seats = open_room(store, 12)

    async def scenario() -> tuple[int, list[int]]:
        hub = hub_for(store)
        await hub.start()
        listeners = [await hub.open(ticket(room, seats[0]), "light")]
        for seat in seats[1:]:  # one every 50 ms, each long after the previous read ended
            await asyncio.sleep(0.05)
            listeners.append(await hub.open(ticket(room, seat), "light"))
        versions = [(await read(listener, 1))[0][1]["v"] for listener in listeners]
        reads = hub.reads
        await hub.stop()
        return reads, versions

    reads, versions = run_apart(scenario())
    assert reads <= 2, reads  # 12 before: one a student
    assert len(set(versions)) == 1  # every one got the room's screen
    store.dispose()


def test_bounds_unknown_rooms_and_a_stopping_server(tmp_path):
    store = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    room, seats = open_room(store, 3)

    async def scenario() -> list:
        hub = hub_for(store, max_streams=4, per_seat=2)
        await hub.start()
        statuses = []
        for _ in range(2):
            await hub.open(ticket(room, seats[0]), "light")
        for make in (lambda: ticket(room, seats[0]),  # a third tab of one seat
                     lambda: StreamTicket(code="ZZZZZZ", participant_id=1, expires_at=2_000_000_000)):
            with pytest.raises(Refused) as refused:
                await hub.open(make(), "light")
            statuses.append(refused.value.status)
        open_ = [await hub.open(ticket(room, seat), "dark") for seat in seats[1:]]
        with pytest.raises(Refused) as refused:  # the fifth stream of a process taking four
            await hub.open(ticket(room, seats[2]), "light")
        statuses.append(refused.value.status)
        (_, dark, _), = await read(open_[0], 1)
        statuses.append("ml-dark" in dark["html"])
        waiting = asyncio.ensure_future(read(open_[1], 2, timeout=5))
        await asyncio.sleep(0.2)
        await hub.stop()  # a stopping server ends its streams: the browsers reconnect elsewhere
        statuses.append(len(await waiting))
        return statuses

    assert run_apart(scenario()) == [429, 404, 503, True, 1]
    assert hub_state_is_public(store, room)
    store.dispose()


def hub_state_is_public(store: RoomStore, room) -> bool:
    """While a question is open the room's screen holds the account's facts only, never the
    engine's answer; a student's token or the teacher key is never in it."""
    seat = store.join(room.code, "Ada", client="x")
    question = store.ask(room.code, room.teacher_key, {"kind": "liquidation_shock"})
    screen = room_screen(store.state(room.code))
    return ("stays hidden until the teacher reveals" in screen.html and f"{question.value:.4g}" not in screen.html
            and seat.token not in screen.html and room.teacher_key not in screen.html and "|q1.0.r1." in screen.shape)  # question 1, not revealed, round 1


def test_presence_is_the_open_stream_one_write_a_room_and_a_closed_stream_is_gone(url):
    """No page runs here at all: the teacher's class list says who is here from the hub's
    writes alone, one a room (not one a student), and a student whose stream closed is gone
    once the presence window has passed."""
    clock = Clock()
    store = RoomStore(url, clock=clock)
    room, seats = open_room(store, 30)
    clock.now += PRESENCE_WINDOW + 1  # every join's own mark is old: only the streams can say "here"
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    async def scenario():
        hub = hub_for(store, presence_every=0.3, presence_tick=0.1)
        await hub.start()
        listeners = [await hub.open(ticket(room, seat), "light") for seat in seats[:20]]
        for listener in listeners:
            await read(listener, 1)
        await asyncio.sleep(0.5)  # the next tick writes the twenty who opened a stream
        here = await asyncio.to_thread(store.class_list, room.code, room.teacher_key)
        await listeners[0].stream.aclose()
        listeners[0].close()  # the tab closed: its stream ends, no page says anything
        # a write in flight as the tab closed may still name it: let it and one more finish
        # before time moves on, or that write would stamp the gone seat with the later time
        done = hub.presence_writes + 2
        for _ in range(100):
            if hub.presence_writes >= done:
                break
            await asyncio.sleep(0.05)
        statements.clear()
        clock.now += PRESENCE_WINDOW + 1
        await asyncio.sleep(0.65)  # the 19 still listening are written again, the gone one is not
        writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE PARTICIPANTS")]
        later = await asyncio.to_thread(store.class_list, room.code, room.teacher_key)
        await hub.stop()
        return here, later, writes

    here, later, writes = run_apart(scenario())
    assert (here.students, here.connected) == (30, 20)
    connected = {m.participant_id for m in later.members if m.connected}
    assert connected == {seat.participant_id for seat in seats[1:20]}
    assert 1 <= len(writes) <= 4  # every 0.3 s for the room in 0.65 s, however many students listen
    store.dispose()
