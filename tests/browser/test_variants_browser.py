"""The collateral story in a real Chromium on the crash replay and the stress lab (issue 27): a
BTC long margined by BTC is compared a fourth way, "collateral in USDT", with the same money held
as USDT; at 1280 x 800 and on a 390 px phone nothing of it runs past the page's width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from margin.presets import load_story
from ui.common.link_codec import encode

pytestmark = pytest.mark.browser


def _open(page: Page, app_url: str, page_id: str, controls: dict) -> None:
    raw = load_story("collateral-crashes-with-you")
    page.goto(f"{app_url}/?v={encode({'scenario': raw, 'page': page_id, 'controls': controls})}")


def _fits(page: Page) -> None:
    """No element of the main area is wider than the window (a horizontal scroll)."""
    over = page.evaluate("() => Math.max(document.documentElement.scrollWidth, "
                         "document.querySelector('#stMain').scrollWidth) - window.innerWidth")
    assert over <= 1, f"the page runs {over} px past the window"


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_the_replay_shows_the_btc_wallet_against_the_same_money_in_usdt(app_url: str, page: Page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    _open(page, app_url, "replay", {"replay.step": 1_000_000})  # the end of March 2020
    expect(page.get_by_role("heading", name="Crash replay")).to_be_visible()
    expect(page.get_by_text("Equity, collateral in USDT")).to_be_visible()
    expect(page.get_by_text(re.compile(r"with USDT collateral, nothing is liquidated in this crash"))).to_be_visible()
    expect(page.get_by_text("Collateral in USDT", exact=True).first).to_be_attached()  # the radio's choice
    _fits(page)


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_the_stress_lab_runs_the_btc_wallet_a_fourth_way(app_url: str, page: Page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    _open(page, app_url, "stress", {"stress.paths": 500})
    # the first run of a session starts the server's worker pool: on a loaded machine, slow
    expect(page.get_by_text("Wipe-out, collateral in USDT")).to_be_visible(timeout=90_000)
    expect(page.get_by_text(re.compile(r"On the same paths, as built a position is liquidated on"))).to_be_visible()
    _fits(page)
