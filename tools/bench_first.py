"""A class opening the app at once: N first pages on one warm server, at the protocol level.

    uv run --extra test python tools/bench_first.py [--sessions 60] [--rounds 2] [--compare <tree>]

Three Streamlit servers on loopback, each started from the project folder (its settings;
``tools/bench_ui.py``'s ``start``): the bare one-slider, one-chart app (the floor), ``app.py`` on
the default account, and ``app.py`` on the 20-position account (``MARGIN_LAB_SCENARIO``). Each
server is warmed by one first page first (its imports and caches: a server that has just
started is not what is measured). Then, per round and per app, ``--sessions`` sessions
(``tools/protocol_session.py``) open at once: each fetches the page, opens the websocket and
asks for the first run; its time runs from the page's fetch to that run's end. Printed per app:
p50, p95 and the slowest first page over the rounds, the server's CPU time per first page
(``/proc/<pid>/stat``) and its ratio to the bare app's within each round, and the machine's load
before and after. The issue's target (28): p95 under 3 s for 60 at once. A measurement, not a
test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench_proxy import cpu_seconds  # noqa: E402
from bench_step import run_interleaved  # noqa: E402
from bench_ui import MINIMAL_APP, TWENTY  # noqa: E402
from protocol_session import ProtocolSession  # noqa: E402

TARGET_P95 = 3.0  # [s] issue 28: 60 first pages at once


async def first_page(url: str) -> float:
    """Seconds from fetching the page to the end of the first run."""
    session = ProtocolSession(url)
    started = time.perf_counter()
    try:
        await session.open()
        return time.perf_counter() - started
    finally:
        await session.close()


async def class_at_once(url: str, sessions: int) -> list[float]:
    """``sessions`` first pages started together; each one's seconds."""
    return list(await asyncio.gather(*(first_page(url) for _ in range(sessions))))


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=60, help="first pages at once (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another copy of the project (e.g. main's tree): its app measured too, "
                             "interleaved, for a before/after within one run")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        bare = Path(folder) / "bare_app.py"
        bare.write_text(MINIMAL_APP)
        apps: list = [("bare: 1 slider + 1 Plotly chart", bare, {}, ROOT),
                ("app, default account (2 positions)", ROOT / "app.py", {}, ROOT),
                ("app, 20 positions", ROOT / "app.py", {"MARGIN_LAB_SCENARIO": str(TWENTY)}, ROOT)]
        if args.compare is not None:
            other = args.compare.resolve()
            apps += [(f"{label} [{other.name}]", other / "app.py", env, other) for label, _, env, _ in apps[1:]]
        walls: dict[str, list[float]] = {name: [] for name, *_ in apps}
        cpus: dict[str, list[float]] = {name: [] for name, *_ in apps}

        def one_round(name: str, pid: int, url: str) -> None:
            if not cpus[name]:
                asyncio.run(class_at_once(url, 1))  # warm: the server's imports and caches
            before = cpu_seconds(pid)
            walls[name].extend(asyncio.run(class_at_once(url, args.sessions)))
            cpus[name].append(1000.0 * (cpu_seconds(pid) - before) / args.sessions)

        run_interleaved(apps, args.rounds, one_round)
    load = os.getloadavg()
    bare_name = apps[0][0]
    print(f"{args.sessions} first pages at once on one warm server, {args.rounds} interleaved rounds; seconds from "
          f"the page's fetch to the first run's end")
    print(f"{'app':38s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s} {'CPU ms/page (rounds)':>24s} {'vs bare':>8s} "
          f"{'target p95':>12s}")
    for name, *_ in apps:
        p95 = percentile(walls[name], 0.95)
        ratio = statistics.median(c / b for c, b in zip(cpus[name], cpus[bare_name]))
        verdict = "" if name == bare_name else f"< {TARGET_P95:g} s: {'met' if p95 < TARGET_P95 else 'NOT met'}"
        print(f"{name:38s} {statistics.median(walls[name]):7.2f} {p95:7.2f} {max(walls[name]):7.2f} "
              f"{' / '.join(f'{c:.0f}' for c in cpus[name]):>24s} {ratio:7.2f}x {verdict:>12s}")
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
