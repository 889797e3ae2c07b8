"""A worker process's tie to its server: the worker ends when the server ends, however it ends
(``kill -9`` included), so that no worker outlives it.

Two ties, made first thing in the worker (:func:`start` is the worker pool's initializer):

- Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): the kernel kills the
  worker when the *thread* that started it ends, so the pool starts its workers from a thread
  that lives as long as the pool (``LongRuns._spawner``), never from a page's script thread;
- a thread that watches the parent's pid, every :data:`PARENT_WATCH_SECONDS`, on any platform:
  an orphan is adopted by another process, so its parent pid changes. It also ends a worker
  whose server was gone before the signal was asked for.

This module imports nothing heavy: unpickling the initializer imports only it, so the ties are
made within a fraction of a second of the worker's start, not after the engine's imports
(a worker that imports the engine takes 2.5 s of CPU; 12 to 20 s on a loaded 2-core VM, during
which a killed server's worker would live on). No Streamlit here.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
import threading
import time
from typing import Any

PARENT_WATCH_SECONDS = 0.5  # how often a worker looks whether its server is still there [s]
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def start(parent: int, then: tuple[str, str], *args: Any) -> None:
    """A worker pool's initializer: tie this process to ``parent`` (the server's pid), then
    import ``then`` (module, function) and call it with ``args``."""
    die_with(parent)
    module, name = then
    getattr(importlib.import_module(module), name)(*args)


def die_with(parent: int) -> None:
    """End this process when process ``parent`` ends (see the module doc)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: the watch alone
            pass
    threading.Thread(target=watch_parent, args=(parent,), daemon=True, name="parent-watch").start()


def watch_parent(parent: int) -> None:
    """Return never: end the process once its parent pid is no longer ``parent``."""
    while os.getppid() == parent:
        time.sleep(PARENT_WATCH_SECONDS)
    os._exit(1)


__all__ = ["PARENT_WATCH_SECONDS", "die_with", "start", "watch_parent"]
