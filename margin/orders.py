"""Stop-loss and take-profit: a position's protective orders, when they fire and where they fill.

A position may carry ``stop_loss`` and ``take_profit`` [quote per base, on the mark]: a long's
stop below its entry and its take-profit above, a short's the other way round (an order on
the wrong side of the entry would fire the moment the walk from the entries starts, and is
refused). An order fires when the mark reaches its trigger: a long's stop at ``mark ≤
stop_loss``, its take-profit at ``mark ≥ take_profit``, a short's mirrored. It closes the whole
position as a market order (no liquidation fee; the lab models no trading fee):

* at the trigger price, when the path passes through it: the lab's walk moves in straight
  lines, a row at most 0.05 % from the next, and the price crosses the trigger between two rows;
* at the step's price worsened by ``stop_slippage`` [fraction, default 0], when a step gaps past
  it: a crash's candles, the stress lab's steps and the cascade's rounds are prints, not lines,
  and the first print beyond the trigger is where the order meets the book (a long sells at
  ``price × (1 − stop_slippage)``, a short buys at ``price × (1 + stop_slippage)``).

Along one step, the order and the liquidation of the position's pool meet the price in turn:
the one reached first wins (:meth:`margin.settle.Settler.step`). So a stop beyond the
liquidation price never fires: the pool is liquidated on the way to it
(:func:`margin.stops.order_reach` tells it for each order, for the pages to show).

>>> bounds(1, 95.0, 120.0), bounds(-1, 105.0, None)
((95.0, 120.0), (-inf, 105.0))
>>> fired(1, 95.0, 120.0, 94.0), fired(-1, 105.0, None, 104.0)
('stop_loss', None)
>>> fill(1, 95.0, 90.0, 0.01, passed=True), fill(1, 95.0, 90.0, 0.01, passed=False)
(95.0, 89.1)
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from margin.fields import ScenarioError, fmt, number, price_field
from margin.limits import MAX_STOP_SLIPPAGE

ORDER_KINDS = ("stop_loss", "take_profit")
ORDER_FIELDS = ("stop_loss", "take_profit", "stop_slippage")


def parse_orders(raw: Mapping[str, Any], where: str, side: str, entry: float) -> tuple[float | None, float | None, float]:
    """A position's ``stop_loss``, ``take_profit`` [quote per base] and ``stop_slippage``
    [fraction], each checked against the side and the entry."""
    below, above = ("stop_loss", "take_profit") if side == "long" else ("take_profit", "stop_loss")
    found: dict[str, float | None] = {}
    for key in ORDER_KINDS:
        value = raw.get(key)
        found[key] = None if value is None else price_field(value, f"{where}.{key}")
    for key, must_be_below in ((below, True), (above, False)):
        trigger = found[key]
        if trigger is not None and (trigger >= entry if must_be_below else trigger <= entry):
            word = "below" if must_be_below else "above"
            raise ScenarioError(f"{where}.{key}", f"a {side}'s {key.replace('_', '-')} must be {word} its entry "
                                f"({fmt(entry)}), got {fmt(trigger)}")
    slippage = number(raw.get("stop_slippage", 0.0), f"{where}.stop_slippage", low=0.0, high=MAX_STOP_SLIPPAGE)
    if raw.get("stop_slippage") is not None and found["stop_loss"] is None and found["take_profit"] is None:
        raise ScenarioError(f"{where}.stop_slippage", "applies to a stop_loss or take_profit; the position has neither")
    return found["stop_loss"], found["take_profit"], slippage


def bounds(sign: int, stop_loss: float | None, take_profit: float | None) -> tuple[float, float]:
    """The band [quote per base] the mark stays inside while no order fires: an order fires at
    ``mark ≤ low`` or ``mark ≥ high`` (−inf and inf: no order that way)."""
    if sign > 0:
        low, high = stop_loss, take_profit
    else:
        low, high = take_profit, stop_loss
    return (-math.inf if low is None else low), (math.inf if high is None else high)


def fired(sign: int, stop_loss: float | None, take_profit: float | None, mark: float) -> str | None:
    """The order that fires at ``mark`` (``"stop_loss"``, ``"take_profit"``), or None."""
    low, high = bounds(sign, stop_loss, take_profit)
    if mark <= low:
        return "stop_loss" if sign > 0 else "take_profit"
    if mark >= high:
        return "take_profit" if sign > 0 else "stop_loss"
    return None


def trigger_of(kind: str, stop_loss: float | None, take_profit: float | None) -> float:
    """The trigger price of order ``kind``."""
    value = stop_loss if kind == "stop_loss" else take_profit
    assert value is not None
    return value


def crossing(previous: float, now: float, trigger: float) -> float:
    """Where along a step from ``previous`` to ``now`` [quote per base] the mark reaches
    ``trigger``, as a fraction of the step in [0, 1]; 0 when it was there already.

    >>> crossing(100.0, 90.0, 95.0), crossing(94.0, 90.0, 95.0)
    (0.5, 0.0)
    """
    if now == previous:
        return 0.0
    return min(max((trigger - previous) / (now - previous), 0.0), 1.0)


def fill(sign: int, trigger: float, price: float, slippage: float, *, passed: bool) -> float:
    """Where a stop-loss or take-profit fills: at its trigger when the path passed through it,
    else at the step's price worsened by the slippage (the close sells a long, buys back a
    short), as a stop-market order meets the book after a gap.

    Parameters
    ----------
    sign : int [−1 or +1]
        The position's side: +1 long, −1 short.
    trigger : float [quote per base]
    price : float [quote per base]
        The mark of the row the order fires on.
    slippage : float [fraction]
        ``stop_slippage``.
    passed : bool
        The path moved in a line through the trigger (the lab's walk).

    Returns
    -------
    float [quote per base]
        ``trigger``, or ``price × (1 − sign × slippage)``.
    """
    if passed:
        return trigger
    return price * (1.0 - sign * slippage)


__all__ = ["ORDER_FIELDS", "ORDER_KINDS", "bounds", "crossing", "fill", "fired", "parse_orders", "trigger_of"]
