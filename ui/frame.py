"""Keep every page inside app.py's frame, even on a server's very first run.

Streamlit 1.67 runs the first script run of a server process in its legacy ``pages/``-folder
mode until ``st.navigation`` has been called once (``PagesManager.uses_pages_directory``). A
deep link such as ``/crash_replay`` opened first on a fresh server would then run the page file
on its own, without app.py (no account set-up, no sidebar, no presenter mode), or show "Page not
found"; AppTest's ``switch_page`` does the same. Every script calls :func:`inside_app_frame`
first: in legacy mode it switches the process to ``st.navigation`` mode and reruns, and because
app.py gives each page the URL path the legacy mode infers from its file name (the page hash is
a hash of the URL path), the rerun lands on the same page, now inside app.py.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def inside_app_frame() -> None:
    """Rerun through app.py's ``st.navigation`` if this run came from the legacy page folder."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
