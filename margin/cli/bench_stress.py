"""Stress benchmark: time and peak memory for ``python -m margin stress-bench``, each model in a
fresh interpreter (a measurement, not a test)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from margin.fields import ScenarioError
from margin.stress import BLOCK_PATHS, MODEL_LABELS, MODELS, chunk_paths_for, run_stress, stress_spec


def command(args: Any) -> dict[str, Any]:
    paths = 1_000 if args.quick else args.paths
    return run_stress_benchmark(paths=paths, steps=args.steps, positions=args.positions,
                                horizon_days=args.horizon_days, repeat=1 if args.quick else 3,
                                echo=sys.stderr)



def bench_child(arguments: str) -> None:
    """Run in a fresh interpreter: time one stress run per model, then its peak memory."""
    import os
    import resource
    import tracemalloc

    from margin.cli.bench_engine import bench_account

    options = json.loads(arguments)
    scenario = bench_account(options["positions"])
    spec = stress_spec(scenario, n_paths=options["paths"], n_steps=options["steps"],
                       horizon_days=options["horizon_days"], model=options["model"], seed=1)
    run_stress(scenario, replace(spec, n_paths=BLOCK_PATHS, n_steps=10))  # warm up imports
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu = [], []
    for _ in range(options["repeat"]):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_stress(scenario, spec)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # all threads: less sensitive to a busy machine
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    run_stress(scenario, spec)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    summary = {label: {"any_liquidation": v.any_liquidation_probability,
                       "wipeout": v.wipeout_probability, "bankruptcy": v.bankruptcy_probability}
               for label, v in result.variants.items()}
    json.dump({"seconds": float(np.median(times)), "best_seconds": min(times), "runs": len(times),
               "cpu_seconds": float(np.median(cpu)), "load_average_1min": os.getloadavg()[0],
               "peak_rss_mib": rss_kib / 1024, "rss_before_run_mib": baseline_kib / 1024,
               "tracemalloc_peak_mib": traced_peak / 2**20, "chunk_paths": chunk_paths_for(spec),
               "markets": len(spec.markets), "probabilities": summary}, sys.stdout)


def run_stress_benchmark(*, paths: int = 10_000, steps: int = 1_000, positions: int = 10,
                         horizon_days: float = 1.0, repeat: int = 3, echo: Any = sys.stderr) -> dict[str, Any]:
    """Time (median of ``repeat`` runs) and peak memory of a stress run (three account
    variants) per model, each model in a fresh interpreter so that its peak resident memory is
    the run's own; then the peak of numpy's allocations under ``tracemalloc``."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]  # the project folder (margin/ holds a numbers.py)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    print(f"Margin Lab stress benchmark: {paths:,} paths × {steps:,} steps × {positions} positions "
          f"(5 markets, horizon {horizon_days:g} d), three account variants", file=echo, flush=True)
    results: dict[str, Any] = {"paths": paths, "steps": steps, "positions": positions,
                               "horizon_days": horizon_days, "targets": {"seconds": 2.0, "peak_rss_mib": 1024}}
    for model in MODELS:
        options = json.dumps({"paths": paths, "steps": steps, "positions": positions,
                              "horizon_days": horizon_days, "model": model, "repeat": repeat})
        child = subprocess.run(
            [sys.executable, "-c", "import sys, margin.cli.bench_stress as s; s.bench_child(sys.argv[1])", options],
            capture_output=True, text=True, cwd=root, env=env, check=False)
        if child.returncode != 0:
            raise ScenarioError("stress-bench", f"the benchmark child failed: {child.stderr.strip()[-500:]}")
        figures = json.loads(child.stdout)
        results[model] = figures
        liquidated = ", ".join(f"{label} {v['any_liquidation']:.1%}" for label, v in figures["probabilities"].items())
        print(f"{MODEL_LABELS[model]}\n"
              f"  time    {figures['seconds']:.2f} s wall (median of {figures['runs']}, best "
              f"{figures['best_seconds']:.2f} s), {figures['cpu_seconds']:.2f} s CPU; load average "
              f"{figures['load_average_1min']:.1f} on {os.cpu_count()} cores   target < 2 s\n"
              f"  memory  peak RSS {figures['peak_rss_mib']:.0f} MiB (of which {figures['rss_before_run_mib']:.0f} "
              f"MiB interpreter and numpy before the run), numpy peak (tracemalloc) "
              f"{figures['tracemalloc_peak_mib']:.0f} MiB; chunks of {figures['chunk_paths']:,} paths   "
              f"target < 1,024 MiB\n"
              f"  paths with a liquidation: {liquidated}", file=echo, flush=True)
    return results
