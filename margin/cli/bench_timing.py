"""How the benchmark commands time a case: several runs, each told as CPU time and wall time,
their least and their median, beside the case's target, on a machine whose load is named.

CPU time (``time.process_time``: this process, all its threads) repeats on a shared machine;
wall time swings with the other work on it (2–10× on the shared 2-core VM) and is shown beside
it, never instead of it. A measurement, not a test: a target is compared with the CPU median.

>>> timing, value = time_runs(lambda: sum(range(1_000)), repeats=5)
>>> value, timing.runs, timing.cpu_min <= timing.cpu_median
(499500, 5, True)
>>> sorted(timing.as_dict())
['cpu_seconds', 'runs', 'wall_seconds']
>>> seconds_text(0.0000412), seconds_text(0.0123), seconds_text(1.5)
('41.2 µs', '12.3 ms', '1.50 s')
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

REPEATS = 5  # runs of every case, at least


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """The runs of one case [s]: CPU time and wall time of each, per call when a run made
    ``calls`` calls."""

    cpu: tuple[float, ...]
    wall: tuple[float, ...]

    @property
    def runs(self) -> int:
        return len(self.cpu)

    @property
    def cpu_min(self) -> float:
        return min(self.cpu)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def wall_min(self) -> float:
        return min(self.wall)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    def as_dict(self) -> dict[str, Any]:
        return {"cpu_seconds": {"min": self.cpu_min, "median": self.cpu_median},
                "wall_seconds": {"min": self.wall_min, "median": self.wall_median}, "runs": self.runs}


def time_runs(run: Callable[[], Any], repeats: int = REPEATS, *, calls: int = 1,
              prepare: Callable[[], Any] | None = None) -> tuple[Timing, Any]:
    """Time ``repeats`` runs of ``run`` (each ``calls`` calls of it, the figures per call),
    ``prepare`` untimed before each run; returns the timing and the last call's result."""
    cpu, wall = [], []
    result = None
    for _ in range(repeats):
        if prepare is not None:
            prepare()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            result = run()
        wall.append((time.perf_counter() - t0) / calls)
        cpu.append((time.process_time() - c0) / calls)
    return Timing(cpu=tuple(cpu), wall=tuple(wall)), result


def machine_load() -> dict[str, Any]:
    """The machine's 1-minute load average and its CPU count, now."""
    return {"load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}


def load_text(load: dict[str, Any]) -> str:
    """``load average 3.21 (1 min) on 2 CPUs``."""
    return f"load average {load['load_average_1min']:.2f} (1 min) on {load['cpus']} CPUs"


def seconds_text(seconds: float) -> str:
    """A duration in microseconds below a millisecond, milliseconds below a second, else seconds."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1.0 else f"{seconds:.2f} s"


def case_line(name: str, timing: Timing, target: float | None = None, *, width: int = 44) -> str:
    """One row of a benchmark's table: CPU and wall time, min / median of the runs, and the
    target [s] beside them (compared with the CPU median)."""
    target_text = ""
    if target is not None:
        verdict = "met" if timing.cpu_median < target else "NOT met"
        target_text = f"   target < {seconds_text(target)} (CPU median: {verdict})"
    return (f"{name:<{width}} CPU {seconds_text(timing.cpu_min):>9} / {seconds_text(timing.cpu_median):>9}   "
            f"wall {seconds_text(timing.wall_min):>9} / {seconds_text(timing.wall_median):>9}{target_text}")


def header_line(timing_runs: int) -> str:
    """The table's column heads."""
    return f"{'':<44} CPU   min / median   wall  min / median   (of {timing_runs} runs each)"


def case_record(timing: Timing, target: float | None = None, **extra: Any) -> dict[str, Any]:
    """A case as JSON: its timing, its target [s] (compared with the CPU median) and more."""
    record = timing.as_dict()
    if target is not None:
        record.update(target_seconds=target, target_measure="cpu median", target_met=timing.cpu_median < target)
    record.update(extra)
    return record


__all__ = ["REPEATS", "Timing", "case_line", "case_record", "header_line", "load_text", "machine_load",
           "seconds_text", "time_runs"]
