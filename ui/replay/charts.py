"""Figures for the crash replay: pure functions from a replay (up to a step) to Plotly figures.

Okabe-Ito colours, never alone: each variant has its own dash and marker, each event type its
own symbol; in the money bars each variant has its own pattern and every bar its amount. The
fourth way, "collateral in USDT", has its own colour, dash, marker and pattern too.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ui.common.frame import money_hover, price_range, titled, MARGIN
from ui.common.palette import BLACK, BLUE, GREEN, GREY, ORANGE, PURPLE, VERMILLION, WHITE, tint
from margin.replay import MoneySplit, Replay, WickCheck
from margin.numbers import price
from margin.presets import market_label
from margin.variants import USDT_COLLATERAL_LABEL
from ui.common.text import plot_text
from ui.common.words import compact, position_labels
from ui.replay.model import TIMELINE_KINDS, TimelinePoint, ways_text


VARIANT_STYLE = {  # colour, dash, marker symbol
    "As built": (BLUE, "solid", "circle"),
    "All cross": (ORANGE, "dash", "square"),
    "All isolated": (GREEN, "dot", "diamond"),
    USDT_COLLATERAL_LABEL: (PURPLE, "dashdot", "triangle-up"),
}
EVENT_STYLE = {  # colour, marker symbol
    "liquidation": (VERMILLION, "x"),
    "partial_liquidation": (ORANGE, "triangle-down"),
    "bankruptcy": (PURPLE, "diamond"),
    "insurance_fund_payout": (BLUE, "square"),
    "socialized_loss": (GREY, "star"),
}
VARIANT_PATTERN = {"As built": "", "All cross": "/", "All isolated": ".", USDT_COLLATERAL_LABEL: "x"}
MONEY_BUCKETS = (  # field, label
    ("kept", "Kept by the trader"),
    ("taken_by_fund", "Taken by the insurance fund<br>(fees + leftover margin)"),
    ("lost_to_market", "Lost to price moves"),
    ("paid_by_fund", "Paid by the insurance fund<br>(loss beyond margin)"),
    ("socialized", "Socialized<br>(auto-deleveraging)"),
)
FUNDING_BUCKETS = (  # shown only when some way of the account paid or received funding
    ("funding_paid", "Paid in funding"),
    ("funding_received", "Received in funding"),
)


def _hours(model: Replay) -> np.ndarray:
    return model.crash.minutes() / 60.0


def _now_line(fig: go.Figure, hours: float) -> None:
    fig.add_vline(x=hours, line=dict(color=GREY, width=1.5, dash="dot"),
                  annotation=dict(text="now", font=dict(size=10, color=GREY)), annotation_position="top")


def equity_figure(model: Replay, upto: int) -> go.Figure:
    """Each variant's total equity after every step up to ``upto`` [USDT], on the whole crash's
    time axis (so the chart does not rescale while it plays)."""
    hours = _hours(model)
    fig = go.Figure()
    top = 0.0
    for label in model.results:
        equity = model.equity(label)
        top = max(top, float(equity.max()))
        colour, dash, symbol = VARIANT_STYLE[label]
        fig.add_trace(go.Scatter(
            name=label, x=hours[: upto + 1], y=equity[: upto + 1], mode="lines+markers",
            line=dict(color=colour, dash=dash, width=2.5),
            marker=dict(symbol=symbol, size=7, color=colour, maxdisplayed=24),
            hovertemplate=f"{label}: %{{y:{money_hover(equity)}}} USDT at %{{x:.2f}} h<extra></extra>",
        ))
    _now_line(fig, float(hours[upto]))
    fig.update_xaxes(title_text="Time since the crash began [hours]", range=[0, float(hours[-1])])
    fig.update_yaxes(title_text="Equity [USDT]", range=[0, top * 1.08 + 1], tickformat=",.0f")
    # four names do not fit a half-page title: the legend names them
    title = f"Equity over time: {ways_text(model)}" if len(model.results) <= 3 else "Equity over time, four ways"
    return titled(fig, title, 340,
                   legend=dict(orientation="h", y=-0.22, x=0))


def timeline_figure(model: Replay, points: Sequence[TimelinePoint], upto: int) -> go.Figure:
    """Events up to step ``upto``: one row per variant, one marker symbol per event type."""
    hours = _hours(model)
    fig = go.Figure()
    rows = list(model.results)
    # a payout shares its bankruptcy's moment: nudge stacked markers apart vertically
    offsets = {"liquidation": -0.26, "partial_liquidation": -0.26, "bankruptcy": 0.0,
               "insurance_fund_payout": 0.26, "socialized_loss": 0.26}
    for kind, words in TIMELINE_KINDS.items():
        colour, symbol = EVENT_STYLE[kind]
        shown = [p for p in points if p.kind == kind and p.row <= upto]
        fig.add_trace(go.Scatter(
            name=words, x=[p.hours for p in shown],
            y=[rows.index(p.variant) + offsets[kind] for p in shown], mode="markers",
            marker=dict(symbol=symbol, size=11, color=colour, line=dict(width=1.5, color=colour)),
            text=[plot_text(f"{p.variant}: {p.text}") for p in shown],
            hovertemplate="%{text}<br>at %{x:.2f} h<extra></extra>",
        ))
    _now_line(fig, float(hours[upto]))
    span = float(hours[-1])
    fig.update_xaxes(title_text="Time since the crash began [hours]", range=[-0.02 * span, span * 1.02])
    fig.update_yaxes(tickvals=list(range(len(rows))), ticktext=rows, range=[len(rows) - 0.5, -0.5],
                     showgrid=False, zeroline=False)
    for k in range(len(rows) - 1):  # a faint rule between the variants' rows
        fig.add_hline(y=k + 0.5, line=dict(color=GREY, width=0.5))
    return titled(fig, "Events on the timeline", 340, legend=dict(orientation="h", y=-0.25, x=0))


def timeline_takeaway(points: Sequence[TimelinePoint], upto: int, hours_now: float) -> str:
    """How many events so far, by kind."""
    shown = [p for p in points if p.row <= upto]
    if not shown:
        later = len(points)
        tail = f" ({later} still to come)" if later else " (and none will come in this crash)"
        return f"Nothing has been liquidated in the first {hours_now:.1f} hours{tail}."
    counts = {}
    for p in shown:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    plural = {"bankruptcy": "bankruptcies", "socialized_loss": "socialized losses"}
    parts = [f"{n} {plural.get(k, TIMELINE_KINDS[k].lower() + 's') if n > 1 else TIMELINE_KINDS[k].lower()}"
             for k, n in counts.items()]
    return f"So far: {', '.join(parts)}."


def money_figure(splits: Mapping[str, MoneySplit]) -> go.Figure:
    """Where the money went by the end, per variant [USDT]: grouped bars per bucket."""
    fig = go.Figure()
    funded = any(s.funding_paid > 0.005 or s.funding_received > 0.005 for s in splits.values())
    buckets = MONEY_BUCKETS + (FUNDING_BUCKETS if funded else ())
    categories = [label for _, label in buckets]
    for variant, split in splits.items():
        colour, _, _ = VARIANT_STYLE[variant]
        values = [float(getattr(split, field)) for field, _ in buckets]
        fig.add_trace(go.Bar(  # across, not up: the buckets' long names stay level on a 390 px phone
            name=f"{variant} (started with {compact(split.start)})", y=categories, x=values, orientation="h",
            marker=dict(color=colour, pattern=dict(shape=VARIANT_PATTERN[variant], fillmode="overlay",
                                                   fgcolor=tint(WHITE, 0.7), size=7)),
            text=[compact(v) if abs(v) >= 0.5 else "0" for v in values], textposition="outside", cliponaxis=False,
            hovertemplate=f"{variant}: %{{y}}: %{{x:{money_hover(values)}}} USDT<extra></extra>",
        ))
    fig.update_xaxes(title_text="USDT", tickformat=",.0f", nticks=4, tickangle=0)
    fig.update_yaxes(autorange="reversed")  # the buckets top to bottom in the order of the words under it
    fig.add_vline(x=0, line=dict(color=GREY, width=1))
    height = 140 + 22 * len(categories) * len(splits)
    return titled(fig, "Where the money went by the end of the crash", height, barmode="group",
                   margin=dict(MARGIN, r=48),  # room for the longest bar's label
                   legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))


def _add_liquidation_lines(fig: go.Figure, model: Replay, check: WickCheck, variant: str, upto: int,
                           low: float, high: float) -> None:
    """A stepped line per position at its liquidation price [USDT]; one off the chart says where."""
    hours = _hours(model)
    labels = {pid: plot_text(label) for pid, label in position_labels(model.variants[variant]).items()}
    dashes = ("dash", "longdash", "dashdot", "longdashdot")
    for i, pid in enumerate(check.position_ids):
        series = check.liquidation_price[: upto + 1, i]
        if np.all(np.isnan(series)):
            continue
        legend = f"Liquidation price, {labels[pid]}"
        now = series[~np.isnan(series)][-1]
        if np.isfinite(now) and (now < low or now > high):  # off the chart: the legend says where
            legend += f" ({price(now)} USDT, {'below' if now < low else 'above'} the chart)"
        fig.add_trace(go.Scatter(
            name=legend, x=hours[: upto + 1], y=series, mode="lines",
            line=dict(color=VERMILLION, width=1.5, dash=dashes[i % len(dashes)], shape="hv"),
            hovertemplate=f"{labels[pid]} liquidated at %{{y:,.6~r}} USDT<extra></extra>",
        ))


def _add_wick_marks(fig: go.Figure, check: WickCheck, hours: np.ndarray, mark: np.ndarray, last: np.ndarray,
                    upto: int) -> None:
    """Rings where the candle touched a liquidation price without one; crosses for the reverse."""
    touched = np.argwhere(check.touched_not_liquidated[: upto + 1])
    if touched.size:
        rows = touched[:, 0]
        fig.add_trace(go.Scatter(
            name="Candle touched the liquidation price, no liquidation", x=hours[rows], y=last[rows],
            mode="markers", marker=dict(symbol="circle-open", size=14, color=BLACK, line=dict(width=2)),
            hovertemplate="the candle touched the liquidation price at %{x:.2f} h; the mark did not<extra></extra>",
        ))
    reverse = np.argwhere(check.liquidated_not_touched[: upto + 1])
    if reverse.size:
        rows = reverse[:, 0]
        fig.add_trace(go.Scatter(
            name="Liquidated on the mark, candle above", x=hours[rows], y=mark[rows], mode="markers",
            marker=dict(symbol="x-open", size=14, color=PURPLE, line=dict(width=2)),
            hovertemplate="liquidated on the mark at %{x:.2f} h; the candle never got there<extra></extra>",
        ))


def mark_last_figure(model: Replay, market: str, check: WickCheck, variant: str, upto: int) -> go.Figure:
    """Mark and last price of ``market`` up to ``upto``, the liquidation price of each of the
    variant's positions there, and the moments the candle touched it without a liquidation
    (and the reverse)."""
    hours = _hours(model)
    column = model.path.markets.index(market)
    mark = model.path.marks[:, column]
    last = model.last_path.marks[:, column]
    name = plot_text(market_label(market))
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name=f"{name} last price (the candle)", x=hours[: upto + 1], y=last[: upto + 1], mode="lines",
        line=dict(color=GREY, width=2, dash="dot"),
        hovertemplate="last %{y:,.6~r} USDT at %{x:.2f} h<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        name=f"{name} mark price (liquidation is judged on it)", x=hours[: upto + 1], y=mark[: upto + 1],
        mode="lines", line=dict(color=BLUE, width=2.5),
        hovertemplate="mark %{y:,.6~r} USDT at %{x:.2f} h<extra></extra>",
    ))
    low, high = price_range(mark, last, check.liquidation_price)
    _add_liquidation_lines(fig, model, check, variant, upto, low, high)
    _add_wick_marks(fig, check, hours, mark, last, upto)
    gap = (mark[: upto + 1] - last[: upto + 1]) / mark[: upto + 1]
    if gap.size and gap.max() > 1e-6:
        row = int(np.argmax(gap))
        fig.add_annotation(x=hours[row], y=last[row], text=f"wick to {price(last[row])} USDT", showarrow=True,
                           arrowhead=2, ay=30, font=dict(size=11))
    fig.update_xaxes(title_text="Time since the crash began [hours]", range=[0, float(hours[-1])])
    fig.update_yaxes(title_text=f"{name} price [USDT]", tickformat=",.6~r", range=[low, high])
    return titled(fig, f"{name}: mark price against last price (the candle)", 380,
                   legend=dict(orientation="h", y=-0.28, x=0))
