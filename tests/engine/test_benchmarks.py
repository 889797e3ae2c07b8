"""The benchmark commands' output has the shape the benchmark tables need: every case as CPU
time and wall time, min and median of at least five runs, beside its target, with the
machine's load named (the figures themselves are measurements, not tested)."""

from __future__ import annotations

import io
import re

from margin.cli import main
from margin.cli.bench_cascade import run_cascade_benchmarks
from margin.cli.bench_engine import run_engine_benchmarks

ROW = re.compile(r"CPU +[\d.]+ (µs|ms|s) / +[\d.]+ (µs|ms|s) +wall +[\d.]+ (µs|ms|s) / +[\d.]+ (µs|ms|s)")


def _check_case(case: dict, runs: int = 5) -> None:
    assert case["runs"] == runs
    for measure in ("cpu_seconds", "wall_seconds"):
        assert 0 < case[measure]["min"] <= case[measure]["median"]
    if "target_seconds" in case:
        assert case["target_measure"] == "cpu median"
        assert case["target_met"] == (case["cpu_seconds"]["median"] < case["target_seconds"])


def _check_text(text: str, cases: int, targets: int) -> None:
    assert re.search(r"load average [\d.]+ \(1 min\) on \d+ CPUs", text.splitlines()[0])
    assert len(ROW.findall(text)) == cases
    assert len(re.findall(r"target < [\d.]+ (µs|ms|s) \(CPU median: (met|NOT met)\)", text)) == targets
    assert "at the end)" in text.splitlines()[-1]


def test_engine_bench_times_every_case_and_its_reference_five_times():
    echo = io.StringIO()
    results = run_engine_benchmarks(echo=echo, n_steps=2_000)
    cases = [name for name, value in results.items() if isinstance(value, dict) and "runs" in value]
    assert [name.split(" (")[0] for name in cases] == ["evaluate", "shock sweep", "simulate", "simulate, crash + partial"]
    for name in cases:
        _check_case(results[name])
        _check_case(results[name]["reference"])
        assert results[name]["ratio_to_reference"] > 0
    assert results["simulate, crash + partial (2,000 steps)"]["target_seconds"] == 0.35
    assert results["simulate, crash + partial (2,000 steps)"]["identical_to_reference"] is True
    assert results["load_before"]["cpus"] >= 1
    _check_text(echo.getvalue(), cases=8, targets=3)  # four cases and their references


def test_cascade_bench_times_the_crowd_reused_and_drawn():
    echo = io.StringIO()
    results = run_cascade_benchmarks(quick=True, echo=echo, n_traders=5_000)
    assert results["repeats"] == 5 and results["traders"] == 5_000
    assert len(results["cases"]) == 5
    for case in results["cases"].values():
        _check_case(case)
    assert results["cases"]["one cascade, shock -5 %, crowd reused"]["target_seconds"] == 0.06
    _check_text(echo.getvalue(), cases=5, targets=2)


def test_bench_repeats_is_checked(capsys):
    assert main(["bench", "--repeats", "0"]) == 2
    assert capsys.readouterr().err == "arguments: argument --repeats: must be in [1, 1000], got 0\n"
    assert main(["cascade-bench", "--repeats", "many"]) == 2
    assert capsys.readouterr().err == "arguments: argument --repeats: must be a whole number, got 'many'\n"
