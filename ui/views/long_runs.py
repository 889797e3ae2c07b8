"""Long runs off the interactive path: the stress lab's runs go to worker processes, so that
one visitor's run holds no other session's slider step (a run in the server's own process holds
its interpreter lock for seconds).

:class:`LongRuns` is one per server process (the page keeps it with ``st.cache_resource``): at
most :data:`margin.limits.MAX_LONG_RUNS` runs at once, each in a process of its own pool; a run
asked for while every slot is taken is refused (:meth:`LongRuns.submit` returns None: the page
says the server is busy). A :class:`Job` reports how many paths are done and can be cancelled;
its worker checks the flag after every chunk of :data:`CHUNK_PATHS` paths. No Streamlit here.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping

from margin.limits import MAX_LONG_RUNS
from margin.scenario import Scenario
from margin.stress import StressResult, StressSpec, run_stress

CHUNK_PATHS = 500  # paths between two progress reports (and cancel checks) of a worker

_done: Any = None  # in a worker: the shared count of paths done, one slot per run
_cancelled: Any = None  # in a worker: the shared cancel flags


class Cancelled(Exception):
    """The run was cancelled before it finished."""


WORKER_NICENESS = 10  # a worker yields the CPU to the server's interactive steps


def _start_worker(done: Any, cancelled: Any) -> None:
    global _done, _cancelled
    _done, _cancelled = done, cancelled
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # not on this platform
        pass


def _run(slot: int, scenario: Scenario, specs: Mapping[str, StressSpec]) -> dict[str, StressResult]:
    """In a worker: every spec run on ``scenario``, reporting into ``slot``."""
    out: dict[str, StressResult] = {}
    offset = 0
    for model, spec in specs.items():
        def report(done: int, _total: int, offset: int = offset) -> None:
            _done[slot] = offset + done
            if _cancelled[slot]:
                raise Cancelled()
        out[model] = run_stress(scenario, spec, progress=report, chunk_paths=CHUNK_PATHS)
        offset += spec.n_paths
    return out


@dataclass(eq=False)
class Job:
    """One run in a worker: its ``future`` (a dict model → StressResult, or :class:`Cancelled`)."""

    key: str
    slot: int
    total: int  # paths of every model together
    future: Future
    runs: "LongRuns" = field(repr=False)

    @property
    def done_paths(self) -> int:
        return int(self.runs.done[self.slot]) if not self.future.done() else self.total

    def cancel(self) -> None:
        if not self.future.done():
            self.runs.cancelled[self.slot] = 1


class LongRuns:
    """A pool of ``workers`` processes with as many run slots (see the module doc)."""

    def __init__(self, workers: int = MAX_LONG_RUNS):
        context = mp.get_context("spawn")  # never fork a server that runs threads
        self.workers = workers
        self.done = context.Array("q", workers, lock=False)
        self.cancelled = context.Array("b", workers, lock=False)
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                        initargs=(self.done, self.cancelled))
        self._lock = threading.Lock()
        self._free = list(range(workers))

    @property
    def running(self) -> int:
        with self._lock:
            return self.workers - len(self._free)

    def submit(self, key: str, scenario: Scenario, specs: Mapping[str, StressSpec]) -> Job | None:
        """Start the run, or None when every slot is taken."""
        with self._lock:
            if not self._free:
                return None
            slot = self._free.pop()
        self.done[slot] = 0
        self.cancelled[slot] = 0
        future = self.pool.submit(_run, slot, scenario, dict(specs))
        future.add_done_callback(lambda _: self._release(slot))
        return Job(key=key, slot=slot, total=sum(s.n_paths for s in specs.values()), future=future, runs=self)

    def _release(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def close(self) -> None:
        for slot in range(self.workers):
            self.cancelled[slot] = 1
        self.pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["CHUNK_PATHS", "Cancelled", "Job", "LongRuns"]
