"""The collateral story in a real Chromium (issue 27): a BTC long margined by BTC, opened from a
link on the builder, shows its collateral, its stop placed against the liquidation, and the
price lab liquidates it near 30,848 (not near 3,015, where the same value in USDT would)."""

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
    expect(main.get_by_text(re.compile(r"3,015\.08"))).to_have_count(0)
