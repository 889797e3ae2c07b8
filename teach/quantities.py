"""The engine quantities the lessons ask about: each a function of the lesson's account and
its spec, returning the value (in the answer's unit) and the numbers its explanations quote.

Nothing here restates a rule: liquidation prices come from :mod:`margin.account`, shocks from
:mod:`margin.sweep`, walks from :mod:`margin.walk` (each account first arrives at today's
prices from its positions' entries, as in the lab), crash paths from :mod:`margin.crashes`,
probabilities from :mod:`margin.stress`, cascades from :mod:`margin.cascade`.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from margin.account import evaluate, position_liquidation_price
from margin.fields import ScenarioError
from margin.numbers import money, percent, price, quantity
from margin.presets import market_label
from margin.scenario import Scenario, scenario_from_dict, scenario_to_dict
from margin.simulate import PricePath, SimulationResult, price_path, simulate
from margin.sweep import shock_crossings, shock_prices
from margin.tiers import tier_index
from margin.walk import start_walk
from teach.lessons import Lesson, LessonError, Measure, apply_patch, get_lesson, lesson_scenario



def position_index(scenario: Scenario, position_id: str) -> int:
    for index, position in enumerate(scenario.positions):
        if position.id == position_id:
            return index
    raise LessonError(f"unknown position {position_id!r}")


def pool_at(scenario: Scenario, prices: Mapping[str, float], position_id: str | None) -> dict[str, float]:
    """Equity and maintenance margin of the pool a position belongs to (the cross pool when
    ``position_id`` is None or cross) at ``prices``."""
    snapshot = evaluate(scenario, prices)
    if position_id is not None:
        index = position_index(scenario, position_id)
        if scenario.positions[index].is_isolated:
            p = snapshot.positions[index]
            return {"equity": p.equity, "mm": p.maintenance_margin}
    return {"equity": snapshot.cross.equity, "mm": snapshot.cross.maintenance_margin}


def _pnl_context(scenario: Scenario, prices: Mapping[str, float]) -> dict[str, Any]:
    """``pnl[id]`` (signed) and ``loss[id]`` (minus the PnL) of every position at ``prices``."""
    snapshot = evaluate(scenario, prices)
    return {"pnl": {p.id: money(p.unrealized_pnl) for p in snapshot.positions},
            "loss": {p.id: money(-p.unrealized_pnl) for p in snapshot.positions}}


def formula_numbers(values: Mapping[str, tuple[str, Any]]) -> dict[str, dict[str, str]]:
    """The numbers a lesson's formulas print (``num``: as the learner reads them) and the same
    numbers exactly (``exact``: the float's own decimal expansion, for the test that evaluates
    the formula). ``values`` maps a name to (kind, value): ``"price"``, ``"money"`` (a negative
    one in parentheses, so it reads inside a sum), ``"size"``, ``"rate"`` or ``"sign"`` (the
    operator that moves a price the way the position loses: − for a long, + for a short).

    >>> n = formula_numbers({"entry": ("price", 0.3), "pnl": ("money", -3000.0), "sign": ("sign", 1)})
    >>> n["num"], n["exact"]["entry"]
    ({'entry': '0.3000', 'pnl': '(−3,000.00)', 'sign': '−'}, '0.299999999999999988897769753748434595763683319091796875')
    """
    num: dict[str, str] = {}
    exact: dict[str, str] = {}
    for name, (kind, value) in values.items():
        if kind == "sign":
            num[name], exact[name] = ("−", "-") if value > 0 else ("+", "+")
            continue
        value = float(value)
        exact[name] = f"({Decimal(value):f})" if value < 0 else f"{Decimal(value):f}"
        if kind == "price":
            num[name] = price(value)
        elif kind == "money":
            text = money(abs(value), unit="")
            num[name] = f"(−{text})" if round(value, 2) < 0 else text
        elif kind == "size":
            num[name] = quantity(value)
        else:
            num[name] = f"{value:g}"
    return {"num": num, "exact": exact}


def q_liquidation_price(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Mark price [USDT per coin] of the position's market at which it is liquidated
    (``which="liquidation"``) or bankrupt (``"bankruptcy"``), the other markets held.

    The formulas' numbers (:func:`formula_numbers`): ``entry``, ``size``, ``sign``; ``margin``,
    what stands behind the position besides its own PnL (its isolated margin, or the cross
    wallet ``wallet`` plus the other cross positions' PnL ``other_pnl``); ``mm_liq``, its pool's
    maintenance at the liquidation price, with ``rate`` and ``cum`` its own tier's there;
    ``liquidation``, ``bankruptcy``."""
    index = position_index(scenario, spec["position"])
    position = scenario.positions[index]
    result = position_liquidation_price(scenario, index)
    which = spec.get("which", "liquidation")
    value = result.liquidation_price if which == "liquidation" else result.bankruptcy_price
    if value is None:
        raise LessonError(f"{position.id}: no positive {which} price")
    at = pool_at(scenario, {position.market: value}, position.id)
    current = scenario.markets[position.market].price
    return Measure(value=float(value), context={
        "liquidation": price(result.liquidation_price), "bankruptcy": price(result.bankruptcy_price),
        "current": price(current), "coin": market_label(position.market), "market": position.market,
        "mm": money(at["mm"]), "equity": money(at["equity"]),
        "move": percent(value / current - 1.0), "distance": percent(abs(value / current - 1.0)),
        **_pnl_context(scenario, {position.market: value}),
        **formula_numbers(_price_numbers(scenario, index, result.liquidation_price, result.bankruptcy_price)),
    })


def _price_numbers(scenario: Scenario, index: int, liquidation: float | None,
                   bankruptcy: float | None) -> dict[str, tuple[str, Any]]:
    """What :func:`q_liquidation_price`'s formulas print (see there)."""
    position = scenario.positions[index]
    snapshot = evaluate(scenario)
    wallet = position.margin if position.is_isolated else scenario.cross_wallet
    others = 0.0 if position.is_isolated else sum(
        p.unrealized_pnl for p, q in zip(snapshot.positions, scenario.positions) if not q.is_isolated and q is not position)
    values: dict[str, tuple[str, Any]] = {
        "entry": ("price", position.entry), "size": ("size", position.size), "sign": ("sign", position.sign),
        "wallet": ("money", wallet), "other_pnl": ("money", others), "margin": ("money", wallet + others)}
    if liquidation is not None:
        market = scenario.markets[position.market]
        basis = position.entry if scenario.rules.mm_basis == "entry" else liquidation
        floors, rates, cums = market.tier_lists
        k = int(tier_index(position.size * basis, floors))
        values.update(liquidation=("price", liquidation), rate=("rate", rates[k]), cum=("money", cums[k]),
                      mm_liq=("money", pool_at(scenario, {position.market: liquidation}, position.id)["mm"]))
    if bankruptcy is not None:
        values["bankruptcy"] = ("price", bankruptcy)
    return values


def _liquidatable(scenario: Scenario, prices: Mapping[str, float], position_id: str | None) -> bool:
    pool = pool_at(scenario, prices, position_id)
    return bool(scenario.rules.breached(pool["equity"], pool["mm"]))


def shock_dict(scenario: Scenario, shock: float) -> dict[str, float]:
    row = shock_prices(scenario, np.array([shock]))[0]
    return dict(zip(scenario.markets, map(float, row)))


def liquidation_shock(scenario: Scenario, position_id: str | None = None) -> float | None:
    """The whole-market shock [fraction, ≤ 0] at which the pool of ``position_id`` (the cross
    pool when None or cross) is first liquidated as the market falls from today: the exact
    crossing (:func:`margin.sweep.shock_crossings`); 0 when it is liquidated already, None if
    no shock down to −99 % does it."""
    pool = None
    if position_id is not None:
        position = scenario.positions[position_index(scenario, position_id)]
        pool = position.id if position.is_isolated else None
    if _liquidatable(scenario, {}, position_id):
        return 0.0
    down = [c.shock for c in shock_crossings(scenario, low=-0.99, high=0.0)
            if c.kind == "liquidation" and c.position == pool and c.beyond < 0]
    return max(down) if down else None


def q_liquidation_shock(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The market shock [%] at which the cross pool (or ``position``'s pool) is liquidated.

    Context: the pool at that shock, what the account has lost by then, what is left after a
    walk just past it (simulated), and with ``compare_isolated`` the shock at which that
    position alone, isolated on its initial margin, would be liquidated."""
    shock = liquidation_shock(scenario, spec.get("position"))
    if shock is None:
        raise LessonError("no shock down to -99 % liquidates this pool")
    prices = shock_dict(scenario, shock)
    pool = pool_at(scenario, prices, spec.get("position"))
    start = pool_at(scenario, {}, spec.get("position"))
    context: dict[str, Any] = {
        "equity": money(pool["equity"]), "mm": money(pool["mm"]), "wallet": money(scenario.cross_wallet),
        "start_equity": money(start["equity"]), "lost": money(start["equity"] - pool["equity"]),
        **_pnl_context(scenario, prices),
        "prices": {market_label(m): price(p) for m, p in prices.items()},
    }
    beyond = min(shock - 0.005, 0.0)
    result = walk_path(scenario, _shock_path(scenario, np.linspace(0.0, beyond, 21)), trace=True, invented=True)
    context["left_after"] = money(max(float(result.trace.total_equity[-1]), 0.0))
    context["wallet_after"] = money(result.final.balance)
    compare = spec.get("compare_isolated")
    if compare:
        raw = scenario_to_dict(scenario)
        alone = apply_patch(raw, {"positions": {compare: {"mode": "isolated", "margin": None}}})
        alone["positions"] = [p for p in alone["positions"] if p["id"] == compare]
        alone["balance"] = max(alone["balance"], _initial_margin(alone["positions"][0]))
        iso = liquidation_shock(scenario_from_dict(alone), compare)
        context["isolated_shock"] = "—" if iso is None else f"{iso * 100:.2f} %"
    return Measure(value=shock * 100.0, context=context)


def _initial_margin(position: Mapping[str, Any]) -> float:
    return float(position["size"]) * float(position["entry"]) / float(position["leverage"])


def _shock_path(scenario: Scenario, shocks: Sequence[float]) -> PricePath:
    rows = shock_prices(scenario, np.asarray(shocks, dtype=float))
    return price_path({name: rows[:, j] for j, name in enumerate(scenario.markets)})


def _path(scenario: Scenario, spec: Mapping[str, Any], kind: str = "mark") -> PricePath:
    """A price path from a lesson: ``{"shock_to": x, "steps": n}`` (a straight whole-market
    walk), ``{"prices": {market: [...]}}``, ``{"crash": id}`` (a shipped crash, ``kind`` mark or
    last, via :mod:`margin.crashes`) or ``{"custom_crash": {...}}`` (its keyword arguments)."""
    if "shock_to" in spec:
        return _shock_path(scenario, np.linspace(0.0, float(spec["shock_to"]), int(spec.get("steps", 21))))
    if "prices" in spec:
        return price_path({m: np.asarray(v, dtype=float) for m, v in spec["prices"].items()})
    if "crash" in spec:
        from margin.crashes import crash_path, load_crash
        return crash_path(load_crash(spec["crash"]), scenario, kind)
    if "custom_crash" in spec:
        from margin.crashes import crash_path, custom_crash
        return crash_path(custom_crash(**spec["custom_crash"]), scenario, kind)
    raise LessonError(f"unknown path {dict(spec)!r}")


def walk_path(scenario: Scenario, path: PricePath, *, trace: bool = False, invented: bool = False) -> SimulationResult:
    """``simulate`` along ``path`` from where the account arrives at today's prices (walked from
    its positions' entries, as the lab does), so a lesson and the lab tell the same story. An
    ``invented`` path (a straight shock walk) is settled at its exact crossings, as the lab's
    walk is; a crash's marks are observed, judged and filled where they were seen
    (:mod:`margin.crossing`)."""
    arrival = start_walk(scenario)
    if not invented:
        return simulate(scenario, path, trace=trace, start=arrival.state)
    return simulate(scenario, path, trace=trace, start=arrival.state, crossing="settle",
                    before=np.array(arrival.prices))


def _simulation_context(scenario: Scenario, result: SimulationResult) -> dict[str, Any]:
    """The walk's numbers; its formulas' (:func:`formula_numbers`): ``wallet`` (the balance
    before), ``deficit``, and of the first position closed ``size``, ``entry``, ``fill`` and
    its ``bankruptcy`` price before the walk."""
    deficit = sum(e.amount for e in result.events if e.type == "bankruptcy")
    paid = -sum(e.insurance_fund_delta for e in result.events if e.type == "bankruptcy")
    values: dict[str, tuple[str, Any]] = {"wallet": ("money", scenario.balance), "deficit": ("money", deficit)}
    closes = [e for e in result.events if e.type == "liquidation"]
    if closes:
        index = position_index(scenario, closes[0].position)
        values.update(size=("size", closes[0].size), entry=("price", scenario.positions[index].entry),
                      fill=("price", closes[0].price))
        bankruptcy = position_liquidation_price(scenario, index).bankruptcy_price
        if bankruptcy is not None:
            values["bankruptcy"] = ("price", bankruptcy)
    return {
        **formula_numbers(values),
        "wallet_before": money(scenario.balance), "wallet_after": money(result.final.balance),
        "wallet_lost": money(scenario.balance - result.final.balance),
        "deficit": money(deficit), "fund_paid": money(paid), "fund_start": money(scenario.rules.insurance_fund),
        "socialized": money(result.final.socialized_loss),
        "closed": ", ".join(dict.fromkeys(e.position for e in result.events)) or "none",
        "open": ", ".join(result.final.open_positions) or "none",
        **_pnl_context(scenario, {}),
        "realized": {e.position: money(e.realized_pnl) for e in result.events if e.type == "liquidation"},
    }


def q_wallet_lost(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """How much of the wallet [USDT] a walk along the path costs: balance − final balance."""
    result = walk_path(scenario, _path(scenario, spec["path"]), invented="shock_to" in spec["path"])
    return Measure(value=float(scenario.balance - result.final.balance),
                   context=_simulation_context(scenario, result))


def q_wallet_left(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The wallet balance [USDT] after a walk along the path (before the unrealized PnL of the
    positions still open): what the closes on the way took out of it."""
    result = walk_path(scenario, _path(scenario, spec["path"]), invented="shock_to" in spec["path"])
    return Measure(value=float(result.final.balance), context=_simulation_context(scenario, result))


def q_socialized_loss(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """The loss [USDT] neither the trader nor the insurance fund could pay along the path."""
    result = walk_path(scenario, _path(scenario, spec["path"]), invented="shock_to" in spec["path"])
    return Measure(value=float(result.final.socialized_loss), context=_simulation_context(scenario, result))


def q_position_loss(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Minus the position's unrealized PnL [USDT] at the scenario's prices."""
    index = position_index(scenario, spec["position"])
    return Measure(value=-float(evaluate(scenario).positions[index].unrealized_pnl), context={})


def q_mark_liquidates(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Choice: is ``position`` liquidated along the crash's **mark** path? (option 0 = yes,
    option 1 = no). Context: the lowest mark and last prices, the liquidation price, and when
    the last price alone would have liquidated it."""
    index = position_index(scenario, spec["position"])
    position = scenario.positions[index]
    column = list(scenario.markets).index(position.market)
    on_mark = walk_path(scenario, _path(scenario, spec["path"], "mark"))
    last_path = _path(scenario, spec["path"], "last")
    on_last = walk_path(scenario, last_path)
    hit_mark = [e for e in on_mark.events if e.position == position.id]
    hit_last = [e for e in on_last.events if e.position == position.id]
    liq = position_liquidation_price(scenario, index).liquidation_price
    mark_path = _path(scenario, spec["path"], "mark")
    context = {
        "liquidation": price(liq), "coin": market_label(position.market),
        "mark_low": price(float(mark_path.marks[:, column].min())),
        "last_low": price(float(last_path.marks[:, column].min())),
        "last_step": str(hit_last[0].step) if hit_last else "never",
        "mark_step": str(hit_mark[0].step) if hit_mark else "never",
    }
    return Measure(value=int(0 if hit_mark else 1), context=context)


def q_fat_tail_ratio(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Choice: how the fat-tailed model's liquidation probability compares with the normal
    model's for ``position`` (same volatility, seed and paths), bucketed by ``bounds``
    (ratios separating the options, ascending)."""
    from margin.stress import run_stress, stress_spec
    from margin.stress.results import paired_ratio

    index = position_index(scenario, spec["position"])
    figures = {}
    for model in ("normal", "student_t"):
        stress = stress_spec(scenario, model=model, dof=float(spec.get("dof", 3.0)),
                             horizon_days=float(spec["horizon_days"]), n_steps=int(spec["n_steps"]),
                             n_paths=int(spec["n_paths"]), seed=int(spec["seed"]))
        figures[model] = run_stress(scenario, stress, variants={"As built": scenario}).variants["As built"]
    p_normal = float(figures["normal"].liquidation_probability[index])
    p_t = float(figures["student_t"].liquidation_probability[index])
    ratio = math.inf if p_normal == 0 else p_t / p_normal
    option = int(np.searchsorted(np.asarray(spec["bounds"], dtype=float), ratio, side="right"))
    # the two models walk the same random numbers: a paired ratio, Tang's score interval
    sure = paired_ratio(figures["student_t"].liquidated[:, index], figures["normal"].liquidated[:, index])
    context = {
        "ratio_interval": f"{sure.low:.1f} to {'infinity' if math.isinf(sure.high) else f'{sure.high:.1f}'}",
        "ratio_verdict": ("too few paths to tell the two models apart" if sure.too_few_paths
                          else "more than the paths' chance could make"),
        "p_normal": percent(p_normal, 2), "p_t": percent(p_t, 2),
        "n_normal": f"{round(p_normal * int(spec['n_paths'])):,}", "n_t": f"{round(p_t * int(spec['n_paths'])):,}",
        "ratio": "infinitely many" if math.isinf(ratio) else f"{ratio:.1f}",
        "paths": f"{int(spec['n_paths']):,}",
        "es_normal": money(figures["normal"].expected_shortfall()), "es_t": money(figures["student_t"].expected_shortfall()),
        "var_normal": money(figures["normal"].value_at_risk()), "var_t": money(figures["student_t"].value_at_risk()),
    }
    return Measure(value=option, context=context)


def q_cascade_drop(scenario: Scenario, spec: Mapping[str, Any]) -> Measure:
    """Where a market liquidation cascade comes to rest: the final price move [%] from the
    start, by :mod:`margin.cascade` (``spec["input"]`` in the ``python -m margin cascade``
    input format; the lesson's account is the learner). Context: the rounds, how many
    traders and how much notional were liquidated, and the learner's fate."""
    from margin.cascade import cascade_input_from_dict, run_spec

    run = run_spec(cascade_input_from_dict({**dict(spec["input"]), "scenario": scenario_to_dict(scenario)}))
    result = run.result
    fates = []
    for fate in run.learner:
        if fate["round"] is None:
            fates.append(f"your {market_label(fate['market'])} {fate['side']} survives")
        else:
            fates.append(f"your {market_label(fate['market'])} {fate['side']} is liquidated in round "
                         f"{fate['round']}, at {price(fate['price'])}")
    own = [position_liquidation_price(scenario, i).liquidation_price for i in range(len(scenario.positions))]
    start_price = result.start_price
    accounting = result.accounting()
    context = {
        "shock": f"{result.shock * 100:.2f} %", "final_price": price(result.final_price),
        "rounds": f"{result.active_rounds:,}", "liquidated": f"{result.liquidated_count:,}",
        "traders": f"{run.crowd.n_traders:,}", "notional": money(result.liquidated_notional),
        "amplification": f"{result.amplification:.1f}", "fate": "; ".join(fates) or "you hold nothing here",
        "own_liquidation": ", ".join(price(p) for p in own if p is not None) or "—",
        "own_move": ", ".join(percent(p / start_price - 1.0) for p in own if p is not None) or "—",
        "socialized": money(accounting.get("socialized", 0.0)),
    }
    return Measure(value=float(result.final_drop) * 100.0, context=context)


Quantity = Callable[[Scenario, Mapping[str, Any]], Measure]
QUANTITIES: dict[str, Quantity] = {
    "liquidation_price": q_liquidation_price,
    "liquidation_shock": q_liquidation_shock,
    "wallet_lost": q_wallet_lost,
    "wallet_left": q_wallet_left,
    "socialized_loss": q_socialized_loss,
    "position_loss": q_position_loss,
    "mark_liquidates": q_mark_liquidates,
    "fat_tail_ratio": q_fat_tail_ratio,
    "cascade_drop": q_cascade_drop,
}
# collateral that moves and stops that never fire: their own module, which uses the walks above
from teach.holdings import HOLDINGS_QUANTITIES  # noqa: E402
QUANTITIES.update(HOLDINGS_QUANTITIES)


def measure(lesson: Lesson, spec: Mapping[str, Any] | None = None) -> Measure:
    """Compute the lesson's quantity (or ``spec``, e.g. a mistake's) on the lesson's account
    (``spec["patch"]`` patches the account first)."""
    spec = lesson.quantity if spec is None else spec
    return _measure_cached(lesson.id, json.dumps(spec, sort_keys=True))


@lru_cache(maxsize=256)
def _measure_cached(lesson_id: str, spec_json: str) -> Measure:
    lesson = get_lesson(lesson_id)
    spec = json.loads(spec_json)
    raw = lesson_scenario(lesson)
    if spec.get("patch"):
        raw = apply_patch(raw, spec["patch"])
    try:
        scenario = scenario_from_dict(raw)
    except ScenarioError as err:
        raise LessonError(f"lesson {lesson_id}: {err}") from None
    return QUANTITIES[spec["kind"]](scenario, spec)


