"""Where each stop-loss and take-profit sits in the lab: a line per order of every open position
(its trigger, the position's liquidation price, and whether the order can ever fire or can be
gapped), and the order's mark under its market's slider.

The facts are the engine's (:func:`margin.stops.order_reach`, on the account as the learner's
path has left it, :func:`margin.walk.scenario_now`): whether the price meets the order before the
pool's liquidation, and how far a gap must go to fill a stop beyond the bankruptcy price. Here
they are only put in words. Pure (no Streamlit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from margin.numbers import percent, price
from margin.stops import KIND_WORDS, OrderReach, order_reach
from margin.walk import Walk, scenario_now
from ui.common.words import position_labels
from ui.lab.model import PositionView


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    """One order of an open position, for the lab: its ``market``, ``kind`` ("stop_loss" or
    "take_profit"), ``trigger`` [USDT] and the sentence that says where it sits."""

    market: str
    who: str  # the position's label
    kind: str
    trigger: float
    can_fire: bool
    text: str


def order_sentence(reach: OrderReach, who: str, liquidation: float | None, slippage: float) -> str:
    """Where one order sits against the liquidation, in words (plain text): its trigger, the
    position's liquidation price [USDT] (``None``: no price within reach), and whether it can
    ever fire; a stop that can fire can be gapped.

    >>> r = OrderReach(id="a", kind="stop_loss", trigger=94_000.0, can_fire=False, liquidation_price=95_477.39,
    ...                bankruptcy_price=95_000.0, gap_to_bankruptcy=None)
    >>> order_sentence(r, "BTC long", 95_477.39, 0.005)
    'BTC long: stop-loss at 94,000.00 USDT, liquidation at 95,477.39 USDT. This stop can never fire: it is beyond the liquidation price, so the position is liquidated at 95,477.39 on the way to it.'
    >>> r = OrderReach(id="e", kind="stop_loss", trigger=3_200.0, can_fire=True, liquidation_price=None,
    ...                bankruptcy_price=2_800.0, gap_to_bankruptcy=0.1206)
    >>> text = order_sentence(r, "ETH long", 2_814.07, 0.005)
    >>> "The stop comes first" in text, "less its 0.5 % slippage" in text, "more than 12.1 %" in text
    (True, True, True)
    """
    kind = KIND_WORDS[reach.kind]
    edge = f"liquidation at {price(liquidation)} USDT" if liquidation is not None else "no liquidation price within reach"
    head = f"{who}: {kind} at {price(reach.trigger)} USDT, {edge}."
    if not reach.can_fire:
        word = "stop" if reach.kind == "stop_loss" else "take-profit"
        return (f"{head} This {word} can never fire: it is beyond the liquidation price, so the position is "
                f"liquidated at {price(reach.liquidation_price)} on the way to it.")
    if reach.kind == "take_profit":
        return f"{head} The take-profit comes first, before any liquidation."
    text = (f"{head} The stop comes first: on a smooth move it fills at its trigger, but a gap past it (a crash's "
            f"candle) fills at the step's price less its {percent(slippage)} slippage")
    if reach.gap_to_bankruptcy is not None:
        text += (f"; a gap of more than {percent(reach.gap_to_bankruptcy)} fills it beyond the bankruptcy price "
                 f"{price(reach.bankruptcy_price)}, a loss larger than the margin behind it")
    return text + "."


def order_lines(walk: Walk, positions: Sequence[PositionView]) -> tuple[OrderLine, ...]:
    """Every order of every position still open where ``walk`` has brought the account, in
    scenario order (a position's stop-loss before its take-profit)."""
    now = scenario_now(walk)
    if not any(p.has_orders for p in now.positions):
        return ()
    labels = position_labels(walk.scenario)
    views = {p.id: p for p in positions}
    by_id = {p.id: p for p in now.positions}
    lines = []
    for reach in order_reach(now):
        position, view = by_id[reach.id], views.get(reach.id)
        liquidation = view.liquidation_price if view is not None else None
        lines.append(OrderLine(market=position.market, who=labels[reach.id], kind=reach.kind, trigger=reach.trigger,
                               can_fire=reach.can_fire, text=order_sentence(reach, labels[reach.id], liquidation, position.stop_slippage)))
    return tuple(lines)


__all__ = ["OrderLine", "order_lines", "order_sentence"]
