"""The lab's two charts in light HTML: the equity-sharing waterfall and the shock-range chart.

Why HTML and not Plotly: Streamlit draws a changed Plotly chart anew on every slider step (a
new figure is a new element); that alone cost the browser more than the rest of the lab. These
pictures are a few dozen positioned boxes and, for curves, one SVG image (an ``<img>``, which
any HTML sanitizer keeps), and ``ui/shell/live_html.py`` changes only what differs between
steps (``tools/bench_ui.py``). Colours from :mod:`ui.common.palette`, never alone: every
series also has its own dash or glyph and a label; each ``*_takeaway`` gives the one line of
words that goes next to its chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable, Sequence
from urllib.parse import quote

import numpy as np

from margin.numbers import money, percent
from ui.common.words import compact
from ui.common.palette import BLUE, GREEN, ORANGE, PURPLE, SKY, VERMILLION
from ui.lab.marks import MARK_STACK_PX, free_top  # noqa: F401  (MARK_STACK_PX: read as the chart's too)
from ui.lab.model import PoolGroup
from ui.lab.sweep import SweepScale, SweepView, nearest_mark, shock_text, sweep_scale
from ui.lab.sliders import in_sentence

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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Frame:
    """Where a waterfall's plot area lies [px] and how many bar slots it holds."""

    left: int
    right: int
    top: int
    plot_h: float
    low: float
    high: float
    units: float

    def y_of(self, value: float) -> float:
        return self.top + (self.high - value) / ((self.high - self.low) or 1.0) * self.plot_h

    def x_at(self, unit: float) -> str:
        """CSS left of a point ``unit`` bar slots into the plot area."""
        return f"calc({self.left}px + (100% - {self.left + self.right}px) * {unit / self.units:.5f})"

    def width(self, slots: float) -> str:
        return f"calc((100% - {self.left + self.right}px) * {slots / self.units:.5f})"


def _spans(groups: Sequence[PoolGroup]) -> list[tuple[float, float]]:
    """Running levels: where each bar starts and ends [USDT]."""
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
    return spans


def _pool_head(frame: _Frame, group: PoolGroup, unit: float, members: int) -> list[str]:
    """A pool's name over its bars and its maintenance line across them."""
    when = "now" if group.moment == "now" else "just before its liquidation"
    return [f'<div class="ml-wf-group" style="left:{frame.x_at(unit)};width:{frame.width(members)}">'
            f'<b>{escape(group.name)}</b><br>({when})</div>',
            f'<div class="ml-wf-maintenance" style="top:{frame.y_of(group.maintenance_margin) - 1.5:.1f}px;'
            f'left:{frame.x_at(unit + 0.05)};width:{frame.width(members - 0.1)}" '
            f'title="{escape(group.name)}: maintenance margin {escape(money(group.maintenance_margin))}"></div>']


def _bar(frame: _Frame, bar, start: float, end: float, unit: float, *, crowded: bool, many: bool) -> list[str]:
    """One bar: its box, its value written on it (upright when the bars are crowded) and its
    label under the plot."""
    y_top, y_bottom = frame.y_of(max(start, end)), frame.y_of(min(start, end))
    kind = ("adds" if bar.value >= 0 else "drains") if bar.measure == "relative" else "level"
    signed = bar.measure == "relative"
    parts = [f'<div class="ml-wf-bar ml-svg-{kind}" style="left:{frame.x_at(unit + 0.14)};top:{y_top:.1f}px;'
             f'height:{max(y_bottom - y_top, 1.0):.1f}px;width:{frame.width(0.72)}" '
             f'data-bar="{escape(bar.label)}" data-measure="{bar.measure}" data-value="{bar.value:.2f}" '
             f'title="{escape(bar.label)}: {escape(money(bar.value, signed=signed))}"></div>']
    value = compact(bar.value, signed=signed).replace("-", "−")
    if crowded:  # upright text would run into the next bar's: written bottom to top instead
        where = (f"bottom:{WATERFALL_HEIGHT - y_top + 3:.1f}px" if kind != "drains" else f"top:{y_bottom + 3:.1f}px")
        parts.append(f'<span class="ml-wf-value ml-wf-upright" style="left:{frame.x_at(unit + 0.5)};{where}">'
                     f'{value}</span>')
    else:
        value_y = y_top - 16 if kind != "drains" else y_bottom + 1
        parts.append(f'<span class="ml-wf-value" style="left:{frame.x_at(unit + 0.5)};top:{value_y:.1f}px">'
                     f'{value}</span>')
    parts.append(f'<span class="ml-wf-label{" ml-wf-slanted" if many else ""}" style="left:{frame.x_at(unit + 0.5)};'
                 f'top:{frame.top + frame.plot_h + 4}px">{escape(bar.label)}</span>')
    return parts


WATERFALL_LEGEND = ('<div class="ml-legend"><span><i class="ml-key ml-svg-adds"></i>adds (profit, +)</span>'
                    '<span><i class="ml-key ml-svg-drains"></i>drains (loss, −)</span>'
                    '<span><i class="ml-key ml-svg-level"></i>wallet, margin, equity</span>'
                    '<span><i class="ml-key-line"></i>maintenance margin</span></div>')


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
    title = f"Equity sharing, {in_sentence(variant)}"
    head = (f'<div class="ml-chart-head"><div class="ml-chart-title">{escape(title)}</div>'
            f'<div class="ml-note">What each position\'s PnL adds to or drains from its pool [USDT]</div></div>')
    bars = [(group_index, bar) for group_index, group in enumerate(groups) for bar in group.bars]
    if not bars:
        return f'<div class="ml-chart">{head}<p>No positions, so no pool to draw.</p></div>'
    spans = _spans(groups)
    levels = [v for span in spans for v in span] + [g.maintenance_margin for g in groups] + [0.0]
    ticks = nice_ticks(min(levels), max(levels))
    many, crowded = len(bars) > 6, len(bars) > 10  # crowded: value labels written upright
    top, gap = 46, 0.5  # [px] above the plot; [bar slots] between pools
    frame = _Frame(left=50, right=6, top=top, plot_h=WATERFALL_HEIGHT - top - (92 if many else 34),
                   low=min(ticks[0], min(levels)), high=max(ticks[-1], max(levels)),
                   units=len(bars) + gap * (len(groups) - 1))
    parts = [_y_axis_html(ticks, frame.y_of, frame.left, frame.right, unit_top=top - 28)]
    unit = 0.0
    previous_group, previous_end = None, None
    for (group_index, bar), (start, end) in zip(bars, spans):
        if previous_group is not None and group_index != previous_group:
            unit += gap
            previous_end = None
        if group_index != previous_group:
            members = sum(1 for g, _ in bars if g == group_index)
            parts += _pool_head(frame, groups[group_index], unit, members)
        if previous_end is not None:
            parts.append(f'<div class="ml-wf-connector" style="top:{frame.y_of(previous_end):.1f}px;'
                         f'left:{frame.x_at(unit - 0.14)};width:{frame.width(0.28)}"></div>')
        parts += _bar(frame, bar, start, end, unit, crowded=crowded, many=many)
        previous_group, previous_end = group_index, end
        unit += 1
    min_width = frame.left + frame.right + frame.units * MIN_SLOT
    drawing = (f'<div class="ml-chart-scroll"><div class="ml-wf" role="img" '
               f'aria-label="{escape(waterfall_takeaway(groups))}" '
               f'style="height:{WATERFALL_HEIGHT}px;min-width:{min_width:.0f}px">{"".join(parts)}</div></div>')
    return f'<div class="ml-chart" data-chart="{escape(title)}">{head}{WATERFALL_LEGEND}{drawing}</div>'


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
    """Where the first liquidation and bankruptcy lie on either side of the current shock, and
    what the chart cuts off below its value axis (:func:`clip_words`)."""
    cut = clip_words(sweep_scale(sweep))
    text = _crossings_words(sweep, shock)
    return f"{text} {cut}" if cut else text


def _crossings_words(sweep: SweepView, shock: float) -> str:
    liq = nearest_mark(sweep, shock, kind="liquidation")
    if liq is None and sweep.open_positions == 0:
        return f"Nothing is open {in_sentence(sweep.label)}: every position has been closed, so no shock liquidates it now."
    if liq is None:
        return (f"With no trade added or closed, the account {in_sentence(sweep.label)} is liquidated by no market shock "
                f"between {percent(sweep.grid[0])} and {percent(sweep.grid[-1], signed=True)}.")
    bank = nearest_mark(sweep, liq.shock, {liq.pool}, kind="bankruptcy")
    text = (f"With no trade added or closed, from the sliders' prices the {liq.pool} is liquidated at a market shock of "
            f"{shock_text(liq)}")
    if bank is not None:
        text += f" and bankrupt at {shock_text(bank)}"
    return text + f"; you are at {percent(shock, signed=True)}."


def clip_words(scale: SweepScale) -> str:
    """What the chart leaves out below its value axis, in words ("" when nothing is cut).

    >>> words = clip_words(SweepScale(low=-9_000, high=170_000, clipped=True, lowest=-116_368, lowest_at=-0.9))
    >>> words[:80]
    'The chart is cut at -9,000.00 USDT: held unchanged, the equity would fall to -11'
    >>> clip_words(SweepScale(low=-500, high=9_000, clipped=False, lowest=-500, lowest_at=-0.9))
    ''
    """
    if not scale.clipped:
        return ""
    return (f"The chart is cut at {money(scale.low)}: held unchanged, the equity would fall to {money(scale.lowest)} "
            f"at a {percent(scale.lowest_at, signed=True)} shock, a loss the account never has, since it is liquidated "
            f"first and what passes bankruptcy is the insurance fund's.")


SWEEP_HEIGHT = 390  # [px] of the drawing (the plot area and its axes)
SWEEP_BOX = dict(left=58, right=24, top=30, bottom=50)  # [px] around the plot area
CUT_ROW = 18  # [px] taken from the plot area for the line that says the curve is cut
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _SweepFrame:
    """The shock-range chart's plot area [px] and its scales: shocks ``g0 .. g1`` [fraction]
    across, values ``low .. high`` [USDT] up."""

    left: int
    right: int
    top: int
    plot_h: float
    g0: float
    g1: float
    low: float
    high: float

    def frac_x(self, shock: float) -> float:
        return (shock - self.g0) / ((self.g1 - self.g0) or 1.0)

    def x_css(self, shock: float) -> str:
        frac = min(max(self.frac_x(shock), 0.0), 1.0)
        return f"calc({self.left}px + (100% - {self.left + self.right}px) * {frac:.5f})"

    def y_px(self, value: float) -> float:
        return self.top + (self.high - value) / ((self.high - self.low) or 1.0) * self.plot_h


def _sweep_head(title: str, equity_colour: str, cut: str = "") -> str:
    """The title, the note and the legend; the picture's label says what is cut below the axis
    (``cut``), as the takeaway under the chart does."""
    note = "The account as it stands now, no trade added or closed, at each shock [USDT]."
    label = f"{title}. {cut}" if cut else title
    return (f'<div class="ml-chart ml-sweep" data-chart="{escape(title)}">'
            f'<div class="ml-chart-head"><div class="ml-chart-title">{escape(title)}</div>'
            f'<div class="ml-note">{escape(note)}</div></div>'
            '<div class="ml-legend">'
            f'<span><i class="ml-key-line" style="border-top:3px solid {equity_colour}"></i>equity</span>'
            '<span><i class="ml-key-line"></i>maintenance margin</span>'
            f'<span><b style="color:{GREEN}">●</b> you are here</span>'
            f'<span><b style="color:{VERMILLION}">✕</b> liquidated</span>'
            f'<span><b style="color:{PURPLE}">◆</b> bankrupt</span></div>'
            f'<div class="ml-wf" role="img" aria-label="{escape(label)}" style="height:{SWEEP_HEIGHT}px">')


def _sweep_axes(frame: _SweepFrame, ticks: Sequence[float]) -> list[str]:
    """The value axis, the shock labels every 30 % and the axis title."""
    parts = [_y_axis_html(ticks, frame.y_px, frame.left, frame.right, unit_top=frame.top - 26,
                          label=lambda t: compact(t).replace("-", "−"))]
    for t in np.arange(math.ceil(frame.g0 * 100 / 30 - 1e-9) * 30, frame.g1 * 100 + 1e-9, 30):
        label = "0 %" if t == 0 else f"{t:+.0f} %".replace("-", "−")
        parts.append(f'<span class="ml-wf-label" style="left:{frame.x_css(t / 100)};'
                     f'top:{frame.top + frame.plot_h + 9}px">{label}</span>')
    parts.append(f'<span class="ml-wf-tick" style="left:{frame.left}px;right:{frame.right}px;text-align:center;'
                 f'top:{frame.top + frame.plot_h + 28}px">Whole-market shock [%]</span>')
    return parts


def _sweep_bands_and_marks(frame: _SweepFrame, sweep: SweepView) -> list[str]:
    """Hover bands (the numbers under the pointer, every 5 % of shock) and the ✕ ◆ marks."""
    parts = []
    grid, left, right = sweep.grid, frame.left, frame.right
    band = HOVER_STEP / ((frame.g1 - frame.g0) or 1.0)
    for centre in np.arange(math.ceil(frame.g0 / HOVER_STEP) * HOVER_STEP, frame.g1 + 1e-9, HOVER_STEP):
        equity = float(np.interp(centre, grid, sweep.equity))
        maintenance = float(np.interp(centre, grid, sweep.maintenance))
        parts.append(f'<div class="ml-sweep-band" style="left:calc({left}px + (100% - {left + right}px) * '
                     f'{max(frame.frac_x(centre) - band / 2, 0):.5f});width:calc((100% - {left + right}px) * '
                     f'{band:.5f});top:{frame.top}px;height:{frame.plot_h}px" title="Shock '
                     f'{percent(centre, signed=True)}: equity {escape(money(equity))}, maintenance margin '
                     f'{escape(money(maintenance))}"></div>')
    placed: list[tuple[float, float]] = []  # (x [% of the axis], top [px]) of the marks drawn so far
    for mark in sorted(sweep.marks, key=lambda m: m.kind != "liquidation"):  # every ✕ on its spot first
        glyph, colour = ("✕", VERMILLION) if mark.kind == "liquidation" else ("◆", PURPLE)
        what = "liquidated" if mark.kind == "liquidation" else "bankrupt"
        x = 100.0 * frame.frac_x(mark.shock)
        # a glyph may reach half its height past the plot's foot: a ◆ just under its ✕ at equity 0
        # stays under it (above, it would read as a bankruptcy at a far higher equity)
        top = free_top(x, frame.y_px(mark.equity) - 9, placed, frame.top - 9,
                        frame.top + frame.plot_h - 9 + MARK_STACK_PX / 2)
        placed.append((x, top))
        parts.append(f'<span class="ml-sweep-mark" style="left:{frame.x_css(mark.shock)};'
                     f'top:{top:.1f}px;color:{colour}" title="'
                     f'{escape(mark.pool[0].upper() + mark.pool[1:])} {what} at a shock of '
                     f'{shock_text(mark)}">{glyph}</span>')
    return parts


def sweep_html_parts(sweep: SweepView, dark: bool = False) -> tuple[str, str, Callable[[float], str]]:
    """The shock-range chart as light HTML, in two fixed halves and a function that draws the
    current point between them: ``before + here(shock) + after``. The halves depend only on
    the sweep (build them once per account, prices and variant); a shock step only redraws the
    point [shock as a fraction]. See :func:`sweep_html`."""
    grid = sweep.grid
    scale = sweep_scale(sweep)
    ticks = nice_ticks(scale.low, scale.high)
    low = scale.low if scale.clipped else ticks[0]  # cut: the axis stops at the floor, not a tick below
    frame = _SweepFrame(left=SWEEP_BOX["left"], right=SWEEP_BOX["right"], top=SWEEP_BOX["top"],
                        plot_h=SWEEP_HEIGHT - SWEEP_BOX["top"] - SWEEP_BOX["bottom"] - (CUT_ROW if scale.clipped else 0),
                        g0=float(grid[0]),
                        g1=float(grid[-1]), low=low, high=ticks[-1])
    equity_colour = SKY if dark else BLUE
    units_x = (grid - frame.g0) / ((frame.g1 - frame.g0) or 1.0) * 1000

    def units_y(values: np.ndarray) -> np.ndarray:
        # below the floor the curve leaves the picture (an SVG image clips at its edge)
        return np.minimum((frame.high - values) / ((frame.high - frame.low) or 1.0) * 1000, 1010.0)

    image = _svg_image([(units_x, units_y(sweep.maintenance), ORANGE, 2.5, "7 5"),
                        (units_x, units_y(sweep.equity), equity_colour, 3, "")])
    cut = clip_words(scale)
    parts = [_sweep_head(f"Equity across every market shock, {in_sentence(sweep.label)}", equity_colour, cut)]
    parts += _sweep_axes(frame, [t for t in ticks if t >= low])
    parts.append(f'<img src="{image}" alt="" style="left:{frame.left}px;top:{frame.top}px;'
                 f'width:calc(100% - {frame.left + frame.right}px);height:{frame.plot_h}px">')
    if cut:
        parts.append(f'<span class="ml-wf-tick" style="left:{frame.left}px;right:{frame.right}px;text-align:center;'
                     f'top:{frame.top + frame.plot_h + 46:.1f}px">▼ the curve goes on below '
                     f'{compact(low).replace("-", "−")} USDT, cut here</span>')
    parts += _sweep_bands_and_marks(frame, sweep)

    def here(shock: float) -> str:
        equity = float(np.interp(shock, grid, sweep.equity))
        return (f'<div class="ml-sweep-now" style="left:{frame.x_css(shock)};top:{frame.top}px;'
                f'height:{frame.plot_h}px"></div>'
                f'<span class="ml-sweep-here" data-here="{shock * 100:.2f}" style="left:{frame.x_css(shock)};'
                f'top:{frame.y_px(max(equity, frame.low)) - 10:.1f}px;color:{GREEN}" title="You are here: shock '
                f'{percent(shock, signed=True)}, equity {escape(money(equity))}">●</span>')

    return "".join(parts), "</div></div>", here


def sweep_html(sweep: SweepView, shock: float, dark: bool = False) -> str:
    """Equity and maintenance margin across every whole-market shock [%] (the account held
    unchanged at each), the current shock (●, with a dotted line), and where each pool would be
    liquidated (✕) or bankrupt (◆). Light HTML, like the waterfall: the two curves are one SVG
    image, the axes, marks and legend are text, and hovering shows the numbers every 5 % of
    shock. A Plotly figure here cost the browser more than the rest of the lab on every step.

    >>> from ui.lab.sweep import SweepView
    >>> sweep = SweepView(label="As built", grid=np.linspace(-0.9, 0.9, 361),
    ...                   equity=np.linspace(0, 200, 361), maintenance=np.full(361, 20.0), marks=(),
    ...                   open_positions=1)
    >>> html = sweep_html(sweep, -0.05)
    >>> 'data-chart="Equity across every market shock, as built"' in html, 'data-here="-5.00"' in html
    (True, True)
    """
    before, after, here = sweep_html_parts(sweep, dark)
    return before + here(shock) + after
