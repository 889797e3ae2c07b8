"""The collateral story in a real Chromium (issue 27): a BTC long margined by BTC, opened from a
link on the builder, shows its collateral, its stop placed against the liquidation, and the
price lab liquidates it near 30,848, and beside it, as "collateral in USDT", near 3,015, where the same
value in USDT would."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from margin.presets import load_story
from ui.common.link_codec import encode

pytestmark = pytest.mark.browser


def test_the_collateral_story_on_the_builder_and_in_the_lab(app_url: str, page: Page):
    raw = load_story("collateral-crashes-with-you")
    raw["positions"][0].update(stop_loss=29_000.0, stop_slippage=0.005)
    page.goto(f"{app_url}/?v={encode({'scenario': raw, 'page': 'builder', 'controls': {}})}")
    expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
    expect(page.get_by_role("heading", name="Collateral other than USDT")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Collateral: 1 BTC priced by BTCUSDT, counted at 95 % of its price"))).to_be_visible()
    expect(page.get_by_text(re.compile(
        r"its stop-loss at 29,000\.00 can never fire: the position is liquidated at 30,848\.33"))).to_be_visible()
    page.get_by_role("link", name="Price lab").click()
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    main = page.locator("#stMain")  # the story in the sidebar says both numbers
    expect(main.get_by_text(re.compile(r"30,848\.33")).first).to_be_visible()
    # 3,015.08 is the fourth way's, "collateral in USDT": never the account as built
    expect(main.locator('section[aria-label="As built"]').get_by_text(re.compile(r"3,015\.08"))).to_have_count(0)


def test_the_collateral_story_walked_in_the_lab_against_the_same_value_in_usdt(app_url: str, page: Page):
    """The lab shows the account four ways; a 50 % fall liquidates the BTC long with its BTC
    collateral (at 30,848.33) while the same value held as USDT carries it on."""
    raw = load_story("collateral-crashes-with-you")
    page.goto(f"{app_url}/?v={encode({'scenario': raw, 'page': 'lab', 'controls': {}})}")
    expect(page.get_by_role("heading", name="The same account four ways")).to_be_visible()
    usdt = page.locator('section[aria-label="Collateral in USDT"]')
    expect(usdt.get_by_text(re.compile(r"BTC long .*liquidated .* at 3,015\.08 USDT"))).to_be_visible()
    happening = page.locator('[data-section="What is happening"]')
    expect(happening.get_by_text(re.compile(r"1 BTC of collateral held instead as the 57,000\.00 USDT"))).to_be_visible()
    expect(happening.get_by_text(re.compile(r"the BTC long at 30,848\.33 USDT as built, at 3,015\.08 USDT"))).to_be_visible()

    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")
    box.fill("-50")
    box.press("Enter")
    expect(box).to_have_value("-50.0")
    as_built = page.locator('[data-section="What happened on the way, as built"]')
    expect(as_built.get_by_text(re.compile(r"BTC long liquidated at 30,848\.33 USDT"))).to_be_visible()
    in_usdt = page.locator('[data-section="What happened on the way, collateral in USDT"]')
    expect(in_usdt.get_by_text("Nothing was liquidated on the way.")).to_be_visible()
    expect(page.locator('section[aria-label="Collateral in USDT"]').get_by_text("✓ healthy")).to_be_visible()
