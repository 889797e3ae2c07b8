"""An account as facts a learner can predict from, while a lesson waits for the prediction: the
positions as they were built (side, size, entry, leverage, mode and margin) and each market's
price, beta and first maintenance rate; nothing computed from prices.

>>> from margin.presets import load_story
>>> [row["Position"] for row in position_facts(load_story("default"))]
['BTC long', 'SOL long']
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping

from margin.numbers import money, price
from margin.presets import market_label, position_labels


def position_facts(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per position of the scenario dict ``raw``, as text (an isolated position without
    a margin of its own shows size × entry ÷ leverage)."""
    rows = []
    positions = [p for p in raw.get("positions", []) or [] if isinstance(p, Mapping)]
    labels = position_labels(SimpleNamespace(positions=[
        SimpleNamespace(id=str(p.get("id")), market=str(p.get("market")), side=str(p.get("side"))) for p in positions]))
    for p in positions:
        margin = p.get("margin")
        if p.get("mode") == "isolated" and margin is None:
            margin = float(p["size"]) * float(p["entry"]) / float(p["leverage"])
        rows.append({
            "Position": labels[str(p.get("id"))], "Market": market_label(str(p.get("market"))), "Side": str(p.get("side")),
            "Size": f"{float(p.get('size', 0)):,.6g}", "Entry [USDT]": price(float(p.get("entry", 0))),
            "Leverage": f"{float(p.get('leverage', 0)):g}×", "Mode": str(p.get("mode", "cross")),
            "Isolated margin [USDT]": money(margin) if margin is not None else "",
        })
    return rows


def market_facts(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per market of ``raw``: its mark price, beta and first tier's maintenance rate."""
    markets = []
    for name, m in (raw.get("markets") or {}).items():
        tiers = m.get("tiers") or [{"mmr": m.get("mmr", 0.0)}]
        markets.append({"Market": market_label(str(name)), "Mark price [USDT]": price(float(m.get("price", 0))),
                        "Beta": f"{float(m.get('beta', 1.0)):g}",
                        "Maintenance rate, first tier": f"{float(tiers[0].get('mmr', 0)) * 100:.2f} %"})
    return markets


__all__ = ["market_facts", "position_facts"]
