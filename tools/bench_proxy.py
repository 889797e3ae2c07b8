"""Load benchmark past one server: many protocol-level sessions through nginx, 1 and 2 servers.

    uv run --extra test python tools/bench_proxy.py [--servers 1,2] [--sessions 20,40,60]
                                                    [--seconds 30] [--interval 2]

For each number of app servers, the deployment as the many-server tests run it
(``deploy/farm.py``: Debian's nginx on ``deploy/nginx/nginx.conf`` in front of app servers
started by ``deploy/serve.py``, all on loopback), every server showing the 20-position account
(``tests/data/twenty-positions.json``, through ``MARGIN_LAB_SCENARIO``). Then, for each number
of sessions, that many simulated visitors (``tools/protocol_session.py``: the page fetched
with its cookies, the websocket opened, the first run) each step the lab's whole-market shock
slider every ``--interval`` seconds, a fragment rerun as the browser sends it; a visitor waits
for its step to finish before the next (a person watches the result). Timed: from the step
sent to its run's ``script_finished``, for steps begun after a warm-up of ``--warmup`` seconds.

Prints, per line: servers, sessions, how the proxy spread them (sessions per server), steps
counted and steps per second carried, p50 and p95 of the step time, the app servers' CPU
(cores used, summed; and per step, warm-up steps included) and memory (resident, each), this client's CPU (cores) and the machine's
idle cores over the measurement (whatever else runs on it counts as busy). All processes, this
client included, share one machine: compare lines of one run. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from deploy.farm import Farm, NGINX  # noqa: E402
from protocol_session import ProtocolSession  # noqa: E402

TWENTY = ROOT / "tests" / "data" / "twenty-positions.json"
SLIDER = "lab.shock.slider"
SHOCKS = [-x / 2 for x in range(2, 40)]  # -1 % to -19.5 %: every step a new shock
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def machine_busy_idle() -> tuple[int, int]:
    """The whole machine's CPU time so far [clock ticks]: (busy, idle), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, idle


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def visitor(session: ProtocolSession, start: float, warm: float, end: float, interval: float,
                  times: list[float], every: list[float], errors: list[str]) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    turn = random.randrange(len(SHOCKS))
    while time.monotonic() < end:
        began = time.monotonic()
        try:
            seconds = await session.step(SLIDER, SHOCKS[turn % len(SHOCKS)])
        except Exception as error:  # a lost step is a figure too, not a crash of the benchmark
            errors.append(repr(error))
            return
        turn += 1
        every.append(seconds)
        if began >= warm:
            times.append(seconds)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))


async def measure(farm: Farm, sessions: int, seconds: float, interval: float, warmup: float) -> dict:
    gate = asyncio.Semaphore(8)  # a class arriving: a few page loads at a time

    async def opened() -> ProtocolSession:
        async with gate:
            session = ProtocolSession(farm.url)
            await session.open()
            return session

    visitors = await asyncio.gather(*(opened() for _ in range(sessions)))
    spread = Counter(v.websocket_server for v in visitors)
    pids = [s.process.pid for s in farm.servers]
    cpu_before, clock_before = [cpu_seconds(p) for p in pids], time.monotonic()
    client_before, machine_before = time.process_time(), machine_busy_idle()
    times: list[float] = []
    every: list[float] = []  # warm-up steps too, for the CPU per step
    errors: list[str] = []
    start = time.monotonic()
    await asyncio.gather(*(visitor(v, start, start + warmup, start + warmup + seconds, interval, times, every,
                                   errors)
                           for v in visitors))
    elapsed = time.monotonic() - clock_before
    cpu = sum(cpu_seconds(p) - c for p, c in zip(pids, cpu_before))
    cores = cpu / elapsed
    client = (time.process_time() - client_before) / elapsed
    busy, idle = (after - before for after, before in zip(machine_busy_idle(), machine_before))
    machine_idle = (os.cpu_count() or 1) * idle / (busy + idle)  # idle cores, on average
    memory = [resident_mb(p) for p in pids]
    for v in visitors:
        await v.close()
    ordered = sorted(times)
    return {"sessions": sessions, "spread": sorted(spread.values(), reverse=True), "steps": len(ordered),
            "rate": len(ordered) / seconds, "p50": statistics.median(ordered) if ordered else float("nan"),
            "p95": percentile(ordered, 0.95) if ordered else float("nan"), "cores": cores,
            "cpu_ms": 1000 * cpu / max(1, len(every)), "memory": memory, "client": client, "idle": machine_idle, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="1,2", help="numbers of app servers, e.g. 1,2")
    parser.add_argument("--sessions", default="20,40,60", help="numbers of sessions, e.g. 20,40,60")
    parser.add_argument("--seconds", type=float, default=30.0, help="counted seconds per measurement")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds not counted at the start")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a visitor's steps")
    parser.add_argument("--scenario", default=str(TWENTY), help="the account every session shows")
    args = parser.parse_args()
    if not Path(NGINX).exists():
        print(f"{NGINX} is missing: apt-get install -y nginx", file=sys.stderr)
        return 2
    random.seed(0)
    print(f"{os.cpu_count()} cores; account {Path(args.scenario).name}; a step every {args.interval:g} s "
          f"per session; {args.seconds:g} s counted after {args.warmup:g} s")
    print(f"{'servers':>7} {'sessions':>8} {'per server':>12} {'steps':>6} {'steps/s':>8} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'cores':>6} {'CPU ms':>6} {'memory MB':>14} {'client':>7} {'idle':>5}")
    for count in (int(n) for n in args.servers.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            with Farm(Path(folder), servers_count=count, env={"MARGIN_LAB_SCENARIO": args.scenario}) as farm:
                for sessions in (int(n) for n in args.sessions.split(",")):
                    row = asyncio.run(measure(farm, sessions, args.seconds, args.interval, args.warmup))
                    spread = "+".join(map(str, row["spread"]))
                    memory = " ".join(f"{m:.0f}" for m in row["memory"])
                    print(f"{count:>7} {sessions:>8} {spread:>12} {row['steps']:>6} {row['rate']:>8.1f} "
                          f"{row['p50'] * 1000:>8.0f} {row['p95'] * 1000:>8.0f} {row['cores']:>6.2f} "
                          f"{row['cpu_ms']:>6.0f} {memory:>14} {row['client']:>7.2f} {row['idle']:>5.2f}", flush=True)
                    if row["errors"]:
                        print(f"        {len(row['errors'])} sessions lost a step: {row['errors'][0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
