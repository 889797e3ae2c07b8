"""A Streamlit session at the protocol level: what a browser tab does, without the browser.

It fetches the page (keeping the cookies nginx and Streamlit set, so a proxy routes it like a
browser), opens the app's websocket (``/_stcore/stream``), asks for the first run, reads the
widgets it is sent, and steps a slider the way the browser does: a rerun of the slider's own
fragment with the slider's new value, timed to the run's ``script_finished``. Used by
``tools/bench_proxy.py`` (many sessions at once) and by the many-server tests.

    session = ProtocolSession("http://127.0.0.1:8080")
    await session.open()               # the first run; session.server names who answered
    seconds = await session.step("lab.shock.slider", -5.0)
    await session.close()
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

SERVER_HEADER = "X-Margin-Lab-Server"
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


@dataclass
class Slider:
    id: str  # Streamlit's widget id, ending in the widget's key
    fragment_id: str  # "" for a slider outside any fragment
    label: str
    value: list[float]


def read_forward(raw: str | bytes) -> tuple[ForwardMsg, str | None]:
    """A websocket frame from the server as Streamlit's ``ForwardMsg`` and its kind (None for a
    text frame, which carries no message)."""
    forward = ForwardMsg()
    if isinstance(raw, str):
        return forward, None
    forward.ParseFromString(raw)
    return forward, forward.WhichOneof("type")


def _get_page(url: str) -> tuple[str, str | None]:
    """GET the page: the Cookie header to send back, and the server nginx named."""
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
        return cookie, response.headers.get(SERVER_HEADER)


@dataclass
class ProtocolSession:
    base_url: str
    timeout: float = 120.0
    server: str | None = None  # the page's X-Margin-Lab-Server (None without the proxy)
    websocket_server: str | None = None
    toolbar_mode: int | None = None
    page_script_hash: str = ""
    sliders: dict[str, Slider] = field(default_factory=dict)  # by widget key
    numbers: dict[str, float] = field(default_factory=dict)  # number boxes' values, by widget key
    received: int = 0  # bytes of the server's messages so far (tools/bench_step.py: per step)
    _ws: object = None

    async def open(self) -> float:
        """Load the page and run the app once; seconds from the websocket's opening to the end
        of the first run."""
        cookie, self.server = await asyncio.to_thread(_get_page, self.base_url + "/")
        ws_url = self.base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._ws = await websockets.connect(
            ws_url, subprotocols=["streamlit"], additional_headers={"Cookie": cookie} if cookie else {},
            max_size=None, open_timeout=self.timeout, ping_interval=None)
        self.websocket_server = self._ws.response.headers.get(SERVER_HEADER)
        started = time.perf_counter()
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = ""
        await self._run(message)
        return time.perf_counter() - started

    async def step(self, key: str, value: float) -> float:
        """Move the slider with widget key ``key`` to ``value``; seconds to its run's end."""
        slider = self.sliders[key]
        message = BackMsg()
        state = message.rerun_script
        state.page_script_hash = self.page_script_hash
        state.fragment_id = slider.fragment_id
        widget = state.widget_states.widgets.add()
        widget.id = slider.id
        widget.double_array_value.data.append(value)
        started = time.perf_counter()
        await self._run(message)
        return time.perf_counter() - started

    async def _run(self, message: BackMsg) -> None:
        await self._ws.send(message.SerializeToString())
        deadline = time.monotonic() + self.timeout
        while True:
            raw = await asyncio.wait_for(self._ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            forward, kind = read_forward(raw)
            self.received += len(raw) if kind is not None else 0
            if kind == "new_session":
                self.toolbar_mode = forward.new_session.config.toolbar_mode
                self.page_script_hash = forward.new_session.page_script_hash
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                if element.WhichOneof("type") == "slider":
                    slider = element.slider
                    key = slider.id.split("-", 2)[-1]  # "$$ID-<hash>-<key>"
                    self.sliders[key] = Slider(slider.id, forward.delta.fragment_id, slider.label,
                                               list(slider.value))
                elif element.WhichOneof("type") == "number_input":
                    box = element.number_input
                    self.numbers[box.id.split("-", 2)[-1]] = box.value
            elif kind == "script_finished":
                if forward.script_finished not in FINISHED_OK:
                    raise RuntimeError(f"run ended with status {forward.script_finished}")
                return

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
