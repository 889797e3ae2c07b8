"""Every page runs inside app.py's frame, however it is reached (see ui/shell/deep_links.py)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import PAGE_FILES, app_file


def _in_frame(at: AppTest) -> bool:
    """app.py ran: its sidebar has the presenter switch."""
    return any(t.label == "Presenter mode" for t in at.sidebar.toggle)


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_switching_straight_to_a_page_runs_it_inside_app_py(page_file):
    at = app_file(60)
    at.switch_page(page_file).run()
    assert not at.exception
    assert _in_frame(at), f"{page_file} ran without app.py's frame"
