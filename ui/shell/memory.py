"""What a session holds, and the server's memory once the session has ended.

- :func:`session_store`: a session's large, recomputable results (the stress lab's runs). It is
  a session-scoped ``st.cache_resource``, which Streamlit drops the moment the tab's websocket
  closes, whereas ``st.session_state`` is kept for a reconnect for
  ``server.disconnectedSessionTTL`` (120 s) and, in Streamlit 1.67, past it until another
  session's disconnect reaps it (an expired session is dropped without its shutdown,
  streamlit/streamlit#12506). So a closed tab keeps only its small state: the account, the
  controls, the lab's path.
- When any session ends (:func:`watch_session`, called by ``app.py`` on every run), a trim
  follows: a full garbage collection, then glibc's ``malloc_trim(0)``, which gives the pages
  that freed objects leave in the heap back to the system (otherwise the process keeps them).
- :func:`freeze_imports`, at the end of the process's first script run: what is alive then (the
  imported modules, classes and functions, about 160,000 objects) is moved out of the garbage
  collector's reach (``gc.freeze``). A full collection, the trim's or Python's own, then scans
  only what was made since: 2 to 5 ms instead of about 200 ms, during which every session on the
  server waits (a collection holds the GIL).
- :func:`tune_allocator`, once per process: at most two glibc malloc arenas (one per script
  thread would keep each its own free memory) and a fixed mmap threshold, so that a large
  array (a 200,000-trader crowd, a stress run's paths) lives in its own mapping that goes back
  to the system when freed, instead of in a heap it fragments.

None of it changes what a page shows; on a C library other than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from typing import Any

import streamlit as st

CACHE_TTL = 600  # [s] how long a page cache keeps an entry after computing it (each also has max_entries)
ARENAS = 2  # glibc malloc arenas for the whole process (default: 8 per core)
MMAP_THRESHOLD = 256 * 1024  # [bytes] a block at least this large gets a mapping of its own
TRIM_DELAY = 2.0  # [s] after a session ends: Streamlit drops the session's parts in that time
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt's parameter numbers (glibc malloc.h)


def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (it has ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _glibc()


def tune_allocator() -> bool:
    """Bound the arenas and fix the mmap threshold (see the module's docstring); True when done."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(_M_ARENA_MAX, ARENAS)) and bool(_LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def trim() -> None:
    """Free what only cycles hold, then give the heap's free pages back to the system."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


_FROZEN = threading.Event()


def freeze_imports() -> None:
    """Call at the end of a script run: the first time in the process, collect, then freeze what
    is alive (see the module's docstring). What is frozen is never collected as a cycle; besides
    the imports it holds only the first run's session, once."""
    if _FROZEN.is_set():
        return
    _FROZEN.set()
    gc.collect()
    gc.freeze()


class _Trimmer(threading.Thread):
    """One daemon thread per process that trims :data:`TRIM_DELAY` after the last of a burst of
    session ends (a process-wide helper holding no session's data, so not in a session cache)."""

    def __init__(self) -> None:
        super().__init__(name="margin-lab-trim", daemon=True)
        self.wanted = threading.Event()
        self.trims = 0

    def run(self) -> None:
        while True:
            self.wanted.wait()
            while self.wanted.is_set():  # a burst of ends: one trim after the last
                self.wanted.clear()
                self.wanted.wait(TRIM_DELAY)
            trim()
            self.trims += 1


_TRIMMER = _Trimmer()
_START = threading.Lock()


def trimmer() -> _Trimmer:
    """The process's trimmer, started on first use."""
    with _START:
        if not _TRIMMER.is_alive():
            _TRIMMER.start()
    return _TRIMMER


def _session_ended(store: dict[str, Any]) -> None:
    """Streamlit's release of a closed session's store: empty it (a deferred download's
    callable may still hold the dict) and ask for a trim. Runs on the server's event loop."""
    store.clear()
    trimmer().wanted.set()


@st.cache_resource(scope="session", max_entries=1, show_spinner=False, on_release=_session_ended)
def session_store() -> dict[str, Any]:
    """This session's store of large, recomputable results, gone when its tab closes."""
    return {}


def watch_session() -> None:
    """Call on every run: every session gets a store, so its end is seen and trimmed after.
    Outside a session (a worker process that imports ``app.py`` as its main module) it does nothing."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is not None:
        session_store()


tune_allocator()
