"""Long work off the interactive path: the stress lab's runs, big crowds and long replays go
to worker processes, so that one visitor's run holds no other session's slider step (a run in
the server's own process holds its interpreter lock for seconds).

:class:`LongRuns` is one per server process (the page keeps it with ``st.cache_resource``): at
most :data:`margin.limits.MAX_LONG_RUNS` runs at once, each slot a worker process of its own;
a run asked for while every slot is taken is refused (:meth:`LongRuns.submit` returns None: the
page says the server is busy). Any engine function can be a run (``work(*args)``, picklable by
name). A :class:`Job` reports how much is done and can be cancelled: a ``work`` that takes a
``progress(done, total)`` callback (``reports=True``) reports into the job and stops at its next
report; one that reports nothing, or not within :data:`CANCEL_GRACE` seconds, has its worker
killed and replaced. A job whose page stops watching it (:meth:`Job.seen`) for
:data:`ABANDON_SECONDS` is cancelled: a closed tab's run does not go on to its bound.
A worker never outlives its server, however the server ends (``kill -9`` included): its
initializer ties it to the server first thing (:mod:`ui.common.lifeline`).
No Streamlit here.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable

from margin.limits import MAX_LONG_RUNS
from ui.common import lifeline

WORKER_NICENESS = 10  # a worker yields the CPU to the server's interactive steps
ABANDON_SECONDS = 5.0  # a job its page has not watched for this long is cancelled [s]
CANCEL_GRACE = 1.0  # a cancelled job still going after this long has its worker killed [s]
WATCH_SECONDS = 0.25  # how often the pool looks for abandoned and stuck jobs [s]

_PLAIN_MAIN = types.ModuleType("__main__")  # a main module with no file, for a worker to start from
_slot = 0  # in a worker: its slot
_done: Any = None  # in a worker: the shared count of work done, one entry per slot
_cancelled: Any = None  # in a worker: the shared cancel flags


class Cancelled(Exception):
    """The run was cancelled before it finished."""


def _start_worker(slot: int, done: Any, cancelled: Any, pids: Any) -> None:
    global _slot, _done, _cancelled
    _slot, _done, _cancelled = slot, done, cancelled
    pids[slot] = os.getpid()
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # not on this platform
        pass


# What the pages' long runs import (ui/*/session.py's long_result calls): a worker imports them
# as soon as it starts, not at its first run, where the import (2.5 s of CPU, far more for a
# niced worker on a busy machine) would be counted against the run the page is waiting for.
WARM_MODULES = ("margin.replay", "margin.stress", "margin.cascade", "ui.replay.model", "ui.stress.model")


def _ready() -> None:
    """Submitted to a new worker so that its process starts, and imports what it will run,
    before the first run."""
    for name in WARM_MODULES:
        importlib.import_module(name)


def report(done: int, _total: int | None = None) -> None:
    """In a worker: ``done`` units of the run are done; raises :class:`Cancelled` when cancelled."""
    _done[_slot] = done
    if _cancelled[_slot]:
        raise Cancelled()


def _start_process(pool: ProcessPoolExecutor) -> None:
    """Start ``pool``'s worker now, as a plain Python process. A spawned process first runs its
    parent's main file (as ``__mp_main__``), and Streamlit's script runner leaves
    ``sys.modules["__main__"]`` a module whose file is app.py: each worker ran the whole app (2 s
    of CPU, 10 to 20 s on a loaded 2-core VM) before its initializer tied it to the server. The
    work a worker runs is imported by name, never from the main file. A script run that begins
    meanwhile installs its own main module, which is left as it is."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = _PLAIN_MAIN
    try:
        pool.submit(_ready)
    finally:
        if sys.modules["__main__"] is _PLAIN_MAIN:
            sys.modules["__main__"] = main


def _run(work: Callable[..., Any], args: tuple, reports: bool) -> Any:
    return work(*args, progress=report) if reports else work(*args)


@dataclass(eq=False)
class Job:
    """One run in a worker: ``future`` holds what ``work`` returned, or raises :class:`Cancelled`."""

    key: str
    slot: int
    total: int  # units of work (paths, stages) that ``done`` counts up to
    future: Future
    runs: "LongRuns" = field(repr=False)
    started: float = field(default_factory=time.monotonic)
    seen_at: float = field(default_factory=time.monotonic)
    cancelled_at: float | None = None
    abandoned: bool = False  # cancelled because its page stopped watching
    finished: float | None = None

    @property
    def done(self) -> int:
        return int(self.runs.done[self.slot]) if not self.future.done() else self.total

    @property
    def seconds(self) -> float:
        """From submit to the end [s] (to now while it runs)."""
        return (self.finished or time.monotonic()) - self.started

    def seen(self) -> None:
        """The page that asked for the run still waits for it."""
        self.seen_at = time.monotonic()

    def cancel(self) -> None:
        if not self.future.done() and self.cancelled_at is None:
            self.cancelled_at = time.monotonic()
            self.runs.cancelled[self.slot] = 1

    def result(self) -> Any:
        """What the work returned; :class:`Cancelled` when cancelled (its worker killed or not)."""
        try:
            return self.future.result()
        except BrokenProcessPool:
            if self.cancelled_at is not None:
                raise Cancelled() from None
            raise


class LongRuns:
    """``workers`` slots, each a worker process of its own (see the module doc)."""

    def __init__(self, workers: int = MAX_LONG_RUNS, *, abandon_after: float = ABANDON_SECONDS,
                 grace: float = CANCEL_GRACE):
        self.context = mp.get_context("spawn")  # never fork a server that runs threads
        self.workers, self.abandon_after, self.grace = workers, abandon_after, grace
        self.done = self.context.Array("q", workers, lock=False)
        self.cancelled = self.context.Array("b", workers, lock=False)
        self.pids = self.context.Array("q", workers, lock=False)
        self._lock = threading.Lock()
        self._free = list(range(workers))
        # Every worker is started from this one thread, which lives as long as the pool: Linux's
        # parent-death signal follows the thread that started a process, and a page's script
        # thread ends after its run (a worker started there would be killed with it).
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="long-runs-spawn")
        self._jobs: dict[int, Job] = {}
        self._pools = [self._pool(slot) for slot in range(workers)]
        self._closed = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="long-runs-watch").start()

    def _pool(self, slot: int) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(1, mp_context=self.context, initializer=lifeline.start,
                                   initargs=(os.getpid(), (__name__, "_start_worker"), slot, self.done,
                                             self.cancelled, self.pids))
        self._spawner.submit(_start_process, pool).result()  # now, from the spawner, not at the first run
        return pool

    @property
    def running(self) -> int:
        with self._lock:
            return self.workers - len(self._free)

    def jobs(self) -> list[Job]:
        """The jobs going now."""
        with self._lock:
            return list(self._jobs.values())

    def submit(self, key: str, work: Callable[..., Any], *args: Any, total: int = 1,
               reports: bool = False) -> Job | None:
        """Start ``work(*args)`` (with ``progress=`` when it ``reports``), or None when every
        slot is taken."""
        with self._lock:
            if not self._free:
                return None
            slot = self._free.pop()
            self.done[slot] = 0
            self.cancelled[slot] = 0
            future = self._pools[slot].submit(_run, work, args, reports)
            job = self._jobs[slot] = Job(key=key, slot=slot, total=max(int(total), 1), future=future, runs=self)
        future.add_done_callback(lambda _: self._release(job))
        return job

    def _release(self, job: Job) -> None:
        job.finished = time.monotonic()
        broken = isinstance(job.future.exception(), BrokenProcessPool) if not job.future.cancelled() else False
        with self._lock:
            if broken:  # its worker was killed: a new one for the slot
                self._pools[job.slot].shutdown(wait=False)
                self._pools[job.slot] = self._pool(job.slot)
            self._jobs.pop(job.slot, None)
            self._free.append(job.slot)

    def _watch(self) -> None:
        """Cancel the jobs nobody watches; kill the workers of cancelled jobs still going."""
        while not self._closed.wait(WATCH_SECONDS):
            now = time.monotonic()
            for job in self.jobs():
                if job.future.done():
                    continue
                if job.cancelled_at is None and now - job.seen_at > self.abandon_after:
                    job.abandoned = True
                    job.cancel()
                elif job.cancelled_at is not None and now - job.cancelled_at > self.grace and self.pids[job.slot]:
                    pid, self.pids[job.slot] = self.pids[job.slot], 0  # its successor sets its own
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:  # it has just ended
                        pass

    def close(self) -> None:
        self._closed.set()
        for slot in range(self.workers):
            self.cancelled[slot] = 1
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._spawner.shutdown(wait=True)


__all__ = ["ABANDON_SECONDS", "CANCEL_GRACE", "Cancelled", "Job", "LongRuns", "report"]
