"""The builder's stop-orders table: each position's stop-loss, take-profit [USDT] and stop
slippage [%], matched by position name. Pure: no Streamlit."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from ui.builder.model import blank, fraction_of, percent_of

ORDER_COLUMNS = ("stop_loss", "take_profit", "stop_slippage")  # the orders table's; blank: none (slippage 0)


def orders_frame(raw: Mapping[str, Any]) -> pd.DataFrame:
    """Each position's stop-loss and take-profit [USDT] and stop slippage [%], by position name,
    as the orders table gets them (blank: none).

    >>> orders_frame({"positions": [{"id": "a", "stop_loss": 90.0, "stop_slippage": 0.005}]}).to_dict("records")
    [{'id': 'a', 'stop_loss': 90.0, 'take_profit': nan, 'stop_slippage': 0.5}]
    """
    rows = [{"id": p.get("id"), "stop_loss": p.get("stop_loss"), "take_profit": p.get("take_profit"),
             "stop_slippage": None if p.get("stop_slippage") is None else percent_of(p["stop_slippage"])}
            for p in raw.get("positions", []) or [] if isinstance(p, Mapping)]
    return pd.DataFrame(rows, columns=["id", *ORDER_COLUMNS]).astype({c: "float64" for c in ORDER_COLUMNS})


def with_orders(positions: list[dict[str, Any]], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``positions`` with the orders table's cells, matched by position name (a position the
    table does not list yet keeps none); slippage typed in % is kept as a fraction.

    >>> with_orders([{"id": "a"}], [{"id": "a", "stop_loss": 90.0, "take_profit": None, "stop_slippage": 0.5}])
    [{'id': 'a', 'stop_loss': 90.0, 'stop_slippage': 0.005}]
    """
    by_id = {row.get("id"): row for row in rows}
    out = []
    for position in positions:
        position = dict(position)
        row = by_id.get(position.get("id"), {})
        for column in ORDER_COLUMNS:
            value = row.get(column)
            position.pop(column, None)
            if not blank(value):
                position[column] = fraction_of(float(value)) if column == "stop_slippage" else float(value)
        out.append(position)
    return out


__all__ = ["ORDER_COLUMNS", "orders_frame", "with_orders"]
