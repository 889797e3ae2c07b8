"""A classroom room's pictures: the reveal's histogram, the class cascade's prices, the QR code.

Okabe-Ito colours, never alone: the engine's value is a labelled dashed line, the 1 % band is
named in the legend.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Any, Mapping, Sequence

import plotly.graph_objects as go
import segno

from classroom import Reveal
from classroom.questions import CLOSE_FRACTION
from margin.numbers import price
from ui.common.palette import BLUE, GREY, ORANGE, VERMILLION
from ui.common.text import plot_text
from ui.rooms.model import histogram_bins
from ui.rooms.words import RIGHT_MARK, option_label


def reveal_figure(reveal: Reveal) -> go.Figure:
    """The class's answers [the question's unit] as a histogram, the engine's value marked."""
    q = reveal.question
    value = float(q.value)
    start, size = histogram_bins(reveal.values, value)
    band = CLOSE_FRACTION * 100.0 if q.unit == "%" else CLOSE_FRACTION * abs(value)
    fig = go.Figure()
    fig.add_vrect(x0=value - band, x1=value + band, fillcolor=GREY, opacity=0.25, line_width=0)
    fig.add_trace(go.Histogram(x=list(reveal.values), xbins=dict(start=start, size=size), name="Answers",
                               marker=dict(color=BLUE, line=dict(color="#ffffff", width=1)),
                               hovertemplate="%{x}: %{y} answers<extra></extra>"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="Within 1 %",
                             marker=dict(symbol="square", size=12, color=GREY, opacity=0.5)))
    fig.add_vline(x=value, line=dict(color=VERMILLION, width=3, dash="dash"))
    fig.add_annotation(x=value, y=1, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"engine: {price(value)} {q.unit}", font=dict(color=VERMILLION, size=14))
    fig.update_xaxes(title_text=f"Answer [{q.unit}]", tickformat=",.6~r")
    fig.update_yaxes(title_text="Students", dtick=1, rangemode="tozero")
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), bargap=0.05, showlegend=True,
                      legend=dict(orientation="h", y=-0.3, x=0))
    return fig


WRAP = 30  # an option's label on the chart's axis wraps at this many characters (120 at most are typed)
ROUND_STYLE = ((BLUE, ""), (ORANGE, "/"), (GREY, "x"))  # a round's colour and pattern, never colour alone


def axis_label(index: int, option: str, right: int | None) -> str:
    """An option's label on the chart's axis: wrapped at :data:`WRAP` characters, escaped for
    Plotly, "✓ right" kept whole on the right one.

    >>> axis_label(0, "It is closed with the pool when the cross pool goes", 0)
    'A. It is closed with the pool<br>when the cross pool goes<br>✓ right'
    """
    lines = textwrap.wrap(option_label(index, option), WRAP, break_long_words=False, break_on_hyphens=False) or [""]
    if index == right:
        if len(lines[-1]) + len(RIGHT_MARK) < WRAP:
            lines[-1] += " " + RIGHT_MARK
        else:
            lines.append(RIGHT_MARK)
    return "<br>".join(plot_text(line) for line in lines)


def choice_figure(options: Sequence[str], rounds: Sequence[tuple[int, Sequence[int]]], right: int | None) -> go.Figure:
    """How many chose each option [students], one bar per option and round (``rounds``: each
    round's number and counts in the options' order); once revealed (``right``: the right
    option's index) the right option is named "✓ right" on its axis label and its bars carry a
    thick outline. Rounds differ by colour and pattern, each bar carries its count as text."""
    labels = [axis_label(i, o, right) for i, o in enumerate(options)]
    fig = go.Figure()
    for k, (number, counts) in enumerate(rounds):
        colour, pattern = ROUND_STYLE[k % len(ROUND_STYLE)]
        widths = [4 if i == right else 0.5 for i in range(len(options))]
        fig.add_trace(go.Bar(y=labels, x=list(counts), orientation="h", name=f"Round {number}",
                             text=[str(c) for c in counts], textposition="outside", cliponaxis=False,
                             marker=dict(color=colour, pattern=dict(shape=pattern), line=dict(color="#000000", width=widths)),
                             hovertemplate=f"round {number}: %{{x}} chose %{{y}}<extra></extra>"))
    top = max([max(c, default=0) for _, c in rounds] + [1])
    fig.update_xaxes(title_text="Students", dtick=max(1, math.ceil(top / 8)), range=[0, top * 1.2 + 0.5], rangemode="tozero")
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(height=120 + 46 * len(options) * max(1, len(rounds)) ** 0.5, barmode="group",
                      margin=dict(l=10, r=10, t=20, b=10), showlegend=len(rounds) > 1,
                      legend=dict(orientation="h", y=-0.25, x=0))
    return fig


def class_cascade_figure(result: Mapping[str, Any]) -> go.Figure:
    """The class market's price at every round [USDT] (0 = before the shock)."""
    rounds = [r["round"] for r in result["rounds"]]
    prices = [r["price"] for r in result["rounds"]]
    fig = go.Figure(go.Scatter(x=rounds, y=prices, mode="lines+markers", name="BTC price",
                               line=dict(color=BLUE, width=2.5, shape="hv"), marker=dict(size=7),
                               hovertemplate="round %{x}: %{y:,.0f} USDT<extra></extra>"))
    fig.update_xaxes(title_text="Round (0 = before the shock)", dtick=max(1, len(rounds) // 12))
    fig.update_yaxes(title_text="BTC price [USDT]", tickformat=",.6~r")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                      title=dict(text="Price by round", x=0, font=dict(size=15)))
    return fig


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """The join link as a QR code, PNG bytes (dark on white, a 4-module quiet zone)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


__all__ = ["choice_figure", "class_cascade_figure", "qr_png", "reveal_figure"]
