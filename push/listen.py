"""A minimal event-stream client, what a browser's ``EventSource`` does, for the tests and the
benchmark (``tools/bench_room.py``): one HTTP/1.1 GET over asyncio, the response's chunked
body read as it comes, split into server-sent events.

    async with await EventStreamClient.open("127.0.0.1", 8501, "/api/room-stream?t=...") as stream:
        async for event in stream.events():
            event.name, event.data, event.id, event.received   # received: time.monotonic()

A refused stream raises :class:`StreamRefused` with the status and body.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator


class StreamRefused(Exception):
    """The server answered something other than 200 (its ``status`` and ``body``)."""

    def __init__(self, status: int, body: str):
        super().__init__(f"{status}: {body[:200]}")
        self.status, self.body = status, body


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One server-sent event: its ``name`` (``event:``), ``data`` text, ``id`` and when it was
    read [time.monotonic() s]."""

    name: str
    data: str
    id: str | None
    received: float

    def json(self) -> Any:
        return json.loads(self.data)


def parse_event(block: str, received: float) -> Event | None:
    """One event from its lines (None for a comment or a bare ``retry``).

    >>> parse_event("id: 3\\nevent: screen\\ndata: {}", 1.0)
    Event(name='screen', data='{}', id='3', received=1.0)
    >>> parse_event(": keepalive", 1.0) is None
    True
    """
    name, data, event_id = "message", [], None
    for line in block.split("\n"):
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    return Event(name=name, data="\n".join(data), id=event_id, received=received) if data else None


class EventStreamClient:
    """One open event stream (see the module's docstring)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]):
        self.reader, self.writer, self.headers = reader, writer, headers
        self._chunked = headers.get("transfer-encoding", "").lower() == "chunked"

    @classmethod
    async def open(cls, host: str, port: int, path: str, *, timeout: float = 30.0,
                   headers: dict[str, str] | None = None, patience: float = 0.0) -> "EventStreamClient":
        """Open the stream; a 503 (the server's streams starting, or full) is tried again, as the
        page's component does, for up to ``patience`` seconds."""
        deadline = time.monotonic() + patience
        while True:
            try:
                return await cls._open(host, port, path, timeout=timeout, headers=headers)
            except StreamRefused as refused:
                if refused.status != 503 or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.5)

    @classmethod
    async def _open(cls, host: str, port: int, path: str, *, timeout: float,
                    headers: dict[str, str] | None) -> "EventStreamClient":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                     f"Cache-Control: no-cache\r\n{extra}\r\n".encode())
        try:
            status_line = await asyncio.wait_for(reader.readline(), timeout)
            found: dict[str, str] = {}
            while (line := await asyncio.wait_for(reader.readline(), timeout)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                found[name.strip().lower()] = value.strip()
            status = int(status_line.split()[1]) if status_line else 0
            if status != 200:
                length = int(found.get("content-length", "0") or 0)
                body = (await asyncio.wait_for(reader.readexactly(length), timeout)).decode(errors="replace") if length else ""
                raise StreamRefused(status, body)
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, found)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            if not self._chunked:
                data = await self.reader.read(65536)
                if not data:
                    return
                yield data
                continue
            size_line = await self.reader.readline()
            if not size_line:
                return
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await self.reader.readexactly(size + 2)
            yield data[:-2]

    async def events(self) -> AsyncIterator[Event]:
        """The stream's events as they come, until the server ends it."""
        buffer, decoder = "", codecs.getincrementaldecoder("utf-8")()
        async for chunk in self._chunks():
            buffer += decoder.decode(chunk)  # a chunk may end inside a character
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                event = parse_event(block, time.monotonic())
                if event is not None:
                    yield event

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def __aenter__(self) -> "EventStreamClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["Event", "EventStreamClient", "StreamRefused", "parse_event"]
