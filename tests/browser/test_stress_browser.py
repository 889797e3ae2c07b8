"""A real browser: open the stress lab, change the seed, press Run and read the probabilities."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _open(page: Page, app_url: str) -> None:
    """Open the app at its root and follow the sidebar link, as a visitor would (a fresh server
    answers a first deep link with a "Page not found" dialog before it knows its pages)."""
    page.goto(app_url)
    page.get_by_role("link", name="Stress lab", exact=True).click()  # not the legacy "stress lab"
    expect(page).to_have_url(re.compile("/stress_lab"))
    expect(page.get_by_role("heading", name="Stress lab")).to_be_visible()


def test_run_a_stress_test_and_see_the_probabilities(page: Page, app_url: str):
    _open(page, app_url)
    expect(page.get_by_text(re.compile(r"Seed 0 · 5,000 paths per model"))).to_be_visible()
    seed = page.get_by_role("spinbutton", name="Seed")
    seed.fill("7")
    seed.press("Enter")
    expect(page.get_by_text("The inputs changed since these results")).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text(re.compile(r"Seed 7 · 5,000 paths per model"))).to_be_visible()
    expect(page.get_by_text("The inputs changed since these results")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"Under fat tails \(Student-t, ν = 3\) a wipe-out"))).to_be_visible()
    values = page.get_by_test_id("stMetricValue")
    expect(values).to_have_count(3)
    for k in range(3):
        expect(values.nth(k)).to_have_text(re.compile(r"^\d+(\.\d+)?\s%$"))
    expect(page.get_by_role("button", name="Download the results (CSV)")).to_be_visible()


@pytest.mark.parametrize("present", [False, True], ids=["1280x800", "presenter-1280x720"])
def test_the_stress_lab_cuts_no_label_or_table_short(page: Page, app_url: str, present: bool):
    from tests.conftest import cut_short

    if present:
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"{app_url}/stress_lab?present=1")
    else:
        _open(page, app_url)
    expect(page.get_by_text(re.compile(r"Seed 0 · 5,000 paths per model"))).to_be_visible()
    expect(page.get_by_text("BTC long liquidated").first).to_be_visible()  # a name, not the id
    expect(page.get_by_text("btc-long liquidated")).to_have_count(0)
    page.wait_for_function("document.fonts.status === 'loaded'")
    page.wait_for_timeout(500)
    assert cut_short(page) == []
