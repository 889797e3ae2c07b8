"""Every page runs inside app.py's frame, however it is reached (see ui/shell/deep_links.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import PAGE_FILES, app_file
from ui.common.site import page_of_file
from ui.shell.frame import ROOM_NOTE


def _in_frame(at: AppTest, page_file: str) -> bool:
    """app.py ran: its sidebar has the presenter switch, or on a light-frame page (a student's
    room, the projector) the room's note and no switch."""
    if page_of_file(page_file).light_frame:
        return (any(c.value == ROOM_NOTE for c in at.sidebar.caption)
                and not any(t.label == "Presenter mode" for t in at.sidebar.toggle))
    return any(t.label == "Presenter mode" for t in at.sidebar.toggle)


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_switching_straight_to_a_page_runs_it_inside_app_py(page_file):
    at = app_file(60)
    at.switch_page(page_file).run()
    assert not at.exception
    assert _in_frame(at, page_file), f"{page_file} ran without app.py's frame"
