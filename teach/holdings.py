"""The quantities of the two lessons of issue 27: collateral that moves with the market, and a
stop that never fires. Each value and every number its texts quote is computed by the engine:
liquidation prices by :func:`margin.account.position_liquidation_price` (of the account, and of
its twin with the collateral held as USDT, :func:`margin.variants.collateral_in_usdt`), where
each order sits by :func:`margin.stops.order_reach`, walks by :func:`teach.quantities.walk_path`.

>>> from teach.lessons import get_lesson
>>> from teach.quantities import measure
>>> round(measure(get_lesson("collateral-crashes")).value, 2), measure(get_lesson("collateral-crashes")).context["usdt"]
(30848.33, '3,015.08')
>>> measure(get_lesson("stop-never-fires")).value
4500.0
"""

from __future__ import annotations

from typing import Any, Mapping

from margin.account import evaluate, position_liquidation_price
from margin.numbers import money, percent, price, quantity
from margin.presets import market_label
from margin.scenario import Scenario
from margin.stops import KIND_WORDS, order_reach
from margin.variants import collateral_in_usdt
from teach.lessons import LessonError, Measure
from teach.quantities import _path, position_index, walk_path

CLOSES = ("liquidation", "partial_liquidation", "stop_loss", "take_profit")


def q_collateral_liquidation(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Mark price [USDT per coin] at which ``position`` is liquidated with the account's own
    collateral (which moves with its market), the other markets held. Context: ``usdt``, the same
    with the collateral held as the USDT it counts for today; each one's move from today's price;
    the collateral (``held``), what it counts for (``value``), its ``haircut``, and what it is
    worth at the liquidation price (``value_at_liq``). With ``in_usdt``: the twin's price alone."""
    index = position_index(scenario, spec["position"])
    position = scenario.positions[index]
    twin = collateral_in_usdt(scenario)
    own = position_liquidation_price(scenario, index).liquidation_price
    usdt = position_liquidation_price(twin, index).liquidation_price
    if own is None or usdt is None:
        raise LessonError(f"{position.id}: no liquidation price with its collateral or in USDT")
    held = [c for c in scenario.collateral if not c.coin_pool]
    if not held:
        raise LessonError("the account holds no collateral a market moves")
    if spec.get("in_usdt"):  # the mistake of counting the collateral as fixed USDT
        return Measure(value=float(usdt), context={})
    current = scenario.markets[position.market].price
    at_liq = scenario.with_prices({position.market: own})
    return Measure(value=float(own), context={
        "usdt": price(usdt), "current": price(current), "coin": market_label(position.market),
        "move": percent(abs(own / current - 1.0)), "usdt_move": percent(abs(usdt / current - 1.0)),
        "held": ", ".join(f"{quantity(c.amount)} {c.asset}" for c in held),
        "haircut": ", ".join(percent(c.haircut, 0) for c in held),
        "value": money(sum(c.value(scenario.markets[c.market].price) for c in held)),
        "value_at_liq": money(sum(c.value(at_liq.markets[c.market].price) for c in held)),
        "pnl_at_liq": money(evaluate(scenario, {position.market: own}).positions[index].unrealized_pnl),
        "pnl_at_usdt": money(evaluate(twin, {position.market: usdt}).positions[index].unrealized_pnl),
    })


def q_wallet_after_orders(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The wallet [USDT] after a walk along ``spec["path"]`` on an account whose positions
    carry stops, the walk settling each liquidation and order where the price meets it. With
    ``every_stop_fires``: what the wallet would be if every stop-loss on the way filled at its
    trigger (the mistake of trusting a stop beyond the liquidation price), each position's PnL
    there by :func:`margin.account.evaluate`. Context: ``fates``, what closed each position and
    what it cost; per position ``stop``, ``liq`` (its liquidation price today), ``at_stop``
    (what a fill at its stop would have cost) and ``lost``."""
    result = walk_path(scenario, _path(scenario, spec["path"]), invented="shock_to" in spec["path"])
    reach = {r.id: r for r in order_reach(scenario) if r.kind == "stop_loss"}
    at_stop = {}
    for pid, r in reach.items():
        index = position_index(scenario, pid)
        pnl = evaluate(scenario, {scenario.positions[index].market: r.trigger}).positions[index].unrealized_pnl
        at_stop[pid] = float(-pnl)
    if spec.get("every_stop_fires"):
        stopped = {e.position for e in result.events if e.type in CLOSES}
        value = scenario.balance - sum(cost for pid, cost in at_stop.items() if pid in stopped)
        return Measure(value=float(value), context={})
    lost: dict[str, float] = {}
    fates = []
    for e in result.events:
        if e.type not in CLOSES:
            continue
        lost[e.position] = lost.get(e.position, 0.0) - e.money_change
        r = reach.get(e.position)
        who = f"the {market_label(e.market)} {scenario.positions[position_index(scenario, e.position)].side}"
        if e.type in KIND_WORDS:
            fates.append(f"{who}'s {KIND_WORDS[e.type]} closed it at {price(e.price)}, a loss of {money(-e.money_change)}")
        elif r is not None and not r.can_fire:
            fates.append(f"{who} was liquidated at {price(e.price)} before its stop at {price(r.trigger)} was reached, "
                         f"losing its margin, {money(-e.money_change)}")
        else:
            fates.append(f"{who} was liquidated at {price(e.price)}, losing {money(-e.money_change)}")
    liquidation = {p.id: position_liquidation_price(scenario, i).liquidation_price for i, p in enumerate(scenario.positions)}
    return Measure(value=float(result.final.balance), context={
        "fates": "; ".join(fates) or "nothing was closed", "wallet_before": money(scenario.balance),
        "stop": {pid: price(r.trigger) for pid, r in reach.items()},
        "liq": {pid: price(v) for pid, v in liquidation.items() if v is not None},
        "at_stop": {pid: money(v) for pid, v in at_stop.items()},
        "lost": {pid: money(v) for pid, v in lost.items()},
    })


HOLDINGS_QUANTITIES = {
    "collateral_liquidation": q_collateral_liquidation,
    "wallet_after_orders": q_wallet_after_orders,
}

__all__ = ["HOLDINGS_QUANTITIES", "q_collateral_liquidation", "q_wallet_after_orders"]
