"""A classroom room's live text as light HTML (pure; every value escaped): the student's lab at
the teacher's step (the price lab's own variant column), or, while a question is open, only
the account's facts (nothing computed from prices, which would give the answer away)."""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

from margin.numbers import money, price
from margin.presets import market_label
from ui.pictures.lab_html import variant_html
from ui.views.room import RoomStep, step_words

ROOM_CSS = """<style>
.st-key-room-live, [class*="st-key-room-live-"] { display: none; }
.ml-room-code { font-size: 3.2rem; font-weight: 700; letter-spacing: 0.35rem; font-family: monospace; margin: 0; }
.ml-room table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
.ml-room th, .ml-room td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid rgba(128,128,128,0.35); }
.ml-room .ml-wrap { overflow-x: auto; }
</style>"""


def step_html(step: RoomStep, *, dark: bool = False) -> str:
    """The account at the teacher's step: one line on the market, then the lab's column for
    the account as built (equity, pools, every position's status and distance, events)."""
    theme = " ml-dark" if dark else ""
    return (f'<div class="ml-lab ml-room{theme}"><p class="ml-small">{escape(step_words(step))}</p>'
            f'<div class="ml-grid">{variant_html(step.view)}</div></div>')


def facts_html(raw: Mapping[str, Any], *, dark: bool = False) -> str:
    """The account as facts to predict from: the wallet, each position's side, size, entry,
    leverage and mode, each market's price; nothing computed.

    >>> "&lt;b&gt;" in facts_html({"balance": 1, "markets": {}, "positions": [{"id": "<b>", "market": "X",
    ...     "side": "long", "size": 1, "entry": 2, "leverage": 3, "mode": "cross"}]})
    True
    """
    theme = " ml-dark" if dark else ""
    rows = "".join(
        f"<tr><td>{escape(str(p.get('id')))}</td><td>{escape(market_label(str(p.get('market'))))}</td>"
        f"<td>{escape(str(p.get('side')))}</td><td>{float(p.get('size', 0)):,.6g}</td>"
        f"<td>{escape(price(float(p.get('entry', 0))))}</td><td>{float(p.get('leverage', 0)):g}×</td>"
        f"<td>{escape(str(p.get('mode', 'cross')))}</td></tr>" for p in raw.get("positions", []) or [])
    markets = ", ".join(f"{market_label(str(n))} {price(float(m.get('price', 0)))} USDT"
                        for n, m in (raw.get("markets") or {}).items())
    return (f'<div class="ml-lab ml-room{theme}"><p>Wallet {escape(money(float(raw.get("balance", 0))))}; '
            f'prices: {escape(markets)}.</p><div class="ml-wrap"><table><thead><tr><th>Position</th><th>Market</th>'
            f'<th>Side</th><th>Size</th><th>Entry [USDT]</th><th>Leverage</th><th>Mode</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></div>'
            f'<p class="ml-small">What the prices do to it stays hidden until the teacher reveals the answer.</p></div>')


__all__ = ["ROOM_CSS", "facts_html", "step_html"]
