"""``keep`` restores only this browser's own account (issue 26.5): the address a browser keeps
carries a tag made with that browser's own secret (Streamlit's XSRF cookie), so a reload there
says "Restored your account", while the same address opened in another browser (a copied
address, a link pasted in a chat) opens as a shared view and claims nothing."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, expect

from margin.presets import load_story
from ui.common.link_codec import encode

pytestmark = pytest.mark.browser
KEPT = re.compile(r"[?&]keep=[0-9a-f]{16}")


# remembers whether the page ever showed the words, however briefly (a toast goes after 4 s)
WATCH = """window.__restored = false;
new MutationObserver(() => {
  if (document.body && document.body.innerText.includes("Restored your account")) window.__restored = true;
}).observe(document, {subtree: true, childList: true, characterData: true});"""


def fresh(browser: Browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # its own cookies
    context.add_init_script(WATCH)
    return context.new_page()


def test_a_copied_address_with_keep_opens_as_a_shared_view_not_as_your_account(browser: Browser, app_url):
    alice = fresh(browser)
    view = {"scenario": dict(load_story("default"), name="Alice's own account"), "page": "lab", "controls": {}}
    alice.goto(f"{app_url}/?v={encode(view)}")
    expect(alice.get_by_role("heading", name="Price lab")).to_be_visible()
    expect(alice).to_have_url(KEPT)
    address = alice.url
    alice.reload()  # her own browser: her own account, said so
    expect(alice.get_by_text("Restored your account “Alice's own account”")).to_be_visible()
    assert alice.evaluate("window.__restored")  # the watch sees a toast

    bob = fresh(browser)
    bob.goto(address)  # Alice's address, keep and all, in another browser
    expect(bob.get_by_role("heading", name="Price lab")).to_be_visible()
    sidebar = bob.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("Alice's own account", exact=True)).to_be_visible()  # the view opens
    bob.wait_for_timeout(2000)
    assert not bob.evaluate("window.__restored")  # but it is never called his
    expect(bob).to_have_url(KEPT)
    assert parse_qs(urlparse(bob.url).query)["keep"] != parse_qs(urlparse(address).query)["keep"]
    bob.reload()  # from now on the address is his own
    expect(bob.get_by_text("Restored your account “Alice's own account”")).to_be_visible()
