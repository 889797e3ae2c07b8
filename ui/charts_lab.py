"""Figures for the price lab: pure functions from the lab's numbers to Plotly figures.

Colours are Okabe-Ito (colour-blind safe) and never carry meaning alone: every series also has
its own marker symbol or dash, and a label in the legend or on the point. Each figure has a
title that says what it shows; each ``*_takeaway`` function gives the one line of words that
goes next to it, computed from the same numbers.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from margin.scenario import Scenario
from ui.format import money, percent, price
from ui.lab_model import PoolGroup, PositionView, SweepView, market_label, nearest_mark

BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, YELLOW, GREY = "#CC79A7", "#56B4E9", "#F0E442", "#8C8C8C"
AT_RISK_RATIO = 0.8  # margin ratio from which a pool is called "at risk" (as the engine does)
GAUGE_MAX = 150.0  # [%] the gauge's scale ends here; beyond it the needle rests at the end

_MARGIN = dict(l=10, r=10, t=48, b=10)


def _layout(fig: go.Figure, title: str, height: int, subtitle: str | None = None, **kwargs) -> go.Figure:
    kwargs.setdefault("margin", _MARGIN)
    heading = dict(text=title, x=0, xanchor="left", font=dict(size=15))
    if subtitle:
        heading["subtitle"] = dict(text=subtitle, font=dict(size=12))
    fig.update_layout(title=heading, height=height, hovermode="closest", **kwargs)
    return fig


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


# ----------------------------------------------------------------------------- the price map


def price_map_figure(scenario: Scenario, slider_prices: Mapping[str, float], target: Mapping[str, float],
                     positions: Sequence[PositionView]) -> go.Figure:
    """Per market (one row each): where the slider and the shocked price are, and where each
    position is liquidated (×), bankrupt (◆) or was closed (▼), as a change from the account's
    own price [%], so every market shares one axis.
    """
    names = list(scenario.markets)
    rows = [f"{market_label(n)}" for n in names]
    base = {n: scenario.markets[n].price for n in names}

    def rel(name: str, value: float) -> float:
        return (value / base[name] - 1.0) * 100.0

    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="Slider price", x=[rel(n, slider_prices.get(n, base[n])) for n in names], y=rows,
        mode="markers", marker=dict(symbol="line-ns-open", size=22, line=dict(width=3, color=GREY)),
        hovertemplate="%{y} slider: %{customdata} USDT<extra></extra>",
        customdata=[price(slider_prices.get(n, base[n])) for n in names],
    ))
    fig.add_trace(go.Scatter(
        name="Price after the shock", x=[rel(n, target[n]) for n in names], y=rows, mode="markers+text",
        marker=dict(symbol="circle", size=12, color=BLUE), text=[price(target[n]) for n in names],
        textposition="top center", textfont=dict(size=11),
        hovertemplate="%{y} now: %{text} USDT (%{x:+.1f} % from the account's price)<extra></extra>",
    ))
    crowded = max((sum(p.market == n for p in positions) for n in names), default=0) > 2
    for name, symbol, colour, pick in (
        ("Liquidation price", "x", VERMILLION, lambda p: p.liquidation_price),
        ("Bankruptcy price", "diamond", PURPLE, lambda p: p.bankruptcy_price),
        ("Closed on the way at", "triangle-down", ORANGE, lambda p: p.closed_at if p.size <= 0 else None),
    ):
        chosen = [(p, pick(p)) for p in positions if pick(p) is not None and pick(p) > 0]
        if not chosen:
            continue
        fig.add_trace(go.Scatter(
            name=name, x=[rel(p.market, v) for p, v in chosen], y=[market_label(p.market) for p, _ in chosen],
            mode="markers" if crowded or name != "Liquidation price" else "markers+text",
            marker=dict(symbol=symbol, size=11, color=colour, line=dict(width=1.5, color=colour)),
            text=[p.label for p, _ in chosen], textposition="bottom center", textfont=dict(size=10),
            customdata=[price(v) for _, v in chosen],
            hovertemplate=f"%{{text}}: {name.lower()} %{{customdata}} USDT (%{{x:+.1f}} %)<extra></extra>",
        ))
    xs = [x for trace in fig.data for x in trace.x]
    low = max(-100.0, min([-85.0] + [x - 5 for x in xs]))
    high = min(400.0, max([85.0] + [x + 5 for x in xs]))
    fig.update_xaxes(range=[low, high], zeroline=True, ticksuffix=" %")
    fig.update_yaxes(categoryorder="array", categoryarray=rows[::-1], title_text=None)
    height = 150 + 58 * len(names)
    plot_height = height - 62 - 10
    return _layout(fig, "Where each position breaks, market by market", height,
                   subtitle="Change from the account's own price [%]; labels in USDT",
                   legend=dict(orientation="h", yanchor="top", y=-32 / plot_height, x=0),
                   margin=dict(l=10, r=10, t=62, b=10))


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


def gauge_figure(ratio: float | None, pool: str | None) -> go.Figure:
    """Maintenance margin as a share of equity [%] of the riskiest open pool; 100 % = liquidation."""
    if ratio is None:
        fig = go.Figure(go.Indicator(
            mode="gauge", value=0, gauge=dict(axis=dict(range=[0, GAUGE_MAX], ticksuffix=" %"),
                                               bar=dict(color="rgba(0,0,0,0)")),
            title=dict(text="Margin ratio: no open positions", font=dict(size=13)),
        ))
        return _layout(fig, "", 170, margin=dict(l=25, r=25, t=40, b=5))
    value = ratio * 100 if math.isfinite(ratio) else GAUGE_MAX
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=min(value, GAUGE_MAX),
        number=dict(suffix=" %", valueformat=".1f", font=dict(size=26)),
        gauge=dict(
            axis=dict(range=[0, GAUGE_MAX], ticksuffix=" %", tickvals=[0, 50, 80, 100, 150]),
            bar=dict(color=BLUE, thickness=0.35),
            steps=[dict(range=[0, AT_RISK_RATIO * 100], color="rgba(86,180,233,0.25)"),
                   dict(range=[AT_RISK_RATIO * 100, 100], color="rgba(230,159,0,0.45)"),
                   dict(range=[100, GAUGE_MAX], color="rgba(213,94,0,0.45)")],
            threshold=dict(line=dict(color=VERMILLION, width=4), thickness=0.9, value=100),
        ),
        title=dict(text=f"Margin ratio, {pool}", font=dict(size=13)),
    ))
    return _layout(fig, "", 170, margin=dict(l=25, r=25, t=40, b=5))


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


def waterfall_figure(groups: Sequence[PoolGroup], variant: str) -> go.Figure:
    """Each pool as a waterfall: its wallet (cross) or margin (isolated), each position's PnL
    adding (up) or draining (down), the pool's equity, against its maintenance margin (dashed)."""
    x, measure, y, text, hover = [], [], [], [], []
    segments_x: list[str | None] = []
    segments_y: list[float | None] = []
    annotations = []
    for group in groups:
        first = len(x)
        for bar in group.bars:
            x.append(bar.label)
            measure.append(bar.measure)
            y.append(0.0 if bar.measure == "total" else bar.value)
            text.append(compact(bar.value, signed=bar.measure == "relative"))
            hover.append(f"{bar.label}: {money(bar.value, signed=bar.measure == 'relative')}")
        segments_x += [x[first], x[-1], None]
        segments_y += [group.maintenance_margin, group.maintenance_margin, None]
        when = "now" if group.moment == "now" else "just before its liquidation"
        annotations.append(dict(
            x=(first + len(x) - 1) / 2, y=1.0, yref="paper", xref="x", yanchor="bottom", showarrow=False,
            text=f"<b>{group.name}</b> ({when})", font=dict(size=11),
        ))
    fig = go.Figure()
    fig.add_trace(go.Waterfall(
        name="Equity", x=x, y=y, measure=measure, text=text, textposition="outside",
        hovertext=hover, hoverinfo="text", connector=dict(line=dict(color=GREY, width=1, dash="dot")),
        increasing=dict(marker=dict(color=BLUE)), decreasing=dict(marker=dict(color=VERMILLION)),
        totals=dict(marker=dict(color=GREY)),
    ))
    fig.add_trace(go.Scatter(
        name="Maintenance margin (dashed)", x=segments_x, y=segments_y, mode="lines",
        line=dict(color=ORANGE, width=3, dash="dash"), hoverinfo="skip",
    ))
    fig.update_layout(annotations=annotations, showlegend=True,
                      legend=dict(orientation="h", y=-0.32, x=0), waterfallgap=0.25)
    fig.update_yaxes(title_text="USDT", zeroline=True)
    fig.update_xaxes(tickangle=-30 if len(x) > 6 else 0, automargin=True)
    return _layout(fig, f"Equity sharing, {variant.lower()}", 420,
                   subtitle="What each position's PnL adds to or drains from its pool [USDT]",
                   margin=dict(l=10, r=10, t=96, b=10))


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


def shock_sweep_figure(sweep: SweepView, shock: float) -> go.Figure:
    """Equity and maintenance margin across every whole-market shock [%], the current shock,
    and where each pool would be liquidated (×) or bankrupt (◆)."""
    grid = sweep.grid * 100
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="Equity", x=grid, y=sweep.equity, mode="lines", line=dict(color=BLUE, width=3),
        hovertemplate="shock %{x:+.1f} %: equity %{y:,.0f} USDT<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        name="Maintenance margin", x=grid, y=sweep.maintenance, mode="lines",
        line=dict(color=ORANGE, width=2.5, dash="dash"),
        hovertemplate="shock %{x:+.1f} %: maintenance %{y:,.0f} USDT<extra></extra>",
    ))
    now = float(np.interp(shock, sweep.grid, sweep.equity))
    fig.add_trace(go.Scatter(
        name="You are here", x=[shock * 100], y=[now], mode="markers",
        marker=dict(symbol="circle", size=14, color=GREEN, line=dict(width=2, color="white")),
        hovertemplate="now: shock %{x:+.1f} %, equity %{y:,.0f} USDT<extra></extra>",
    ))
    few = len(sweep.marks) <= 4
    for kind, symbol, colour, label in (("liquidation", "x", VERMILLION, "Liquidated"),
                                        ("bankruptcy", "diamond", PURPLE, "Bankrupt")):
        marks = [m for m in sweep.marks if m.kind == kind]
        if not marks:
            continue
        fig.add_trace(go.Scatter(
            name=label, x=[m.shock * 100 for m in marks],
            y=[m.equity for m in marks], mode="markers+text" if few and kind == "liquidation" else "markers",
            marker=dict(symbol=symbol, size=12, color=colour, line=dict(width=1.5, color=colour)),
            text=[m.pool for m in marks], textposition="top left",
            hovertemplate=f"%{{text}}: {label.lower()} at a shock of %{{x:+.2f}} %<extra></extra>",
        ))
    fig.add_vline(x=shock * 100, line=dict(color=GREEN, width=1, dash="dot"))
    fig.update_xaxes(title_text="Whole-market shock [%]", ticksuffix=" %", range=[grid[0], grid[-1]])
    fig.update_yaxes(title_text="USDT", zeroline=True)
    return _layout(fig, f"Equity across every market shock, {sweep.label.lower()}", 420,
                   subtitle="The account held unchanged at each shock [USDT]",
                   legend=dict(orientation="h", y=-0.25, x=0), margin=dict(l=10, r=10, t=70, b=10))


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
