"""Markup typed into an account (its name, story, venue, market names and position names)
reaches the browser as text on every page: no image, no link, no tag of its own, and the page
fetches nothing from any host but the app's own (every request Chromium makes is recorded)."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.hostile import HOSTILE_BITS, hostile_account
from ui.common.link_codec import encode
from ui.common.site import PAGES

pytestmark = pytest.mark.browser

FOREIGN_MARKUP_JS = """() => {
  const out = [];
  for (const img of document.querySelectorAll('img'))
    if (/host|x\\.png|^x$/.test(img.getAttribute('src') || '')) out.push('img ' + img.outerHTML.slice(0, 120));
  for (const a of document.querySelectorAll('a'))
    if (/evil|host/.test(a.getAttribute('href') || '')) out.push('link ' + a.outerHTML.slice(0, 120));
  return out;
}"""


def settle(page) -> None:
    """Wait until the app has finished its run (the stress lab runs on arrival) and drawn it."""
    page.wait_for_timeout(800)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_be_hidden(timeout=90_000)
    page.wait_for_timeout(700)


def request_host(url: str) -> str:
    """The host a request goes to (a ``blob:`` URL's is its origin's)."""
    return urlparse(url.removeprefix("blob:")).hostname or url


@pytest.mark.parametrize("site_page", [p for p in PAGES if p.shareable], ids=lambda p: p.id)
def test_markup_in_an_account_is_shown_as_text_and_fetches_nothing(page, app_url, site_page):
    hosts: list[str] = []
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url[:120]))
    page.on("request", lambda request: hosts.append(request_host(request.url)))
    page.goto(f"{app_url}/?v={encode({'scenario': hostile_account(), 'page': site_page.id, 'controls': {}})}")
    expect(page.get_by_role("heading", name=site_page.title)).to_be_visible()
    expect(page.get_by_text(HOSTILE_BITS[0]).first).to_be_attached()  # the name itself, as typed
    settle(page)
    found = page.evaluate(FOREIGN_MARKUP_JS)
    assert found == [], "\n".join(found)
    assert set(hosts) <= {"127.0.0.1"}, [r for r in requests if "127.0.0.1" not in r.split("/")[2]]


def test_markup_in_an_uploaded_file_is_shown_as_text_on_every_page(page, app_url, tmp_path):
    hosts: list[str] = []
    requests: list[str] = []
    where = ["builder"]
    page.on("request", lambda request: (hosts.append(request_host(request.url)),
                                        requests.append(f"{where[0]}: {request.url[:120]}")))
    page.goto(f"{app_url}/builder")
    expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
    upload = tmp_path / "hostile.json"
    upload.write_text(json.dumps(hostile_account()))
    scenario_upload = page.get_by_test_id("stFileUploader").filter(has_text="Upload a scenario file")
    scenario_upload.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    expect(page.get_by_text("Loaded “Account").first).to_be_visible()
    # every page the sidebar lists; the projector view (opened from the console by its link)
    # shows a room's account from the store, never this session's upload
    for site_page in [p for p in PAGES if p.in_navigation]:
        where[0] = site_page.id
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=site_page.title).first.click()
        expect(page.get_by_role("heading", name=site_page.title)).to_be_visible()
        if not site_page.light_frame:  # a student's room shows the teacher's account, not this one
            expect(page.get_by_text(HOSTILE_BITS[0]).first).to_be_attached()  # the account's name, in the sidebar
        settle(page)
        found = page.evaluate(FOREIGN_MARKUP_JS)
        assert found == [], f"{site_page.id}: " + "\n".join(found)
    assert set(hosts) <= {"127.0.0.1"}, [r for r in requests if "127.0.0.1" not in r.split("/")[2]]
