"""A real browser: play a crash and watch an event appear; scrub with the keyboard to the end;
run a cascade and read its rounds."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _open(page: Page, app_url: str, path: str, heading: str) -> None:
    """Open the app at its root and follow the sidebar link, as a visitor would (a fresh server
    answers a first deep link with a "Page not found" dialog before it knows its pages)."""
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()  # the app has run once
    page.get_by_role("link", name=heading, exact=True).click()
    expect(page).to_have_url(re.compile(f"/{path}"))
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_play_a_crash_and_see_an_event_appear(page: Page, app_url: str):
    _open(page, app_url, "crash_replay", "Crash replay")
    expect(page.get_by_text("Shaped after the event with its published magnitude; not real tick data.")).to_be_visible()
    # before the crash the all-isolated SOL long (under water by more than its margin) has gone,
    # on the way from its entry: the crash itself has closed nothing yet
    expect(page.get_by_text(re.compile(r"Before the crash.*All isolated.*SOL long \(isolated\) liquidated")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"So far: [1-9] liquidation"))).to_have_count(0)
    expect(page.get_by_text("the cross pool fell below maintenance")).to_have_count(0)
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    # the player advances the step; at 11 h 15 min the cross pool is liquidated
    expect(page.get_by_text("the cross pool fell below maintenance").first).to_be_visible(timeout=45_000)
    expect(page.get_by_text(re.compile(r"So far: [5-9] liquidations"))).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()


def test_scrub_with_the_keyboard_to_the_end(page: Page, app_url: str):
    _open(page, app_url, "crash_replay", "Crash replay")
    expect(page.get_by_text("Where the money went is shown when the replay reaches the end")).to_be_visible()
    thumb = page.get_by_role("slider", name="Step of the crash")
    thumb.focus()
    page.keyboard.press("End")
    expect(page.get_by_text("2 d 11 h into the crash")).to_be_visible()
    expect(page.get_by_text(re.compile(r"By the end, as built kept"))).to_be_visible()


def test_run_a_cascade_and_see_the_rounds(page: Page, app_url: str):
    _open(page, app_url, "market_cascade", "Market cascade")
    expect(page.get_by_text("Stylized model")).to_be_visible()
    expect(page.get_by_text("Round by round")).to_be_visible()
    expect(page.get_by_text(re.compile(r"A -5\.0 % shock ended as a -\d+\.\d % move"))).to_be_visible()
    shock = page.get_by_label("Shock, exact [%]")
    shock.fill("-12")
    shock.press("Enter")
    expect(page.get_by_text(re.compile(r"A -12\.0 % shock ended as a -\d+\.\d % move"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"rounds? of forced selling liquidated"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"your BTC long \(cross\) .*in round \d+"))).to_be_visible()


@pytest.mark.parametrize("present", [False, True], ids=["1280x800", "presenter-1280x720"])
def test_the_cascade_cuts_no_label_or_table_short(page: Page, app_url: str, present: bool):
    """The learner's positions with both margin modes (an isolated SOL long goes in round 0):
    every metric, label and table column fits, at 1280 x 800 and in presenter mode at 720."""
    from margin.presets import load_story
    from tests.conftest import cut_short
    from ui.common.link_codec import encode

    raw = load_story("default")
    raw["positions"][1] |= {"mode": "isolated", "margin": 2_640.0}
    if present:
        page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/?v={encode({'scenario': raw, 'page': 'cascade', 'controls': {}})}"
              + ("&present=1" if present else ""))
    expect(page.get_by_role("heading", name="Market cascade")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Net, the insurance fund ended [\d,.]+ USDT (up|down)"))).to_be_visible()
    expect(page.get_by_text("Your positions")).to_be_visible()
    page.wait_for_function("document.fonts.status === 'loaded'")
    page.wait_for_timeout(500)  # the tables size their columns after their first paint
    assert cut_short(page) == []


def test_replay_imported_candles(page: Page, app_url: str):
    """Choose "Your candles", upload a kline CSV (synthetic, in Binance's archive layout), and
    replay the account through it to the end."""
    import numpy as np

    from tests.engine.test_klines import kline_csv

    closes = list(np.concatenate([np.linspace(100_000, 70_000, 100), np.linspace(70_000, 75_000, 20)]))
    _open(page, app_url, "crash_replay", "Crash replay")
    page.get_by_role("combobox", name="Crash").click()
    page.get_by_role("option", name="Your candles (import a CSV below)").click()
    expect(page.get_by_text("Import a kline CSV above to replay your account through it.")).to_be_visible()
    page.locator("input[type=file]").first.set_input_files(files=[{
        "name": "BTCUSDT-1m-2025-10-10.csv", "mimeType": "text/csv", "buffer": kline_csv(closes).encode()}])
    expect(page.get_by_text(re.compile(r"BTCUSDT-1m-2025-10-10\.csv")).first).to_be_visible()
    thumb = page.get_by_role("slider", name="Step of the crash")
    thumb.focus()
    page.keyboard.press("End")
    expect(page.get_by_text("1 h 59 min into the crash")).to_be_visible()
    expect(page.get_by_text(re.compile(r"As built.*BTC long liquidated at")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"By the end, as built kept"))).to_be_visible()
