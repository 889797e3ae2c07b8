"""Stress benchmark: CPU and wall time (:mod:`margin.cli.bench_timing`) and peak memory for
``python -m margin stress-bench``, each model in a fresh interpreter (a measurement, not a test)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

from margin.cli.bench_timing import REPEATS, Timing, case_line, header_line, load_text, machine_load, time_runs
from margin.fields import ScenarioError
from margin.stress import BLOCK_PATHS, MODEL_LABELS, MODELS, chunk_paths_for, run_stress, stress_spec


TARGET_WALL_SECONDS = 1.0  # per model, median, on an idle machine
TARGET_CPU_SECONDS = 1.8
TARGET_PEAK_RSS_MIB = 1024


def command(args: Any) -> dict[str, Any]:
    paths = 1_000 if args.quick else args.paths
    return run_stress_benchmark(paths=paths, steps=args.steps, positions=args.positions,
                                horizon_days=args.horizon_days, repeat=args.repeats, echo=sys.stderr)


def bench_child(arguments: str) -> None:
    """Run in a fresh interpreter: time the stress runs of one model and, apart, the drawing
    of its paths alone, then the run's peak memory."""
    import resource
    import tracemalloc

    from margin.account import price_vector
    from margin.cli.bench_engine import bench_account
    from margin.stress.sampler import Sampler

    options = json.loads(arguments)
    scenario = bench_account(options["positions"])
    spec = stress_spec(scenario, n_paths=options["paths"], n_steps=options["steps"],
                       horizon_days=options["horizon_days"], model=options["model"], seed=1)
    run_stress(scenario, replace(spec, n_paths=BLOCK_PATHS, n_steps=10))  # warm up imports
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load = machine_load()
    timing, result = time_runs(lambda: run_stress(scenario, spec), options["repeat"])
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    chunk = chunk_paths_for(spec)
    sampler = Sampler(spec, price_vector(scenario), min(chunk, spec.n_paths))

    def draw_every_path() -> None:
        for first in range(0, spec.n_paths, chunk):
            sampler.fill(first, min(chunk, spec.n_paths - first))

    drawing, _ = time_runs(draw_every_path, options["repeat"])
    sampler.release()
    tracemalloc.start()
    run_stress(scenario, spec)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    summary = {label: {"any_liquidation": v.any_liquidation_probability,
                       "wipeout": v.wipeout_probability, "bankruptcy": v.bankruptcy_probability}
               for label, v in result.variants.items()}
    json.dump({**timing.as_dict(), "sampler": drawing.as_dict(), "load_before": load, "load_after": machine_load(),
               "peak_rss_mib": rss_kib / 1024, "rss_before_run_mib": baseline_kib / 1024,
               "tracemalloc_peak_mib": traced_peak / 2**20, "chunk_paths": chunk,
               "markets": len(spec.markets), "probabilities": summary}, sys.stdout)


def run_stress_benchmark(*, paths: int = 10_000, steps: int = 1_000, positions: int = 10,
                         horizon_days: float = 1.0, repeat: int = REPEATS, echo: Any = sys.stderr) -> dict[str, Any]:
    """CPU and wall time (min and median of ``repeat`` runs) and peak memory of a stress run
    (three account variants) per model, and of drawing its paths alone, each model in a fresh
    interpreter so that its peak resident memory is the run's own; then the peak of numpy's
    allocations under ``tracemalloc``."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]  # the project folder (margin/ holds a numbers.py)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    load = machine_load()
    print(f"Margin Lab stress benchmark: {paths:,} paths × {steps:,} steps × {positions} positions "
          f"(5 markets, horizon {horizon_days:g} d), three account variants; {load_text(load)}", file=echo, flush=True)
    print(header_line(repeat), file=echo, flush=True)
    results: dict[str, Any] = {"paths": paths, "steps": steps, "positions": positions, "horizon_days": horizon_days,
                               "repeats": repeat, "load_before": load,
                               "targets": {"wall_seconds_median_idle": TARGET_WALL_SECONDS,
                                           "cpu_seconds_median": TARGET_CPU_SECONDS, "peak_rss_mib": TARGET_PEAK_RSS_MIB}}
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
        _print_model(model, figures, echo)
    results["load_after"] = machine_load()
    print(f"({load_text(results['load_after'])} at the end)", file=echo, flush=True)
    return results


def _print_model(model: str, figures: dict[str, Any], echo: Any) -> None:
    run = Timing(cpu=(figures["cpu_seconds"]["min"], figures["cpu_seconds"]["median"]),
                 wall=(figures["wall_seconds"]["min"], figures["wall_seconds"]["median"]))
    drawing = Timing(cpu=(figures["sampler"]["cpu_seconds"]["min"], figures["sampler"]["cpu_seconds"]["median"]),
                     wall=(figures["sampler"]["wall_seconds"]["min"], figures["sampler"]["wall_seconds"]["median"]))
    wall_ok = "met" if figures["wall_seconds"]["median"] < TARGET_WALL_SECONDS else "NOT met"
    liquidated = ", ".join(f"{label} {v['any_liquidation']:.1%}" for label, v in figures["probabilities"].items())
    print(f"{MODEL_LABELS[model]}   ({load_text(figures['load_before'])} at its start)\n"
          + case_line("  the run, three variants", run, TARGET_CPU_SECONDS)
          + f"\n{'':<44} target wall median < {TARGET_WALL_SECONDS:g} s on an idle machine: {wall_ok} here\n"
          + case_line("  drawing the paths alone", drawing)
          + f"\n  memory  peak RSS {figures['peak_rss_mib']:.0f} MiB (of which {figures['rss_before_run_mib']:.0f} "
          f"MiB interpreter and numpy before the run), numpy peak (tracemalloc) "
          f"{figures['tracemalloc_peak_mib']:.0f} MiB; chunks of {figures['chunk_paths']:,} paths   "
          f"target < {TARGET_PEAK_RSS_MIB:,} MiB\n"
          f"  paths with a liquidation: {liquidated}", file=echo, flush=True)
