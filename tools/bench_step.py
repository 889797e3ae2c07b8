"""Server CPU per slider step at the protocol level: the price lab at 2, 20 and 100 positions
against a bare one-slider, one-chart app with the same Streamlit settings.

    uv run --extra test python tools/bench_step.py [--steps 40] [--rounds 3]

Four Streamlit servers on loopback, each started from the project folder (so all read
``.streamlit/config.toml``, ``runner.postScriptGC = false`` included; ``tools/bench_ui.py``'s
``start``):

* **bare**: ``tools/bench_ui.py``'s minimal app (one slider, one Plotly chart);
* **lab, 2 positions**: ``app.py`` on the default account;
* **lab, 20 positions**: ``tests/data/twenty-positions.json`` (``MARGIN_LAB_SCENARIO``);
* **lab, 100 positions**: the largest account a link holds (100 positions over 12 markets,
  ``tools/bench_memory.py``'s ``biggest_account``).

One session per server (``tools/protocol_session.py``: the page, the websocket, the first run)
steps the whole-market shock slider as the browser sends it (a rerun of the slider's fragment),
down from 0 to -19.5 % and back in 0.5 % steps, waiting for each run's end. Counted per round
and per app: the bytes the server sent per step, the server process's CPU time (``/proc/<pid>/stat``, user + system) over
``--steps`` steps, divided by the steps; and the wall time of each step. Rounds are
interleaved so that the machine's load falls on every app alike; the ratio to the bare app is
taken within each round. Prints the machine's load average before and after. A measurement,
not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench_memory import biggest_account  # noqa: E402
from bench_proxy import cpu_seconds  # noqa: E402
import bench_ui  # noqa: E402
from bench_ui import MINIMAL_APP, TWENTY  # noqa: E402
from protocol_session import ProtocolSession  # noqa: E402
from deploy.farm import stop_process  # noqa: E402

SHOCKS = [-x / 2 for x in range(1, 40)] + [-x / 2 for x in range(38, -1, -1)]  # 0 to -19.5 % and back


def start(script: Path, env: dict[str, str], folder: Path = ROOT):
    """``tools/bench_ui.py``'s server start, from project folder ``folder`` (its settings)."""
    bench_ui.ROOT = folder
    try:
        return bench_ui.start(script, env)
    finally:
        bench_ui.ROOT = ROOT


def run_interleaved(apps: list[tuple], rounds: int, measure: Callable[..., None]) -> None:
    """Start each app's server, ``(name, script, env, folder, *extra)``, from its folder; then
    ``rounds`` rounds of ``measure(name, pid, url, *extra)`` over the apps in turn, so that the
    machine's load falls on every app alike. Every server stops at the end, however it ends."""
    processes = []
    try:
        servers = []
        for name, script, env, folder, *extra in apps:
            process, url = start(script, env, folder)
            processes.append(process)
            servers.append((name, process.pid, url, *extra))
        for _ in range(rounds):
            for server in servers:
                measure(*server)
    finally:
        for process in processes:
            stop_process(process)


async def measure(url: str, pid: int, slider: str, steps: int, warmup: int) -> tuple[float, float, float]:
    """(server CPU [ms] per step, median wall [ms] per step, kB the server sent per step) over
    ``steps`` steps after ``warmup``."""
    session = ProtocolSession(url)
    await session.open()
    try:
        for k in range(warmup):
            await session.step(slider, SHOCKS[k % len(SHOCKS)])
        walls = []
        sent = session.received
        before = cpu_seconds(pid)
        for k in range(warmup, warmup + steps):
            walls.append(await session.step(slider, SHOCKS[k % len(SHOCKS)]))
        cpu = cpu_seconds(pid) - before
        sent = session.received - sent
    finally:
        await session.close()
    return 1000.0 * cpu / steps, 1000.0 * statistics.median(walls), sent / 1000.0 / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="counted steps per app and round (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--warmup", type=int, default=5, help="steps not counted after each page load")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another copy of the project (e.g. main's tree, `git archive`): its lab measured too, "
                             "interleaved, for a before/after within one run")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        bare = Path(folder) / "bare_app.py"
        bare.write_text(MINIMAL_APP)
        hundred = Path(folder) / "hundred.json"
        hundred.write_text(json.dumps(biggest_account()))
        apps: list = [("bare: 1 slider + 1 Plotly chart", bare, {}, ROOT, "shock"),
                ("lab, 2 positions", ROOT / "app.py", {}, ROOT, "lab.shock.slider"),
                ("lab, 20 positions", ROOT / "app.py", {"MARGIN_LAB_SCENARIO": str(TWENTY)}, ROOT, "lab.shock.slider"),
                ("lab, 100 positions", ROOT / "app.py", {"MARGIN_LAB_SCENARIO": str(hundred)}, ROOT, "lab.shock.slider")]
        if args.compare is not None:
            other = args.compare.resolve()
            apps += [(f"{label} [{other.name}]", other / "app.py", env, other, slider)
                     for label, _, env, _, slider in apps[1:]]
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, *_ in apps}

        def one_round(name: str, pid: int, url: str, slider: str) -> None:
            results[name].append(asyncio.run(measure(url, pid, slider, args.steps, args.warmup)))

        run_interleaved(apps, args.rounds, one_round)
    load = os.getloadavg()
    bare_name = apps[0][0]
    print(f"Server CPU per shock step at the protocol level, {args.steps} steps x {args.rounds} interleaved rounds "
          f"({args.warmup} warm-up steps per page load not counted)")
    print(f"{'app':44s} {'CPU ms/step (per round)':>30s} {'median':>8s} {'vs bare (median of rounds)':>28s} "
          f"{'wall median':>12s} {'kB sent/step':>13s}")
    for name, *_ in apps:
        cpus = [cpu for cpu, _, _ in results[name]]
        ratios = [cpu / bare[0] for (cpu, _, _), bare in zip(results[name], results[bare_name])]
        walls = [wall for _, wall, _ in results[name]]
        sent = statistics.median(kb for _, _, kb in results[name])
        print(f"{name:44s} {' / '.join(f'{c:5.1f}' for c in cpus):>30s} {statistics.median(cpus):6.1f}   "
              f"{statistics.median(ratios):26.2f}x {statistics.median(walls):9.1f} ms {sent:11.1f}")
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
