"""Dashboard in a real Chromium: move the shock slider with the keyboard and read the event list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _shock(page: Page):
    return page.locator('[data-testid="stSlider"]').filter(has_text="Whole-market shock").get_by_role("slider")


def test_keyboard_shock_step_liquidates_and_the_event_list_says_so(app_url: str, page: Page):
    page.goto(app_url)  # the price lab is the default page, served at the root
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    # the event list of the account as built: the column under its heading
    as_built = page.locator('[data-section="What happened on the way, as built"]')
    expect(as_built.get_by_role("heading", name="What happened on the way, as built")).to_be_visible()
    expect(as_built.get_by_text("Nothing was liquidated on the way.")).to_be_visible()
    expect(as_built.get_by_text(re.compile("liquidated at"))).to_have_count(0)

    thumb = _shock(page)
    thumb.focus()
    for _ in range(20):  # 20 steps of 0.5 %: a -10 % shock, past the pool's -9.5 % threshold
        page.keyboard.press("ArrowLeft")
    expect(page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")).to_have_value("-10.0")

    event = as_built.get_by_text(re.compile(r"BTC long liquidated at [\d,.]+ USDT .*the cross pool fell below maintenance"))
    expect(event).to_be_visible()
    expect(as_built.get_by_text(re.compile(r"SOL long closed with it at [\d,.]+ USDT"))).to_be_visible()
    expect(as_built.get_by_text("Nothing was liquidated on the way.")).to_have_count(0)

    page.keyboard.press("Home")  # all the way down: nothing new can happen to a closed pool
    expect(page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")).to_have_value("-90.0")
    expect(event).to_be_visible()
