"""A real browser opens a shared link and sees the same numbers as the view that made it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from margin.account import evaluate
from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.numbers import money
from ui.common.link_codec import encode

pytestmark = pytest.mark.browser


def metric_values(page, label: str) -> list[str]:
    return [m.inner_text() for m in page.locator(f'[data-metric="{label}"] .ml-metric-value').all()]


def test_a_shared_link_shows_the_same_numbers(page, app_url):
    view = {"scenario": load_story("default"), "page": "lab",
            "controls": {"lab.shock": -5.0, "lab.price.BTCUSDT": 104_000.0}}
    page.goto(f"{app_url}/?v={encode(view)}")
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    # the engine's value for that view: nothing is liquidated on the way, so the cross pool at
    # the targets (BTC 104,000 × 0.95, SOL 180 × (1 − 1.6 × 0.05))
    s = scenario_from_dict(load_story("default"))
    expected = money(evaluate(s, {"BTCUSDT": 98_800.0, "SOLUSDT": 165.6}).cross.equity)
    pool = page.locator('[data-metric="Cross pool equity"]').first
    expect(pool).to_contain_text(expected)
    expect(page.get_by_label("Shock, exact [%]")).to_have_value("-5.0")
    expect(page).to_have_url(re.compile(r"[?&]keep=[0-9a-f]{16}"))  # the address now keeps this session's own view

    # the page's own copy-link gives a URL that, opened fresh, shows the same numbers
    page.get_by_role("button", name=re.compile("Share this view")).first.click()
    shared = page.locator('[data-testid="stCode"] code').filter(has_text="?v=").first
    expect(shared).to_be_visible()
    url = shared.inner_text().strip()
    assert url.startswith(app_url) and "?v=1." in url
    before = metric_values(page, "Cross pool equity")
    assert before and before[0] == expected

    other = page.context.new_page()
    other.goto(url)
    expect(other.get_by_role("heading", name="Price lab")).to_be_visible()
    pools = other.locator('[data-metric="Cross pool equity"]')
    expect(pools).to_have_count(len(before))  # all three variants drawn
    for pool, value in zip(pools.all(), before):
        expect(pool).to_contain_text(value)
    other.close()


def test_a_corrupt_link_says_so_and_opens_the_default_account(page, app_url):
    page.goto(f"{app_url}/?v=1.this-link-was-cut-sh")
    expect(page.get_by_text("This shared link could not be opened")).to_be_visible()
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    s = scenario_from_dict(load_story("default"))
    expect(page.locator('[data-metric="Cross pool equity"]').first).to_contain_text(
        money(evaluate(s).cross.equity))
