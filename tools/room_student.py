"""One student's browser on the room page, at the protocol level, for ``tools/bench_room.py``.

A :class:`Student` does what a browser does: GET the page (and, if asked, the scripts, style and
font its HTML names), open Streamlit's websocket and run the student page (``streamlit.proto``),
join through the page's form when it was given a nickname instead of a seat, read the listening
component's stream address from the run, open the room's event stream (:mod:`push.listen`) and
record when each screen came. A screen whose shape differs from the page's makes it send the
component's ``stale`` trigger after a random wait up to the component's jitter, as the
component does. Errors are kept in ``errors``, never raised.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg

from protocol_session import read_forward  # tools/ is on the path, as for bench_room.py's import of this file
from push.component import JITTER_MS
from push.listen import EventStreamClient

COMPONENT = "margin_lab.room_stream"
TRIGGER = "$$STREAMLIT_INTERNAL_KEY_{}__events"  # the component's trigger widget (components v2)
OPEN_TIMEOUT = 300.0  # [s] for a page, its stream and every first screen; the steps start after


async def http_get(host: str, port: int, path: str, cookie: str = "") -> tuple[int, bytes, str]:
    """GET ``path`` (HTTP/1.1, connection closed after): status, body (as sent: the page and its
    assets come with a length, not chunked) and the cookies set."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                     f"{'Cookie: ' + cookie + chr(13) + chr(10) if cookie else ''}\r\n".encode())
        raw = await reader.read()
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    cookies = [line.split(":", 1)[1].split(";", 1)[0].strip() for line in lines[1:]
               if line.lower().startswith("set-cookie:")]
    return int(lines[0].split()[1]), body, "; ".join(cookies)


class Student:
    """One student's browser on the room page: its page, its websocket, its event stream."""

    def __init__(self, entry: tuple[str, int], code: str, token: str, markers: list[str], nickname: str = ""):
        self.host, self.port = entry
        self.code, self.nickname = code, nickname  # a nickname: join through the page's form
        self.query = f"room={code}&seat={token}" if token else f"room={code}"
        self.form: dict[str, str] = {}  # the join form's widget ids, by key
        self.submitted = False
        self.markers = markers
        self.seen: dict[str, float] = {}
        self.first_screen: float | None = None
        self.errors: list[str] = []
        self.page: dict = {}  # the component's last data from a page run
        self.component_id = self.fragment_id = self.page_hash = ""
        self.has_page = asyncio.Event()
        self.asked: set[str] = set()
        self.sends: set[asyncio.Future] = set()  # held until done: the loop keeps only a weak reference
        self.box_shown: float | None = None  # when a page run drew the question's shape
        self._ws = None

    async def run(self, started: float, stop: asyncio.Event, assets: bool) -> None:
        try:
            status, body, cookie = await http_get(self.host, self.port, f"/join_room?{self.query}")
            if status != 200:
                raise RuntimeError(f"page answered {status}")
            if assets:
                await self._assets(body.decode(errors="replace"), cookie)
            async with websockets.connect(f"ws://{self.host}:{self.port}/_stcore/stream", subprotocols=["streamlit"],
                                          additional_headers={"Cookie": cookie} if cookie else {},
                                          max_size=None, open_timeout=OPEN_TIMEOUT, ping_interval=None) as ws:
                self._ws = ws
                await ws.send(self._rerun().SerializeToString())
                reading = asyncio.create_task(self._read_page(ws))
                try:
                    await asyncio.wait_for(self.has_page.wait(), OPEN_TIMEOUT)
                    await self._listen(started, stop)
                finally:
                    reading.cancel()
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as err:
            self.errors.append(f"{type(err).__name__}: {str(err)[:80]}")

    async def _assets(self, html: str, cookie: str) -> None:
        for path in re.findall(r'(?:src|href)="\./(static/[^"]+)"', html):
            status, _, _ = await http_get(self.host, self.port, f"/{path}", cookie)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")

    @property
    def token(self) -> str:
        """The seat token (from the address the page set after a join through the page)."""
        return next((v for k, _, v in (p.partition("=") for p in self.query.split("&")) if k == "seat"), "")

    def _join(self) -> BackMsg:
        """The join form sent, as a browser's submit: the code, the nickname and the button."""
        message = self._rerun()
        message.rerun_script.page_script_hash = ""  # a whole run: the page by its name, as a first run
        for key, kind, value in (("room.join.code", "string_value", self.code),
                                 ("room.join.nickname", "string_value", self.nickname), ("submit", "trigger_value", True)):
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id = self.form[key]
            setattr(widget, kind, value)
        return message

    def _form_element(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "text_input" and element.text_input.id.endswith(("room.join.code", "room.join.nickname")):
            self.form[element.text_input.id.rsplit("-", 1)[-1]] = element.text_input.id
        elif kind == "button" and element.button.is_form_submitter and element.button.form_id == "room.join":
            self.form["submit"] = element.button.id

    def _rerun(self, why: str | None = None) -> BackMsg:
        message = BackMsg()
        run = message.rerun_script
        run.query_string, run.page_name, run.page_script_hash = self.query, "join_room", self.page_hash
        if why is not None:
            run.fragment_id = self.fragment_id
            widget = run.widget_states.widgets.add()
            widget.id = TRIGGER.format(self.component_id)
            widget.json_trigger_value = json.dumps([{"event": "stale", "value": why}])
        return message

    async def _read_page(self, ws) -> None:
        async for raw in ws:
            forward, kind = read_forward(raw)
            if kind == "new_session":
                self.page_hash = forward.new_session.page_script_hash
            elif kind == "page_info_changed":
                self.query = forward.page_info_changed.query_string
            elif kind == "script_finished" and self.nickname and not self.submitted and len(self.form) == 3:
                self.submitted = True
                await ws.send(self._join().SerializeToString())
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                if self.nickname:
                    self._form_element(element)
                if element.WhichOneof("type") == "exception":
                    self.errors.append(f"page: {element.exception.message[:80]}")
                elif element.WhichOneof("type") == "bidi_component" and element.bidi_component.component_name == COMPONENT:
                    self.page = json.loads(element.bidi_component.json)
                    self.component_id, self.fragment_id = element.bidi_component.id, forward.delta.fragment_id
                    if "|q1.0." in self.page.get("shape", "") and self.box_shown is None:
                        self.box_shown = time.monotonic()
                    self.has_page.set()

    async def _listen(self, started: float, stop: asyncio.Event) -> None:
        stream = await EventStreamClient.open(self.host, self.port, self.page["url"], timeout=OPEN_TIMEOUT, patience=60)

        async def read() -> None:
            async for event in stream.events():
                if event.name == "screen":
                    self._screen(event.json(), event.received, started)
            raise RuntimeError("the stream ended")
        reader, stopper = asyncio.create_task(read()), asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                reader.result()
        finally:
            reader.cancel()
            stopper.cancel()
            await stream.close()

    def _screen(self, data: dict, received: float, started: float) -> None:
        if self.first_screen is None:
            self.first_screen = received - started
        html = data.get("html", "")
        for m in self.markers:
            if m not in self.seen and m in html:
                self.seen[m] = received
        shape = data.get("shape", "")
        if shape and shape != self.page.get("shape") and data["v"] > self.page.get("version", 0) and shape not in self.asked:
            self.asked.add(shape)  # as the component: one page run per new shape, after a random wait
            asyncio.get_running_loop().call_later(random.uniform(0, JITTER_MS / 1000), self._ask, shape)

    def _ask(self, why: str) -> None:
        async def send() -> None:
            try:
                await self._ws.send(self._rerun(why).SerializeToString())
            except Exception as err:
                self.errors.append(f"trigger: {type(err).__name__}")
        task = asyncio.ensure_future(send())
        self.sends.add(task)
        task.add_done_callback(self.sends.discard)
