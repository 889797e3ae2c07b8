"""A chart's text alternative: a one-line summary and its data as a table, built from the
Plotly figure itself (so it says what the chart draws, no more, no less). ``ui.shell.widgets.chart``
puts both under every chart, in an expander one keystroke away (Tab to it, Enter opens it).

>>> import plotly.graph_objects as go
>>> fig = go.Figure(go.Bar(name="Normal", x=["A", "B"], y=[1.5, 2.0]))
>>> fig = fig.update_layout(title_text="Wipe-out by account").update_yaxes(title_text="Paths [%]")
>>> figure_summary(fig)
'Wipe-out by account: 1 series, Normal (2 points, 1.5 to 2)'
>>> figure_table(fig).to_dict("records")
[{'Series': 'Normal', 'x': 'A', 'Paths [%]': '1.5'}, {'Series': 'Normal', 'x': 'B', 'Paths [%]': '2'}]
"""

from __future__ import annotations

import math
import re
from html import escape, unescape
from typing import Any

import pandas as pd

MAX_ROWS = 2_000  # a table longer than this is cut, and says so


def _plain(text: Any) -> str:
    """Plotly's little HTML (``<b>``, ``<br>``, entities) as plain text."""
    return unescape(re.sub(r"<br\s*/?>", " ", re.sub(r"<(?!br)[^>]+>", "", str(text or "")))).strip()


def _axis_title(fig, trace, axis: str) -> str:
    ref = getattr(trace, f"{axis}axis", None) or axis
    name = f"{axis}axis" + ref[1:] if len(ref) > 1 else f"{axis}axis"
    layout_axis = getattr(fig.layout, name, None)
    title = _plain(layout_axis.title.text) if layout_axis is not None and layout_axis.title is not None else ""
    return title or axis


DECORATION = "decoration"  # a trace's ``meta``: drawn for the eye (labels on a floor), not data


def data_meta(series: str, y: list) -> dict[str, Any]:
    """A trace's ``meta`` where what it draws is not its data: the series' name in words (a
    panel's trace, whose legend name is shared) and its true values (a log axis draws no 0)."""
    return {"series": series, "y": list(y)}


def _series(fig) -> list[tuple[str, list, list, str, str]]:
    out = []
    for k, trace in enumerate(fig.data):
        meta = getattr(trace, "meta", None)
        if meta == DECORATION:
            continue
        x, y = getattr(trace, "x", None), getattr(trace, "y", None)
        if isinstance(meta, dict) and "y" in meta:
            y = meta["y"]
        if x is None and y is None:
            continue
        x = list(x) if x is not None else list(range(len(y)))
        y = list(y) if y is not None else [None] * len(x)
        name = meta.get("series") if isinstance(meta, dict) and meta.get("series") else _plain(trace.name)
        out.append((name or f"series {k + 1}", x, y, _axis_title(fig, trace, "x"), _axis_title(fig, trace, "y")))
    return out


def figure_summary(fig) -> str:
    """The chart's title and, per series, how many points and the range of its values."""
    title = _plain(fig.layout.title.text) if fig.layout.title is not None else ""
    parts = []
    for name, _, y, _, _ in _series(fig):
        values = [float(v) for v in y if isinstance(v, (int, float)) and math.isfinite(float(v))]
        span = f", {min(values):,.4g} to {max(values):,.4g}" if values else ""
        parts.append(f"{name} ({len(y):,} point{'s' if len(y) != 1 else ''}{span})")
    series = f"{len(parts)} series, " + ", ".join(parts) if parts else "no data"
    return f"{title or 'Chart'}: {series}"


def figure_table(fig) -> pd.DataFrame:
    """Every point of every series: its series, its x and its y, named by the axes' titles."""
    rows = []
    for name, x, y, x_title, y_title in _series(fig):
        for a, b in zip(x, y):
            rows.append({"Series": name, x_title: _cell(a), y_title: _cell(b)})
    return pd.DataFrame(rows[:MAX_ROWS]).fillna("")


def _cell(value: Any) -> str:
    """A value as text (a table of mixed series must not mix types in a column)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, (int, float)):
        return f"{value:,.6g}" if math.isfinite(float(value)) else "—"
    return _plain(value)


def table_html(frame: pd.DataFrame, caption: str) -> str:
    """The table as a real HTML table (a screen reader walks its rows and headers; Streamlit's
    data grid is a canvas), every cell escaped, scrolling inside its own focusable box.

    >>> table_html(pd.DataFrame([{"Series": "<b>", "x": "1"}]), "c")[:60]
    '<div class="ml-chart-table" tabindex="0" role="region" aria-'
    """
    head = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return (f'<div class="ml-chart-table" tabindex="0" role="region" aria-label="{escape(caption)}" '
            f'style="max-height:320px;overflow:auto;font-size:0.85rem">'
            f'<table style="border-collapse:collapse;width:100%"><caption style="text-align:left">{escape(caption)}'
            f'</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')


__all__ = ["MAX_ROWS", "figure_summary", "figure_table", "table_html"]
