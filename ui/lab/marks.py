"""The lab's marks: the strips under its sliders (where each position is liquidated ✕,
bankrupt ◆ or was closed ▼), and the margin-ratio gauge. Light HTML, every
value escaped; colours from :mod:`ui.common.palette` and never alone (glyphs and words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

from margin.numbers import percent, price
from margin.presets import market_label
from ui.common.palette import BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, tint
from ui.lab.model import PositionView
from ui.lab.orders import OrderLine
from ui.lab.sweep import SweepView, shock_text

AT_RISK_RATIO = 0.8  # margin ratio from which a pool is called "at risk" (as the engine does)
GAUGE_MAX = 150.0  # [%] the gauge's scale ends here; beyond it the needle rests at the end


# ----------------------------------------------------------------------------- slider strips


@dataclass(frozen=True, slots=True, kw_only=True)
class StripMark:
    """A point to mark under a slider: ``value`` on the slider's scale, drawn as ``symbol``."""

    value: float
    symbol: str  # one of STRIP_SYMBOLS
    label: str  # what it is, in words (also the hover text)


STRIP_SYMBOLS = {  # symbol: (glyph, colour, what it means)
    "liquidation": ("✕", VERMILLION, "liquidation"),
    "bankruptcy": ("◆", PURPLE, "bankruptcy"),
    "closed": ("▼", ORANGE, "closed on the way"),
    "target": ("●", BLUE, "after the shock"),
    "stop_loss": ("■", SKY, "stop-loss"),
    "take_profit": ("▲", GREEN, "take-profit"),
}


MARK_GAP = 6.0  # [% of the track] on a two-row strip, a mark this close to one drawn before it goes on the second row
ROW_TOPS = (1, 15)  # [px] the top of each row of marks; the line runs at 8 px
ROW_HEIGHTS = {1: 18, 2: 32}  # [px] a strip's height by its rows: fixed, so that a step never moves the page


def strip_html(low: float, high: float, marks: Sequence[StripMark], caption: str, rows: int = 1) -> str:
    """A strip to sit right under a slider of range ``low..high``: each mark at its place on
    the slider's own scale (clamped to the ends, with an arrow, when outside), with its
    meaning in the hover text and for screen readers. Light HTML, not a chart: a slider step
    redraws a few dozen elements instead of a whole Plotly figure.

    ``rows=2``: a mark that would cover one drawn before it (closer than :data:`MARK_GAP`, as a
    bankruptcy ◆ a hair past its liquidation ✕) goes on a second row, so that every mark shows;
    the strip is then always two rows high, whether or not a mark needs the second. The mark a
    step moves (● after the shock) stays on the first row, so that it never hops between rows.

    >>> html = strip_html(0, 200, [StripMark(value=50, symbol="liquidation", label="SOL long liquidation 50")], "x")
    >>> 'left:25.00%' in html and "✕" in html and 'aria-label="x"' in html
    True
    >>> close = [StripMark(value=-9.26, symbol="liquidation", label="a"), StripMark(value=-9.70, symbol="bankruptcy", label="b")]
    >>> [strip_html(-90, 90, close, "x", rows=2).count(f"top:{top}px;transform") for top in ROW_TOPS]
    [1, 1]
    >>> [strip_html(-90, 90, close, "x").count(f"top:{top}px;transform") for top in ROW_TOPS]
    [2, 0]
    """
    span = (high - low) or 1.0
    placed = []
    for mark in marks:
        where = (mark.value - low) / span * 100
        arrow = "◂" if where < 0 else "▸" if where > 100 else ""
        placed.append((min(max(where, 0.0), 100.0), arrow, mark))
    last = [-math.inf] * rows  # where each row's last mark sits
    items = []
    for where, arrow, mark in (sorted(placed, key=lambda item: item[0]) if rows > 1 else placed):
        if mark.symbol == "target":  # the mark a step moves stays on the first row, over the others
            row = 0
        else:
            free = [r for r, at in enumerate(last) if where - at >= MARK_GAP]
            row = free[0] if free else min(range(rows), key=lambda r: last[r])
            last[row] = where
        glyph, colour, _ = STRIP_SYMBOLS[mark.symbol]
        items.append(
            f'<span title="{escape(mark.label)}" style="position:absolute;left:{where:.2f}%;top:{ROW_TOPS[row]}px;'
            f'transform:translateX(-50%);color:{colour};font-size:15px;line-height:16px;font-weight:700">'
            f'{arrow if arrow == "◂" else ""}{glyph}{arrow if arrow == "▸" else ""}</span>'
        )
    return (
        f'<div role="img" aria-label="{escape(caption)}" style="position:relative;height:{ROW_HEIGHTS[rows]}px;'
        f'margin:-6px 8px 0 8px">'
        f'<div style="position:absolute;left:0;right:0;top:8px;height:2px;background:{tint(GREY, 0.45)}"></div>'
        + "".join(items) + "</div>"
    )


def no_liquidation_words(p: PositionView) -> str:
    """An open position no price finds, said as the fact it is: the engine looked at every price
    of its market up to ``p.reach`` (LiquidationPrice.reach), the other markets held.

    >>> from ui.lab.model import PositionView
    >>> p = PositionView(id="b", label="BTC long", market="BTCUSDT", side="long", mode="cross",
    ...     status="healthy", size=1.0, price=100_000.0, unrealized_pnl=0.0, realized_pnl=0.0, equity=1.0,
    ...     maintenance_margin=1.0, liquidation_price=None, bankruptcy_price=None, distance=None, closed_at=None,
    ...     partly_closed=False, beyond_reach=True, reach=1_000_000.0)
    >>> no_liquidation_words(p)
    'no BTC price below 1,000,000 USDT liquidates it (the lab looks no higher; other markets held)'
    """
    coin = market_label(p.market)
    if p.reach is None:
        return f"no {coin} price alone liquidates it"
    if p.beyond_reach:
        return (f"no {coin} price below {price(p.reach)} USDT liquidates it (the lab looks no higher; "
                f"other markets held)")
    return f"no {coin} price from 0 to {price(p.reach)} USDT liquidates it (other markets held)"


def price_strip(market: str, low: float, high: float, target: float,
                positions: Sequence[PositionView], orders: Sequence[OrderLine] = ()) -> tuple[str, str]:
    """The strip under a market's price slider and its line of words: the price after the
    shock, each position's liquidation (✕), bankruptcy (◆) or close (▼) price, and each open
    order's trigger (■ stop-loss, ▲ take-profit) [USDT]."""
    marks = [StripMark(value=target, symbol="target", label=f"After the shock: {price(target)} USDT")]
    words = [f"● after the shock {price(target)}"]
    for order in orders:
        if order.market == market:
            glyph, _, name = STRIP_SYMBOLS[order.kind]
            never = "" if order.can_fire else " (never fires)"
            marks.append(StripMark(value=order.trigger, symbol=order.kind,
                                   label=f"{order.who} {name} at {price(order.trigger)} USDT{never}"))
            words.append(f"{glyph} {order.who} {name} {price(order.trigger)}{never}")
    for p in positions:
        if p.market != market:
            continue
        if p.size <= 0 and p.closed_at is not None:
            marks.append(StripMark(value=p.closed_at, symbol="closed", label=f"{p.label} closed at {price(p.closed_at)} USDT"))
            words.append(f"▼ {p.label} closed at {price(p.closed_at)}")
            continue
        if p.bankruptcy_price is not None:
            marks.append(StripMark(value=p.bankruptcy_price, symbol="bankruptcy",
                                   label=f"{p.label} bankrupt at {price(p.bankruptcy_price)} USDT"))
        if p.liquidation_price is not None:
            marks.append(StripMark(value=p.liquidation_price, symbol="liquidation",
                                   label=f"{p.label} liquidated at {price(p.liquidation_price)} USDT"))
            text = f"✕ {p.label} liquidated at {price(p.liquidation_price)}"
            if p.bankruptcy_price is not None:
                text += f", ◆ bankrupt at {price(p.bankruptcy_price)}"
            words.append(text)
        else:
            words.append(f"{p.label}: {no_liquidation_words(p)}")
    caption = " · ".join(words) + " (prices in USDT)"
    return strip_html(low, high, marks, caption, rows=2), caption  # ✕ and ◆ a few % apart: two rows


def shock_strip(sweep: SweepView, shock: float, low: float, high: float) -> tuple[str, str]:
    """The strip under the shock slider [%]: where each pool would be liquidated (✕) and
    bankrupt (◆) by a whole-market shock on top of the price sliders."""
    marks, words = [], []
    for m in sweep.marks:
        symbol = "liquidation" if m.kind == "liquidation" else "bankruptcy"
        what = "liquidated" if m.kind == "liquidation" else "bankrupt"
        marks.append(StripMark(value=m.shock * 100, symbol=symbol,
                               label=f"{m.pool[0].upper() + m.pool[1:]} {what} at a shock of {shock_text(m)}"))
    firsts = {}
    for m in sorted(sweep.marks, key=lambda m: abs(m.shock - shock)):
        firsts.setdefault((m.pool, m.kind), m)
    for (pool, kind), m in sorted(firsts.items(), key=lambda kv: kv[1].shock, reverse=True)[:6]:
        glyph = "✕" if kind == "liquidation" else "◆"
        note = f" ({m.note})" if m.note else ""
        words.append(f"{glyph} {pool} {'liquidated' if kind == 'liquidation' else 'bankrupt'} at "
                     f"{shock_text(m)}{note}")
    if words:
        caption = " · ".join(words) + " (as built: the positions still open now, no trade added or closed)"
    elif sweep.open_positions == 0:
        caption = "Nothing is open: every position has been closed on the way, so no shock can liquidate it now"
    else:
        caption = (f"No shock between {percent(sweep.grid[0], 0, signed=True)} and "
                   f"{percent(sweep.grid[-1], 0, signed=True)} liquidates what is still open (as built, no trade added or closed)")
    # two rows: a pool's ✕ and ◆ are often a fraction of a percent apart on a ±90 % track
    return strip_html(low, high, marks, caption, rows=2), caption


def map_takeaway(positions: Sequence[PositionView]) -> str:
    """The open position closest to its liquidation price, in words."""
    open_ = [p for p in positions if p.size > 0 and p.distance is not None]
    if not any(p.size > 0 for p in positions):
        return "Every position has been closed on the way to these prices."
    if not open_:
        return "No move of a single market liquidates any open position from here."
    nearest = min(open_, key=lambda p: abs(p.distance))
    direction = "falls" if nearest.distance < 0 else "rises"
    return (f"Closest to the edge: the {nearest.label}, liquidated if {market_label(nearest.market)} "
            f"{direction} {percent(abs(nearest.distance))} more, to {price(nearest.liquidation_price)} USDT "
            f"(other markets held where they are).")


# ----------------------------------------------------------------------------- the gauge


# Zones of the gauge, in margin ratio [%]: colour AND pattern tell them apart.
GAUGE_ZONES = (
    (0.0, AT_RISK_RATIO * 100, tint(SKY, 0.30), "healthy"),
    (AT_RISK_RATIO * 100, 100.0,
     f"repeating-linear-gradient(45deg,{tint(ORANGE, 0.65)} 0 3px,{tint(ORANGE, 0.25)} 3px 7px)", "at risk"),
    (100.0, GAUGE_MAX,
     f"repeating-linear-gradient(-45deg,{tint(VERMILLION, 0.75)} 0 2px,{tint(VERMILLION, 0.30)} 2px 5px)", "liquidated"),
)


def gauge_html(ratio: float | None, pool: str | None) -> str:
    """The margin-ratio gauge of the riskiest open pool: maintenance margin as a share of
    equity [%], 80 % at risk, 100 % liquidated. Light HTML (a ``meter`` for screen readers),
    not a chart: it redraws with the slider at the cost of a few elements.

    >>> html = gauge_html(0.052, "cross pool")
    >>> 'aria-valuenow="5.2"' in html and "5.2 %" in html and "Margin ratio, cross pool" in html
    True
    >>> "no open positions" in gauge_html(None, None)
    True
    """
    if ratio is None:
        return ('<div style="font-size:0.85rem;opacity:0.8;padding:6px 0">Margin ratio: no open '
                'positions, nothing can be liquidated.</div>')
    shown = ratio * 100 if math.isfinite(ratio) else math.inf
    needle = min(shown, GAUGE_MAX) / GAUGE_MAX * 100
    number = f"{shown:.1f} %" if math.isfinite(shown) else "beyond all"
    beyond = " ▸" if shown > GAUGE_MAX else ""
    zones = "".join(
        f'<div title="{label}: {low:g} to {high:g} %" style="width:{(high - low) / GAUGE_MAX * 100:.3f}%;'
        f'background:{fill}"></div>' for low, high, fill, label in GAUGE_ZONES)
    ticks = "".join(
        f'<span style="position:absolute;left:{value / GAUGE_MAX * 100:.2f}%;transform:translateX(-50%);'
        f'white-space:nowrap">{text}</span>'
        for value, text in ((0, "0"), (AT_RISK_RATIO * 100, "80"), (100, "100"), (GAUGE_MAX, "150 %")))
    title = f"Margin ratio, {pool}"
    return (
        f'<div role="meter" aria-label="{escape(title)}" aria-valuemin="0" aria-valuemax="{GAUGE_MAX:g}" '
        f'aria-valuenow="{min(shown, GAUGE_MAX):.1f}" aria-valuetext="{number}" style="padding:2px 10px 0 10px">'
        f'<div style="display:flex;justify-content:space-between;align-items:baseline;gap:0.5rem">'
        f'<span style="font-size:0.85rem;opacity:0.85">{escape(title)} (maintenance ÷ equity; lower is safer)</span>'
        f'<span style="font-size:1.35rem;font-weight:600;white-space:nowrap">{number}{beyond}</span></div>'
        f'<div style="position:relative;height:16px;border-radius:3px;overflow:hidden;display:flex;'
        f'outline:1px solid {tint(GREY, 0.5)}">{zones}'
        f'<div style="position:absolute;left:calc({needle:.2f}% - 2px);top:0;bottom:0;width:4px;'
        f'background:currentColor"></div></div>'
        f'<div style="position:relative;height:16px;font-size:0.7rem;opacity:0.75;margin:2px 12px 0 12px">{ticks}</div>'
        f'</div>'
    )


def gauge_takeaway(ratio: float | None, pool: str | None) -> str:
    """The gauge in words.

    >>> gauge_takeaway(0.5, "cross pool")
    'Cross pool: maintenance margin is 50.0 % of equity: healthy (lower is safer: at risk from 80 %, liquidated at 100 %).'
    """
    if ratio is None:
        return "Nothing is open, so nothing can be liquidated."
    state = "healthy" if ratio < AT_RISK_RATIO else ("at risk" if ratio < 1 else "liquidated")
    shown = percent(ratio) if math.isfinite(ratio) else "beyond all"
    return (f"{pool[0].upper() + pool[1:]}: maintenance margin is {shown} of equity: {state} "
            f"(lower is safer: at risk from 80 %, liquidated at 100 %).")


MARK_STACK_PX = 15  # [px] a ✕ or ◆ glyph's height: a mark that would cover one drawn before it goes this much lower


def free_top(x: float, top: float, placed: Sequence[tuple[float, float]], highest: float, lowest: float) -> float:
    """Where a ✕ ◆ glyph at ``x`` [% of the axis] whose point is at ``top`` [px] goes: there, or
    the nearest free place a glyph's height below or above it (below first: a bankruptcy a hair
    past its liquidation lies further down the curve), within ``highest`` .. ``lowest`` [px]; a
    glyph closer than :data:`MARK_GAP` across and a glyph's height up or down covers another.
    Its title keeps the exact shock.

    >>> free_top(50.0, 100.0, [(50.0, 100.0)], 0.0, 300.0), free_top(50.0, 295.0, [(50.0, 295.0)], 0.0, 300.0)
    (115.0, 280.0)
    """
    def free(at: float) -> bool:
        return all(abs(x - left) >= MARK_GAP or abs(at - high) >= MARK_STACK_PX for left, high in placed)

    for step in range(2 * len(placed) + 2):  # each glyph placed can block one step each way
        for at in (top + step * MARK_STACK_PX, top - step * MARK_STACK_PX):
            if highest <= at <= lowest and free(at):
                return at
    return top
