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
