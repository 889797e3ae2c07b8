"""axe-core after what a learner does, not only on each page's first state
(test_accessibility_browser.py): the stress lab with its results, a lesson's panel after Check,
the builder after an exchange import, the lab after a keyboard step past a liquidation. No
serious or critical violation in any of them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from teach import get_lesson
from tests.browser.test_accessibility_browser import _violations
from tests.browser.test_learn_browser import predict_90000_on_the_first_lesson
from tests.support import DATA

pytestmark = pytest.mark.browser


def assert_no_serious_violation(page: Page) -> None:
    """axe-core on the page as it is; a rerun in flight fades elements (Streamlit's stale state,
    left out by ``_violations``), so a finding is looked at again twice before it counts."""
    page.wait_for_timeout(1500)  # the fragments and live regions settle
    found = _violations(page)
    for _ in range(2):
        if not found:
            break
        page.wait_for_timeout(2000)
        found = _violations(page)
    assert not found, "\n".join(found)


def test_the_stress_lab_with_its_results(app_url: str, page: Page):
    page.goto(f"{app_url}/stress_lab")
    expect(page.get_by_role("heading", name="Stress lab")).to_be_visible()
    seed = page.get_by_role("spinbutton", name="Seed")
    seed.fill("7")
    seed.press("Enter")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text(re.compile(r"Seed 7 · 5,000 paths per model"))).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Download the results (CSV)")).to_be_visible()
    assert_no_serious_violation(page)


def test_a_lessons_panel_after_check(app_url: str, page: Page):
    page.goto(f"{app_url}/learn")
    title = get_lesson("cross-exposure").title
    expect(page.get_by_role("heading", name=f"1. {title}")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Open in the ")).first.click()
    panel = page.locator(".st-key-lesson-panel")
    expect(panel.get_by_text(f"Lesson: {title}")).to_be_visible()
    predict_90000_on_the_first_lesson(panel)
    assert_no_serious_violation(page)


def test_the_builder_after_an_exchange_import(app_url: str, page: Page):
    page.goto(f"{app_url}/builder")
    expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Export files (JSON)")
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        str(DATA / "imports" / "hyperliquid_clearinghouseState.json"))
    expect(uploader.get_by_role("button", name="Remove hyperliquid_clearinghouseState.json")).to_be_visible()
    page.get_by_role("button", name="Import the account").click()
    expect(page.get_by_text(re.compile("Imported your Hyperliquid account")).first).to_be_visible()
    assert_no_serious_violation(page)


def test_the_lab_after_a_keyboard_step_past_a_liquidation(app_url: str, page: Page):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")
    box.fill("-9.0")
    box.press("Enter")
    status = page.locator('[data-live-region="announce"][role="status"]')
    expect(status).to_contain_text("Shock -9.0 %")
    page.locator('[data-testid="stSlider"]').filter(has_text="Whole-market shock").get_by_role("slider").focus()
    page.keyboard.press("ArrowLeft")
    expect(status).to_contain_text(re.compile(r"cross pool liquidated at a shock of -9\.26 %"))
    assert_no_serious_violation(page)
