"""The cascade's input (the ``python -m margin cascade`` document) validated, and run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping


from margin.cascade.crowd import Crowd, CrowdParams, Trader, build_crowd, checked_params, with_traders
from margin.cascade.deleverage import OutsideCandidates
from margin.cascade.learner import learner_in_cascade
from margin.cascade.rounds import (
    SETTLEMENTS, CascadeResult, TippingCurve, checked_depth_impact, checked_shock, run_cascade, tipping_point,
)
from margin.fields import ScenarioError, choice, known_fields, mapping, number, rate, text, whole
from margin.scenario import (
    LIQUIDATION_TRIGGERS, MAX_FUND, Market, Scenario, Tier, parse_tiers, price_field, scenario_from_dict,
)
from margin.limits import MAX_NAMED_TRADERS, MAX_ROUNDS, MAX_SHOCKS  # noqa: F401  (the bounds live in margin.limits)

# ----------------------------------------------------------------------------- input and CLI


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeInput:
    market: Market
    crowd: CrowdParams
    depth: float
    impact: str
    shock: float
    shocks: tuple[float, ...] | None = None
    scenario: Scenario | None = None
    liquidation_fee_rate: float = 0.005
    settlement: str = "bankruptcy"
    insurance_fund: float = math.inf
    max_rounds: int = 10_000
    auto_deleverage: bool = False
    liquidation_trigger: str = "at_maintenance"
    traders: tuple[Trader, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)




def _market(raw: Any, scenario: Scenario | None) -> Market:
    """The crowd's market: ``name`` (one of the scenario's, when there is one), ``price``
    and ``tiers`` or ``mmr``, which default to the scenario's market."""
    raw = mapping(raw if raw is not None else {}, "market")
    known_fields(raw, "market", ("name", "price", "tiers", "mmr"))
    name = raw.get("name")
    if name is not None:
        name = text(name, "market.name", max_chars=80)
    if scenario is not None:
        name = name or (scenario.positions[0].market if scenario.positions else next(iter(scenario.markets)))
        if name not in scenario.markets:
            raise ScenarioError("market.name", f"is not a market of the scenario ({', '.join(scenario.markets)})")
    name = name or "MARKET"
    base = scenario.markets[name] if scenario is not None else None
    if raw.get("price") is None:
        if base is None:
            raise ScenarioError("market.price", "is required (a number > 0)")
        price = base.price
    else:
        price = price_field(raw["price"], "market.price")
    if "tiers" in raw:
        tiers = parse_tiers(raw["tiers"], "market.tiers")
    elif "mmr" in raw:
        tiers = (Tier(floor=0.0, mmr=rate(raw["mmr"], "market.mmr")),)
    elif base is not None:
        tiers = base.tiers
    else:
        raise ScenarioError("market", "needs 'tiers' or 'mmr'")
    # the learner's venue keeps the fee to close inside the crowd's maintenance too
    reserve = scenario.rules.close_fee_reserve if scenario is not None else 0.0
    return Market(name=name, price=price, tiers=tiers, close_fee_reserve=reserve)


def _crowd(raw: Any) -> CrowdParams:
    raw = mapping(raw if raw is not None else {}, "crowd")
    known = set(CrowdParams.__dataclass_fields__)
    for key in raw:
        if key not in known:
            raise ScenarioError(f"crowd.{str(key)[:40]}", f"unknown parameter (known: {', '.join(sorted(known))})")
    return checked_params(CrowdParams(**dict(raw)))


def _shocks(raw: Any) -> tuple[float, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_SHOCKS:
        raise ScenarioError("shocks", f"must be a list of 1 to {MAX_SHOCKS:,} fractions")
    return tuple(checked_shock(s, f"shocks[{i}]") for i, s in enumerate(raw))


def _traders(raw: Any) -> tuple[Trader, ...]:
    """``traders``: a list of ``{"side", "leverage", "notional", "mode", "wallet"}`` (``wallet``
    [quote], cross only, at least the margin, default the margin) added to the crowd."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_NAMED_TRADERS:
        raise ScenarioError("traders", f"must be a list of at most {MAX_NAMED_TRADERS:,} traders")
    out = []
    for i, item in enumerate(raw):
        where = f"traders[{i}]"
        item = mapping(item, where)
        known_fields(item, where, ("side", "leverage", "notional", "mode", "wallet"))
        side = choice(item.get("side"), f"{where}.side", ("long", "short"))
        mode = choice(item.get("mode", "isolated"), f"{where}.mode", ("cross", "isolated"))
        leverage = number(item.get("leverage"), f"{where}.leverage", low=1.0, high=1_000.0)
        notional = number(item.get("notional"), f"{where}.notional", low=0.0, low_open=True, high=1e12)
        margin = notional / leverage
        wallet = number(item.get("wallet", margin), f"{where}.wallet", low=0.0, high=1e15)
        if mode == "cross" and wallet < margin * (1 - 1e-12):
            raise ScenarioError(f"{where}.wallet", f"must cover the margin ({margin:g}), got {wallet:g}")
        out.append(Trader(side=1 if side == "long" else -1, leverage=leverage, notional=notional,
                          cross=mode == "cross", wallet=wallet if mode == "cross" else 0.0))
    return tuple(out)


INPUT_FIELDS = ("market", "crowd", "depth", "impact", "shock", "shocks", "scenario", "liquidation_fee_rate",
                "settlement", "insurance_fund", "max_rounds", "auto_deleverage", "liquidation_trigger", "traders")


def cascade_input_from_dict(raw: Any) -> CascadeInput:
    """Validate the ``python -m margin cascade`` input (see the README for the format)."""
    raw = mapping(raw, "input")
    known_fields(raw, "", INPUT_FIELDS)
    scenario = None
    if raw.get("scenario") is not None:
        try:
            scenario = scenario_from_dict(raw["scenario"])
        except ScenarioError as err:
            raise ScenarioError(f"scenario.{err.field}", err.problem) from None
    if "depth" not in raw:
        raise ScenarioError("depth", "is required: notional [quote] that moves the price 1 % (null = no impact)")
    depth = math.inf if raw["depth"] is None else number(raw["depth"], "depth", low=0.0, low_open=True)
    depth, impact = checked_depth_impact(depth, raw.get("impact", "linear"))
    if "shock" not in raw:
        raise ScenarioError("shock", "is required: the initial price move as a fraction, e.g. -0.05")
    fund = raw.get("insurance_fund")
    return CascadeInput(
        market=_market(raw.get("market"), scenario), crowd=_crowd(raw.get("crowd")), depth=depth, impact=impact,
        shock=checked_shock(raw["shock"]), shocks=_shocks(raw.get("shocks")), scenario=scenario,
        liquidation_fee_rate=rate(raw.get("liquidation_fee_rate", 0.005), "liquidation_fee_rate", allow_one=True),
        settlement=choice(raw.get("settlement", "bankruptcy"), "settlement", SETTLEMENTS),
        insurance_fund=math.inf if fund is None else number(fund, "insurance_fund", low=0.0, high=MAX_FUND),
        max_rounds=whole(raw.get("max_rounds", 10_000), "max_rounds", 1, MAX_ROUNDS),
        auto_deleverage=_flag(raw.get("auto_deleverage", False), "auto_deleverage"),
        liquidation_trigger=choice(raw.get("liquidation_trigger", scenario.rules.liquidation_trigger if scenario
                                           else "at_maintenance"), "liquidation_trigger", LIQUIDATION_TRIGGERS),
        traders=_traders(raw.get("traders")))


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(where, f"must be true or false, got {str(value)[:40]!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeRun:
    """A cascade input run: the crowd, the cascade, the tipping curve (if ``shocks`` were
    given) and the learner's positions' fates (if a ``scenario`` was)."""

    spec: CascadeInput
    crowd: Crowd
    result: CascadeResult
    curve: TippingCurve | None
    learner: tuple[Mapping[str, Any], ...]


def run_spec(spec: CascadeInput) -> CascadeRun:
    """Draw the crowd (with ``spec.traders`` among it, after the drawn ones) and run the cascade
    (and the tipping curve, and the learner) of ``spec``."""
    crowd = with_traders(build_crowd(spec.market, spec.crowd), spec.traders)

    def run(outside: OutsideCandidates | None) -> CascadeResult:
        return run_cascade(crowd, spec.shock, spec.depth, spec.impact, max_rounds=spec.max_rounds,
                           liquidation_fee_rate=spec.liquidation_fee_rate, settlement=spec.settlement,
                           insurance_fund=spec.insurance_fund, adl=spec.auto_deleverage,
                           trigger=spec.liquidation_trigger, outside=outside)

    learner: tuple[Mapping[str, Any], ...] = ()
    if spec.scenario is not None:
        result, fate = learner_in_cascade(spec.scenario, spec.market.name, run)
        learner = tuple(fate)
    else:
        result = run(None)
    curve = None
    if spec.shocks is not None:
        curve = tipping_point(crowd, spec.shocks, spec.depth, spec.impact, max_rounds=spec.max_rounds,
                              trigger=spec.liquidation_trigger)
    return CascadeRun(spec=spec, crowd=crowd, result=result, curve=curve, learner=learner)


def named_traders(run: CascadeRun) -> list[dict[str, Any]]:
    """The fate of each of the input's ``traders`` (after the drawn crowd): the round it was
    liquidated in (None = survived), its fill price, its liquidation price, what it kept and
    the loss beyond its collateral [quote]."""
    first = run.crowd.n_traders - len(run.spec.traders)
    t = run.result.traders
    assert t is not None  # the run was asked for each trader's outcome
    out = []
    for k in range(first, run.crowd.n_traders):
        hit = int(t.round[k]) >= 0
        liq = float(run.crowd.liquidation_price[k])
        out.append({"round": int(t.round[k]) if hit else None, "price": float(t.fill_price[k]) if hit else None,
                    "liquidation_price": liq if 0 < liq < math.inf else None,
                    "returned": float(t.returned[k]) if hit else None, "deficit": float(t.deficit[k])})
    return out
