"""Cascade benchmark: CPU and wall time for ``python -m margin cascade-bench``
(:mod:`margin.cli.bench_timing`; a measurement, not a test)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import numpy as np

from margin.cascade import CrowdParams, build_crowd, run_cascade, tipping_point
from margin.cascade.crowd import clear_crowds
from margin.cli.bench_timing import REPEATS, case_line, case_record, header_line, load_text, machine_load, time_runs
from margin.scenario import Market, parse_tiers


BENCH_MARKET = Market(name="BTCUSDT", price=100_000.0, tiers=parse_tiers(
    [{"floor": 0, "mmr": 0.004, "max_leverage": 125}, {"floor": 50_000, "mmr": 0.005, "max_leverage": 100},
     {"floor": 250_000, "mmr": 0.01, "max_leverage": 50}, {"floor": 1_000_000, "mmr": 0.025, "max_leverage": 20},
     {"floor": 10_000_000, "mmr": 0.05, "max_leverage": 10}], "tiers"))


def run_cascade_benchmarks(quick: bool = False, echo: TextIO = sys.stderr, *, repeats: int | None = None,
                           n_traders: int = 100_000) -> dict[str, Any]:
    """One ``n_traders``-trader cascade (crowd drawn, sorted, cascade run, every trader settled)
    and the 50-shock tipping curve over the same crowd, each with the crowd reused (as
    :func:`margin.cascade.build_crowd` keeps it per parameters) and drawn first; every case
    ``repeats`` times (CPU and wall time, min and median), with the machine's load named."""
    repeats = repeats or (REPEATS if quick else 15)
    params = CrowdParams(n_traders=n_traders, seed=11)
    depth = 25_000_000.0
    shocks = np.linspace(-0.005, -0.30, 50)
    load = machine_load()
    result = run_cascade(build_crowd(BENCH_MARKET, params), -0.05, depth)
    curve = tipping_point(build_crowd(BENCH_MARKET, params), shocks, depth)
    # prepare=clear_crowds: each run draws the crowd anew (the cache emptied, untimed)
    cases = {
        "draw the crowd (liquidation prices, sort)": (time_runs(lambda: build_crowd(BENCH_MARKET, params), repeats,
                                                                prepare=clear_crowds)[0], None),
        "one cascade, shock -5 %, crowd reused": (time_runs(
            lambda: run_cascade(build_crowd(BENCH_MARKET, params), -0.05, depth), repeats)[0], 0.060),
        "one cascade, shock -5 %, crowd drawn first": (time_runs(
            lambda: run_cascade(build_crowd(BENCH_MARKET, params), -0.05, depth), repeats, prepare=clear_crowds)[0], None),
        f"tipping curve, {len(shocks)} shocks, crowd reused": (time_runs(
            lambda: tipping_point(build_crowd(BENCH_MARKET, params), shocks, depth), repeats)[0], 2.0),
        f"tipping curve, {len(shocks)} shocks, crowd drawn first": (time_runs(
            lambda: tipping_point(build_crowd(BENCH_MARKET, params), shocks, depth), repeats, prepare=clear_crowds)[0], None),
    }
    results: dict[str, Any] = {
        "traders": n_traders, "depth_per_percent": depth, "repeats": repeats, "load_before": load,
        "cascade_rounds": len(result.rounds) - 1, "cascade_liquidated": result.liquidated_count,
        "cascade_final_drop": result.final_drop, "tipping_shocks": len(shocks),
        "tipping_max_rounds": int(curve.rounds.max()),
        "cases": {name: case_record(timing, target) for name, (timing, target) in cases.items()},
        "load_after": machine_load(),
    }
    print(f"Margin Lab cascade benchmark ({n_traders:,} traders, depth {depth:,.0f} per 1 %); {load_text(load)}",
          file=echo)
    print(f"  one cascade at -5 %: {len(result.rounds) - 1} rounds, {result.liquidated_count:,} liquidated, "
          f"final {result.final_drop * 100:+.1f} %; tipping curve up to {int(curve.rounds.max())} rounds", file=echo)
    print(header_line(repeats), file=echo)
    for name, (timing, target) in cases.items():
        print(case_line(name, timing, target), file=echo)
    print(f"({load_text(results['load_after'])} at the end)", file=echo, flush=True)
    return results
