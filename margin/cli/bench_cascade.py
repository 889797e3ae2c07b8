"""Cascade benchmark: wall-clock figures for ``python -m margin cascade-bench`` (a measurement,
not a test)."""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any, Callable, TextIO

import numpy as np

from margin.cascade import CrowdParams, build_crowd, run_cascade, tipping_point
from margin.scenario import Market, parse_tiers


BENCH_MARKET = Market(name="BTCUSDT", price=100_000.0, tiers=parse_tiers(
    [{"floor": 0, "mmr": 0.004, "max_leverage": 125}, {"floor": 50_000, "mmr": 0.005, "max_leverage": 100},
     {"floor": 250_000, "mmr": 0.01, "max_leverage": 50}, {"floor": 1_000_000, "mmr": 0.025, "max_leverage": 20},
     {"floor": 10_000_000, "mmr": 0.05, "max_leverage": 10}], "tiers"))


def _median(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_cascade_benchmarks(quick: bool = False, echo: TextIO = sys.stderr) -> dict[str, Any]:
    """Median wall-clock times: one 100,000-trader cascade (crowd drawn, sorted, cascade run,
    every trader settled), and the 50-shock tipping curve over the same crowd."""
    repeats = 3 if quick else 15
    n = 100_000
    params = CrowdParams(n_traders=n, seed=11)
    depth = 25_000_000.0
    shocks = np.linspace(-0.005, -0.30, 50)
    crowd = build_crowd(BENCH_MARKET, params)
    result = run_cascade(crowd, -0.05, depth)

    def whole() -> None:
        run_cascade(build_crowd(BENCH_MARKET, params), -0.05, depth)

    build = _median(lambda: build_crowd(BENCH_MARKET, params), repeats)
    cascade_only = _median(lambda: run_cascade(crowd, -0.05, depth), repeats)
    total = _median(whole, repeats)
    curve = tipping_point(crowd, shocks, depth)
    tipping = _median(lambda: tipping_point(crowd, shocks, depth), repeats)
    tipping_with_build = _median(lambda: tipping_point(build_crowd(BENCH_MARKET, params), shocks, depth), repeats)
    results = {
        "traders": n,
        "cascade_rounds": len(result.rounds) - 1,
        "cascade_liquidated": result.liquidated_count,
        "cascade_final_drop": result.final_drop,
        "build_crowd_seconds": build,
        "cascade_seconds": cascade_only,
        "cascade_with_build_seconds": total,
        "cascade_target_seconds": 0.1,
        "tipping_shocks": len(shocks),
        "tipping_seconds": tipping,
        "tipping_with_build_seconds": tipping_with_build,
        "tipping_target_seconds": 2.0,
        "tipping_max_rounds": int(curve.rounds.max()),
        "repeats": repeats,
    }
    print(f"Margin Lab cascade benchmark (median of {repeats} runs; {n:,} traders, depth {depth:,.0f} per 1 %)",
          file=echo)
    print(f"  build the crowd (draw, liquidation prices, sort)  {build * 1e3:9.1f} ms", file=echo)
    print(f"  one cascade, shock -5 %: {len(result.rounds) - 1} rounds, {result.liquidated_count:,} liquidated, "
          f"final {result.final_drop * 100:+.1f} %", file=echo)
    print(f"    cascade to the end, every trader settled       {cascade_only * 1e3:9.1f} ms", file=echo)
    print(f"    crowd built + cascade to the end               {total * 1e3:9.1f} ms   target < 100 ms", file=echo)
    print(f"  tipping curve, {len(shocks)} shocks x {n:,} traders (up to {int(curve.rounds.max())} rounds)",
          file=echo)
    print(f"    curve                                          {tipping * 1e3:9.1f} ms", file=echo)
    print(f"    crowd built + curve                            {tipping_with_build * 1e3:9.1f} ms   target < 2,000 ms",
          file=echo, flush=True)
    return results
