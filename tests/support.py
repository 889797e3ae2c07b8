"""What the test layers share: the project's paths, and the ways AppTest opens the app.

AppTest quirk: when the entry script sits next to a ``pages/`` folder, a page whose URL path
equals its file name (``/builder``, ``/learn``, ``/glossary``) is run on its own, without
app.py (the pre-``st.navigation`` folder convention wins). So :func:`whole_app` starts the app
from a one-line entry script in a temporary folder that runs app.py itself, and :func:`goto`
switches pages by their path relative to it: every page then runs inside app.py's frame,
presenter mode and link handling included, as in the browser.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.paths import APP, DATA, PAGE_FILES, ROOT  # noqa: F401  (re-exported for the page tests)

ENTRY = f"import runpy\nrunpy.run_path({str(ROOT / 'app.py')!r}, run_name='__main__')\n"


def app_file(timeout: float = 30) -> AppTest:
    """app.py itself (not run yet): for the pages reached through ``switch_page``."""
    return AppTest.from_file(APP, default_timeout=timeout)


def whole_app() -> AppTest:
    """The whole app through the entry script (not run yet); see the module's note."""
    return AppTest.from_string(ENTRY, default_timeout=60)


def goto(at: AppTest, page: str) -> AppTest:
    """Switch ``at`` (from :func:`whole_app`) to ``page`` (relative to the project) and run."""
    at.switch_page(os.path.relpath(ROOT / page, Path(at._script_path).parent)).run()
    return at


def in_frame(at: AppTest, page_file: str | None = None) -> bool:
    """The page ran inside app.py: its sidebar has the presenter switch, or on a light-frame
    page (``page_file`` a student's room or the projector: ui/shell/frame.py) the room's note
    and no switch."""
    from ui.common.site import page_of_file
    from ui.shell.frame import ROOM_NOTE

    switch = any(t.key == "presenter.widget" for t in at.toggle)
    found = page_of_file(page_file) if page_file is not None else None
    if found is not None and found.light_frame:
        return any(c.value == ROOM_NOTE for c in at.sidebar.caption) and not switch
    return switch


def open_page(page: str, timeout: float = 60, **state) -> AppTest:
    """app.py run once with ``state`` in the session, then switched to ``page``; no exception."""
    at = app_file(timeout)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def session_store(at: AppTest) -> dict:
    """``ui.shell.memory.session_store()`` of the AppTest's session (AppTest gives every app
    one session id; the store is a session-scoped st.cache_resource, outside session_state)."""
    from streamlit.runtime.caching.cache_resource_api import _resource_caches

    for cache in _resource_caches._function_caches.get("test session id", {}).values():
        if cache.display_name.endswith("memory.session_store"):
            return next(iter(cache._mem_cache.values())).value
    return {}


def page_text(at: AppTest) -> str:
    """The page's text as a reader sees it: Markdown, captions, notes and expander labels, with
    Markdown's backslash escapes of names dropped and no-break spaces as spaces."""
    raw = "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                    + [i.value for i in at.info] + [e.label for e in at.expander])
    return shown(raw).replace("\u00a0", " ")


def shown(text: str) -> str:
    """What a reader sees of Markdown text the app escaped (``ui.common.text.md``): the text
    without its backslash escapes."""
    return re.sub(r"\\(.)", r"\1", text)


def opened_with(**params) -> AppTest:
    """The whole app opened with these query parameters (a shared link), run once."""
    at = whole_app()
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def learn_app() -> AppTest:
    """The learn page inside the frame."""
    at = goto(whole_app().run(), "pages/learn.py")
    assert not at.exception and in_frame(at)
    return at


def open_lesson(at: AppTest, lesson_id: str) -> AppTest:
    """Choose ``lesson_id`` in the learn page's list."""
    at.radio(key="learn.list").set_value(lesson_id).run()
    assert at.session_state["learn.current"] == lesson_id
    return at
