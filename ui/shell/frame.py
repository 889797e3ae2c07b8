"""app.py's frame, built once per server where it is the same for every session.

Each session's every run of ``app.py`` hands ``st.navigation`` the app's pages. Building them
(``st.Page``: a path resolved on disk, an icon checked, telemetry) costs the same for everyone,
so :func:`navigation_pages` builds them once per process and gives each run its own shallow
copies (``st.navigation`` marks the page it returns as runnable, and ``run()`` clears the mark:
a page object shared by two sessions' runs at once would let one of them fail).

A page with ``light_frame`` (:mod:`ui.common.site`: a student's room, the projector) gets a
light frame: no account in the sidebar (the room shows the teacher's account, not this
browser's) and no presenter switch, only the navigation and one line that says so
(:func:`room_sidebar`). A class of 300 opening the join link at once runs the frame twice per
student (the form, then the join): every element it does not draw is 600 element messages fewer
for the server (``docs/push.md``).
"""

from __future__ import annotations

import base64
import copy
import threading
from pathlib import Path
from typing import Any

import streamlit as st

from ui.common.site import DEFAULT_PAGE, PAGES, page_of_file

ROOM_NOTE = (":material/groups: A classroom room shows the teacher's account. Your own account waits in the other "
             "pages.")

FAVICON = "data:image/png;base64," + base64.b64encode(
    (Path(__file__).resolve().parents[2] / "assets" / "images" / "favicon.png").read_bytes()).decode("ascii")
"""The app's icon as a data URL: Streamlit passes a URL through as it is, where a file's path is
read and stored as a media file of the session on every run."""

_built: tuple[Any, ...] = ()
_building = threading.Lock()


def navigation_pages() -> list[Any]:
    """The app's pages for this run's ``st.navigation``: built once per process (on the first
    run, which has a script context), copied for each run.

    The whole tuple is built first and then published by one assignment. Filling a shared list
    in place let a second session, checking it outside the lock, copy the pages built so far:
    a class opening links on a fresh server got "Page not found" for a page not yet built."""
    global _built
    if not _built:
        with _building:
            if not _built:
                _built = tuple(
                    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=(p.id == DEFAULT_PAGE),
                            visibility="visible" if p.in_navigation else "hidden")
                    for p in PAGES)
    return [copy.copy(p) for p in _built]


def is_light(page: Any) -> bool:
    """Whether ``page`` (what ``st.navigation`` returned) gets the light frame."""
    found = page_of_file(page)
    return found is not None and found.light_frame


def room_sidebar() -> None:
    """The light frame's sidebar: one line under the navigation."""
    with st.sidebar:
        st.caption(ROOM_NOTE)


__all__ = ["FAVICON", "ROOM_NOTE", "is_light", "navigation_pages", "room_sidebar"]
