"""Keep every page inside app.py's frame, even on a server's very first run.

Streamlit 1.67 runs a script in its legacy ``pages/``-folder mode until ``st.navigation`` has
been called once in the process (``PagesManager.uses_pages_directory``; AppTest resets it
before every run). In that mode a URL such as ``/crash_replay`` runs the page file on its own,
without app.py: no account set-up, sidebar or presenter mode; a URL the folder does not know
shows "Page not found". So app.py gives each page the URL path the legacy mode infers from its
file name (its page hash is a hash of that path), and every script starts with
:func:`inside_app_frame`:

* app.py (``is_app=True``) just leaves legacy mode; its ``st.navigation`` then resolves the
  requested page among the app's own pages;
* a page run directly by the legacy mode runs app.py in its place, within the same script
  run (widget values and button clicks of this run are kept), and stops.

Whether a page runs inside app.py is read from the call stack, not from the class flag: when
several browsers open deep links at once on a fresh server (a classroom following the
teacher's link), one session's app.py flips the flag while the others are already running
their page files in legacy mode, and a flag test would let those pages render bare.
"""

from __future__ import annotations

import os
import runpy
import sys
from functools import lru_cache
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parents[2] / "app.py"
_APP_REAL = os.path.realpath(APP)


@lru_cache(maxsize=1024)
def _real(filename: str) -> str:
    """A code object's file, resolved once per process (a realpath is a system call per folder
    of the path, and every page's every run walks a dozen frames)."""
    return os.path.realpath(filename)


def _called_from_app() -> bool:
    """Is app.py's code on the call stack (this page is being run by its ``st.navigation``)?"""
    frame = sys._getframe(1)
    while frame is not None:
        if _real(frame.f_code.co_filename) == _APP_REAL:
            return True
        frame = frame.f_back
    return False


def inside_app_frame(*, is_app: bool = False) -> None:
    """Make sure this run goes through app.py's ``st.navigation`` (see the module doc)."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # later sessions start inside app.py
    if is_app or _called_from_app():
        return
    runpy.run_path(str(APP), run_name="__main__")  # app.py navigates back to this page
    st.stop()
