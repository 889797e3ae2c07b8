"""The frame every Plotly figure of the app shares: a left-aligned title, a height, tight margins.

>>> import plotly.graph_objects as go
>>> fig = titled(go.Figure(), "Price [USDT]", 300)
>>> fig.layout.title.text, fig.layout.height, fig.layout.margin.t
('Price [USDT]', 300, 48)
"""

from __future__ import annotations

import plotly.graph_objects as go

MARGIN = dict(l=10, r=10, t=48, b=10)  # [px]; the title sits in the top 48


def titled(fig: go.Figure, title: str, height: int, **kwargs) -> go.Figure:
    """``fig`` with the app's title style, ``height`` [px] and margins (``kwargs`` go to update_layout)."""
    kwargs.setdefault("margin", MARGIN)
    fig.update_layout(title=dict(text=title, x=0, xanchor="left", font=dict(size=15)), height=height,
                      hovermode="closest", **kwargs)
    return fig
