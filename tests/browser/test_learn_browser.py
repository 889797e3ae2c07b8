"""The learn page and presenter mode in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from teach import expected, get_lesson

pytestmark = pytest.mark.browser


def predict_90000_on_the_first_lesson(scope: Page | Locator) -> None:
    """Type 90,000 as the first lesson's prediction in ``scope`` (the page, or the lab's lesson
    panel), check it, and see the engine's answer beside it."""
    box = scope.get_by_label("Your prediction [USDT per BTC]", exact=True)
    box.fill("90000")
    box.press("Enter")
    scope.get_by_role("button", name="Check").click()
    right = get_lesson("cross-exposure").answer.describe(expected("cross-exposure"))
    expect(scope.get_by_text(f"You said 90,000.00 USDT per BTC; the engine says {right}.")).to_be_visible()


def test_a_prediction_is_checked_and_explained(page, app_url):
    page.goto(f"{app_url}/learn")
    expect(page.get_by_role("heading", name="1. One balance behind every position")).to_be_visible()
    predict_90000_on_the_first_lesson(page)
    expect(page.get_by_text(re.compile("90,000 is the BTC long's entry price"))).to_be_visible()
    # the glossary link of a term points at its anchor
    link = page.get_by_role("link", name="maintenance margin").first
    expect(link).to_have_attribute("href", re.compile(r"/glossary#maintenance-margin$"))


def test_presenter_mode_is_large_hides_the_sidebar_and_exits_by_keyboard(page, app_url):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/?present=1")
    exit_button = page.get_by_role("button", name="Exit presenter mode")
    expect(exit_button).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "21px"
    box = exit_button.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720  # on screen, not under a toolbar
    for _ in range(4):  # reachable from the top of the page with Tab
        page.keyboard.press("Tab")
        if exit_button.evaluate("b => b === document.activeElement || b.contains(document.activeElement)"):
            break
    else:
        pytest.fail("Tab does not reach the exit button")
    page.keyboard.press("Enter")
    expect(exit_button).to_have_count(0)
    expect(page.get_by_test_id("stSidebar")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") != "21px"
    expect(page).not_to_have_url(re.compile(r"present=1"))


def test_presenter_mode_page_switcher_fits_and_switches(page, app_url):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/?present=1")
    row = page.get_by_role("radiogroup", name="Go to page")
    expect(row).to_be_visible()
    names = ["Price lab", "Builder", "Crash replay", "Cascade", "Stress lab", "Learn", "Glossary"]
    expect(row.get_by_role("radio")).to_have_count(len(names))
    # measured once the fonts are in (an icon drawn before its font loads is a wide word)
    page.wait_for_function("document.fonts.status === 'loaded'")
    for name in names:  # every page on screen, in one row, none cut or scrolled away
        button = row.get_by_role("radio", name=name)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 110, (name, box)
    assert row.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the row scrolls: a page is hidden"
    tops = {round(row.get_by_role("radio", name=n).bounding_box()["y"]) for n in names}
    assert len(tops) == 1, f"the row wrapped at 1280 px: {tops}"
    row.get_by_role("radio", name="Crash replay").click()
    expect(page.get_by_role("heading", name="Crash replay", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/crash_replay\?present=1(&|$)"))  # the view may follow (&v=…)
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()  # still presenting
    expect(row.get_by_role("radio", name="Crash replay")).to_have_attribute("aria-checked", "true")
