"""A classroom room's live text as light HTML (pure; every value escaped): the student's lab at
the teacher's step (the price lab's own variant column), or, while a question is open, only
the account's facts (nothing computed from prices, which would give the answer away)."""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import Any, Mapping

from margin.numbers import money, percent, price
from margin.presets import market_label
from ui.lab.html import variant_html
from ui.rooms.model import ReplayMoment, RoomStep, step_words

ROOM_LABEL = "The room's account"  # the lab's "As built" column, named for a class that did not build it
ROOM_CSS = """<style>
.st-key-room-live, [class*="st-key-room-live-"], [class*="st-key-room-countdown-"],
.st-key-room-teach-browser { display: none; }
.ml-countdown { font-size: 1.35rem; font-weight: 700; font-variant-numeric: tabular-nums; margin: 0.2rem 0; }
.ml-room-code { font-size: 3.2rem; font-weight: 700; letter-spacing: 0.35rem; font-family: monospace; margin: 0; }
/* One variant across the page: its parts side by side where they fit, stacked on a phone. */
.ml-room .ml-grid { grid-template-columns: minmax(0, 1fr); }
.ml-room .ml-variant { display: grid; grid-row: auto; grid-template-rows: none;
  grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr)); column-gap: 1.5rem; align-items: start; }
.ml-room .ml-variant > div:first-child { grid-column: 1 / -1; }
</style>"""


def step_html(step: RoomStep, *, dark: bool = False) -> str:
    """The account at the teacher's step: one line on the market, then the lab's column for
    the account as built (equity, pools, every position's status and distance, events)."""
    theme = " ml-dark" if dark else ""
    return (f'<div class="ml-lab ml-room{theme}"><p class="ml-small">{escape(step_words(step))}</p>'
            f'<div class="ml-grid">{variant_html(replace(step.view, label=ROOM_LABEL))}</div></div>')


def replay_html(moment: ReplayMoment, *, dark: bool = False) -> str:
    """The account at the teacher's step of a crash replay: how far in, the markets' moves, each
    way's equity against its start, and what the account as built has lost so far."""
    theme = " ml-dark" if dark else ""
    moves = ", ".join(f"{market_label(n)} {percent(m, signed=True)}" for n, m in moment.moves)
    rows = "".join(f'<li data-metric="{escape(label)}"><b>{escape(label)}</b>: equity '
                   f'<span class="ml-metric-value">{escape(money(now))}</span> (from {escape(money(start))})</li>'
                   for label, now, start in moment.equity)
    events = ("".join(f"<li>{escape(e)}</li>" for e in moment.events) if moment.events
              else "<li>Nothing has been liquidated yet.</li>")
    return (f'<div class="ml-lab ml-room{theme}"><div class="ml-box" data-section="Crash replay">'
            f'<h4>Crash replay: {escape(moment.crash)}</h4><p class="ml-small">{escape(moment.label)}</p>'
            f'<p>{escape(moment.elapsed)} in: {escape(moves)} from the start.</p><ul>{rows}</ul>'
            f'<h5>What happened to the account so far</h5><ol>{events}</ol></div></div>')


def facts_html(raw: Mapping[str, Any], *, dark: bool = False) -> str:
    """The account as facts to predict from: the wallet, each position's side, size, entry,
    leverage and mode, each market's price; nothing computed. A list, so a phone shows it whole.

    >>> "&lt;b&gt;" in facts_html({"balance": 1, "markets": {}, "positions": [{"id": "<b>", "market": "X",
    ...     "side": "long", "size": 1, "entry": 2, "leverage": 3, "mode": "cross"}]})
    True
    """
    theme = " ml-dark" if dark else ""
    items = "".join(
        f"<li><b>{escape(str(p.get('id')))}</b>: {escape(market_label(str(p.get('market'))))} {escape(str(p.get('side')))}, "
        f"size {float(p.get('size', 0)):,.6g} at {escape(price(float(p.get('entry', 0))))} USDT, "
        f"{float(p.get('leverage', 0)):g}×, {escape(str(p.get('mode', 'cross')))}</li>"
        for p in raw.get("positions", []) or [])
    markets = ", ".join(f"{market_label(str(n))} {price(float(m.get('price', 0)))} USDT"
                        for n, m in (raw.get("markets") or {}).items())
    return (f'<div class="ml-lab ml-room{theme}"><div class="ml-box"><h4>The account</h4>'
            f'<p>Wallet {escape(money(float(raw.get("balance", 0))))}; the account\'s own prices: {escape(markets)}.</p>'
            f'<ul>{items}</ul>'
            f'<p class="ml-small">What the prices do to it stays hidden until the teacher reveals the answer.</p>'
            f'</div></div>')


__all__ = ["ROOM_CSS", "ROOM_LABEL", "facts_html", "replay_html", "step_html"]
