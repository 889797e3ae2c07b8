"""Figures for the market cascade: pure functions from a cascade (and its tipping curve) to Plotly.

Okabe-Ito colours, never alone: lines carry markers and dashes, the heatmap prints its counts,
the tipping chart labels its reference line, the runaway shock and the current shock in words.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from margin.cascade import LEVERAGE_BUCKETS, RUNAWAY_RATIO, CascadeResult, TippingCurve
from ui.common.frame import price_range, titled  # one rule for a price axis: fit the prices, never from 0
from ui.common.palette import BLACK, BLUE, BLUES, GREY, ORANGE, VERMILLION
from margin.numbers import percent, price
from ui.common.text import plot_text

def price_rounds_figure(result: CascadeResult, market_label: str,
                        learner_lines: Sequence[tuple[str, float]] = ()) -> go.Figure:
    """The price at every round [USDT], from the start (round 0) to rest, with the learner's
    liquidation prices in this market as labelled dashed lines."""
    rounds = [r.round for r in result.rounds]
    prices = result.prices
    market_label = plot_text(market_label)
    learner_lines = [(plot_text(label), level) for label, level in learner_lines]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name=f"{market_label} price", x=rounds, y=prices, mode="lines+markers",
        line=dict(color=BLUE, width=2.5, shape="hv"), marker=dict(symbol="circle", size=7, color=BLUE),
        customdata=[percent(p / result.start_price - 1, signed=True) for p in prices],
        hovertemplate="round %{x}: %{y:,.6~r} USDT (%{customdata})<extra></extra>",
    ))
    low, high = price_range(prices, prices, np.array([level for _, level in learner_lines]), pad=0.08)
    dashes = ("dash", "dot", "dashdot", "longdash")
    for k, (label, level) in enumerate(learner_lines):
        where = "" if low <= level <= high else f" ({'below' if level < low else 'above'} the chart)"
        fig.add_trace(go.Scatter(
            name=f"Your {label}: its liquidation price, {price(level)} USDT{where}", x=[rounds[0], rounds[-1]],
            y=[level, level], mode="lines", line=dict(color=VERMILLION, width=1.5, dash=dashes[k % len(dashes)]),
            hovertemplate=f"your {label}: its liquidation price {price(level)} USDT<extra></extra>",
        ))
    fig.update_xaxes(title_text="Round (0 = before the shock)", dtick=max(1, len(rounds) // 12))
    fig.update_yaxes(title_text=f"{market_label} price [USDT]", tickformat=",.6~r", range=[low, high])
    return titled(fig, "Price by round", 330, legend=dict(orientation="h", y=-0.3, x=0))


def liquidated_rounds_figure(result: CascadeResult) -> go.Figure:
    """Liquidated notional in every round [M USDT], with the number of traders on each bar."""
    rounds = [r.round for r in result.rounds if r.round > 0]
    notional = [r.liquidated_notional / 1e6 for r in result.rounds if r.round > 0]
    counts = [r.liquidated_count for r in result.rounds if r.round > 0]
    fig = go.Figure(go.Bar(
        name="Liquidated notional", x=rounds, y=notional, marker=dict(color=VERMILLION),
        text=[f"{c:,}" if c else "" for c in counts], textposition="outside",
        customdata=counts, hovertemplate="round %{x}: %{y:,.2f} M USDT, %{customdata:,} traders<extra></extra>",
    ))
    fig.update_xaxes(title_text="Round (the label on a bar: traders liquidated)", dtick=max(1, len(rounds) // 12))
    fig.update_yaxes(title_text="Liquidated notional [M USDT]", rangemode="tozero")
    return titled(fig, "Liquidated notional by round", 330, showlegend=False)


def leverage_rounds_figure(result: CascadeResult) -> go.Figure:
    """Which leverage levels died when: liquidated notional per leverage bucket and round
    [M USDT] as a heatmap, the number of traders printed in each cell."""
    active = [r for r in result.rounds if r.round > 0]
    rounds = [r.round for r in active]
    z = np.array([r.by_leverage for r in active]).T / 1e6 if active else np.zeros((len(LEVERAGE_BUCKETS), 0))
    counts = np.array([r.count_by_leverage for r in active]).T if active else np.zeros_like(z)
    text = [[f"{int(c):,}" if c else "" for c in row] for row in counts]
    z = np.where(counts > 0, z, np.nan)
    printed = len(rounds) <= 14  # past that the cells are too narrow for numbers: hover tells them
    fig = go.Figure(go.Heatmap(
        x=rounds, y=list(LEVERAGE_BUCKETS), z=z, text=text, texttemplate="%{text}" if printed else None,
        textfont=dict(size=10),
        colorscale=BLUES, colorbar=dict(title=dict(text="M USDT", side="right"), thickness=12),
        hovertemplate="round %{x}, %{y}: %{z:,.2f} M USDT (%{text} traders)<extra></extra>", xgap=1, ygap=1,
    ))
    fig.update_xaxes(title_text="Round" + (" (the number in a cell: traders liquidated)" if printed else
                                           " (hover a cell for the number of traders)"),
                     dtick=max(1, len(rounds) // 12))
    fig.update_yaxes(title_text="Leverage", type="category")
    return titled(fig, "Which leverage levels died when", 330)


def tipping_figure(curve: TippingCurve, shock: float, final: float) -> go.Figure:
    """Final move against initial shock, both as sizes [%], with the 45° no-amplification line,
    the runaway shock and the current shock marked."""
    x = np.abs(curve.shocks) * 100
    y = np.abs(curve.final_drops) * 100
    right = float(x.max()) * 1.03
    top = float(max(x.max(), y.max())) * 1.05
    direction = "fall" if curve.shocks[0] < 0 else "rise"
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="No amplification (final = shock)", x=[0, right], y=[0, right], mode="lines",
        line=dict(color=GREY, width=1.5, dash="dash"), hoverinfo="skip",
    ))
    fig.add_trace(go.Scatter(
        name=f"{RUNAWAY_RATIO:g}× the shock", x=[0, min(right, top / RUNAWAY_RATIO)],
        y=[0, RUNAWAY_RATIO * min(right, top / RUNAWAY_RATIO)], mode="lines",
        line=dict(color=GREY, width=1, dash="dot"), hoverinfo="skip",
    ))
    fig.add_trace(go.Scatter(
        name=f"Final {direction} after the cascade", x=x, y=y, mode="lines+markers",
        line=dict(color=BLUE, width=2.5), marker=dict(symbol="circle", size=6, color=BLUE),
        customdata=curve.rounds - 1,
        hovertemplate="shock %{x:.1f} % → final %{y:.1f} % (%{customdata} rounds)<extra></extra>",
    ))
    if curve.runaway_shock is not None:
        runaway = abs(curve.runaway_shock) * 100
        fig.add_vline(x=runaway, line=dict(color=VERMILLION, width=2, dash="dashdot"),
                      annotation=dict(text=f"runaway from {runaway:.1f} %", font=dict(size=11, color=VERMILLION)),
                      annotation_position="bottom right")
    if shock != 0:
        fig.add_trace(go.Scatter(
            name="This cascade", x=[abs(shock) * 100], y=[abs(final) * 100], mode="markers",
            marker=dict(symbol="star", size=16, color=ORANGE, line=dict(width=1, color=BLACK)),
            hovertemplate="this shock %{x:.1f} % → final %{y:.1f} %<extra></extra>",
        ))
    fig.update_xaxes(title_text="Initial shock [%]", range=[0, right], ticksuffix=" %")
    fig.update_yaxes(title_text=f"Final {direction} [%]", range=[0, top], ticksuffix=" %")
    return titled(fig, "The tipping point: final move against initial shock", 330,
                   legend=dict(orientation="h", y=-0.3, x=0))
