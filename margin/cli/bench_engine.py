"""Engine benchmarks: CPU and wall time on this machine (:mod:`margin.cli.bench_timing`), with
the ratio to the plain loops.

Run with ``python -m margin bench`` (``--quick`` for a smoke run). Figures go to standard
error as a table and to standard output as JSON. This is a measurement, not a test.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, Callable, TextIO

import numpy as np

from margin.account import evaluate
from margin.cli.bench_timing import (
    REPEATS, Timing, case_line, case_record, header_line, load_text, machine_load, time_runs,
)
from margin.reference import evaluate_reference, sweep_reference
from margin.scenario import Scenario, scenario_from_dict
from margin.simulate import price_path, simulate, simulate_reference
from margin.sweep import shock_prices, sweep_shock

BENCH_MARKETS = {  # name: (price, annual volatility)
    "BTCUSDT": (100_000.0, 0.55), "ETHUSDT": (3_500.0, 0.75), "SOLUSDT": (180.0, 0.95),
    "XRPUSDT": (2.5, 0.9), "DOGEUSDT": (0.3, 1.0),
}
BTC_TIERS = [{"floor": 0, "mmr": 0.004, "max_leverage": 125}, {"floor": 50_000, "mmr": 0.005, "max_leverage": 100},
             {"floor": 600_000, "mmr": 0.01, "max_leverage": 50}, {"floor": 3_000_000, "mmr": 0.025, "max_leverage": 20}]
ALT_TIERS = [{"floor": 0, "mmr": 0.01, "max_leverage": 75}, {"floor": 10_000, "mmr": 0.02, "max_leverage": 50},
             {"floor": 100_000, "mmr": 0.05, "max_leverage": 20}, {"floor": 1_000_000, "mmr": 0.1, "max_leverage": 10}]


def bench_account(n_positions: int = 20, seed: int = 7) -> Scenario:
    """A mixed account: ``n_positions`` over five markets, long and short, cross and isolated."""
    rng = np.random.default_rng(seed)
    names = list(BENCH_MARKETS)
    positions = []
    for k in range(n_positions):
        market = names[k % len(names)]
        price = BENCH_MARKETS[market][0]
        notional = float(rng.uniform(5_000, 80_000))
        positions.append({
            "id": f"p{k:02d}", "market": market, "side": "long" if k % 3 else "short",
            "size": notional / price, "entry": price * float(rng.uniform(0.97, 1.03)),
            "leverage": float(rng.choice([3, 5, 10])), "mode": "isolated" if k % 4 == 3 else "cross",
        })
    return scenario_from_dict({
        "name": "Benchmark account", "balance": 400_000,
        "rules": {"liquidation_fee_rate": 0.005, "insurance_fund": 50_000},
        "markets": {m: {"price": p, "tiers": BTC_TIERS if m == "BTCUSDT" else ALT_TIERS}
                    for m, (p, _) in BENCH_MARKETS.items()},
        "positions": positions,
    })


def minute_path(n_steps: int, seed: int = 11) -> Any:
    """Correlated geometric Brownian marks, one row per minute."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / 525_600
    vols = np.array([v for _, v in BENCH_MARKETS.values()])
    common = rng.standard_normal((n_steps, 1))
    own = rng.standard_normal((n_steps, len(vols)))
    shocks = (0.8 * common + 0.6 * own) * vols * np.sqrt(dt)
    log_paths = np.cumsum(shocks - 0.5 * vols**2 * dt, axis=0)
    starts = np.array([p for p, _ in BENCH_MARKETS.values()])
    marks = starts * np.exp(log_paths)
    return price_path({m: marks[:, j] for j, m in enumerate(BENCH_MARKETS)})


def run_engine_benchmarks(quick: bool = False, echo: TextIO = sys.stderr, *, repeats: int = REPEATS,
                          n_steps: int | None = None) -> dict[str, Any]:
    """Time evaluate, the shock sweep and simulate (a year of minutes; a crash with partial
    liquidation) against their plain references: every case and every reference ``repeats``
    times (CPU and wall time, min and median), with the machine's load named before and after."""
    account = bench_account()
    prices = account.prices
    shocks = np.linspace(-0.9, 0.9, 2_001)
    n_steps = n_steps or (52_560 if quick else 525_600)
    path = minute_path(n_steps)
    rows = [dict(zip(account.markets, row)) for row in shock_prices(account, shocks)]
    load = machine_load()
    results: dict[str, Any] = {"load_before": load, "repeats": repeats, "steps": n_steps}
    print(f"Margin Lab engine benchmark (20 positions, 5 markets; {n_steps:,}-step path); {load_text(load)}",
          file=echo, flush=True)
    print(header_line(repeats), file=echo, flush=True)

    def record(name: str, fast: Timing, slow: Timing, target: float | None, note: str, **extra: Any) -> None:
        ratio = slow.cpu_median / fast.cpu_median
        results[name] = case_record(fast, target, reference=slow.as_dict(), ratio_to_reference=ratio, note=note, **extra)
        print(case_line(name, fast, target), file=echo, flush=True)
        print(case_line("    its plain reference loop", slow) + f"   ratio {ratio:,.1f}x (CPU medians)", file=echo, flush=True)
        print(f"    {note}", file=echo, flush=True)

    record("evaluate (20 positions)", time_runs(lambda: evaluate(account), repeats, calls=200)[0],
           time_runs(lambda: evaluate_reference(account, prices), repeats, calls=200)[0], None,
           "one snapshot: numpy's fixed cost per call dominates; the vectorized path pays off on grids (the sweep)")
    record("shock sweep (2,001 points)", time_runs(lambda: sweep_shock(account, shocks), repeats, calls=10)[0],
           time_runs(lambda: sweep_reference(account, rows), repeats)[0], 0.005, "whole-market shock -90 % .. +90 %")
    record_simulation(record, "simulate", account, path, repeats, 1.0)
    # A harder walk: partial liquidation through a crash in the middle of the year, so the
    # walker stops at many events (every slice is one).
    partial = replace(account, rules=replace(account.rules, liquidation="partial", partial_fraction=0.1))
    record_simulation(record, "simulate, crash + partial", partial, crash_path(path), repeats, 0.35)
    results["load_after"] = machine_load()
    print(f"({load_text(results['load_after'])} at the end)", file=echo, flush=True)
    return results


def record_simulation(record: Callable[..., None], name: str, account: Scenario, path: Any, repeats: int,
                      target: float) -> None:
    """Time ``simulate`` and the reference loop, ``repeats`` runs each, on one path."""
    fast, fast_result = time_runs(lambda: simulate(account, path), repeats)
    slow, slow_result = time_runs(lambda: simulate_reference(account, path), repeats)
    same = fast_result.as_dict() == slow_result.as_dict()
    record(f"{name} ({path.marks.shape[0]:,} steps)", fast, slow, target,
           f"{len(fast_result.events)} events; identical to the reference: {same}", identical_to_reference=same)


def crash_path(path: Any) -> Any:
    """``path`` with a 45 % market-wide fall over a day in its middle, half of it recovered."""
    n = path.marks.shape[0]
    t = np.arange(n)
    middle, width = n // 2, 1_440
    fall = 0.45 * np.clip((t - middle) / width, 0, 1) - 0.225 * np.clip((t - middle - width) / (4 * width), 0, 1)
    return price_path({m: path.marks[:, j] * (1 - fall) for j, m in enumerate(path.markets)})
