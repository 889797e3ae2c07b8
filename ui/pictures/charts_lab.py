"""Pictures for the price lab: pure functions from the lab's numbers to light HTML (slider
strips, margin-ratio gauges, the equity-sharing waterfall and the shock-range chart).

Why HTML and not Plotly: Streamlit draws a changed Plotly chart anew on every slider step (a
new figure is a new element); that alone cost the browser more than the rest of the lab. These
pictures are a few dozen positioned boxes and, for curves, one SVG image (an ``<img>``, which
any HTML sanitizer keeps), and ``ui/pictures/live_html.py`` changes only what differs between steps
(``tools/bench_ui.py``).

Colours are Okabe-Ito (colour-blind safe) and never carry meaning alone: every series also has
its own marker symbol or dash, and a label in the legend or on the point. Each figure has a
title that says what it shows; each ``*_takeaway`` function gives the one line of words that
goes next to it, computed from the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable, Sequence
from urllib.parse import quote

import numpy as np

from margin.numbers import money, percent, price
from ui.pictures.palette import BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, tint
from ui.views.lab import PoolGroup, PositionView
from ui.views.lab_sweep import SweepView, nearest_mark
from margin.presets import market_label

AT_RISK_RATIO = 0.8  # margin ratio from which a pool is called "at risk" (as the engine does)
GAUGE_MAX = 150.0  # [%] the gauge's scale ends here; beyond it the needle rests at the end

def compact(value: float, signed: bool = False) -> str:
    """Short money for labels on bars: ``+17.0k``, ``-960``, ``1.25M`` (the axis says USDT).

    >>> compact(17000, signed=True), compact(-960.4), compact(1_250_000)
    ('+17.0k', '-960', '1.25M')
    """
    sign = "+" if signed and value > 0 else ""
    magnitude = abs(value)
    if magnitude >= 1e6:
        text = f"{value / 1e6:.3g}M"
    elif magnitude >= 1e4:
        text = f"{value / 1e3:.1f}k"
    elif magnitude >= 1e3:
        text = f"{value / 1e3:.2f}k"
    else:
        text = f"{value:.0f}"
    return sign + text


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
}


def strip_html(low: float, high: float, marks: Sequence[StripMark], caption: str) -> str:
    """A strip to sit right under a slider of range ``low..high``: each mark at its place on
    the slider's own scale (clamped to the ends, with an arrow, when outside), with its
    meaning in the hover text and for screen readers. Light HTML, not a chart: a slider step
    redraws a few dozen elements instead of a whole Plotly figure.

    >>> html = strip_html(0, 200, [StripMark(value=50, symbol="liquidation", label="SOL long liquidation 50")], "x")
    >>> 'left:25.00%' in html and "✕" in html and 'aria-label="x"' in html
    True
    """
    span = (high - low) or 1.0
    items = []
    for mark in marks:
        glyph, colour, _ = STRIP_SYMBOLS[mark.symbol]
        where = (mark.value - low) / span * 100
        arrow = ""
        if where < 0:
            where, arrow = 0.0, "◂"
        elif where > 100:
            where, arrow = 100.0, "▸"
        items.append(
            f'<span title="{escape(mark.label)}" style="position:absolute;left:{where:.2f}%;top:1px;'
            f'transform:translateX(-50%);color:{colour};font-size:15px;line-height:16px;font-weight:700">'
            f'{arrow if arrow == "◂" else ""}{glyph}{arrow if arrow == "▸" else ""}</span>'
        )
    return (
        f'<div role="img" aria-label="{escape(caption)}" style="position:relative;height:18px;margin:-6px 8px 0 8px">'
        f'<div style="position:absolute;left:0;right:0;top:8px;height:2px;background:{tint(GREY, 0.45)}"></div>'
        + "".join(items) + "</div>"
    )


def price_strip(market: str, low: float, high: float, target: float,
                positions: Sequence[PositionView]) -> tuple[str, str]:
    """The strip under a market's price slider and its line of words: the price after the
    shock and each position's liquidation (✕), bankruptcy (◆) or close (▼) price [USDT]."""
    marks = [StripMark(value=target, symbol="target", label=f"After the shock: {price(target)} USDT")]
    words = [f"● after the shock {price(target)}"]
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
            reach = " within reach" if p.beyond_reach else ""
            words.append(f"{p.label}: no {market_label(market)} price{reach} liquidates it")
    caption = " · ".join(words) + " (prices in USDT)"
    return strip_html(low, high, marks, caption), caption


def shock_strip(sweep: SweepView, shock: float, low: float, high: float) -> tuple[str, str]:
    """The strip under the shock slider [%]: where each pool would be liquidated (✕) and
    bankrupt (◆) by a whole-market shock on top of the price sliders."""
    marks, words = [], []
    for m in sweep.marks:
        symbol = "liquidation" if m.kind == "liquidation" else "bankruptcy"
        what = "liquidated" if m.kind == "liquidation" else "bankrupt"
        marks.append(StripMark(value=m.shock * 100, symbol=symbol,
                               label=f"{m.pool[0].upper() + m.pool[1:]} {what} at a shock of {percent(m.shock, signed=True)}"))
    firsts = {}
    for m in sorted(sweep.marks, key=lambda m: abs(m.shock - shock)):
        firsts.setdefault((m.pool, m.kind), m)
    for (pool, kind), m in sorted(firsts.items(), key=lambda kv: kv[1].shock, reverse=True)[:6]:
        glyph = "✕" if kind == "liquidation" else "◆"
        note = f" ({m.note})" if m.note else ""
        words.append(f"{glyph} {pool} {'liquidated' if kind == 'liquidation' else 'bankrupt'} at "
                     f"{percent(m.shock, signed=True)}{note}")
    caption = (" · ".join(words) if words else "No shock in range liquidates this account") + " (as built, what is still open, held unchanged)"
    return strip_html(low, high, marks, caption), caption


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
        f'<span style="font-size:0.85rem;opacity:0.85">{escape(title)}</span>'
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
    'Cross pool: maintenance margin is 50.0 % of equity: healthy (at risk from 80 %, liquidated at 100 %).'
    """
    if ratio is None:
        return "Nothing is open, so nothing can be liquidated."
    state = "healthy" if ratio < AT_RISK_RATIO else ("at risk" if ratio < 1 else "liquidated")
    shown = percent(ratio) if math.isfinite(ratio) else "beyond all"
    return (f"{pool[0].upper() + pool[1:]}: maintenance margin is {shown} of equity: {state} "
            f"(at risk from 80 %, liquidated at 100 %).")


# ----------------------------------------------------------------------------- equity sharing


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round axis ticks covering ``low..high``: steps of 1, 2 or 5 times a power of ten.

    >>> nice_ticks(-960, 17_000)
    [-5000.0, 0.0, 5000.0, 10000.0, 15000.0, 20000.0]
    """
    span = high - low if high > low else (abs(high) or 1.0)
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value < high + step * 0.999:
        ticks.append(round(value, 10) + 0.0)
        value += step
    return ticks


def _y_axis_html(ticks: Sequence[float], y_of: Callable[[float], float], left: int, right: int, *,
                 unit_top: float, label: Callable[[float], str] = compact) -> str:
    """The value axis of an HTML chart: a grid line per tick across the plot area (a darker one
    at zero), the tick labels right-aligned left of it, and "USDT" above them. ``y_of`` maps a
    value [USDT] to its top [px]; ``left`` and ``right`` are the plot area's margins [px]."""
    parts = [f'<div class="{"ml-wf-zero" if t == 0 else "ml-wf-grid"}" style="top:{y_of(t):.1f}px;'
             f'left:{left}px;right:{right}px"></div>'
             f'<span class="ml-wf-tick" style="top:{y_of(t) - 8:.1f}px;right:calc(100% - {left - 6}px)">'
             f'{label(t)}</span>' for t in ticks]
    parts.append(f'<span class="ml-wf-tick" style="top:{unit_top}px;left:0">USDT</span>')
    return "".join(parts)


WATERFALL_HEIGHT = 400  # [px] of the drawing
MIN_SLOT = 22  # [px] per bar at the least; with more bars than fit, the drawing scrolls sideways


def waterfall_html(groups: Sequence[PoolGroup], variant: str) -> str:
    """Equity sharing as a waterfall, drawn in light HTML (not a Plotly chart: a slider step
    redraws a few dozen boxes instead of a whole figure). Each pool:
    its wallet (cross) or margin (isolated), each position's PnL adding (up, blue, "+") or
    draining (down, vermillion, "−"), the pool's equity (grey), against its maintenance margin
    (dashed orange line). Each bar has its value written on it and in its hover text; the
    title and the legend are words.

    >>> html = waterfall_html([], "As built")
    >>> "Equity sharing, as built" in html and "No positions" in html
    True
    """
    title = f"Equity sharing, {variant.lower()}"
    head = (f'<div class="ml-chart-head"><div class="ml-chart-title">{escape(title)}</div>'
            f'<div class="ml-note">What each position\'s PnL adds to or drains from its pool [USDT]</div></div>')
    bars = [(group_index, bar) for group_index, group in enumerate(groups) for bar in group.bars]
    if not bars:
        return f'<div class="ml-chart">{head}<p>No positions, so no pool to draw.</p></div>'

    # Running levels: where each bar starts and ends [USDT].
    spans: list[tuple[float, float]] = []
    for group in groups:
        level = 0.0
        for bar in group.bars:
            if bar.measure == "relative":
                spans.append((level, level + bar.value))
                level += bar.value
            else:  # "absolute" starts the pool, "total" is its equity: both from zero
                spans.append((0.0, bar.value))
                level = bar.value
    levels = [v for span in spans for v in span] + [g.maintenance_margin for g in groups] + [0.0]
    ticks = nice_ticks(min(levels), max(levels))
    low, high = min(ticks[0], min(levels)), max(ticks[-1], max(levels))

    left, right, top = 50, 6, 46  # [px] around the plot area
    many = len(bars) > 6
    crowded = len(bars) > 10  # value labels written upright (see below)
    bottom = 92 if many else 34
    plot_h = WATERFALL_HEIGHT - top - bottom
    gap = 0.5  # between pools [bar slots]
    units = len(bars) + gap * (len(groups) - 1)

    def y_of(value: float) -> float:
        return top + (high - value) / ((high - low) or 1.0) * plot_h

    def x_at(unit: float) -> str:
        """CSS left of a point ``unit`` bar slots into the plot area."""
        return f"calc({left}px + (100% - {left + right}px) * {unit / units:.5f})"

    parts = [_y_axis_html(ticks, y_of, left, right, unit_top=top - 28)]
    unit = 0.0
    previous_group, previous_end = None, None
    for (group_index, bar), (start, end) in zip(bars, spans):
        if previous_group is not None and group_index != previous_group:
            unit += gap
            previous_end = None
        if group_index != previous_group:
            group = groups[group_index]
            members = sum(1 for g, _ in bars if g == group_index)
            when = "now" if group.moment == "now" else "just before its liquidation"
            parts.append(f'<div class="ml-wf-group" style="left:{x_at(unit)};width:calc((100% - {left + right}px) * '
                         f'{members / units:.5f})"><b>{escape(group.name)}</b><br>({when})</div>')
            parts.append(f'<div class="ml-wf-maintenance" style="top:{y_of(group.maintenance_margin) - 1.5:.1f}px;'
                         f'left:{x_at(unit + 0.05)};width:calc((100% - {left + right}px) * {(members - 0.1) / units:.5f})" '
                         f'title="{escape(group.name)}: maintenance margin {escape(money(group.maintenance_margin))}"></div>')
        y_top, y_bottom = y_of(max(start, end)), y_of(min(start, end))
        kind = ("adds" if bar.value >= 0 else "drains") if bar.measure == "relative" else "level"
        signed = bar.measure == "relative"
        if previous_end is not None:
            parts.append(f'<div class="ml-wf-connector" style="top:{y_of(previous_end):.1f}px;left:{x_at(unit - 0.14)};'
                         f'width:calc((100% - {left + right}px) * {0.28 / units:.5f})"></div>')
        parts.append(
            f'<div class="ml-wf-bar ml-svg-{kind}" style="left:{x_at(unit + 0.14)};top:{y_top:.1f}px;'
            f'height:{max(y_bottom - y_top, 1.0):.1f}px;width:calc((100% - {left + right}px) * {0.72 / units:.5f})" '
            f'data-bar="{escape(bar.label)}" data-measure="{bar.measure}" data-value="{bar.value:.2f}" '
            f'title="{escape(bar.label)}: {escape(money(bar.value, signed=signed))}"></div>')
        value = compact(bar.value, signed=signed).replace("-", "−")
        if crowded:  # upright text would run into the next bar's: written bottom to top instead
            where = (f"bottom:{WATERFALL_HEIGHT - y_top + 3:.1f}px" if kind != "drains"
                     else f"top:{y_bottom + 3:.1f}px")
            parts.append(f'<span class="ml-wf-value ml-wf-upright" style="left:{x_at(unit + 0.5)};{where}">'
                         f'{value}</span>')
        else:
            value_y = y_top - 16 if kind != "drains" else y_bottom + 1
            parts.append(f'<span class="ml-wf-value" style="left:{x_at(unit + 0.5)};top:{value_y:.1f}px">'
                         f'{value}</span>')
        parts.append(f'<span class="ml-wf-label{" ml-wf-slanted" if many else ""}" style="left:{x_at(unit + 0.5)};'
                     f'top:{top + plot_h + 4}px">{escape(bar.label)}</span>')
        previous_group, previous_end = group_index, end
        unit += 1
    legend = ('<div class="ml-legend"><span><i class="ml-key ml-svg-adds"></i>adds (profit, +)</span>'
              '<span><i class="ml-key ml-svg-drains"></i>drains (loss, −)</span>'
              '<span><i class="ml-key ml-svg-level"></i>wallet, margin, equity</span>'
              '<span><i class="ml-key-line"></i>maintenance margin</span></div>')
    min_width = left + right + units * MIN_SLOT
    drawing = (f'<div class="ml-chart-scroll"><div class="ml-wf" role="img" '
               f'aria-label="{escape(waterfall_takeaway(groups))}" '
               f'style="height:{WATERFALL_HEIGHT}px;min-width:{min_width:.0f}px">{"".join(parts)}</div></div>')
    return f'<div class="ml-chart" data-chart="{escape(title)}">{head}{legend}{drawing}</div>'


def waterfall_takeaway(groups: Sequence[PoolGroup]) -> str:
    """The first pool of the picture in one sentence."""
    if not groups:
        return "No positions, so no pool to draw."
    cross = next((g for g in groups if g.name == "Cross pool"), None)
    if cross is not None:
        pnl = [b for b in cross.bars if b.measure == "relative"]
        gains = sum(b.value for b in pnl if b.value > 0)
        losses = sum(b.value for b in pnl if b.value < 0)
        if cross.moment != "now":
            return (f"The cross pool was liquidated on the way: just before, its equity "
                    f"({money(cross.equity)}) had fallen to its maintenance margin "
                    f"({money(cross.maintenance_margin)}); profits of {money(gains)} could no longer "
                    f"cover losses of {money(-losses)}.")
        cushion = cross.equity - cross.maintenance_margin
        return (f"In the cross pool, profits of {money(gains)} and losses of {money(-losses)} share one "
                f"wallet: its equity, {money(cross.equity)}, is {money(abs(cushion))} "
                f"{'above' if cushion > 0 else 'below'} the maintenance margin of {money(cross.maintenance_margin)}.")
    lost = [g for g in groups if g.moment != "now"]
    if lost:
        worst = min(lost, key=lambda g: g.equity)
        margin = next(b.value for b in worst.bars if b.measure == "absolute")
        return (f"Each isolated position stands on its own margin: the {worst.name.removesuffix(', isolated')} "
                f"could lose only its {money(margin)}; losses beyond it fall to the insurance fund, "
                f"never to the other positions.")
    return "Each isolated position stands on its own margin, judged against its own maintenance line."


# ----------------------------------------------------------------------------- the shock sweep


def sweep_takeaway(sweep: SweepView, shock: float) -> str:
    """Where the first liquidation and bankruptcy lie on either side of the current shock."""
    liq = nearest_mark(sweep, shock, kind="liquidation")
    if liq is None:
        return (f"Held unchanged, the account {sweep.label.lower()} is liquidated by no market shock "
                f"between {percent(sweep.grid[0])} and {percent(sweep.grid[-1], signed=True)}.")
    bank = nearest_mark(sweep, liq.shock, {liq.pool}, kind="bankruptcy")
    text = (f"Held unchanged from the sliders, the {liq.pool} is liquidated at a market shock of "
            f"{percent(liq.shock, signed=True)}")
    if bank is not None:
        text += f" and bankrupt at {percent(bank.shock, signed=True)}"
    return text + f"; you are at {percent(shock, signed=True)}."


SWEEP_HEIGHT = 390  # [px] of the drawing (the plot area and its axes)
SWEEP_BOX = dict(left=58, right=24, top=30, bottom=50)  # [px] around the plot area
HOVER_STEP = 0.05  # [fraction of shock] one hover band per 5 % of shock


def _simplify(xs: np.ndarray, ys: np.ndarray, tolerance: float = 0.05) -> list[tuple[float, float]]:
    """Drop points that lie on the straight line through their neighbours (within
    ``tolerance`` of the drawing's 1000 units): a linear stretch of the sweep becomes one segment."""
    kept = [(float(xs[0]), float(ys[0]))]
    for i in range(1, len(xs) - 1):
        (x0, y0), x1, y1, x2, y2 = kept[-1], xs[i], ys[i], xs[i + 1], ys[i + 1]
        if x2 == x0 or abs(y0 + (y2 - y0) * (x1 - x0) / (x2 - x0) - y1) > tolerance:
            kept.append((float(x1), float(y1)))
    kept.append((float(xs[-1]), float(ys[-1])))
    return kept


def _svg_image(lines: Sequence[tuple[np.ndarray, np.ndarray, str, float, str]]) -> str:
    """The curves as an SVG image (one ``<img>`` element however many points, built once per
    sweep), stretched over the plot area: ``lines`` are ``(x, y, colour, width, dash)`` in
    drawing units, 0..1000 on both axes, y down. Strokes keep their width when stretched."""
    paths = []
    for xs, ys, colour, width, dash in lines:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in _simplify(xs, ys))
        paths.append(f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='{width}' "
                     f"stroke-linejoin='round' vector-effect='non-scaling-stroke'"
                     + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")
    svg = ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1000 1000' preserveAspectRatio='none'>"
           + "".join(paths) + "</svg>")
    return "data:image/svg+xml," + quote(svg, safe=" ,.'=:/-")


def sweep_html_parts(sweep: SweepView, dark: bool = False) -> tuple[str, str, Callable[[float], str]]:
    """The shock-range chart as light HTML, in two fixed halves and a function that draws the
    current point between them: ``before + here(shock) + after``. The halves depend only on
    the sweep (build them once per account, prices and variant); a shock step only redraws the
    point [shock as a fraction]. See :func:`sweep_html`."""
    left, right, top, bottom = (SWEEP_BOX[k] for k in ("left", "right", "top", "bottom"))
    grid = sweep.grid
    ticks = nice_ticks(float(min(sweep.equity.min(), sweep.maintenance.min(), 0.0)),
                       float(max(sweep.equity.max(), sweep.maintenance.max())))
    low, high = ticks[0], ticks[-1]
    g0, g1 = float(grid[0]), float(grid[-1])
    plot_h = SWEEP_HEIGHT - top - bottom
    equity_colour, maintenance_colour = (SKY if dark else BLUE), ORANGE

    def frac_x(shock: float) -> float:
        return (shock - g0) / ((g1 - g0) or 1.0)

    def x_css(shock: float) -> str:
        return f"calc({left}px + (100% - {left + right}px) * {min(max(frac_x(shock), 0.0), 1.0):.5f})"

    def y_px(value: float) -> float:
        return top + (high - value) / ((high - low) or 1.0) * plot_h

    units_x = (grid - g0) / ((g1 - g0) or 1.0) * 1000

    def units_y(values: np.ndarray) -> np.ndarray:
        return (high - values) / ((high - low) or 1.0) * 1000

    image = _svg_image([(units_x, units_y(sweep.maintenance), maintenance_colour, 2.5, "7 5"),
                        (units_x, units_y(sweep.equity), equity_colour, 3, "")])
    title = f"Equity across every market shock, {sweep.label.lower()}"
    parts = [f'<div class="ml-chart ml-sweep" data-chart="{escape(title)}">'
             f'<div class="ml-chart-head"><div class="ml-chart-title">{escape(title)}</div>'
             f'<div class="ml-note">The account as it stands now, held unchanged at each shock [USDT]</div></div>'
             '<div class="ml-legend">'
             f'<span><i class="ml-key-line" style="border-top:3px solid {equity_colour}"></i>equity</span>'
             '<span><i class="ml-key-line"></i>maintenance margin</span>'
             f'<span><b style="color:{GREEN}">●</b> you are here</span>'
             f'<span><b style="color:{VERMILLION}">✕</b> liquidated</span>'
             f'<span><b style="color:{PURPLE}">◆</b> bankrupt</span></div>'
             f'<div class="ml-wf" role="img" aria-label="{escape(title)}" style="height:{SWEEP_HEIGHT}px">']
    parts.append(_y_axis_html(ticks, y_px, left, right, unit_top=top - 26,
                              label=lambda t: compact(t).replace("-", "−")))
    for t in np.arange(math.ceil(g0 * 100 / 30 - 1e-9) * 30, g1 * 100 + 1e-9, 30):  # every 30 % of shock
        label = "0 %" if t == 0 else f"{t:+.0f} %".replace("-", "−")
        parts.append(f'<span class="ml-wf-label" style="left:{x_css(t / 100)};top:{top + plot_h + 9}px">'
                     f'{label}</span>')
    parts.append(f'<span class="ml-wf-tick" style="left:{left}px;right:{right}px;text-align:center;'
                 f'top:{top + plot_h + 28}px">Whole-market shock [%]</span>')
    parts.append(f'<img src="{image}" alt="" style="left:{left}px;top:{top}px;width:calc(100% - {left + right}px);'
                 f'height:{plot_h}px">')
    # Hover bands: the numbers under the pointer, every 5 % of shock.
    band = HOVER_STEP / ((g1 - g0) or 1.0)
    for centre in np.arange(math.ceil(g0 / HOVER_STEP) * HOVER_STEP, g1 + 1e-9, HOVER_STEP):
        equity = float(np.interp(centre, grid, sweep.equity))
        maintenance = float(np.interp(centre, grid, sweep.maintenance))
        parts.append(f'<div class="ml-sweep-band" style="left:calc({left}px + (100% - {left + right}px) * '
                     f'{max(frac_x(centre) - band / 2, 0):.5f});width:calc((100% - {left + right}px) * {band:.5f});'
                     f'top:{top}px;height:{plot_h}px" title="Shock {percent(centre, signed=True)}: equity '
                     f'{escape(money(equity))}, maintenance margin {escape(money(maintenance))}"></div>')
    for mark in sweep.marks:
        glyph, colour = ("✕", VERMILLION) if mark.kind == "liquidation" else ("◆", PURPLE)
        what = "liquidated" if mark.kind == "liquidation" else "bankrupt"
        parts.append(f'<span class="ml-sweep-mark" style="left:{x_css(mark.shock)};top:{y_px(mark.equity) - 9:.1f}px;'
                     f'color:{colour}" title="{escape(mark.pool[0].upper() + mark.pool[1:])} {what} at a shock of '
                     f'{percent(mark.shock, signed=True)}">{glyph}</span>')
    before = "".join(parts)
    after = "</div></div>"

    def here(shock: float) -> str:
        equity = float(np.interp(shock, grid, sweep.equity))
        return (f'<div class="ml-sweep-now" style="left:{x_css(shock)};top:{top}px;height:{plot_h}px"></div>'
                f'<span class="ml-sweep-here" data-here="{shock * 100:.2f}" style="left:{x_css(shock)};'
                f'top:{y_px(equity) - 10:.1f}px;color:{GREEN}" title="You are here: shock '
                f'{percent(shock, signed=True)}, equity {escape(money(equity))}">●</span>')

    return before, after, here


def sweep_html(sweep: SweepView, shock: float, dark: bool = False) -> str:
    """Equity and maintenance margin across every whole-market shock [%] (the account held
    unchanged at each), the current shock (●, with a dotted line), and where each pool would be
    liquidated (✕) or bankrupt (◆). Light HTML, like the waterfall: the two curves are one SVG
    image, the axes, marks and legend are text, and hovering shows the numbers every 5 % of
    shock. A Plotly figure here cost the browser more than the rest of the lab on every step.

    >>> from ui.views.lab import SweepView
    >>> sweep = SweepView(label="As built", grid=np.linspace(-0.9, 0.9, 361),
    ...                   equity=np.linspace(0, 200, 361), maintenance=np.full(361, 20.0), marks=())
    >>> html = sweep_html(sweep, -0.05)
    >>> 'data-chart="Equity across every market shock, as built"' in html, 'data-here="-5.00"' in html
    (True, True)
    """
    before, after, here = sweep_html_parts(sweep, dark)
    return before + here(shock) + after
