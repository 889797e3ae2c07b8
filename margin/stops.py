"""Where each stop-loss and take-profit sits against its position's liquidation: whether the
price can reach it before the pool is liquidated, and how far a gap past it must go to fill it
beyond the bankruptcy price. Facts the pages show beside each order (:mod:`margin.orders`).

Along the position's own market, every other market held at today's price (as the
liquidation price is), the pool's liquidation and bankruptcy prices are its exact roots
(:func:`margin.pools.pool_roots`). An order can fire when no liquidation root lies between
today's price and its trigger (the trigger included: at a tie the liquidation comes first);
otherwise the pool is liquidated on the way and the order never fires (with a partial
liquidation style, only what the liquidation leaves open can still meet it). A stop that can
fire can be gapped: a step that jumps past it fills at the step's price worsened by its
slippage, and a jump of ``gap_to_bankruptcy`` past the trigger fills it at the pool's
bankruptcy price; beyond that the close loses more than the margin behind it.

>>> from margin.scenario import scenario_from_dict
>>> s = scenario_from_dict({"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
...                    "leverage": 10, "mode": "isolated", "stop_loss": 85, "take_profit": 120}]})
>>> [(r.kind, r.can_fire, r.liquidation_price and round(r.liquidation_price, 2)) for r in order_reach(s)]
[('stop_loss', False, 90.91), ('take_profit', True, None)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from margin.account import evaluate
from margin.ledger import Event
from margin.numbers import money, percent, price, quantity
from margin.orders import ORDER_KINDS
from margin.pools import pool_roots, state_pools
from margin.scenario import Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReach:
    """One order of position ``id``: ``kind`` at ``trigger`` [quote per base].

    ``can_fire``: the price reaches the trigger before the pool's liquidation (other markets
    held). ``liquidation_price``: the liquidation met on the way to the trigger (None: none on
    the way). ``bankruptcy_price``: the pool's first bankruptcy price past today's price the way
    the trigger lies (None: none). ``gap_to_bankruptcy`` [fraction of the trigger]: how far past
    the trigger a gapped step must land for the stop, with its slippage, to fill at the
    bankruptcy price (None: a take-profit, an order that cannot fire, or no bankruptcy price
    that way).
    """

    id: str
    kind: str
    trigger: float
    can_fire: bool
    liquidation_price: float | None
    bankruptcy_price: float | None
    gap_to_bankruptcy: float | None


def order_reach(scenario: Scenario) -> tuple[OrderReach, ...]:
    """:class:`OrderReach` of every order of every position, in scenario order (a position's
    stop-loss before its take-profit)."""
    index = np.array([i for i, p in enumerate(scenario.positions) if p.has_orders], dtype=np.intp)
    if index.shape[0] == 0:
        return ()
    n = index.shape[0]
    positions = scenario.positions
    size = np.array([[p.size for p in positions]] * n, dtype=float)
    margin = np.array([[p.margin if p.is_isolated else 0.0 for p in positions]] * n, dtype=float)
    marks = np.array([[m.price for m in scenario.markets.values()]] * n, dtype=float)
    pools, held = state_pools(scenario, index, size, margin, np.full(n, scenario.cross_wallet), marks)
    liquidation, bankruptcy = pool_roots(pools, held)
    assert bankruptcy is not None  # pool_roots finds it unless told not to
    if pools.inverse is not None:  # roots in x = 1/price
        with np.errstate(divide="ignore"):
            liquidation = np.where(pools.inverse[:, None], 1.0 / liquidation, liquidation)
            bankruptcy = np.where(pools.inverse[:, None], 1.0 / bankruptcy, bankruptcy)
    now = evaluate(scenario).positions
    out = []
    for row, i in enumerate(index):
        p = positions[i]
        here = scenario.markets[p.market].price
        for kind in ORDER_KINDS:
            trigger = getattr(p, kind)
            if trigger is None:
                continue
            if now[i].liquidatable:  # liquidated where it stands: nothing of it is left to meet an order
                out.append(OrderReach(id=p.id, kind=kind, trigger=trigger, can_fire=False, liquidation_price=here,
                                      bankruptcy_price=None, gap_to_bankruptcy=None))
            else:
                out.append(_reach(p.id, kind, trigger, here, p.sign, p.stop_slippage, liquidation[row], bankruptcy[row]))
    return tuple(out)


def _reach(position: str, kind: str, trigger: float, here: float, sign: int, slippage: float,
           liquidation: np.ndarray, bankruptcy: np.ndarray) -> OrderReach:
    way = 1.0 if trigger > here else -1.0
    on_the_way = [r for r in liquidation if not np.isnan(r) and (r - here) * way >= 0 and (trigger - r) * way >= 0]
    blocked = min(on_the_way, key=lambda r: abs(r - here)) if on_the_way else None
    beyond = [r for r in bankruptcy if not np.isnan(r) and (r - here) * way > 0]
    bust = min(beyond, key=lambda r: abs(r - here)) if beyond else None
    gap = None
    if kind == "stop_loss" and blocked is None and bust is not None:
        step_price = bust / (1.0 - sign * slippage)  # where a gapped step fills the stop at the bankruptcy price
        if (step_price - trigger) * way > 0:
            gap = abs(step_price - trigger) / trigger
    return OrderReach(id=position, kind=kind, trigger=trigger, can_fire=blocked is None,
                      liquidation_price=None if blocked is None else float(blocked),
                      bankruptcy_price=None if bust is None else float(bust), gap_to_bankruptcy=gap)


# ----------------------------------------------------------------------------- in words

KIND_WORDS = {"stop_loss": "stop-loss", "take_profit": "take-profit"}


def reach_sentence(reach: OrderReach, who: str) -> str:
    """Where an order sits, in words, for the page beside it (text, never markup).

    >>> r = OrderReach(id="a", kind="stop_loss", trigger=85.0, can_fire=False, liquidation_price=90.91,
    ...                bankruptcy_price=90.0, gap_to_bankruptcy=None)
    >>> reach_sentence(r, "BTC long")
    'BTC long: its stop-loss at 85.00 can never fire: the position is liquidated at 90.91 on the way to it.'
    """
    what = f"{who}: its {KIND_WORDS[reach.kind]} at {price(reach.trigger)}"
    if not reach.can_fire:
        return f"{what} can never fire: the position is liquidated at {price(reach.liquidation_price)} on the way to it."
    if reach.gap_to_bankruptcy is not None:
        return (f"{what} can fire, and can be gapped: a jump of more than {percent(reach.gap_to_bankruptcy)} past it "
                f"fills it beyond the bankruptcy price {price(reach.bankruptcy_price)}, losing more than its margin.")
    return f"{what} can fire before any liquidation."


def event_sentence(event: Event, who: str) -> str | None:
    """A stop-loss, take-profit or collateral sale in words, like the other events (None for
    another kind). Amounts in the event's currency.

    >>> e = Event(step=3, row=3, type="stop_loss", position="a", market="BTC", mode="isolated",
    ...           price=95_000.0, size=1.0, realized_pnl=-5_000.0, fee=0.0, insurance_fund_delta=0.0)
    >>> event_sentence(e, "BTC long")
    'BTC long: its stop-loss closed 1 at 95,000.00 (-5,000.00 USDT realized)'
    """
    if event.type in KIND_WORDS:
        realized = money(event.realized_pnl, signed=True, unit=event.currency)
        return (f"{who}: its {KIND_WORDS[event.type]} closed {quantity(event.size)} at {price(event.price)} "
                f"({realized} realized)")
    if event.type == "collateral_sale":
        return (f"The cross pool's {quantity(event.size)} {event.position} collateral was sold at "
                f"{price(event.price)} for {money(event.realized_pnl)} (its value less the haircut), as the pool "
                "was closed")
    return None


__all__ = ["OrderReach", "event_sentence", "order_reach", "reach_sentence"]
