"""Data shipped in ``assets/``: story scenarios, venue presets, market defaults.

Everything here is read from JSON; nothing is computed. A venue preset is applied to a
scenario by replacing its rules and the tiers of every market it holds.

>>> sorted(venue_ids())
['binance', 'bitmex', 'bybit', 'dydx', 'hyperliquid', 'okx']
>>> load_story("default")["name"]
'A winner keeps a loser alive'
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_STORY = "default"


@lru_cache(maxsize=None)
def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def story_ids() -> list[str]:
    """Ids of the story scenarios, the default first."""
    ids = sorted(p.stem for p in (ASSETS / "scenarios").glob("*.json"))
    return [DEFAULT_STORY] + [i for i in ids if i != DEFAULT_STORY]


def load_story(story_id: str) -> dict[str, Any]:
    """A story scenario as a fresh dict (safe to edit)."""
    return copy.deepcopy(_read(ASSETS / "scenarios" / f"{story_id}.json"))


def venue_ids() -> list[str]:
    return sorted(p.stem for p in (ASSETS / "venues").glob("*.json"))


def load_venue(venue_id: str) -> dict[str, Any]:
    return copy.deepcopy(_read(ASSETS / "venues" / f"{venue_id}.json"))


def market_defaults() -> dict[str, Any]:
    """Default price, volatility, beta and label per market, and their correlation."""
    return copy.deepcopy(_read(ASSETS / "markets.json"))


@lru_cache(maxsize=256)
def market_label(name: str) -> str:
    """Short name of a market: ``"BTC"`` for ``"BTCUSDT"`` (from ``assets/markets.json``; cached,
    as the lab asks for labels a few hundred times per slider step).

    >>> market_label("SOLUSDT"), market_label("FOO")
    ('SOL', 'FOO')
    """
    known = _read(ASSETS / "markets.json")["markets"].get(name)
    if known and known.get("label"):
        return str(known["label"])
    return name[:-4] if name.endswith("USDT") and len(name) > 4 else name


def position_labels(scenario: Any) -> dict[str, str]:
    """A readable name per position id of a scenario: ``"SOL long"``, with the id added where
    two would read alike (``"BTC long (a)"``, ``"BTC long (b)"``)."""
    base = {p.id: f"{market_label(p.market)} {p.side}" for p in scenario.positions}
    counts: dict[str, int] = {}
    for text in base.values():
        counts[text] = counts.get(text, 0) + 1
    return {pid: (text if counts[text] == 1 else f"{text} ({pid})") for pid, text in base.items()}


def apply_venue(scenario: dict[str, Any], venue_id: str) -> dict[str, Any]:
    """A copy of ``scenario`` (a dict) under a venue's rules and tier tables.

    The insurance fund keeps the scenario's size; the venue sets everything else.
    """
    venue = load_venue(venue_id)
    out = copy.deepcopy(scenario)
    fund = out.get("rules", {}).get("insurance_fund")
    out["rules"] = dict(venue["rules"])
    if fund is not None:
        out["rules"]["insurance_fund"] = fund
    for name, market in out.get("markets", {}).items():
        tiers = venue["markets"].get(name, {}).get("tiers", venue["default_tiers"])
        market.pop("mmr", None)
        market["tiers"] = copy.deepcopy(tiers)
    out["venue"] = venue_id
    return out
