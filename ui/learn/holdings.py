"""An account's collateral and its positions' stop orders as facts a learner can predict from,
beside :mod:`ui.learn.facts` (the positions and markets): what the wallet holds besides USDT
and where each order's trigger is, as they were built; nothing computed from prices.

>>> from margin.presets import load_story
>>> collateral_facts(load_story("collateral-crashes-with-you"))
[{'Collateral': 'BTC', 'Amount': '1', 'Priced by': 'BTC', 'Counted at': '95 % of its price (a 5 % haircut)'}]
>>> [row["Stop-loss [USDT]"] for row in order_facts(load_story("stop-that-never-fires"))]
['94,000.00', '3,200.00']
"""

from __future__ import annotations

from typing import Any, Mapping

from margin.numbers import percent, price
from margin.presets import market_label
from ui.learn.facts import position_facts


def collateral_facts(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per collateral entry of the scenario dict ``raw``: the asset, how much, the
    market that prices it, and the share of its price the cross pool counts."""
    rows = []
    for entry in raw.get("collateral", []) or []:
        if not isinstance(entry, Mapping):
            continue
        haircut = float(entry.get("haircut", 0.0) or 0.0)
        rows.append({"Collateral": str(entry.get("asset")), "Amount": f"{float(entry.get('amount', 0)):,.8g}",
                     "Priced by": market_label(str(entry.get("market"))),
                     "Counted at": f"{percent(1.0 - haircut, 0)} of its price (a {percent(haircut, 0)} haircut)"})
    return rows


def order_facts(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per position of ``raw`` that carries a stop-loss or take-profit: its triggers on
    the mark and the stop's slippage."""
    labels = [row["Position"] for row in position_facts(raw)]
    positions = [p for p in raw.get("positions", []) or [] if isinstance(p, Mapping)]
    rows = []
    for label, p in zip(labels, positions):
        if p.get("stop_loss") is None and p.get("take_profit") is None:
            continue
        rows.append({"Position": label,
                     "Stop-loss [USDT]": price(float(p["stop_loss"])) if p.get("stop_loss") is not None else "",
                     "Take-profit [USDT]": price(float(p["take_profit"])) if p.get("take_profit") is not None else "",
                     "Stop slippage": percent(float(p.get("stop_slippage", 0.0) or 0.0))})
    return rows


__all__ = ["collateral_facts", "order_facts"]
