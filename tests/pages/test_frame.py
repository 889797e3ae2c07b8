"""Every page runs inside app.py's frame, however it is reached (see ui/shell/deep_links.py)."""

from __future__ import annotations

import pytest

from tests.support import PAGE_FILES, app_file, in_frame


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_switching_straight_to_a_page_runs_it_inside_app_py(page_file):
    at = app_file(60)
    at.switch_page(page_file).run()
    assert not at.exception
    assert in_frame(at, page_file), f"{page_file} ran without app.py's frame"


def test_a_session_arriving_while_the_pages_are_built_gets_every_page(monkeypatch):
    """A class opening links on a fresh server: a second session asks for the pages while the
    first is still building them. It must wait for all of them (it once got the ones built so
    far, and its st.navigation answered "Page not found" for the rest)."""
    import threading
    import time
    from types import SimpleNamespace

    from ui.common.site import PAGES
    from ui.shell import frame

    second_page_started, let_go = threading.Event(), threading.Event()
    made: list[str] = []

    def slow_page(path, **_):
        made.append(path)
        if len(made) == 2:  # the builder is half way through
            second_page_started.set()
            let_go.wait(10)
        return SimpleNamespace(path=path)

    monkeypatch.setattr(frame, "_built", type(frame._built)())  # nothing built yet
    monkeypatch.setattr(frame, "st", SimpleNamespace(Page=slow_page))
    got: dict[str, list] = {}
    first = threading.Thread(target=lambda: got.__setitem__("first", frame.navigation_pages()))
    second = threading.Thread(target=lambda: got.__setitem__("second", frame.navigation_pages()))
    first.start()
    assert second_page_started.wait(10)
    second.start()
    time.sleep(0.2)  # the second session's check happens while the first is mid-build
    let_go.set()
    first.join(10)
    second.join(10)
    assert len(got["first"]) == len(PAGES)
    assert len(got["second"]) == len(PAGES), "a session got a partial list of pages"
