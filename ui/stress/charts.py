"""Figures and words for the stress lab: pure functions from stress results to Plotly figures,
tables, one-line takeaways and the CSV downloads (no Streamlit).

The two models are told apart by colour *and* pattern (normal: solid blue; fat tails: orange
with diagonal hatching) and by name in every legend and label. The ways of the account (as
built, all cross, all isolated, and "collateral in USDT" where the wallet holds coins) are
named on every axis, table and metric.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.common.chart_text import DECORATION, data_meta
from ui.common.palette import BLUE, GREY, ORANGE
from margin.stress import StressResult, VariantStress, summary_frame
from margin.stress.results import paired_ratio, proportion
from margin.numbers import money
from margin.variants import USDT_COLLATERAL_LABEL
from ui.lab.sliders import in_sentence

NORMAL_STYLE = dict(color=BLUE, pattern=dict(shape=""))
FAT_STYLE = dict(color=ORANGE, pattern=dict(shape="/", solidity=0.35))
_MARGIN = dict(l=10, r=10, t=70, b=10)


def fat_label(dof: float) -> str:
    """``Fat tails (ν = 3)``.

    >>> fat_label(3.0), fat_label(2.5)
    ('Fat tails (ν = 3)', 'Fat tails (ν = 2.5)')
    """
    return f"Fat tails (ν = {dof:g})"


def probability_text(p: float) -> str:
    """A probability in words people read: ``7.1 %``, ``0.04 %``, ``0 %`` (a no-break space
    keeps the number and its sign on one line).

    >>> [t.replace("\u00a0", " ") for t in map(probability_text, (0.0712, 0.0004, 0.0, 1.0))]
    ['7.1 %', '0.04 %', '0 %', '100 %']
    """
    if p <= 0:
        return "0\u00a0%"
    if p >= 1:
        return "100\u00a0%"
    if p < 0.001:
        return f"{p * 100:.2f}\u00a0%"
    return f"{p * 100:.1f}\u00a0%"


def margin_of_error(p: float, n: int) -> float:
    """Half the width of the 95 % interval (Wilson's, as every probability on the page) of a
    probability near ``p`` estimated from ``n`` paths [fraction].

    >>> round(margin_of_error(0.05, 5_000), 4), round(margin_of_error(0.0, 1_000), 4)
    (0.006, 0.0019)
    """
    told = proportion(int(round(p * n)), n)
    return (told.high - told.low) / 2


def _counted(flags: np.ndarray) -> str:
    """A probability from per-path flags with its paths and its 95 % interval (Wilson's):
    ``0.2 % (11 of 5,000 paths; 95 %: 0.1 to 0.4 %)``."""
    p = proportion(int(np.count_nonzero(flags)), int(flags.shape[0]))
    return (f"{probability_text(p.estimate)} ({p.count:,} of {p.n:,} paths; 95 %: "
            f"{_interval_percent(p.low, p.high)})")


def _interval_percent(low: float, high: float) -> str:
    """``0.1 to 0.4 %``: an interval's two ends, each with the digits :func:`probability_text` gives."""
    return (probability_text(low).replace("\u00a0%", "") if low > 0 else "0") + " to " + probability_text(high)


def _ratio_sentence(what: str, normal: np.ndarray, fat: np.ndarray, under: str) -> str:
    """One sentence: how much likelier ``what`` is under fat tails (``under`` opens the
    comparison, e.g. "Under fat tails (Student-t, ν = 3)"), from per-path flags, with each
    probability's count of paths and 95 % interval (Wilson's) and the ratio's 95 % interval.

    Both models run on the same random numbers, so the paths are paired and the ratio's interval
    is Tang's paired score interval (:func:`margin.stress.results.paired_ratio`); where it holds
    1 the paths are too few to tell the models apart, and the sentence says so.

    >>> flags = np.zeros(5_000, bool)
    >>> _ratio_sentence("a wipe-out", flags, flags, "Under fat tails").replace("\u00a0", " ")
    'Neither model produces a wipe-out in 5,000 paths (0 of 5,000 each; 95 %: below 0.08 %).'
    >>> fat = flags.copy(); fat[:11] = True; normal = flags.copy(); normal[:3] = True
    >>> _ratio_sentence("a wipe-out", normal, fat, "Under fat tails").replace("\u00a0", " ")[:160]
    'Under fat tails a wipe-out is 3.7× as likely as the normal model says (95 %: 1.6 to 10.3×): 0.2 % (11 of 5,000 paths; 95 %: 0.1 to 0.4 %) against 0.06 % (3 of 5'
    >>> few = flags.copy(); few[10:14] = True
    >>> "too few paths to tell" in _ratio_sentence("a wipe-out", normal, few, "Under fat tails")
    True
    """
    n = normal.shape[0]
    ratio = paired_ratio(fat, normal)
    if ratio.count_a == 0 and ratio.count_b == 0:
        high = proportion(0, n).high
        return f"Neither model produces {what} in {n:,} paths (0 of {n:,} each; 95 %: below {probability_text(high)})."
    pair = f"{_counted(fat)} against {_counted(normal)}"
    interval = f"{ratio.low:.1f} to {'no upper bound' if math.isinf(ratio.high) else f'{ratio.high:.1f}×'}"
    if ratio.too_few_paths:
        return (f"{under} {what}: {pair}: too few paths to tell which model makes it likelier (the ratio's "
                f"95 % interval, {interval}, holds 1).")
    if ratio.count_b == 0:
        return (f"{under} {what} happens on {_counted(fat)}; the normal model never produces one in {n:,} paths "
                f"(95 %: below {probability_text(proportion(0, n).high)}): at least {ratio.low:.1f}× as likely (95 %).")
    if ratio.estimate > 1:
        return f"{under} {what} is {ratio.estimate:.1f}× as likely as the normal model says (95 %: {interval}): {pair}."
    return f"{under} {what} is less likely than the normal model says (95 %: {interval} as likely): {pair}."


def fat_tails_takeaway(normal: VariantStress, fat: VariantStress, dof: float) -> str:
    """The headline: how much likelier a wipe-out (and a bankruptcy) is under fat tails.

    Scaled to the same variance, fat tails bring more quiet steps *and* more violent ones, so
    the sentences say which way each figure went, with the numbers.
    """
    wipe = _ratio_sentence("a wipe-out", normal.wiped_out, fat.wiped_out, f"Under fat tails (Student-t, ν = {dof:g})")
    bust = _ratio_sentence("a bankruptcy (a loss beyond margin)", normal.bankrupt, fat.bankrupt, "Under fat tails")
    text = f"{wipe} {bust}"
    if fat.wipeout_probability < normal.wipeout_probability or fat.bankruptcy_probability < normal.bankruptcy_probability:
        text += (" With the same volatility, fat tails have more quiet steps as well as more violent ones: "
                 "they matter most for moves far out in the tail and for gaps past the liquidation price.")
    return text


# A wipe-out is the whole account's; a bankruptcy is one close's. The rows and panels say whose.
WIPEOUT_ROW = "Account wiped out"
BANKRUPTCY_ROW = "A position bankrupt"
WHICH_IS_WHICH = (
    "A **wipe-out** is the whole account's: it is left with at most 1 % of its start value. A "
    "**bankruptcy** is one position's: it was closed beyond its bankruptcy price, a loss beyond its "
    "margin that the insurance fund (or other traders) paid. A bankrupt position need not wipe out the "
    "account, and an account can be wiped out without any bankruptcy.")


def bankruptcy_against_wipeout(stress: VariantStress) -> str:
    """When a variant's bankruptcy and wipe-out figures part, the paths on which one happens
    without the other, in words ("" when they coincide)."""
    n = stress.n_paths
    if n == 0:
        return ""
    bust_only = float((stress.bankrupt & ~stress.wiped_out).mean())
    wipe_only = float((stress.wiped_out & ~stress.bankrupt).mean())
    parts = []
    if bust_only * n >= 1:
        parts.append(f"on {probability_text(bust_only)} of paths a position goes bankrupt but the account is not "
                     f"wiped out (the loss beyond that position's margin fell on the insurance fund or other "
                     f"traders, not on the account)")
    if wipe_only * n >= 1:
        parts.append(f"on {probability_text(wipe_only)} of paths the account is wiped out without any bankruptcy "
                     f"(no close went beyond a bankruptcy price, yet liquidation took the margin)")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def variant_table(normal: VariantStress, fat: VariantStress, dof: float,
                  position_names: Sequence[str] | None = None,
                  closed_names: Sequence[str] | None = None) -> pd.DataFrame:
    """One account variant, normal against fat tails: probabilities and loss figures as text,
    short enough to sit three or four abreast (definitions are in the page's notes). ``closed_names``:
    the positions this variant lost on the way from their entries, before the run."""
    names = list(position_names or normal.position_ids)
    rows = [
        (WIPEOUT_ROW, probability_text(normal.wipeout_probability), probability_text(fat.wipeout_probability)),
        (BANKRUPTCY_ROW, probability_text(normal.bankruptcy_probability), probability_text(fat.bankruptcy_probability)),
        ("A position liquidated", probability_text(normal.any_liquidation_probability),
         probability_text(fat.any_liquidation_probability)),
    ]
    for name, p_normal, p_fat in zip(names, normal.liquidation_probability, fat.liquidation_probability):
        rows.append((f"{name} liquidated", probability_text(float(p_normal)), probability_text(float(p_fat))))
    for name in closed_names or ():
        rows.append((f"{name} liquidated", "before the start", "before the start"))
    rows += [
        ("Expected loss [USDT]", _whole(normal.expected_loss), _whole(fat.expected_loss)),
        ("VaR 99 % [USDT]", _whole(normal.value_at_risk()), _whole(fat.value_at_risk())),
        ("ES 99 % [USDT]", _whole(normal.expected_shortfall()), _whole(fat.expected_shortfall())),
        ("Median end [USDT]", _whole(float(np.median(normal.final_value))), _whole(float(np.median(fat.final_value)))),
    ]
    return pd.DataFrame(rows, columns=["", "Normal", f"ν = {dof:g}"]).set_index("")


def _whole(value: float) -> str:
    """``12,778`` (a whole number of USDT; the row label carries the unit).

    >>> _whole(12778.07), _whole(-6919.4)
    ('12,778', '-6,919')
    """
    return f"{value:,.0f}"


# ----------------------------------------------------------------------------- probabilities


PROBABILITIES = (
    ("A position liquidated", "any_liquidation_probability"),
    (WIPEOUT_ROW, "wipeout_probability"),
    (BANKRUPTCY_ROW, "bankruptcy_probability"),
)


def probability_figure(normal: StressResult, fat: StressResult, dof: float, horizon: str) -> go.Figure:
    """Three panels (a position liquidated, the account wiped out, a position bankrupt), one group of bars per account
    variant, normal (solid) against fat tails (hatched), each bar labelled with its value.

    The axis is logarithmic so that 0.1 % and 100 % can be read on one chart; a probability of
    0 has no bar, only a "0" on the floor in its slot.
    """
    labels = list(normal.variants)
    values = {name: {attribute: [getattr(result.variants[label], attribute) * 100 for label in labels]
                     for _, attribute in PROBABILITIES}
              for name, result in (("normal", normal), ("fat", fat))}
    positive = [v for per in values.values() for series in per.values() for v in series if v > 0]
    floor = 10 ** math.floor(math.log10(min(positive) / 2)) if positive else 0.01
    floor = min(floor, 0.1)
    # each panel's title on two lines: three side by side fit a 390 px phone
    fig = make_subplots(rows=1, cols=3, subplot_titles=[_two_lines(title) for title, _ in PROBABILITIES],
                        shared_yaxes=True, horizontal_spacing=0.04)
    for col, (panel, attribute) in enumerate(PROBABILITIES, start=1):
        for key, name, style in (("normal", "Normal", NORMAL_STYLE), ("fat", fat_label(dof), FAT_STYLE)):
            series = values[key][attribute]
            fig.add_trace(go.Bar(
                name=name, x=labels, y=[v if v > 0 else None for v in series], legendgroup=name,
                meta=data_meta(f"{name}: {panel.lower()} [% of paths]", series),
                showlegend=col == 1, offsetgroup=key,
                marker=dict(color=style["color"], pattern=style["pattern"], line=dict(color=style["color"], width=1)),
                # on end and at a size of their own: Plotly shrinks a label to its bar's width,
                # which on a 390 px phone (bars ~12 px wide) made them unreadably small
                text=[probability_text(v / 100) for v in series], textposition="outside", cliponaxis=False,
                textangle=-90, constraintext="none", textfont=dict(size=10),
                hovertemplate=f"{name}, %{{x}}: %{{y:.3g}} % of paths<extra></extra>",
            ), row=1, col=col)
            zeros = [i for i, v in enumerate(series) if v <= 0]
            if zeros:  # a bar of height 0 cannot be drawn on a log axis: label the floor instead
                fig.add_trace(go.Scatter(
                    # a bare "0" (the axis is in %): eight slots a panel are 12 px wide on a phone
                    x=[labels[i] for i in zeros], y=[floor * 1.4] * len(zeros), mode="text",
                    text=["0"] * len(zeros), textfont=dict(size=11, color=style["color"]),
                    showlegend=False, hoverinfo="skip", offsetgroup=key, meta=DECORATION,
                ), row=1, col=col)
    fig.update_yaxes(type="log", range=[math.log10(floor), math.log10(100) + LABEL_HEADROOM],
                     tickvals=[v for v in (0.001, 0.01, 0.1, 1, 10, 100) if v >= floor],
                     ticktext=[f"{v:g} %" for v in (0.001, 0.01, 0.1, 1, 10, 100) if v >= floor])
    fig.update_yaxes(title_text="paths (log scale)", row=1, col=1)
    # room below for the ways' names however they turn (on end at 390 px, "Collateral in USDT"
    # ran under a legend placed in the plot's coordinates): the legend sits at the figure's foot
    fig.update_xaxes(automargin=True)
    fig.update_layout(  # the title short and the legend under the chart: neither runs into the other at 390 px
        title=dict(text=f"How often it goes wrong within {horizon}", x=0, xanchor="left", font=dict(size=15)),
        barmode="group", bargap=0.25, height=460, margin=dict(_MARGIN, t=90, b=50), scattermode="group",
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0, xanchor="left",
                    title=dict(text="Model of price moves: ")),
    )
    return fig


LABEL_HEADROOM = 0.6  # [decades] above 100 %: room for a bar's label on end ("99.9 %") under the panel's title


def _two_lines(title: str) -> str:
    """``title`` broken at the space nearest its middle (Plotly does not wrap text).

    >>> _two_lines("A position liquidated"), _two_lines("Account wiped out")
    ('A position<br>liquidated', 'Account<br>wiped out')
    """
    spaces = [i for i, c in enumerate(title) if c == " "]
    if not spaces:
        return title
    cut = min(spaces, key=lambda i: abs(i - len(title) / 2))
    return title[:cut] + "<br>" + title[cut + 1:]


def probability_takeaway(result: StressResult) -> str:
    """Cross against isolated in words, from one model's run."""
    variants = result.variants
    iso = variants.get("All isolated")
    cross = variants.get("All cross")
    if iso is None or cross is None:
        return ""
    return (f"All isolated, a position is liquidated on {probability_text(iso.any_liquidation_probability)} of paths "
            f"and the account is wiped out on {probability_text(iso.wipeout_probability)}; all cross, "
            f"liquidations come on {probability_text(cross.any_liquidation_probability)} of paths but each one "
            f"takes the whole pool: wiped out on {probability_text(cross.wipeout_probability)}.")


def collateral_takeaway(result: StressResult, held: str) -> str:
    """As built against "collateral in USDT" in one model's run, in words ("" where the run has
    no fourth way). ``held``: what the fourth way changes, in words
    (:func:`ui.lab.collateral.held_as_usdt`)."""
    built, twin = result.variants.get("As built"), result.variants.get(USDT_COLLATERAL_LABEL)
    if built is None or twin is None:
        return ""
    return (f"Collateral in USDT is this account with {held}: the same money at the start, none of it falling "
            f"with the market. On the same paths, as built a position is liquidated on "
            f"{probability_text(built.any_liquidation_probability)} of paths and the account is wiped out on "
            f"{probability_text(built.wipeout_probability)}; with USDT collateral, on "
            f"{probability_text(twin.any_liquidation_probability)} and {probability_text(twin.wipeout_probability)}.")


# ----------------------------------------------------------------------------- final value


def final_value_figure(normal: VariantStress, fat: VariantStress, dof: float, horizon: str) -> go.Figure:
    """Distribution of the final account value of one variant: normal (solid blue) against fat
    tails (hatched orange), as a share of paths per bin, with the start value marked."""
    values = np.concatenate([normal.final_value, fat.final_value])
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9 * max(1.0, abs(high)):
        low, high = low - 1.0, high + 1.0
    edges = np.histogram_bin_edges(values, bins=60, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0])
    # Show the body and the left tail in full; the far right tail (the best 0.1 % of paths)
    # would only stretch the axis.
    right = max(float(np.quantile(values, 0.999)), normal.start_value) + 2 * width
    fig = go.Figure()
    for stress, name, style, opacity in ((normal, "Normal", NORMAL_STYLE, 0.55), (fat, fat_label(dof), FAT_STYLE, 0.7)):
        counts, _ = np.histogram(stress.final_value, bins=edges)
        share = counts / stress.n_paths * 100
        fig.add_trace(go.Bar(
            name=name, x=centres, y=share, width=width, opacity=opacity,
            marker=dict(color=style["color"], pattern=style["pattern"], line=dict(color=style["color"], width=0.5)),
            customdata=np.stack([edges[:-1], edges[1:]], axis=1),
            hovertemplate=f"{name}: %{{y:.2f}} % of paths end between %{{customdata[0]:,.0f}} and "
                          f"%{{customdata[1]:,.0f}} USDT<extra></extra>",
        ))
    if normal.wipeout_probability > 0 or fat.wipeout_probability > 0:
        fig.add_annotation(
            x=centres[0], y=max(normal.wipeout_probability, fat.wipeout_probability) * 100, ax=30, ay=-170,
            text=f"wiped out: {probability_text(normal.wipeout_probability)} normal, "
                 f"{probability_text(fat.wipeout_probability)} fat tails",
            showarrow=True, arrowhead=2, xanchor="left", font=dict(size=11))
    fig.add_vline(x=normal.start_value, line=dict(color=GREY, dash="dash", width=2))
    fig.add_annotation(x=normal.start_value, y=1, yref="paper", text=f"start {money(normal.start_value)}",
                       showarrow=False, xanchor="left", yanchor="top", xshift=4, font=dict(size=11))
    fig.update_layout(
        title=dict(text=f"{normal.label}: final account value after {horizon}",
                   subtitle=dict(text=f"{normal.n_paths:,} paths per model; wallet plus open positions' "
                                      f"equity at the horizon", font=dict(size=12)),
                   x=0, xanchor="left", font=dict(size=15)),
        barmode="overlay", bargap=0, height=380, margin=dict(l=10, r=10, t=90, b=10),
        xaxis=dict(title="final account value [USDT]", range=[edges[0] - width, right]),
        yaxis_title="paths [%]",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"),
    )
    return fig


def distribution_takeaway(normal: VariantStress, fat: VariantStress, dof: float) -> str:
    """The distribution in words: the median, and how bad the worst 1 % is under each model."""
    median_n, median_f = float(np.median(normal.final_value)), float(np.median(fat.final_value))
    es_n, es_f = normal.expected_shortfall(), fat.expected_shortfall()
    return (f"The middle path ends at {money(median_n)} (normal) and {money(median_f)} (fat tails); "
            f"the worst 1 % of paths lose {money(es_n)} on average under the normal model and "
            f"{money(es_f)} under fat tails (ν = {dof:g}), from a start of {money(normal.start_value)}.")


# ----------------------------------------------------------------------------- per-path table


def paths_frame(normal: StressResult, fat: StressResult) -> pd.DataFrame:
    """One row per path: the final value of every variant under both models, and whether it
    was wiped out or bankrupt (for the CSV of every path)."""
    columns: dict[str, np.ndarray] = {"path": np.arange(next(iter(normal.variants.values())).n_paths)}
    for model, result in (("normal", normal), ("fat_tails", fat)):
        for label, stress in result.variants.items():
            key = label.lower().replace(" ", "_")
            columns[f"{model}.{key}.final_value"] = stress.final_value
            columns[f"{model}.{key}.wiped_out"] = stress.wiped_out
            columns[f"{model}.{key}.bankrupt"] = stress.bankrupt
            columns[f"{model}.{key}.liquidations"] = stress.liquidated.sum(axis=1)
    return pd.DataFrame(columns)


def closed_on_arrival_note(stress: VariantStress, names: dict[str, str] | None = None) -> str:
    """A note when this way of the account lost positions on the way from their entries to
    today's prices (an isolated one under water by more than its margin): it starts without
    them, and they count in no probability ("" otherwise)."""
    closed = [(names or {}).get(pid, pid) for pid in stress.closed_on_arrival]
    if not closed:
        return ""
    listed = " and ".join(closed)
    verb = "was" if len(closed) == 1 else "were"
    return (f"{listed} {verb} liquidated on the way from the entry to today's prices, at the liquidation price: "
            f"{in_sentence(stress.label)} starts without {'it' if len(closed) == 1 else 'them'}, on every path.")


def summary_csv(normal, fat, dof: float) -> str:
    return summary_frame({"normal": normal, f"student_t(dof={dof:g})": fat}).to_csv(index=False)


def paths_csv(normal, fat, dof: float) -> str:
    return paths_frame(normal, fat).to_csv(index=False)


def shown_csv(shown: tuple | None, build) -> bytes:
    """``build``'s CSV of the results on screen (``(normal, fat tails, dof)``); a line saying so
    once the session has ended (``None``: its store was emptied).

    >>> shown_csv(None, summary_csv)
    b'The results were dropped when the connection closed: press Run again.\\n'
    """
    if shown is None:
        return b"The results were dropped when the connection closed: press Run again.\n"
    return build(*shown).encode("utf-8")
