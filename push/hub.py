"""The per-process fan-out: each room's screen built once per version, the same bytes to every
listener of this process.

One :class:`RoomHub` per server process, on its event loop (``st.App``'s, under uvicorn). A
student page's component opens the room's event stream (:mod:`push.server`); the hub keeps one
:class:`Channel` per room with listeners here. When the room's version moves (its
:class:`push.notify.Watcher` says so), the hub reads the room's state once, builds its public
screen once (:func:`push.screen.room_screen`, in a worker thread) and wakes the room's
listeners, each of which writes the same pre-encoded event. A dark-theme screen is built only
if a listener asks for one, once per version.

Nothing is missed: every event is the whole current screen and carries the room's version, so
a listener that was slow, or a browser that reconnects, gets the current screen at once (the
first event of every stream; a new listener makes the hub read the room once more, and the
first listener of a room here waits for that read). Steps closer together than the watcher's interval are shown as
their latest. A closed or expired room, or a removed participant, ends the stream with a last
``end`` event saying so.

Presence: an open stream is the student being here. Every :data:`PRESENCE_TICK` seconds the
hub writes, for each room with listeners here, ``last_seen`` of every participant with a stream
open in this process, in one write per room (:meth:`classroom.RoomStore.here`): at once (the
next tick) when a participant's first stream here opens, else every ``PRESENCE_EVERY`` seconds.
No page runs for it. A student whose last stream closes is no longer written, so the teacher's
class list shows them gone once ``PRESENCE_WINDOW`` has passed since their stream closed.

Bounds: at most :data:`MAX_STREAMS` open streams per process and :data:`MAX_STREAMS_PER_SEAT`
per participant (a few tabs); past them the route answers 503 or 429 and the component tries
again later. Each stream is written a comment every :data:`KEEPALIVE_SECONDS`, so a proxy keeps
it and a dead client is noticed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from typing import AsyncIterator, Callable, Mapping

from sqlalchemy import select

from classroom import RoomError, RoomState, RoomStore
from classroom import schema as t
from classroom.limits import PRESENCE_EVERY
from push.notify import RoomMark, Watcher, install_trigger
from push.screen import ended_html, event_fields, room_screen
from push.ticket import StreamTicket

MAX_STREAMS = 1_000  # open event streams per process (each a socket and a small task)
MAX_STREAMS_PER_SEAT = 4  # one participant's tabs
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 1_000  # the browser's wait before it reconnects a dropped stream
PRESENCE_TICK = 1.0  # how often the hub looks whose presence is due [s]
IDLE_SECONDS = 60.0  # a room without listeners is forgotten after this long
FRESH_SECONDS = 1.0  # a room read this recently is not read again for a new listener while others listen
THEMES = ("light", "dark")
FAILED = '<p class="ml-small">This step could not be drawn here; the next one will be.</p>'

log = logging.getLogger(__name__)


class Refused(Exception):
    """A stream the hub will not open: its HTTP ``status``, a sentence, and ``retry_after`` [s]."""

    def __init__(self, status: int, text: str, retry_after: int | None = None):
        super().__init__(text)
        self.status, self.text, self.retry_after = status, text, retry_after


def sse_event(event: str, data: Mapping[str, object], *, event_id: int | None = None) -> bytes:
    """One server-sent event: its name, its data as one line of JSON, and its id.

    >>> sse_event("end", {"reason": "closed"}, event_id=7)
    b'id: 7\\nevent: end\\ndata: {"reason":"closed"}\\n\\n'
    """
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()


def end_event(reason: str) -> bytes:
    return sse_event("end", {"reason": reason, "html": ended_html(reason)})


class Channel:
    """One room served by this process: its last state and screens, and who listens."""

    def __init__(self, code: str, now: float):
        self.code = code
        self.state: RoomState | None = None
        self.version = -1
        self.ended: str | None = None
        self.removed: frozenset[int] = frozenset()
        self.events: dict[str, asyncio.Future[bytes]] = {}  # theme -> this version's event
        self.seats: Counter[int] = Counter()
        self.listeners = 0
        self.changed = asyncio.Event()
        self.settled = asyncio.Event()  # set when no read of the room is running or due
        self.missing = False
        self.arrived = False  # a participant's first stream here opened since presence was last written
        self.told = float("-inf")  # when presence was last written [unix s, the hub's clock]
        self.updating = False
        self.dirty = False
        self.idle_since = now
        self.read_at = float("-inf")  # when the last read that succeeded began [the hub's clock]

    def wake(self) -> None:
        """Wake every listener (each takes the new generation's event to wait on next)."""
        woken, self.changed = self.changed, asyncio.Event()
        woken.set()


class Listener:
    """One open stream: :meth:`events` yields its bytes; :meth:`close` (always called) frees it."""

    def __init__(self, hub: "RoomHub", channel: Channel, participant_id: int, theme: str):
        self.hub, self.channel, self.participant_id, self.theme = hub, channel, participant_id, theme
        self.closed = False

    async def events(self) -> AsyncIterator[bytes]:
        hub, channel = self.hub, self.channel
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
        sent = None
        while not hub.closing:
            waiter = channel.changed  # taken before reading, so a change in between is not lost
            if self.participant_id in channel.removed:
                yield end_event("removed")
                return
            if channel.ended:
                yield end_event(channel.ended)
                return
            if channel.version != sent:
                version = channel.version
                yield await hub.event(channel, self.theme)
                sent = version
                continue
            try:
                async with asyncio.timeout(hub.keepalive):
                    await waiter.wait()
            except TimeoutError:
                yield b": keepalive\n\n"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.hub.streams -= 1
        channel = self.channel
        channel.listeners -= 1
        channel.seats[self.participant_id] -= 1
        if channel.seats[self.participant_id] <= 0:
            del channel.seats[self.participant_id]
        if channel.listeners == 0:
            channel.idle_since = self.hub.clock()


class RoomHub:
    """The rooms this process streams, over ``store`` (its own connection pool)."""

    def __init__(self, store: RoomStore, *, watcher: Watcher | None = None, max_streams: int = MAX_STREAMS,
                 per_seat: int = MAX_STREAMS_PER_SEAT, keepalive: float = KEEPALIVE_SECONDS,
                 presence_every: float = PRESENCE_EVERY, presence_tick: float = PRESENCE_TICK,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.watcher = watcher or Watcher(store.engine)
        self.max_streams, self.per_seat, self.keepalive, self.clock = max_streams, per_seat, keepalive, clock
        self.presence_every, self.presence_tick = presence_every, presence_tick
        self.channels: dict[str, Channel] = {}
        self.streams = 0
        self.builds = 0  # screens built (each once per room version and theme)
        self.reads = 0  # the room's state read from the store
        self.errors = 0
        self.presence_writes = 0  # presence writes (each one room's open streams)
        self.closing = False
        self._task: asyncio.Task | None = None
        self._presence_task: asyncio.Task | None = None
        # the running room updates: the event loop keeps only a weak reference to a task, so one
        # nobody holds may be collected before it finishes (RUF006)
        self._updates: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Install the change trigger (PostgreSQL) and start the process's one watcher."""
        await asyncio.to_thread(install_trigger, self.store.engine)
        self._task = asyncio.create_task(self.watcher.run(self._watched, self._seen, self._poked),
                                         name="margin-lab room watcher")
        self._presence_task = asyncio.create_task(self._presence(), name="margin-lab room presence")

    async def stop(self) -> None:
        """End every stream (browsers reconnect, to another server if this one goes) and the watcher."""
        self.closing = True
        for channel in self.channels.values():
            channel.wake()
        for task in (self._task, self._presence_task):
            if task is None:
                continue
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    # ------------------------------------------------------------------ listeners

    async def open(self, ticket: StreamTicket, theme: str) -> Listener:
        """A new listener of the ticket's room (:class:`Refused` when it cannot be one)."""
        if self.closing:
            raise Refused(503, "This server is restarting: the page reconnects by itself.", retry_after=2)
        channel = self.channels.get(ticket.code)
        if channel is None:
            channel = self.channels[ticket.code] = Channel(ticket.code, self.clock())
        # A new listener may know of a newer version than the watcher's last round (a reconnect
        # right after a step): read the room once more, and wait for it when no one else
        # listens here. Opens at once share one or two reads (an update running takes the rest).
        # While others listen and the room was read within FRESH_SECONDS, the watcher's next round
        # catches any step since: a class arriving over ten seconds costs ten reads, not one per
        # student (a read is 3 to 5 ms of the server's CPU).
        if channel.listeners == 0 or self.clock() - channel.read_at >= FRESH_SECONDS:
            self._schedule(channel)
        if channel.listeners == 0:
            await channel.settled.wait()
        if channel.missing or channel.state is None:
            if self.channels.get(ticket.code) is channel and channel.listeners == 0:
                del self.channels[ticket.code]  # the next try reads the room again
            if channel.missing:
                raise Refused(404, "Not found")
            raise Refused(503, "The rooms' database did not answer: the page tries again.", retry_after=2)
        if self.streams >= self.max_streams:
            raise Refused(503, "This server has all the listeners it takes: the page tries again.", retry_after=5)
        if channel.seats[ticket.participant_id] >= self.per_seat:
            raise Refused(429, "Too many screens for one seat: close another tab of this room.", retry_after=10)
        self.streams += 1
        channel.listeners += 1
        if channel.seats[ticket.participant_id] == 0:
            channel.arrived = True  # here now: said at the next presence tick
        channel.seats[ticket.participant_id] += 1
        return Listener(self, channel, ticket.participant_id, theme if theme in THEMES else "light")

    async def event(self, channel: Channel, theme: str) -> bytes:
        """The current version's screen event for ``theme``, built once and shared."""
        future = channel.events.get(theme)
        if future is None:
            future = channel.events[theme] = asyncio.ensure_future(self._render(channel.state, theme))
        return await asyncio.shield(future)

    async def _render(self, state: RoomState | None, theme: str) -> bytes:
        assert state is not None
        try:
            screen = await asyncio.to_thread(room_screen, state, dark=theme == "dark")
        except Exception:  # a bug or an account the engine refuses: say so, never a traceback
            self.errors += 1
            log.exception("room %s: the screen at version %s could not be built", state.code, state.version)
            return sse_event("screen", {"v": state.version, "shape": "", "html": FAILED}, event_id=state.version)
        self.builds += 1
        return sse_event("screen", event_fields(screen), event_id=screen.version)

    # ------------------------------------------------------------------ presence

    async def _presence(self) -> None:
        """Every tick, each room's open streams written as here (see the module's docstring)."""
        while not self.closing:
            await asyncio.sleep(self.presence_tick)
            await self.tell_presence()

    async def tell_presence(self) -> int:
        """Write the presence that is due, one write per room; how many rooms were written."""
        written = 0
        for channel in list(self.channels.values()):
            now = self.clock()
            if not channel.seats or channel.ended or not (channel.arrived or now - channel.told >= self.presence_every):
                continue
            here, channel.arrived, channel.told = tuple(channel.seats), False, now
            try:
                await asyncio.to_thread(self.store.here, channel.code, here)
            except Exception:  # the database did not answer: the next tick tries again
                self.errors += 1
                channel.arrived = True
                log.warning("room %s: presence could not be written", channel.code, exc_info=True)
                continue
            self.presence_writes += 1
            written += 1
        return written

    # ------------------------------------------------------------------ changes

    def _watched(self) -> list[str]:
        now = self.clock()
        for code, channel in list(self.channels.items()):
            if channel.listeners == 0 and not channel.updating and now - channel.idle_since > IDLE_SECONDS:
                del self.channels[code]
        return list(self.channels)

    def _seen(self, marks: Mapping[str, RoomMark]) -> None:
        now = self.clock()
        for code, channel in list(self.channels.items()):
            mark = marks.get(code)
            if mark is None:
                continue
            ending = (mark.closed or mark.expires_at <= now) and channel.ended is None
            if mark.version != channel.version or ending:
                self._schedule(channel)

    def _poked(self, code: str, version: int) -> None:
        channel = self.channels.get(code)
        if channel is not None and version != channel.version:
            self._schedule(channel)

    def _schedule(self, channel: Channel) -> None:
        if channel.updating:
            channel.dirty = True  # the running update reads the room once more when it is done
            return
        channel.updating = True
        channel.settled.clear()
        task = asyncio.ensure_future(self._update(channel))
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)

    def _read(self, code: str) -> tuple[RoomState | None, frozenset[int]]:
        try:
            state = self.store.state(code)
        except RoomError:
            return None, frozenset()
        with self.store.engine.connect() as connection:
            removed = connection.execute(select(t.participants.c.id).join(
                t.rooms, t.rooms.c.id == t.participants.c.room_id).where(
                t.rooms.c.code == code, t.participants.c.removed.is_(True))).scalars().all()
        return state, frozenset(int(r) for r in removed)

    async def _update(self, channel: Channel) -> None:
        try:
            while True:
                channel.dirty = False
                began = self.clock()
                state, removed = await asyncio.to_thread(self._read, channel.code)
                self.reads += 1
                if state is None:
                    channel.missing = True
                    return
                channel.read_at = began
                self._publish(channel, state, removed)
                if not channel.dirty:
                    return
        except Exception:  # the database did not answer: the watcher's next round tries again
            self.errors += 1
            log.warning("room %s: reading its state failed", channel.code, exc_info=True)
        finally:
            channel.updating = False
            channel.settled.set()

    def _publish(self, channel: Channel, state: RoomState, removed: frozenset[int]) -> None:
        ended = "closed" if state.closed else "expired" if state.expired else None
        if state.version == channel.version and ended == channel.ended and removed == channel.removed:
            return
        if state.version != channel.version:
            channel.events = {}
            channel.state = state
            if ended is None:  # the light screen at once: most pages ask for it
                channel.events["light"] = asyncio.ensure_future(self._render(state, "light"))
        channel.version, channel.ended, channel.removed = state.version, ended, removed
        channel.wake()


__all__ = ["FRESH_SECONDS", "IDLE_SECONDS", "KEEPALIVE_SECONDS", "MAX_STREAMS", "MAX_STREAMS_PER_SEAT", "PRESENCE_TICK", "Channel", "Listener",
           "Refused", "RoomHub", "end_event", "sse_event"]
