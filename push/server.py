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

The hub lives as long as the app (:func:`lifespan`): one per process, created at startup and
registered here so that a page script of the same process can tell that its streams are served
(:func:`current`). SIGTERM and SIGINT end the streams at once (uvicorn would otherwise wait for
them before it stops); the browsers reconnect, through nginx to another server if this one goes.
"""

from __future__ import annotations

import signal
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from push.hub import Listener, Refused, RoomHub
from push.ticket import read_ticket, stream_key

STREAM_PATH = "api/room-stream"  # under server.baseUrlPath, like the app's pages
_HUB: list[RoomHub] = []  # this process's hub while the app runs (one; empty otherwise)


def current() -> RoomHub | None:
    """The running hub of this process, None when the app is not served by ``serve_app.py``
    (plain ``streamlit run app.py``, AppTest): then the pages poll as before."""
    return _HUB[0] if _HUB else None


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
    hub = current()
    if hub is None:
        return _refusal(503, "The room streams are not served here.", 5)
    ticket = read_ticket(request.query_params.get("t"), key=ticket_key(), now=time.time())
    if ticket is None:
        return _refusal(404, "Not found")
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
    import asyncio
    loop = asyncio.get_running_loop()
    for number in signals:
        previous = signal.getsignal(number)

        def handler(sig: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(hub.stop()))
            if callable(previous):
                previous(sig, frame)

        signal.signal(number, handler)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """The process's hub: started with the app, stopped with it."""
    import threading

    from classroom import RoomStore
    hub = RoomHub(RoomStore())
    await hub.start()
    _HUB.append(hub)
    if threading.current_thread() is threading.main_thread():
        _end_streams_on((signal.SIGTERM, signal.SIGINT), hub)
    try:
        yield
    finally:
        _HUB.remove(hub)
        await hub.stop()
        hub.store.dispose()


__all__ = ["STREAM_PATH", "EventStream", "current", "lifespan", "room_stream", "routes", "stream_path", "ticket_key"]
