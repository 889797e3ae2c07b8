"""A visitor never sees a traceback: with the project's own .streamlit/config.toml (the plain
``streamlit run app.py``, no deploy flags) an uncaught error shows Streamlit's generic sentence,
the full error goes to the server's log, and the menu has no Deploy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import start_streamlit, stop_streamlit

pytestmark = pytest.mark.browser

SECRET = "db.internal:5432 password=hunter2"  # what a real failure's message can hold
FAILING_PAGE = f'''
import streamlit as st

st.title("A page that fails")
raise RuntimeError("cannot reach {SECRET}")
'''


def test_an_uncaught_error_shows_a_generic_sentence_and_logs_the_details(page: Page, tmp_path):
    script = tmp_path / "failing_page.py"
    script.write_text(FAILING_PAGE)
    process, url = start_streamlit(script)  # run from the project folder: its config applies
    try:
        page.goto(url)
        expect(page.get_by_role("heading", name="A page that fails")).to_be_visible()
        expect(page.get_by_text("This app has encountered an error")).to_be_visible()
        shown = page.locator("body").inner_text()
        assert SECRET not in shown and "RuntimeError" not in shown and "Traceback" not in shown
        assert str(tmp_path) not in shown  # no server file path
        # viewer mode: on loopback Streamlit would otherwise offer its developer's Deploy button
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    finally:
        stop_streamlit(process)
    log = process.log.closed().text
    assert SECRET in log and "RuntimeError" in log  # the operator still has the whole error
