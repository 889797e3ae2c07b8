"""Benchmark: the crash replay's mark-against-last check (margin.replay.wick_checks).

    uv run python tools/bench_check.py [--rows 20000] [--repeat 1]

Times :func:`margin.replay.wick_checks` (all three ways of the account) on the default story and
on the largest account a link holds (100 positions over 12 markets, tools/bench_memory.py),
each along the shipped 2021-05-19 crash and along ``--rows`` imported one-minute candles (a
seeded walk, read as the replay page reads an upload). The walk (:func:`margin.replay.replay`)
is timed apart. A measurement, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench_memory import biggest_account  # noqa: E402

from margin.crashes import load_crash  # noqa: E402
from margin.imports import read_klines  # noqa: E402
from margin.presets import load_story  # noqa: E402
from margin.replay import replay, wick_checks  # noqa: E402
from margin.scenario import scenario_from_dict  # noqa: E402


def candles(rows: int, market: str = "BTCUSDT"):
    """``rows`` one-minute candles of ``market`` (a seeded walk, wicks of 0.1 %) as a crash."""
    close = 60_000 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.002, rows)))
    lines = [f"{1_700_000_000_000 + 60_000 * k},{c:.2f},{c * 1.001:.2f},{c * 0.999:.2f},{c:.2f},1,"
             f"{1_700_000_000_000 + 60_000 * k + 59_999},1,1,1,1,0" for k, c in enumerate(close)]
    return read_klines("\n".join(lines), file_name=f"{market}-1m-2025-10-10.csv")


def timed(work, repeat: int) -> tuple[float, object]:
    """Best wall time [s] of ``repeat`` runs of ``work()`` and its last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = work()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    twenty = json.loads((ROOT / "tests" / "data" / "twenty-positions.json").read_text())
    accounts = {"default (2 positions)": load_story("default"), "twenty positions": twenty,
                "100 positions, 12 markets": biggest_account()}
    crashes = {"2021-05-19": load_crash("2021-05-19"), f"{args.rows:,} candles": candles(args.rows)}
    print(f"{'account':28} {'crash':16} {'steps x pos':>12} {'walk [s]':>9} {'check [s]':>10}")
    for account_name, raw in accounts.items():
        scenario = scenario_from_dict(raw)
        for crash_name, crash in crashes.items():
            walk, model = timed(lambda scenario=scenario, crash=crash: replay(scenario, crash), 1)
            market = model.path.markets[0]
            check, _ = timed(lambda model=model, market=market: wick_checks(model, market), args.repeat)
            print(f"{account_name:28} {crash_name:16} {crash.n_steps * len(scenario.positions):>12,} "
                  f"{walk:>9.2f} {check:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
