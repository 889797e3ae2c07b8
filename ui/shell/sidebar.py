"""Shared chrome: what the sidebar says on every page (the account, its venue, how to use)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Mapping

import streamlit as st

from margin.presets import load_venue, venue_ids
from ui.common.glossary import terms_line
from ui.common.stories import story_changes
from margin.numbers import money

HOW_TO = ("Build or load an account in **Account builder**, then drag prices in **Price lab**: "
          "the same account is shown as built, all cross and all isolated, side by side.")


def venue_name(venue_id: str | None) -> str:
    """The venue preset's display name, or a plain note when the account has none.

    >>> venue_name(None), venue_name("bybit")
    ('custom rules', 'Bybit-like (classic USDT perpetual)')
    """
    return _venue_name(venue_id) if isinstance(venue_id, str) or venue_id is None else "custom rules"


@lru_cache(maxsize=64)
def _venue_name(venue_id: str | None) -> str:
    """Read once per process: the presets are the app's own files (each read was a folder's
    listing and a copy of the venue's tiers, 1 ms on every run of every page)."""
    if venue_id in venue_ids():
        return str(load_venue(venue_id)["name"])  # plain characters (tests/views/test_display_names.py)
    return "custom rules"


def account_line(raw: Mapping[str, Any]) -> str:
    """``9,000.00 USDT wallet · 2 positions (2 cross, 0 isolated)``."""
    positions = raw.get("positions", []) or []
    isolated = sum(1 for p in positions if isinstance(p, Mapping) and p.get("mode") == "isolated")
    try:
        wallet = money(float(raw.get("balance", 0)))
    except (TypeError, ValueError):
        wallet = "?"
    noun = "position" if len(positions) == 1 else "positions"
    return f"{wallet} wallet · {len(positions)} {noun} ({len(positions) - isolated} cross, {isolated} isolated)"


def sidebar(raw: Mapping[str, Any], *, prediction_open: Callable[[], bool]) -> None:
    """The account's name, story, venue and a one-line how-to, in the sidebar. The story waits
    while ``prediction_open()`` (a lesson waits for a prediction: the story tells what happens)."""
    with st.sidebar:
        st.caption(":material/account_balance_wallet: Account")
        st.text(str(raw.get("name") or "Untitled account"))  # the learner's name for it: text, never Markdown
        st.caption(account_line(raw))
        st.caption(f":material/gavel: Venue rules: {venue_name(raw.get('venue'))}")
        story = raw.get("story")
        if story and not prediction_open():
            with st.expander("The story of this account", icon=":material/menu_book:", expanded=False):
                changes = story_changes(raw)
                if changes:
                    st.caption(f":material/edit_note: Written for the preset “{changes[0]}”; this account has "
                               f"changed since. Edit the story in the account builder.")
                st.text(str(story))  # the learner's own text: shown as text, never as Markdown
        st.caption(f":material/help: {HOW_TO}")


def sidebar_terms(page: Any) -> None:
    """Call after ``page.run()``: links to the glossary entries of the terms ``page`` uses (its
    ``terms`` in :mod:`ui.common.site`; a page id, file or the page object of ``st.navigation``)."""
    import streamlit as st

    from ui.common.site import page_of_file, page as site_page, page_ids

    found = site_page(page) if page in page_ids() else page_of_file(page)
    if found is not None and found.terms:
        with st.sidebar:
            st.caption(terms_line(found.terms, prefix=":material/menu_book: Terms on this page: "))
