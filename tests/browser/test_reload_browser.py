"""The learner's work survives a reload and a server restart: the address keeps the current
view (account, page and controls), and a new session restores it and says so."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, _free_port, start_streamlit, step_slider, stop_streamlit

pytestmark = pytest.mark.browser


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
        expect(page).to_have_url(re.compile(r"[?&]keep=[0-9a-f]{16}"))

        page.reload()
        expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
        expect(page.get_by_text("Restored your account “Reload me, please”")).to_be_visible()
        expect(sidebar.get_by_text("Reload me, please", exact=True)).to_be_visible()

        stop_streamlit(process)  # the server goes away and comes back on the same port
        process, _ = start_streamlit(ROOT / "app.py", port=port)
        page.reload()
        expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
        expect(page.get_by_text("Restored your account “Reload me, please”")).to_be_visible()
        expect(sidebar.get_by_text("Reload me, please", exact=True)).to_be_visible()
    finally:
        stop_streamlit(process)


def _step(page, label: str, box_label: str, key: str, steps: int, wanted: str) -> None:
    """Press ``key`` ``steps`` times on the slider ``label`` (each step reruns only its fragment),
    stepping on while a loaded machine dropped one, until its exact box says ``wanted``."""
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text=box_label).locator("input")
    step_slider(page, thumb, box, steps, wanted, key)


def _box(page, box_label: str):
    return page.locator('[data-testid="stNumberInput"]').filter(has_text=box_label).locator("input")


def test_a_reload_right_after_slider_steps_keeps_the_last_step(app_url, page):
    page.goto(app_url)  # the price lab: its sliders' steps rerun only their fragments
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]keep=[0-9a-f]{16}"))  # the first full run wrote the view
    _step(page, "Whole-market shock", "Shock, exact", "ArrowLeft", 6, "-3.0")
    _step(page, "SOL price", "SOL exact", "ArrowRight", 3, "180.3")
    page.reload()  # no full run since the first: only the fragments' runs put the steps in the address
    expect(page.get_by_text("Restored your account")).to_be_visible()
    expect(_box(page, "Shock, exact")).to_have_value("-3.0")
    expect(_box(page, "SOL exact")).to_have_value("180.3")
