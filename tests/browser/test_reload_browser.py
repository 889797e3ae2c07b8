"""The learner's work survives a reload and a server restart: the address keeps the current
view (account, page and controls), and a new session restores it and says so."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, _free_port, start_streamlit

pytestmark = pytest.mark.browser


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_reload_and_a_restart_bring_the_same_account_back(page):
    port = _free_port()
    process, url = start_streamlit(ROOT / "app.py", port=port)
    try:
        page.goto(f"{url}/builder")
        expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
        name = page.get_by_label("Account name")
        name.fill("Reload me, please")
        name.press("Enter")
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("Reload me, please", exact=True)).to_be_visible()
        expect(page).to_have_url(re.compile(r"[?&]keep=1"))

        page.reload()
        expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
        expect(page.get_by_text("Restored your account “Reload me, please”")).to_be_visible()
        expect(sidebar.get_by_text("Reload me, please", exact=True)).to_be_visible()

        _stop(process)  # the server goes away and comes back on the same port
        process, _ = start_streamlit(ROOT / "app.py", port=port)
        page.reload()
        expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
        expect(page.get_by_text("Restored your account “Reload me, please”")).to_be_visible()
        expect(sidebar.get_by_text("Reload me, please", exact=True)).to_be_visible()
    finally:
        _stop(process)
