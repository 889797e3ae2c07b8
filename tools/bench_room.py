"""Classroom load benchmark: N simulated students in one room following the teacher's steps.

    uv run python tools/bench_room.py [--students 30 60] [--steps 10] [--every 2.0] [--account FILE]

Protocol level, not a browser per student: one Streamlit server (``app.py`` over a temporary
SQLite file) and, for each student, one websocket client speaking Streamlit's own protocol
(``/_stcore/stream``, protobuf ``BackMsg``/``ForwardMsg``): it opens the room page with its
seat in the query string, and re-runs the page's polling fragment whenever the server asks
(``auto_rerun``, every second), as the browser does, each client's timer at its own phase. The teacher's steps (a new whole-market
shock every ``--every`` seconds plus up to one more at random) and the students' answers (each student answers once per
step) are written through the room store, as the teacher's page and the answer button do.

For each step it records, per student, the time from the teacher's write to the first
``ForwardMsg`` that brings that student's screen the new step (the live region's HTML naming
the new shock), and prints, per N, the p50 and p95 of those times, how many updates never
came within the step, and the server's CPU (cores used, from ``/proc/<pid>/stat``) and memory
(peak resident set, ``VmHWM``) over the steps. The clients run in this process and share the
machine with the server. It prints figures; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from classroom import RoomStore  # noqa: E402

TWENTY = ROOT / "tests" / "data" / "twenty-positions.json"
REGION = "room.screen"
QUESTION = "stays hidden until the teacher reveals"  # the facts view of an open question


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "MARGIN_LAB_DATA_DIR": data_dir, "MARGIN_LAB_DATABASE_URL": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Student:
    """One websocket session on the room page; ``seen`` maps a step's marker text to the
    monotonic time its screen first showed it."""

    def __init__(self, port: int, code: str, token: str, markers: list[str]):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.query = f"room={code}&seat={token}"
        self.markers = markers
        self.seen: dict[str, float] = {}
        self.ready = asyncio.Event()
        self.fragment: str | None = None
        self.interval = 1.0

    def rerun(self, fragment: str | None = None) -> bytes:
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_name = "join_room"
        if fragment:
            msg.rerun_script.fragment_id = fragment
            msg.rerun_script.is_auto_rerun = True
        return msg.SerializeToString()

    async def run(self, stop: asyncio.Event) -> None:
        async with websockets.connect(self.url, subprotocols=["streamlit"], max_size=2**26) as ws:
            await ws.send(self.rerun())
            ticker = asyncio.create_task(self._tick(ws, stop))
            try:
                while not stop.is_set():
                    try:
                        data = await asyncio.wait_for(ws.recv(), timeout=0.5)
                    except asyncio.TimeoutError:
                        continue
                    self._read(data)
            finally:
                ticker.cancel()

    async def _tick(self, ws, stop: asyncio.Event) -> None:
        await asyncio.sleep(random.uniform(0.0, self.interval))  # browsers' timers are not in step
        while not stop.is_set():
            await asyncio.sleep(self.interval)
            if self.fragment:
                await ws.send(self.rerun(self.fragment))

    def _read(self, data: bytes) -> None:
        now = time.monotonic()
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "auto_rerun":
            self.fragment, self.interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "bidi_component" and \
                    element.bidi_component.component_name == "margin_lab.live_regions":
                html = json.loads(element.bidi_component.json).get("regions", {}).get(REGION, "")
                self.ready.set()
                for marker in self.markers:
                    if marker not in self.seen and marker in html:
                        self.seen[marker] = now


def marker(shock_percent: float) -> str:
    return f"a whole-market shock of {shock_percent:+.1f} %".replace("+", "")


async def teach_the_class(rooms: RoomStore, room, seats, shocks: list[float], every: float) -> tuple[list[float], float]:
    """The teacher's steps through the store (a new shock every ``every`` to ``every + 1`` s, not
    in step with the polls), then a question the whole class answers. Returns when each step was
    written [monotonic s] (the question last) and how long the answers took to store [s]."""
    written: list[float] = []
    for shock in shocks:
        await asyncio.to_thread(rooms.move_market, room.code, room.teacher_key, shock=shock / 100.0)
        written.append(time.monotonic())
        await asyncio.sleep(every + random.uniform(0.0, 1.0))
    # a question reaches every screen (which hides the lab), and the whole class answers
    await asyncio.to_thread(rooms.ask, room.code, room.teacher_key, {"kind": "liquidation_shock"})
    written.append(time.monotonic())
    await asyncio.sleep(0.5)
    answered = time.monotonic()
    await asyncio.gather(*(asyncio.to_thread(rooms.answer, room.code, seat.token, -random.uniform(1, 30))
                           for seat in seats))
    return written, time.monotonic() - answered


async def one_room(port: int, database: str, n: int, steps: int, every: float, account: dict) -> dict:
    rooms = RoomStore(database)
    room = rooms.open_room(capacity=max(n, 1))
    rooms.push_account(room.code, room.teacher_key, account)
    shocks = [-(k + 1) * 1.0 for k in range(steps)]
    markers = [marker(s) for s in shocks] + [QUESTION]
    seats = [rooms.join(room.code, f"Student {i + 1}", client=f"bench-{i}") for i in range(n)]
    students = [Student(port, room.code, s.token, markers) for s in seats]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in students]
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in students)), timeout=120)
    await asyncio.sleep(2.0)  # every session settled into its polling
    started, cpu0 = time.monotonic(), cpu_seconds(SERVER_PID)
    written, answer_time = await teach_the_class(rooms, room, seats, shocks, every)
    await asyncio.sleep(every)
    wall, cpu = time.monotonic() - started, cpu_seconds(SERVER_PID) - cpu0
    count = rooms.answers(room.code, room.teacher_key).count
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays, asked, missed = [], [], 0
    for s in students:
        for k, m in enumerate(markers):
            if m not in s.seen:
                missed += 1  # a step passed before this screen showed it (or never did)
            elif m == QUESTION:
                asked.append(s.seen[m] - written[k])
            else:
                delays.append(s.seen[m] - written[k])
    rooms.dispose()
    return {"n": n, "delays": delays, "asked": asked, "missed": missed, "cores": cpu / wall,
            "rss": peak_rss_mb(SERVER_PID), "answers": count, "answer_time": answer_time}


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] if len(values) > 1 else values[0]


SERVER_PID = 0


def main() -> int:
    global SERVER_PID
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[30, 60])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between the teacher's steps")
    parser.add_argument("--account", type=Path, default=TWENTY, help="the scenario the room shows")
    args = parser.parse_args()
    account = json.loads(args.account.read_text())
    with tempfile.TemporaryDirectory() as data:
        process, port = start_server(data)
        SERVER_PID = process.pid
        database = f"sqlite:///{Path(data) / 'rooms.sqlite3'}"
        try:
            print(f"account: {args.account.name} ({len(account['positions'])} positions); {args.steps} teacher steps, "
                  f"one every {args.every:g} s; students poll every second")
            for n in args.students:
                r = asyncio.run(one_room(port, database, n, args.steps, args.every, account))
                d = r["delays"]
                print(f"N={n:3d}: teacher step -> student screen p50 {quantile(d, 0.5):.2f} s, "
                      f"p95 {quantile(d, 0.95):.2f} s over {len(d)} updates ({r['missed']} missed); "
                      f"server CPU {r['cores']:.2f} cores, peak memory {r['rss']:.0f} MB")
                if r["asked"]:
                    print(f"       question -> screen p50 {quantile(r['asked'], 0.5):.2f} s, p95 "
                          f"{quantile(r['asked'], 0.95):.2f} s; {r['answers']} answers stored in "
                          f"{r['answer_time']:.2f} s")
        finally:
            process.terminate()
            process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
