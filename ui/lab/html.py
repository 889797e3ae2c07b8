"""The price lab's live text as light HTML: "what is happening" and the account three ways.

Why HTML and not Streamlit elements: a slider step reruns the lab's fragment, and the browser
redraws every element the fragment sends. As separate ``st.metric``/``st.markdown`` elements in
``st.columns`` this part of the page was about 75 elements; as one ``st.html`` block it is one,
and the page redraws at close to the speed of a one-chart app (``tools/bench_ui.py``).

Pure functions from the lab's numbers to HTML strings (no Streamlit). Every value is escaped.
The style sheet, :data:`LAB_CSS`, is sent once per page run, outside the fragment. Colours are
Okabe-Ito and never carry meaning alone: each status also has its own glyph and word. Sizes are
in ``rem``, so presenter mode's larger base font scales them.
"""

from __future__ import annotations

from html import escape
from typing import Mapping, Sequence

from ui.lab.marks import gauge_html, gauge_takeaway, no_liquidation_words
from ui.common.palette import fill
from margin.numbers import money, percent, price
from ui.lab.model import PositionView, VariantView
from margin.presets import market_label
from margin.variants import USDT_COLLATERAL_LABEL
from ui.lab.collateral import VARIANT_NOTE
from ui.lab.sliders import in_sentence

VARIANT_NOTES = {
    "As built": "The account as you built it.",
    "All cross": "Every position shares one wallet.",
    "All isolated": "Each position stands on its own margin.",
    USDT_COLLATERAL_LABEL: VARIANT_NOTE,
}
WAYS = {3: "three", 4: "four"}  # "The same account three ways"
STATUS_GLYPHS = {"healthy": "✓", "at risk": "⚠", "liquidated": "✕", "bankrupt": "◆",
                 "closed by stop-loss": "■", "closed by take-profit": "▲"}
METRIC_HELP = {
    "Equity": "Cross pool equity plus the equity of every open isolated position [USDT]. A liquidated "
              "isolated position counts 0: its loss stops at its margin, and any loss beyond that is "
              "the insurance fund's.",
    "Cross pool equity": "The shared pool: cross wallet plus the PnL of the open cross positions [USDT]. "
                         "Isolated margins are walled off from it.",
    "Maintenance margin": "What the open positions must keep; a pool whose equity falls to it is "
                          "liquidated [USDT].",
}
LONG_POSITION_LIST = 6  # more positions than this scroll in a box
LONG_EVENT_LIST = 5  # more events than this scroll in a box

LAB_CSS = fill("""<style>
.ml-lab { --ml-line: rgba(128,128,128,0.35); --ml-healthy: @STATUS_LIGHT_HEALTHY@; --ml-risk: @STATUS_LIGHT_RISK@;
  --ml-liq: @STATUS_LIGHT_LIQUIDATED@; --ml-bank: @STATUS_LIGHT_BANKRUPT@; line-height: 1.5; }
/* Off-screen, the lab's blocks are neither laid out nor painted: a slider step at the top of the
   page then costs the browser less. "auto" keeps the last drawn height, so the page does not jump. */
.ml-lab { content-visibility: auto; contain-intrinsic-size: auto 1000px; }
.ml-lab.ml-pictures { contain-intrinsic-size: auto 640px; }
/* The live regions' updaters (ui/shell/live_html.py) draw nothing: no empty box, no gap. */
.st-key-lab-live, [class*="st-key-lab-live-"] { display: none; }
.ml-lab.ml-dark { --ml-healthy: @STATUS_DARK_HEALTHY@; --ml-risk: @STATUS_DARK_RISK@; --ml-liq: @STATUS_DARK_LIQUIDATED@; --ml-bank: @STATUS_DARK_BANKRUPT@; }
.ml-lab h3 { font-size: 1.5rem; font-weight: 600; margin: 0.6rem 0 0.5rem 0; padding: 0; }
.ml-lab h4 { font-size: 1.1rem; font-weight: 600; margin: 0 0 0.1rem 0; padding: 0; }
.ml-lab h5 { font-size: 0.95rem; font-weight: 600; margin: 0.6rem 0 0.3rem 0; padding: 0; }
.ml-lab ul, .ml-lab ol { margin: 0; padding-left: 1.3rem; }
.ml-lab li { margin: 0 0 0.45rem 0; }
.ml-lab p { margin: 0 0 0.4rem 0; }
.ml-box { border: 1px solid var(--ml-line); border-radius: 0.5rem; padding: 0.7rem 1rem 0.4rem 1rem;
  margin-bottom: 0.4rem; }
.ml-note, .ml-small { font-size: 0.85rem; opacity: 0.8; }
.ml-grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); column-gap: 1.25rem; }
/* four ways: two by two, so each column keeps the width of three */
.ml-grid.ml-grid-4 { grid-template-columns: repeat(2, minmax(0, 1fr)); row-gap: 0.75rem; }
.ml-variant { display: grid; grid-row: span 5; grid-template-rows: subgrid; min-width: 0; }
.ml-metric { border: 1px solid var(--ml-line); border-radius: 0.5rem; padding: 0.45rem 0.8rem;
  margin-bottom: 0.5rem; }
.ml-metric-label { font-size: 0.85rem; }
.ml-help { cursor: help; display: inline-block; width: 1.05em; height: 1.05em; line-height: 1.05em;
  margin-left: 0.3rem; border: 1px solid currentColor; border-radius: 50%; text-align: center;
  font-size: 0.75rem; opacity: 0.65; }
.ml-metric-value { font-size: 1.75rem; line-height: 1.25; font-variant-numeric: tabular-nums;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ml-scroll { overflow-y: auto; border: 1px solid var(--ml-line); border-radius: 0.5rem;
  padding: 0.5rem 0.5rem 0 0.2rem; }
.ml-status { font-weight: 600; white-space: nowrap; }
.ml-healthy { color: var(--ml-healthy); } .ml-at-risk { color: var(--ml-risk); }
.ml-liquidated { color: var(--ml-liq); } .ml-bankrupt { color: var(--ml-bank); }
.ml-closed-by-stop-loss { color: var(--ml-risk); } .ml-closed-by-take-profit { color: var(--ml-healthy); }
.ml-chart-head { margin-bottom: 0.2rem; }
.ml-chart-title { font-size: 15px; font-weight: 600; }
.ml-chart-scroll { overflow-x: auto; }
.ml-legend { font-size: 0.8rem; display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; margin: 0.2rem 0; }
.ml-key { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; vertical-align: -0.1rem; }
.ml-key-line { display: inline-block; width: 1.4rem; border-top: 3px dashed @ORANGE@; vertical-align: middle;
  margin-right: 0.3rem; }
.ml-wf { position: relative; font-size: 11px; line-height: 1.2; }
.ml-wf > * { position: absolute; }
.ml-wf-grid { border-top: 1px solid rgba(128,128,128,0.25); }
.ml-wf-zero { border-top: 1px solid rgba(128,128,128,0.8); }
.ml-wf-tick { opacity: 0.8; white-space: nowrap; }
.ml-wf-group { top: 0; text-align: center; font-size: 12px; overflow: hidden; white-space: nowrap;
  text-overflow: ellipsis; }
.ml-wf-maintenance { border-top: 3px dashed @ORANGE@; z-index: 2; }
.ml-wf-connector { border-top: 1px dotted @GREY@; }
.ml-wf-value { transform: translateX(-50%); font-weight: 600; white-space: nowrap; }
.ml-wf-value.ml-wf-upright { writing-mode: vertical-rl; transform: translateX(-50%) rotate(180deg); }
.ml-wf-label { transform: translateX(-50%); white-space: nowrap; opacity: 0.85; }
.ml-wf-label.ml-wf-slanted { transform: translateX(-100%) rotate(-40deg); transform-origin: right top; }
.ml-svg-adds { fill: @BLUE@; background: @BLUE@; }
.ml-svg-drains { fill: @VERMILLION@; background: @VERMILLION@; }
.ml-svg-level { fill: @GREY@; background: @GREY@; }
.ml-dark .ml-svg-adds { fill: @SKY@; background: @SKY@; }
.ml-charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); column-gap: 1.5rem; }
.ml-sweep-band { z-index: 3; } .ml-sweep-band:hover { background: rgba(128,128,128,0.12); }
.ml-sweep-mark { z-index: 4; transform: translateX(-50%); font-size: 16px; font-weight: 700; line-height: 18px; }
.ml-sweep-now { z-index: 1; border-left: 1.5px dotted @GREEN@; }
.ml-sweep-here { z-index: 5; transform: translateX(-50%); font-size: 22px; line-height: 20px;
  text-shadow: 0 0 2px @WHITE@, 0 0 2px @WHITE@; }
.ml-dark .ml-sweep-here { text-shadow: 0 0 2px @DARK_BACKGROUND@, 0 0 2px @DARK_BACKGROUND@; }
@media (max-width: 760px) {
  .ml-grid, .ml-grid.ml-grid-4, .ml-charts { grid-template-columns: minmax(0, 1fr); }
  .ml-variant { display: block; grid-row: auto; margin-bottom: 1rem; }
}
</style>""")


def status_badge(status: str) -> str:
    """A position's status as glyph and word, coloured (the glyph and word carry the meaning).

    >>> status_badge("at risk")
    '<span class="ml-status ml-at-risk">⚠ at risk</span>'
    """
    return (f'<span class="ml-status ml-{status.replace(" ", "-")}">'
            f'{STATUS_GLYPHS[status]} {escape(status)}</span>')


def position_detail(p: PositionView) -> str:
    """One position's PnL and distance to liquidation, in words (plain text).

    >>> from ui.lab.model import PositionView
    >>> p = PositionView(id="b", label="BTC long", market="BTCUSDT", side="long", mode="cross",
    ...     status="healthy", size=1.0, price=117_000.0, unrealized_pnl=17_000.0, realized_pnl=0.0,
    ...     equity=1.0, maintenance_margin=1.0, liquidation_price=58_500.0, bankruptcy_price=None,
    ...     distance=-0.5, closed_at=None, partly_closed=False)
    >>> position_detail(p)
    'PnL +17,000.00 USDT; liquidated 50.0 % lower, at 58,500.00 USDT'
    >>> from dataclasses import replace
    >>> position_detail(replace(p, roe=1.7, pnl_percent=0.17))[:70]
    'PnL +17,000.00 USDT (ROE +170.0 % of its initial margin, +17.0 % of it'
    """
    coin = market_label(p.market)
    if p.size <= 0:
        detail = f"closed at {price(p.closed_at)} USDT ({money(p.realized_pnl, signed=True)} realized)"
        if p.closed_before_moves:
            detail += ", on the way from its entry to today's price"
    elif p.distance is None:
        detail = f"PnL {money(p.unrealized_pnl, signed=True)}{_returns(p)}; {no_liquidation_words(p)}"
    else:
        detail = (f"PnL {money(p.unrealized_pnl, signed=True)}{_returns(p)}; liquidated "
                  f"{percent(abs(p.distance))} {'lower' if p.distance < 0 else 'higher'}, at "
                  f"{price(p.liquidation_price)} USDT")
        if p.against_side:
            pool = "its cross pool" if p.mode == "cross" else "it"
            way = "rise" if p.direction > 0 else "fall"
            detail += (f" (a {way} liquidates this {p.side}: {pool} loses more on a {way} of {coin} than this "
                       f"{p.side} gains)")
    if p.partly_closed:
        detail += "; partly liquidated on the way"
    return detail


def _returns(p: PositionView) -> str:
    """ROE and PnL % beside the PnL, as the venues show them, each with what it is a share of."""
    if p.roe is None or p.pnl_percent is None:
        return ""
    return (f" (ROE {percent(p.roe, signed=True)} of its initial margin, "
            f"{percent(p.pnl_percent, signed=True)} of its value at entry)")


def _metric(label: str, value: float) -> str:
    help_text = escape(METRIC_HELP[label])
    return (f'<div class="ml-metric" data-metric="{escape(label)}">'
            f'<div class="ml-metric-label">{escape(label)}<span class="ml-help" title="{help_text}" '
            f'role="img" aria-label="{help_text}">?</span></div>'
            f'<div class="ml-metric-value">{escape(money(value))}</div></div>')


def _listing(tag: str, items: Sequence[str], long_after: int, height_rem: float, what: str) -> str:
    """A list that scrolls in a box (reachable with Tab) once it has more than ``long_after`` items."""
    body = f"<{tag}>{''.join(f'<li>{item}</li>' for item in items)}</{tag}>"
    if len(items) <= long_after:
        return body
    return (f'<div class="ml-scroll" style="max-height:{height_rem}rem" tabindex="0" role="region" '
            f'aria-label="{escape(what)}">{body}</div>')


def variant_html(view: VariantView) -> str:
    """One variant's column: its name, three metrics, the margin-ratio meter, every position's
    status and distance to liquidation, and what happened on the way there."""
    name = in_sentence(view.label)
    header = (f'<div><h4>{escape(view.label)}</h4>'
              f'<p class="ml-note">{escape(VARIANT_NOTES.get(view.label, ""))}</p></div>')
    metrics = ("<div>" + _metric("Equity", view.total_equity) + _metric("Cross pool equity", view.cross_equity)
               + _metric("Maintenance margin", view.total_maintenance) + "</div>")
    gauge = (f'<div>{gauge_html(view.risk_ratio, view.risk_pool)}'
             f'<p class="ml-small">{escape(gauge_takeaway(view.risk_ratio, view.risk_pool))}</p></div>')
    lines = [f"<b>{escape(p.label)}</b> · {escape(p.mode)} · {status_badge(p.status)}<br>"
             f"{escape(position_detail(p))}" for p in view.positions]
    heading = f"Positions, {name}"
    positions = (f'<div data-section="{escape(heading)}"><h5>{escape(heading)}</h5>'
                 + (_listing("ul", lines, LONG_POSITION_LIST, 29, heading) if lines else "<p>No positions.</p>")
                 + "</div>")
    heading = f"What happened on the way, {name}"
    if view.events:
        told = _listing("ol", [escape(text) for text in view.events], LONG_EVENT_LIST, 20, heading)
    else:
        told = "<p>Nothing was liquidated on the way.</p>"
    events = f'<div data-section="{escape(heading)}"><h5>{escape(heading)}</h5>{told}</div>'
    return (f'<section class="ml-variant" aria-label="{escape(view.label)}">'
            f"{header}{metrics}{gauge}{positions}{events}</section>")


def orders_html(lines: Sequence[str]) -> str:
    """The box "Where each stop sits": one line per order of an open position (plain text,
    escaped); empty when no open position has an order.

    >>> 'data-section="Where each stop sits"' in orders_html(["BTC long: stop-loss <at> 94,000.00 USDT"])
    True
    >>> orders_html([])
    ''
    """
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (f'<div class="ml-box" data-section="Where each stop sits"><h4>Where each stop sits</h4>'
            f'<p class="ml-small">As built, against each position\'s liquidation price (every other market held '
            f'where it is now).</p><ul>{items}</ul></div>')


def lab_text_html(views: Mapping[str, VariantView], happening: Sequence[str], dark: bool = False,
                  lead: str = "", orders: Sequence[str] = ()) -> str:
    """The lab's live text in one block: ``lead`` (a line about the sliders' marks), "what is
    happening", where each stop sits (``orders``, one line each), then the account each way.

    >>> html = lab_text_html({}, ["In cross, a & b."])
    >>> 'data-section="What is happening"' in html and "a &amp; b." in html
    True
    """
    theme = " ml-dark" if dark else ""
    lines = "".join(f"<li>{escape(line)}</li>" for line in happening)
    ways = WAYS.get(len(views), "three")
    grid = "ml-grid ml-grid-4" if len(views) == 4 else "ml-grid"
    return (f'<div class="ml-lab{theme}">'
            + (f'<p class="ml-small">{escape(lead)}</p>' if lead else "")
            + f'<div class="ml-box" data-section="What is happening"><h4>What is happening</h4>'
            f'<ul>{lines}</ul></div>' + orders_html(orders)
            + f'<h3>The same account {ways} ways</h3>'
            f'<div class="{grid}">{"".join(variant_html(v) for v in views.values())}</div></div>')
