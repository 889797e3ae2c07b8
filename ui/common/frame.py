"""The frame every Plotly figure of the app shares: a left-aligned title, a height, tight margins;
and the one rule for a price axis (:func:`price_range`: fit the prices, never from 0).

>>> import plotly.graph_objects as go
>>> fig = titled(go.Figure(), "Price [USDT]", 300)
>>> fig.layout.title.text, fig.layout.height, fig.layout.margin.t
('Price [USDT]', 300, 48)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from margin.numbers import WHOLE_FROM

MARGIN = dict(l=10, r=10, t=48, b=10)  # [px]; the title sits in the top 48


def titled(fig: go.Figure, title: str, height: int, **kwargs) -> go.Figure:
    """``fig`` with the app's title style, ``height`` [px] and margins (``kwargs`` go to update_layout)."""
    kwargs.setdefault("margin", MARGIN)
    fig.update_layout(title=dict(text=title, x=0, xanchor="left", font=dict(size=15)), height=height,
                      hovermode="closest", **kwargs)
    return fig


def money_hover(values) -> str:
    """The d3 format of money [USDT] in a trace's hover text: cents, or whole USDT when any value
    reaches a million (:data:`margin.numbers.WHOLE_FROM`, the rule :func:`margin.numbers.money`
    follows), so a hover never claims cents on millions.

    >>> money_hover([1_234.5, -9_000.0]), money_hover([2.5e7, 3.0]), money_hover([])
    (',.2f', ',.0f', ',.2f')
    """
    values = np.asarray(values, dtype=float)
    big = values.size and np.nanmax(np.abs(values)) >= WHOLE_FROM
    return ",.0f" if big else ",.2f"


def price_range(mark: np.ndarray, last: np.ndarray, liquidation_prices: np.ndarray | None = None,
                reach: float = 0.25, pad: float = 0.04) -> tuple[float, float]:
    """The price axis [USDT] of a whole crash: from the lowest last price to the highest mark,
    padded, and wide enough for the liquidation prices within ``reach`` [fraction] of that band
    (one far away would squash the prices into a line; it is named in the legend instead). Fixed
    for the whole crash, so the axis does not rescale while the replay plays; never from 0.

    >>> price_range(np.array([100.0, 80.0]), np.array([100.0, 76.0]))
    (75.04, 100.96)
    >>> price_range(np.array([100.0, 80.0]), np.array([100.0, 76.0]), np.array([[70.0, 10.0]]))
    (68.8, 101.2)
    """
    low = float(min(np.nanmin(mark), np.nanmin(last)))
    high = float(max(np.nanmax(mark), np.nanmax(last)))
    if liquidation_prices is not None:
        levels = np.asarray(liquidation_prices, dtype=float)
        levels = levels[np.isfinite(levels)]
        near = levels[(levels >= low * (1 - reach)) & (levels <= high * (1 + reach))]
        if near.size:
            low, high = min(low, float(near.min())), max(high, float(near.max()))
    margin = (high - low) * pad or high * 0.01
    return round(low - margin, 10), round(high + margin, 10)
