"""An account whose every piece of text holds markup: a Markdown image (an outside fetch), a
Markdown link and an HTML tag. Shared by the page and browser tests of ``ui.common.text``."""

from __future__ import annotations

from typing import Any

from margin.presets import load_story

IMAGE, LINK, TAG = "![](http://host/x.png)", "[x](https://evil)", "<img src=x>"
HOSTILE_BITS = (IMAGE, LINK, TAG)
MARKUP = " ".join(HOSTILE_BITS)
MARKET = f"SOL {MARKUP}"  # a market's name


def hostile_account() -> dict[str, Any]:
    """The default story with markup in its name, story, venue, a market's name and both
    positions' names (ids)."""
    raw = load_story("default")
    raw["name"] = f"Account {MARKUP}"
    raw["story"] = f"Story {MARKUP}"
    raw["venue"] = f"Venue {MARKUP}"
    raw["markets"][MARKET] = raw["markets"].pop("SOLUSDT")
    raw["positions"][0]["id"] = f"btc {MARKUP}"
    raw["positions"][1]["id"] = f"sol {MARKUP}"
    raw["positions"][1]["market"] = MARKET
    return raw
