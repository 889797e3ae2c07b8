"""A page's long run, the one way every page does it: in the server's worker pool
(:mod:`ui.common.long_runs`), with a progress bar and a Cancel button, a message when the server
is busy, and the result kept in the session for the next runs.

Session keys, per page prefix ``P`` (``"stress"``, ``"cascade.crowd"``, ``"replay.walk"``…):
``"P.job"`` the run going, ``"P.cancelled"`` the key of a run the visitor cancelled (shown as
such until asked for again), ``"P.results"`` the last few results (key → (result, seconds)).
While the page waits it tells the job it still watches (:meth:`~ui.common.long_runs.Job.seen`),
only while its browser is connected; a closed tab or a page left for another stops that, and
the pool cancels the run (:data:`~ui.common.long_runs.ABANDON_SECONDS`).
"""

from __future__ import annotations

import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import streamlit as st

from margin.limits import MAX_LONG_RUNS
from ui.shell.memory import session_store
from ui.common.faults import describe, report
from ui.common.long_runs import Cancelled, LongRuns

POLL_SECONDS = 0.2  # between two looks at a running job [s]

Text = Callable[[int, int], str]  # (done, total) -> the progress bar's words


@st.cache_resource(max_entries=1, show_spinner=False)
def long_runs() -> LongRuns:
    """The server's pool of workers (one per process; see ui/common/long_runs.py)."""
    return LongRuns()


def watched() -> bool:
    """True while this session's browser is connected (always outside a server: a test)."""
    from streamlit.runtime import Runtime, exists
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return not exists() or ctx is None or Runtime.instance().is_active_session(ctx.session_id)


def cancel(prefix: str, key: str) -> None:
    """The Cancel button: stop the run and remember that this key was cancelled."""
    job = st.session_state.pop(f"{prefix}.job", None)
    if job is not None:
        job.cancel()
    st.session_state[f"{prefix}.cancelled"] = key


def again(prefix: str) -> None:
    st.session_state.pop(f"{prefix}.cancelled", None)


def long_result(prefix: str, key: str, work: Callable[..., Any], *args: Any, total: int = 1, reports: bool = False,
                text: Text, keep: int = 2) -> tuple[Any, float] | None:
    """``work(*args)``'s result and its seconds: from the session's last ``keep`` results, or run
    now in a worker while the page shows its progress; None when cancelled or when the server is
    busy (the page says which). The results sit in the session's store (``ui/shell/memory.py``),
    not in session state, so a closed tab drops them at once."""
    results = session_store().setdefault(f"{prefix}.results", {})
    if key in results:
        results[key] = results.pop(key)  # most recently used last
        return results[key]
    if st.session_state.get(f"{prefix}.cancelled") == key:
        stopped(prefix, "Cancelled.")
        return None
    job = st.session_state.get(f"{prefix}.job")
    if job is not None and (job.key != key or job.abandoned):  # the inputs changed, or it was left
        job.cancel()
        job = None
    if job is None:
        job = long_runs().submit(key, work, *args, total=total, reports=reports)
        if job is None:
            st.warning(f"The server is busy: {MAX_LONG_RUNS} long runs are going for other visitors. "
                       "Try again in a moment.", icon=":material/hourglass_top:")
            st.button("Try again", icon=":material/refresh:", key=f"{prefix}.retry")
            return None
        st.session_state[f"{prefix}.job"] = job
    outcome = wait(prefix, key, job, text)
    if outcome is not None:
        results[key] = outcome
        while len(results) > keep:
            results.pop(next(iter(results)))
    return outcome


def wait(prefix: str, key: str, job, text: Text) -> tuple[Any, float] | None:
    """Show the job's progress and a Cancel button until it ends; its result and seconds."""
    holder = st.empty()
    with holder.container():
        st.button("Cancel", icon=":material/cancel:", key=f"{prefix}.cancel", on_click=cancel, args=(prefix, key))
        bar = st.progress(0.0, text=text(0, job.total))
    while not job.future.done():  # the work is in the worker: this session only waits
        if watched():
            job.seen()
        done = job.done
        bar.progress(min(done / job.total, 1.0), text=f"{text(done, job.total)} · {job.seconds:.0f} s")
        time.sleep(POLL_SECONDS)
    holder.empty()
    if st.session_state.get(f"{prefix}.job") is job:
        del st.session_state[f"{prefix}.job"]
    try:
        return job.result(), job.seconds
    except Cancelled:  # this page stopped watching it for a while (a dropped connection), or a Cancel
        stopped(prefix, "Stopped while this page was away." if job.abandoned else "Cancelled.")
        return None
    except BrokenProcessPool as err:  # its worker was killed (the pool starts a new one for the slot)
        stopped(prefix, describe(err, report(err, where=prefix)).sentence)
        return None


def stopped(prefix: str, words: str) -> None:
    st.info(words, icon=":material/cancel:")
    st.button("Start it again", icon=":material/play_arrow:", key=f"{prefix}.again", on_click=again, args=(prefix,))


__all__ = ["cancel", "long_result", "long_runs", "watched"]
