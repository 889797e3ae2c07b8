"""Faults on a page, the Streamlit side: a sentence and an error id, never a traceback.

:func:`install` (``app.py``, every run) makes :func:`on_script_error` the session's handler of
an uncaught error, on a full run and in a fragment alike: the error is logged in full with a
short id (``ui/common/faults.py``), the page shows one sentence naming that id, and when the
cause may pass by itself (the classroom database unreachable, a full disk) the page runs again
every :data:`RETRY_SECONDS` until it works, so it recovers without a reload. A page that catches
a fault itself (to keep what the visitor typed) shows it with :func:`show`.

Under AppTest (no Streamlit runtime) Streamlit's own exception element is kept beside the
sentence, so that a test asserting ``not at.exception`` still fails on a bug.
"""

from __future__ import annotations

import streamlit as st

from ui.common.faults import Fault, describe, report
from ui.common.text import md

RETRY_SECONDS = 5.0  # a page that met a passing fault runs again after this long [s]
RETRY_KEY = "faults.retry"  # the retry fragment ran once already: its next run reruns the page


def install() -> None:
    """Make :func:`on_script_error` this session's handler of uncaught errors (cheap: every run):
    on this run's context, and on the session itself, because a fragment's rerun may start a
    fresh script runner that runs only the fragment, not ``app.py``'s top where this is called."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return
    ctx.on_script_error = on_script_error
    if _under_apptest():
        return
    try:
        from streamlit.runtime import Runtime
        session = Runtime.instance().get_app_session(ctx.session_id) if Runtime.exists() else None
    except (AttributeError, RuntimeError):  # another Streamlit: this run's context only
        return
    if session is not None and getattr(session, "_on_script_error", None) is not on_script_error:
        session._on_script_error = on_script_error  # what each new ScriptRunner of the session is given


def on_script_error(err: Exception) -> bool:
    """Streamlit's ``on_script_error``: the sentence instead of the error; True suppresses
    Streamlit's own element (only on a real server: see the module doc)."""
    show(err, where="page")
    return not _under_apptest()


def _under_apptest() -> bool:
    """Whether AppTest runs this page: it stands a mock in for Streamlit's runtime."""
    from unittest.mock import NonCallableMock

    from streamlit.runtime import Runtime
    return isinstance(getattr(Runtime, "_instance", None), NonCallableMock)


def show(err: BaseException, where: str = "") -> Fault:
    """Log ``err`` under an id and show its sentence; a passing fault runs the page again soon."""
    fault = describe(err, report(err, where))
    st.error(md(fault.sentence), icon=":material/error:")
    if fault.transient and not _in_fragment():
        _retry_soon()
    return fault


def _in_fragment() -> bool:
    """Whether this code runs inside a fragment (whose own rerun, or its run_every, retries)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState
        return bool(ThreadState.get().fragment_id)
    except (ImportError, AttributeError):  # another Streamlit: retry from the page
        return False


def _retry_soon() -> None:
    st.session_state[RETRY_KEY] = False
    _retry_later()


@st.fragment(run_every=RETRY_SECONDS)
def _retry_later() -> None:
    """Drawn under a passing fault's sentence: its first timed run reruns the whole page."""
    if st.session_state.get(RETRY_KEY):
        st.session_state.pop(RETRY_KEY, None)
        st.rerun(scope="app")
    st.session_state[RETRY_KEY] = True
    st.caption(f"Trying again every {RETRY_SECONDS:.0f} s.")


__all__ = ["RETRY_SECONDS", "install", "on_script_error", "show"]
