"""A classroom room's load past one server: tools/bench_room.py's students through nginx, on 1 and 2 app servers.

    uv run --extra test python tools/bench_room_farm.py [--servers 1 2] [--students 30 60]
                                                        [--steps 10] [--every 2.0] [--account FILE]
                                                        [--database-url URL]

The deployment as the many-server tests run it (``deploy/farm.py``: Debian's nginx on
``deploy/nginx/nginx.conf``, app servers started by ``deploy/serve.py``), every app server on
one database: a temporary SQLite file, or ``--database-url`` (a PostgreSQL URL). For each number
of servers a fresh farm; for each N a fresh room with N students, each one websocket client of
``tools/bench_room.py`` (Streamlit's own protocol on the room page, re-running its polling
fragment every second as the browser does) connected through nginx, which spreads new visitors
over the servers (X-Margin-Lab-Server of each handshake says where each landed). The teacher's
steps (a new shock every ``--every`` to ``--every`` + 1 s) and then a question, answered by
the whole class, go through the store, as in ``tools/bench_room.py``.

Printed per run: the p50 and p95 time from the teacher's write to each student's screen showing
the step, how many updates never came within their step, the students per server, the app
servers' CPU (cores, summed over servers, from ``/proc/<pid>/stat``) and peak memory each
(``VmHWM``), and the machine's load average before and after (the clients run in this process
on the same machine: a shared machine's load shows in every figure). Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from classroom import RoomStore  # noqa: E402
from deploy.farm import SERVER_HEADER, Farm  # noqa: E402
from tools.bench_room import (  # noqa: E402
    QUESTION, TWENTY, Student, cpu_seconds, marker, peak_rss_mb, quantile, teach_the_class,
)


class ProxiedStudent(Student):
    """A bench_room student whose websocket goes through nginx; ``server`` is the app server
    that nginx chose for it (the handshake's X-Margin-Lab-Server)."""

    server = ""

    async def run(self, stop: asyncio.Event) -> None:
        async with websockets.connect(self.url, subprotocols=["streamlit"], max_size=2**26,
                                      open_timeout=60) as ws:
            self.server = ws.response.headers.get(SERVER_HEADER, "?")
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


async def warm_up(farm: Farm, database: str, account: dict) -> None:
    """One student on each server, straight to its port, before any class: a fresh server's
    first room pages leave Streamlit's legacy pages mode (ui/shell/deep_links.py), and with
    many first sessions at once on a fresh server a protocol client was seen to wait for ever
    (see docs/benchmarks.md); a deployment's servers have served before a class arrives."""
    rooms = RoomStore(database)
    room = rooms.open_room(capacity=len(farm.servers))
    rooms.push_account(room.code, room.teacher_key, account)
    for server in farm.servers:
        seat = rooms.join(room.code, f"Warm-up {server.port}", client=f"warm-{server.port}")
        student, stop = Student(server.port, room.code, seat.token, []), asyncio.Event()
        task = asyncio.create_task(student.run(stop))
        await asyncio.wait_for(student.ready.wait(), timeout=120)
        stop.set()
        await task
    rooms.close(room.code, room.teacher_key)
    rooms.dispose()


def servers_cpu(farm: Farm) -> float:
    return sum(cpu_seconds(s.process.pid) for s in farm.servers)


async def one_room(farm: Farm, database: str, n: int, steps: int, every: float, account: dict) -> dict:
    rooms = RoomStore(database)
    room = rooms.open_room(capacity=max(n, 1))
    rooms.push_account(room.code, room.teacher_key, account)
    shocks = [-(k + 1) * 1.0 for k in range(steps)]
    markers = [marker(s) for s in shocks] + [QUESTION]
    seats = [rooms.join(room.code, f"Student {i + 1}", client=f"bench-{i}") for i in range(n)]
    students = [ProxiedStudent(farm.port, room.code, s.token, markers) for s in seats]
    stop = asyncio.Event()
    tasks = []
    for s in students:  # a class arrives over a few seconds, not in one instant
        tasks.append(asyncio.create_task(s.run(stop)))
        await asyncio.sleep(0.1)
    try:
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in students)), timeout=300)
    except asyncio.TimeoutError:
        failed = [repr(t.exception()) for t in tasks if t.done() and t.exception()]
        late = sum(not s.ready.is_set() for s in students)
        raise SystemExit(f"{late} of {n} students never saw the room within 300 s; failures: {failed[:3]}") from None
    await asyncio.sleep(2.0)  # every session settled into its polling
    load_before = os.getloadavg()[0]
    started, cpu0 = time.monotonic(), servers_cpu(farm)
    written, answer_time = await teach_the_class(rooms, room, seats, shocks, every)
    await asyncio.sleep(every)
    wall, cpu = time.monotonic() - started, servers_cpu(farm) - cpu0
    count = rooms.answers(room.code, room.teacher_key).count
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays, asked, missed, missing = [], [], 0, Counter()
    for s in students:
        for k, m in enumerate(markers):
            if m not in s.seen:
                missed += 1
                missing[id(s)] += 1
            elif m == QUESTION:
                asked.append(s.seen[m] - written[k])
            else:
                delays.append(s.seen[m] - written[k])
    rooms.dispose()
    spread = Counter(farm.server(s.server).address for s in students)
    return {"delays": delays, "asked": asked, "missed": missed, "updates": len(students) * len(markers),
            "cores": cpu / wall, "answers": count, "answer_time": answer_time,
            "missing": (len(missing), max(missing.values(), default=0)),
            "spread": [spread.get(s.address, 0) for s in farm.servers],
            "rss": [peak_rss_mb(s.process.pid) for s in farm.servers],
            "load": (load_before, os.getloadavg()[0])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--students", type=int, nargs="+", default=[30, 60])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between the teacher's steps")
    parser.add_argument("--account", type=Path, default=TWENTY, help="the scenario the room shows")
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    args = parser.parse_args()
    account = json.loads(args.account.read_text())
    print(f"account: {args.account.name} ({len(account['positions'])} positions); {args.steps} teacher steps, one "
          f"every {args.every:g} to {args.every + 1:g} s; students poll every second; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as folder:
        database = args.database_url or f"sqlite:///{Path(folder) / 'rooms.sqlite3'}"
        print(f"database: {database.split('://')[0]}")
        for count in args.servers:
            with Farm(Path(folder) / f"farm-{count}", servers_count=count,
                      env={"MARGIN_LAB_DATABASE_URL": database}) as farm:
                asyncio.run(warm_up(farm, database, account))
                for n in args.students:
                    r = asyncio.run(one_room(farm, database, n, args.steps, args.every, account))
                    d = r["delays"]
                    print(f"{count} server{'s' if count > 1 else ' '} N={n:3d}: teacher step -> student screen "
                          f"p50 {quantile(d, 0.5):.2f} s, p95 {quantile(d, 0.95):.2f} s over {len(d)} updates "
                          f"({r['missed']} of {r['updates']} missed, by {r['missing'][0]} students, at most "
                          f"{r['missing'][1]} each); students per server "
                          f"{'/'.join(map(str, r['spread']))}; servers' CPU {r['cores']:.2f} cores, peak memory "
                          f"{'/'.join(f'{m:.0f}' for m in r['rss'])} MB; load average {r['load'][0]:.1f} -> "
                          f"{r['load'][1]:.1f}")
                    if r["asked"]:
                        print(f"          question -> screen p50 {quantile(r['asked'], 0.5):.2f} s, p95 "
                              f"{quantile(r['asked'], 0.95):.2f} s; {r['answers']} answers stored in "
                              f"{r['answer_time']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
