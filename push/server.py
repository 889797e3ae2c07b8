"""The event stream's route and the hub's life, for ``st.App`` (see ``serve_app.py``).

``GET <base>/api/room-stream?t=<ticket>&theme=light|dark`` answers ``text/event-stream``: a
``retry`` line, then the room's current screen at once, then one ``screen`` event per version
(``id`` = the version; data ``{"v", "shape", "html"}``), a comment every 15 s, and a last
``end`` event (``{"reason": "closed" | "expired" | "removed", "html"}``) when the room closes,
expires or removes the participant. A missing, forged or expired ticket and a room that does
not exist all get the same 404; past the hub's bounds 503 or 429 with ``Retry-After``.

The response says ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``, so nginx passes
each event on at once even where buffering is on (the project's nginx has it off everywhere
and reads for 12 h). Streamlit's gzip middleware leaves ``text/event-stream`` alone.

The hub lives as long as the app (:func:`lifespan`): one per process, started beside the
server (its imports, the store and the watcher take seconds on a busy machine, and the server
answers its health check meanwhile; until the hub is up the stream answers 503 and the pages'
components try again a second later) and registered here, so that a page script of the same
process can tell that its streams are served (:func:`serving`). SIGTERM and SIGINT end the
streams at once (uvicorn would otherwise wait for them before it stops); the browsers
reconnect, through nginx to another server if this one goes. This module imports neither the
store nor the engine: ``serve_app.py`` imports it before the server starts.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from push.ticket import read_ticket, stream_key

if TYPE_CHECKING:
    from push.hub import Listener, RoomHub

STREAM_PATH = "api/room-stream"  # under server.baseUrlPath, like the app's pages
START_RETRY_SECONDS = 5.0  # a hub that could not start (the database down) tries again after
_HUB: list[Any] = []  # while the app runs: a marker that it is served here, then the hub itself

log = logging.getLogger(__name__)


def serving() -> bool:
    """Whether this process serves the rooms' streams (the app runs from ``serve_app.py``); not
    in plain ``streamlit run app.py`` or AppTest, where the pages poll as before."""
    return bool(_HUB)


def current() -> RoomHub | None:
    """The running hub of this process (None while it starts, or when not :func:`serving`)."""
    from push.hub import RoomHub
    return next((h for h in _HUB if isinstance(h, RoomHub)), None)


def ticket_key() -> bytes:
    """The key tickets are signed with in this process (from ``server.cookieSecret``)."""
    from streamlit import config
    return stream_key(str(config.get_option("server.cookieSecret")))


def stream_path() -> str:
    """The route's path, under ``server.baseUrlPath`` (``/api/room-stream`` without one)."""
    from streamlit import config
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{STREAM_PATH}" if base else f"/{STREAM_PATH}"


class EventStream(StreamingResponse):
    """A listener's stream; its listener is freed however the response ends (the client left,
    the server stops, or the stream was never started)."""

    def __init__(self, listener: Listener):
        super().__init__(listener.events(), media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})
        self.listener = listener

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.listener.close()


def _refusal(status: int, text: str, retry_after: int | None = None) -> Response:
    headers = {"Cache-Control": "no-store"} | ({"Retry-After": str(retry_after)} if retry_after else {})
    return PlainTextResponse(text, status_code=status, headers=headers)


async def room_stream(request: Request) -> Response:
    """The stream route (see the module's docstring)."""
    import time
    from push.hub import Refused
    ticket = read_ticket(request.query_params.get("t"), key=ticket_key(), now=time.time())
    if ticket is None:
        return _refusal(404, "Not found")
    hub = current()
    if hub is None:
        return _refusal(503, "The room streams are starting: the page tries again.", 1)
    try:
        listener = await hub.open(ticket, request.query_params.get("theme", "light"))
    except Refused as refused:
        return _refusal(refused.status, refused.text, refused.retry_after)
    return EventStream(listener)


def routes() -> list[Route]:
    """The routes ``st.App`` serves beside Streamlit's own."""
    return [Route(stream_path(), room_stream, methods=["GET"])]


def _end_streams_on(signals: tuple[int, ...], hub: RoomHub) -> None:
    """Chain a handler before uvicorn's own for ``signals``: it ends every stream at once."""
    loop = asyncio.get_running_loop()
    for number in signals:
        previous = signal.getsignal(number)

        def handler(sig: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(hub.stop()))
            if callable(previous):
                previous(sig, frame)

        signal.signal(number, handler)


async def _start_hub() -> None:
    """Build the hub off the event loop (the store and the engine's imports), start it, register
    it; a database that does not answer yet is tried again every few seconds."""
    import threading

    def build() -> RoomHub:
        from classroom import RoomStore
        from push.hub import RoomHub
        return RoomHub(RoomStore())
    while True:
        try:
            hub = await asyncio.to_thread(build)
            await hub.start()
            break
        except Exception:
            log.warning("room streams: the hub could not start; trying again", exc_info=True)
            await asyncio.sleep(START_RETRY_SECONDS)
    _HUB.append(hub)
    if threading.current_thread() is threading.main_thread():
        _end_streams_on((signal.SIGTERM, signal.SIGINT), hub)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """The process's hub: started beside the app, stopped with it."""
    marker = object()
    _HUB.append(marker)
    starting = asyncio.create_task(_start_hub(), name="margin-lab room streams")
    try:
        yield
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        hub = current()
        _HUB.clear()
        if hub is not None:
            await hub.stop()
            hub.store.dispose()


__all__ = ["STREAM_PATH", "EventStream", "current", "lifespan", "room_stream", "routes", "serving", "stream_path",
           "ticket_key"]
