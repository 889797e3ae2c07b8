"""Classroom benchmark: N students in one room, each doing what a browser does on the student page.

    uv run --extra test python tools/bench_room.py [--students 60 300] [--servers 1] [--nginx]
        [--steps 10] [--every 2.0] [--account FILE] [--database URL] [--assets]

The app as ``docs/push.md`` says to run it (``streamlit run serve_app.py`` with the production
settings of ``deploy/streamlit-config.toml``), on ``--servers`` processes over one database (a
temporary SQLite file, or ``--database`` a PostgreSQL URL), the students spread over them (or,
with ``--nginx``, through the project's nginx on ``deploy/nginx/nginx.conf``). Per N, a new room:

1. **Joins** through the store (the room's capacity N), all at once from a pool of threads.
2. **First screen**, all N students at once, each as a browser: GET the page (and, with
   ``--assets``, the scripts, style and font its HTML names, as a browser with an empty cache),
   open Streamlit's websocket and run the student page with its seat (Streamlit's protocol,
   ``streamlit.proto``), read the listening component's stream address from that run, open
   the event stream (:mod:`push.listen`) and wait for its first screen. Timed from the start.
3. **Steps**: the teacher's ``--steps`` shocks through the store (one every ``--every`` to
   ``--every`` + 1 s), then a question. Per student and step, the time from the write's commit
   to the first stream event showing it; *missed* is a step a student's stream never showed. A
   screen whose shape differs from the page's (the question) makes the student send the
   component's ``stale`` trigger after a random wait up to the component's jitter, as the
   component does, and the page's run is timed too. Then every student answers, through the store.

Errors are counted, never raised: a page, websocket or stream that failed, a first screen that
did not come, an answer refused. The servers' CPU (cores over the steps, from /proc) and peak
memory (VmHWM, summed) and the machine's load average are printed; the clients run in this
process on the same machine. The last line of each run:

    students N: p50 X s, p95 Y s, missed M of K, errors E, server CPU C cores, peak memory P MB
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from classroom import RoomStore  # noqa: E402
from deploy.farm import free_port, nginx_command, render_nginx, stop_process, wait_healthy  # noqa: E402
from deploy.serve import SETTINGS, settings_flags  # noqa: E402
from push.component import JITTER_MS  # noqa: E402
from push.listen import EventStreamClient  # noqa: E402

TWENTY = ROOT / "tests" / "data" / "twenty-positions.json"
QUESTION = "stays hidden until the teacher reveals"  # the facts view of an open question
COMPONENT = "margin_lab.room_stream"
TRIGGER = "$$STREAMLIT_INTERNAL_KEY_{}__events"  # the component's trigger widget (components v2)
OPEN_TIMEOUT = 300.0  # [s] for a page, its stream and every first screen; the steps start after


def marker(shock_percent: float) -> str:
    return f"a whole-market shock of {shock_percent:.1f} %"


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] if len(values) > 1 else values[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# ----------------------------------------------------------------------------- the servers


class Servers:
    """``count`` app servers (``streamlit run serve_app.py``, production flags) and, with
    ``nginx``, the project's nginx in front; ``entries`` are where students connect."""

    def __init__(self, folder: Path, count: int, database: str, nginx: bool):
        self.folder, self.count, self.database, self.use_nginx = folder, count, database, nginx
        self.processes: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self.entries: list[tuple[str, int]] = []

    def __enter__(self) -> "Servers":
        env = {**os.environ, "MARGIN_LAB_DATABASE_URL": self.database,
               "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32)}
        flags = settings_flags(tomllib.loads(SETTINGS.read_text()))
        ports = [free_port() for _ in range(self.count)]
        try:
            for i, port in enumerate(ports):
                log = (self.folder / f"app-{i}.log").open("ab")
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve_app.py"), *flags,
                     "--server.address", "127.0.0.1", "--server.port", str(port)],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            for i, (process, port) in enumerate(zip(self.processes, ports)):
                wait_healthy(f"http://127.0.0.1:{port}", process, f"app server {i}", self.folder / f"app-{i}.log")
            self.entries = [("127.0.0.1", p) for p in ports]
            if self.use_nginx:
                self._start_nginx(ports)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_nginx(self, ports: list[int]) -> None:
        port = free_port()
        render_nginx(self.folder / "nginx", f"127.0.0.1:{port}", [f"127.0.0.1:{p}" for p in ports])
        with (self.folder / "nginx" / "logs" / "access.log").open("ab") as log:
            self.nginx = subprocess.Popen(nginx_command(self.folder / "nginx"), stdout=log, stderr=subprocess.STDOUT)
        wait_healthy(f"http://127.0.0.1:{port}", self.nginx, "nginx", self.folder / "nginx" / "logs" / "error.log")
        self.entries = [("127.0.0.1", port)]

    def __exit__(self, *exc: object) -> None:
        if self.nginx is not None:
            stop_process(self.nginx)
        for process in self.processes:
            stop_process(process)

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def peak_mb(self) -> float:
        return sum(peak_rss_mb(p.pid) for p in self.processes)


# ----------------------------------------------------------------------------- one student


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

    def __init__(self, entry: tuple[str, int], code: str, token: str, markers: list[str]):
        self.host, self.port = entry
        self.query = f"room={code}&seat={token}"
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
            if isinstance(raw, str):
                continue
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = forward.new_session.page_script_hash
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                if element.WhichOneof("type") == "exception":
                    self.errors.append(f"page: {element.exception.message[:80]}")
                elif element.WhichOneof("type") == "bidi_component" and element.bidi_component.component_name == COMPONENT:
                    self.page = json.loads(element.bidi_component.json)
                    self.component_id, self.fragment_id = element.bidi_component.id, forward.delta.fragment_id
                    if "|q1.0|" in self.page.get("shape", "") and self.box_shown is None:
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


# ----------------------------------------------------------------------------- one room


async def in_threads(calls: list, workers: int = 32) -> list:
    """Run the blocking ``calls`` (no-argument callables) at once in a pool; each result or
    the exception it raised."""
    loop = asyncio.get_running_loop()

    def guarded(call):
        try:
            return call()
        except Exception as err:  # counted by the caller
            return err
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return await asyncio.gather(*(loop.run_in_executor(pool, guarded, c) for c in calls))


async def teach(rooms: RoomStore, room, shocks: list[float], every: float) -> list[float]:
    """The teacher's steps through the store; when each was written [monotonic s]."""
    written = []
    for shock in shocks:
        await asyncio.to_thread(rooms.move_market, room.code, room.teacher_key, shock=shock / 100.0)
        written.append(time.monotonic())
        await asyncio.sleep(every + random.uniform(0.0, 1.0))
    return written


async def ask(rooms: RoomStore, room, students: list[Student]) -> float:
    """A question through the store; waits (at most a minute) until every page has run for it
    (its answer box), as the component asks. Returns when it was written [monotonic s]."""
    await asyncio.to_thread(rooms.ask, room.code, room.teacher_key, {"kind": "liquidation_shock"})
    asked_at = time.monotonic()
    await asyncio.sleep(JITTER_MS / 1000)
    while time.monotonic() < asked_at + 60 and any(s.box_shown is None and not s.errors for s in students):
        await asyncio.sleep(0.1)
    return asked_at


async def one_room(servers: Servers, args: argparse.Namespace, n: int, account: dict) -> dict:
    rooms = RoomStore(servers.database)
    room = rooms.open_room(capacity=max(n, 1))
    rooms.push_account(room.code, room.teacher_key, account)
    joined_at = time.monotonic()
    seats = await in_threads([lambda i=i: rooms.join(room.code, f"Student {i + 1}", client=f"bench-{i}") for i in range(n)])
    joins = {"seconds": time.monotonic() - joined_at, "refused": [s for s in seats if isinstance(s, Exception)]}
    seats = [s for s in seats if not isinstance(s, Exception)]
    shocks = [-(k + 1) * 1.0 for k in range(args.steps)]
    markers = [marker(s) for s in shocks] + [QUESTION]
    students = [Student(servers.entries[i % len(servers.entries)], room.code, s.token, markers) for i, s in enumerate(seats)]
    stop = asyncio.Event()
    cpu0, started, mine = servers.cpu(), time.monotonic(), time.process_time()
    tasks = [asyncio.create_task(s.run(started, stop, args.assets)) for s in students]
    deadline = started + OPEN_TIMEOUT
    while time.monotonic() < deadline and any(s.first_screen is None and not s.errors for s in students):
        await asyncio.sleep(0.1)
    took = max(time.monotonic() - started, 1e-9)
    opening = {"cores": (servers.cpu() - cpu0) / took, "clients": (time.process_time() - mine) / took,
               "each": (servers.cpu() - cpu0) / max(n, 1)}
    await asyncio.sleep(2.0)
    cpu0, began = servers.cpu(), time.monotonic()
    written = await teach(rooms, room, shocks, args.every)
    wall, cpu = time.monotonic() - began, servers.cpu() - cpu0
    asked_at = await ask(rooms, room, students)
    written.append(asked_at)
    question_cpu = (servers.cpu() - cpu0 - cpu) / max(n, 1)  # the question's page runs, per student
    answers = await in_threads([lambda s=s: rooms.answer(room.code, s.token, -random.uniform(1, 30)) for s in seats])
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    rooms.dispose()
    return {"n": n, "students": students, "written": written, "markers": markers, "asked_at": asked_at,
            "joins": joins, "opening": opening, "cores": cpu / wall, "peak": servers.peak_mb(), "question_cpu": question_cpu,
            "answers_refused": [a for a in answers if isinstance(a, Exception)]}


def report(r: dict, servers: Servers, load_before: str, assets: bool) -> None:
    students, written, markers = r["students"], r["written"], r["markers"]
    delays, missed = [], 0
    for s in students:
        for k, m in enumerate(markers):
            if m in s.seen:
                delays.append(s.seen[m] - written[k])
            else:
                missed += 1
    firsts = [s.first_screen for s in students if s.first_screen is not None]
    boxes = [s.box_shown - r["asked_at"] for s in students if s.box_shown is not None]
    errors = Counter(e for s in students for e in s.errors)
    errors.update(f"first screen: none within {OPEN_TIMEOUT:.0f} s" for s in students if s.first_screen is None and not s.errors)
    errors.update(f"join: {e}" for e in r["joins"]["refused"])
    errors.update(f"answer: {str(e)[:60]}" for e in r["answers_refused"])
    n = r["n"]
    print(f"N={n}: {servers.count} server(s){' behind nginx' if servers.use_nginx else ''}, "
          f"{servers.database.split(':', 1)[0]}; {n - len(r['joins']['refused'])} joins stored in "
          f"{r['joins']['seconds']:.2f} s")
    print(f"  first screen (all {n} at once{', with the page assets' if assets else ''}): p50 {quantile(firsts, 0.5):.2f} s, "
          f"p95 {quantile(firsts, 0.95):.2f} s, max {max(firsts, default=float('nan')):.2f} s; "
          f"{sum(f <= 10.0 for f in firsts)} of {n} within 10 s; CPU while opening: servers {r['opening']['cores']:.2f} cores "
          f"({r['opening']['each'] * 1000:.0f} ms a student), these clients {r['opening']['clients']:.2f}")
    print(f"  question: its page run (the answer box) p50 {quantile(boxes, 0.5):.2f} s, p95 {quantile(boxes, 0.95):.2f} s "
          f"after the write ({len(boxes)} of {n}; servers' CPU {r['question_cpu'] * 1000:.0f} ms a student); "
          f"answers stored {n - len(r['answers_refused'])} of {n}")
    print(f"  load average {load_before} -> {load_average()} ({os.cpu_count()} cores); errors: "
          + (", ".join(f"{k} x{v}" for k, v in errors.most_common(5)) or "none"))
    print(f"students {n}: p50 {quantile(delays, 0.5):.2f} s, p95 {quantile(delays, 0.95):.2f} s, missed {missed} of "
          f"{n * len(markers)}, errors {sum(errors.values())}, server CPU {r['cores']:.2f} cores, "
          f"peak memory {r['peak']:.0f} MB", flush=True)


async def warm(servers: Servers, database: str) -> None:
    """One student page per server first, as a teacher's visit would: the modules loaded."""
    rooms = RoomStore(database)
    room = rooms.open_room(capacity=len(servers.entries) + 1)
    rooms.push_account(room.code, room.teacher_key, json.loads(TWENTY.read_text()))
    for i, entry in enumerate(servers.entries * (2 if servers.use_nginx else 1)):
        seat = rooms.join(room.code, f"Warm {i}", client="bench-warm")
        student = Student(entry, room.code, seat.token, [])
        stop = asyncio.Event()
        task = asyncio.create_task(student.run(time.monotonic(), stop, False))
        for _ in range(1200):
            if student.first_screen is not None or student.errors:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task
    rooms.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[60, 300])
    parser.add_argument("--servers", type=int, default=1, help="app processes (serve_app.py)")
    parser.add_argument("--nginx", action="store_true", help="the students through the project's nginx")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between the teacher's steps")
    parser.add_argument("--account", type=Path, default=TWENTY, help="the scenario the room shows")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--assets", action="store_true", help="each student also fetches the page's scripts, style and font")
    args = parser.parse_args()
    account = json.loads(args.account.read_text())
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or f"sqlite:///{Path(folder) / 'rooms.sqlite3'}"
        with Servers(Path(folder), args.servers, database, args.nginx) as servers:
            print(f"account: {args.account.name} ({len(account['positions'])} positions); {args.steps} teacher steps, "
                  f"one every {args.every:g} to {args.every + 1:g} s, then a question", flush=True)
            asyncio.run(warm(servers, database))
            for n in args.students:
                before = load_average()
                report(asyncio.run(one_room(servers, args, n, account)), servers, before, args.assets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
