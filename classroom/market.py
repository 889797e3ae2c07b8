"""The class as the market: each student's one position, the limits the teacher sets, and the
class cascade, run by the engine's own cascade (:func:`margin.cascade.run_spec`) with the
class's positions among the crowd (the command's ``traders``), exactly as
``python -m margin cascade`` does on :func:`cascade_document`'s input.

A student's account is a wallet of ``wallet`` [USDT] holding one position in the room's market,
opened at the market's price: ``notional`` [USDT], ``leverage`` [x], long or short, cross (the
whole wallet stands behind it) or isolated (only its margin, notional / leverage, does).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping, Sequence

from margin.cascade import LEVERAGE_BUCKETS, cascade_input_from_dict, leverage_bucket, named_traders, run_spec
from margin.fields import ScenarioError, choice, mapping, number
from margin.presets import DEFAULT_STORY, load_story
from margin.scenario import MODES, SIDES, scenario_from_dict
from classroom.codes import RoomError

MARKET = "BTCUSDT"
MAX_CLASS_WALLET = 1e6  # [USDT]
MAX_CLASS_LEVERAGE = 100.0  # [x]
MAX_CROWD = 200_000  # traders


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassMarket:
    """What the teacher sets: each student's ``wallet`` [USDT] and ``max_leverage`` [x], the
    book's ``depth`` [USDT of forced selling that moves the price 1 %], the synthetic crowd
    around the class (``crowd``: :class:`margin.cascade.CrowdParams` fields), the liquidation
    fee [fraction] and the insurance fund [USDT] (None = unlimited)."""

    wallet: float = 1_000.0
    max_leverage: float = 50.0
    depth: float = 5_000_000.0
    crowd: Mapping[str, Any] = field(default_factory=lambda: {"n_traders": 20_000, "leverage_mean": 10.0,
                                                               "long_share": 0.6, "seed": 7})
    liquidation_fee_rate: float = 0.005
    insurance_fund: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "crowd": dict(self.crowd)}


def market_dict() -> dict[str, Any]:
    """The room's market (price and tiers) as a scenario holds it: the default story's BTC."""
    return dict(load_story(DEFAULT_STORY)["markets"][MARKET])


def check_class_market(raw: Any) -> ClassMarket:
    """The teacher's settings checked, each refused naming its field."""
    raw = dict(mapping(raw, "market"))
    base = ClassMarket()
    try:
        crowd = dict(mapping(raw.get("crowd", base.crowd), "crowd"))
        crowd["n_traders"] = number(crowd.get("n_traders", 20_000), "crowd.n_traders", low=1_000, high=MAX_CROWD,
                                    integer=True)
        cascade_input_from_dict(cascade_document(ClassMarket(crowd=crowd), -0.01))  # the engine's own checks
        fund = raw.get("insurance_fund", base.insurance_fund)
        return ClassMarket(
            wallet=number(raw.get("wallet", base.wallet), "wallet", low=10.0, high=MAX_CLASS_WALLET),
            max_leverage=number(raw.get("max_leverage", base.max_leverage), "max_leverage", low=1.0,
                                high=MAX_CLASS_LEVERAGE),
            depth=number(raw.get("depth", base.depth), "depth", low=0.0, low_open=True, high=1e15),
            crowd={**crowd, "n_traders": int(crowd["n_traders"])},
            liquidation_fee_rate=number(raw.get("liquidation_fee_rate", base.liquidation_fee_rate),
                                        "liquidation_fee_rate", low=0.0, high=0.1),
            insurance_fund=None if fund is None else number(fund, "insurance_fund", low=0.0, high=1e15))
    except RoomError:
        raise
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassPosition:
    """One student's position: ``side``, ``mode``, ``leverage`` [x], ``notional`` [USDT]."""

    side: str
    mode: str
    leverage: float
    notional: float


def check_position(raw: Any, market: ClassMarket) -> ClassPosition:
    """A student's position within the room's limits: leverage from 1x to the teacher's
    maximum (and the tier's), notional above 0 and at most wallet × leverage (its initial
    margin must fit in the wallet)."""
    try:
        raw = mapping(raw, "position")
        side = choice(raw.get("side"), "side", SIDES)
        mode = choice(raw.get("mode"), "mode", MODES)
        leverage = number(raw.get("leverage"), "leverage", low=1.0, high=market.max_leverage)
        notional = number(raw.get("notional"), "notional", low=0.0, low_open=True, high=market.wallet * leverage)
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None
    position = ClassPosition(side=side, mode=mode, leverage=leverage, notional=notional)
    try:  # the venue's own limits (a tier's maximum leverage at this notional)
        scenario_from_dict(student_scenario(position, market))
    except ScenarioError as err:
        raise RoomError(err.field.replace("positions[0].", ""), err.problem) from None
    return position


def student_scenario(position: ClassPosition, market: ClassMarket, name: str = "class") -> dict[str, Any]:
    """A student's account as a scenario dict: the wallet and the one position, entered at the
    market's price."""
    m = market_dict()
    price = float(m["price"])
    entry: dict[str, Any] = {"id": "position", "market": MARKET, "side": position.side, "size": position.notional / price,
                             "entry": price, "leverage": position.leverage, "mode": position.mode}
    if position.mode == "isolated":
        entry["margin"] = position.notional / position.leverage
    return {"format": "margin-scenario/1", "name": name, "balance": market.wallet,
            "rules": {"liquidation_fee_rate": market.liquidation_fee_rate},
            "markets": {MARKET: {k: v for k, v in m.items() if k in ("price", "tiers", "mmr")}},
            "positions": [entry]}


def class_traders(students: Sequence[ClassPosition], market: ClassMarket) -> list[dict[str, Any]]:
    """The students' positions as the cascade command's ``traders``: a cross position has the
    whole wallet behind it, an isolated one its margin only."""
    return [{"side": p.side, "mode": p.mode, "leverage": p.leverage, "notional": p.notional, "wallet": market.wallet}
            for p in students]


def cascade_document(market: ClassMarket, shock: float, students: Sequence[ClassPosition] = ()) -> dict[str, Any]:
    """The ``python -m margin cascade`` input of the class cascade at ``shock`` [fraction]: the
    crowd, and the class's positions among it (``traders``) when given."""
    m = market_dict()
    doc: dict[str, Any] = {
        "market": {"name": MARKET, "price": m["price"], **({"tiers": m["tiers"]} if "tiers" in m else {"mmr": m["mmr"]})},
        "crowd": dict(market.crowd), "depth": market.depth, "impact": "linear", "shock": shock,
        "liquidation_fee_rate": market.liquidation_fee_rate, "settlement": "bankruptcy",
        "insurance_fund": market.insurance_fund, "shocks": tipping_shocks(shock),
    }
    if students:
        doc["traders"] = class_traders(students, market)
    return doc


TIPPING_STEPS = 30  # shocks of 1 %, 2 %, ... 30 % the same way as the room's shock


def tipping_shocks(shock: float) -> list[float]:
    """The shocks of the class market's tipping curve [fractions]: 1 % to 30 %, the way ``shock`` goes."""
    sign = -1.0 if shock < 0 else 1.0
    return [sign * k / 100.0 for k in range(1, TIPPING_STEPS + 1)]


@dataclass(frozen=True, slots=True, kw_only=True)
class StudentFate:
    """One student in a class cascade: ``round`` of liquidation (None = survived), the fill
    ``price`` [USDT], the position's ``liquidation_price`` [USDT] at entry."""

    participant_id: int
    nickname: str
    position: ClassPosition
    liquidation_price: float | None
    round: int | None
    price: float | None
    before_shock: bool = False  # everyone enters at the market's price: nobody dies before the shock


def run_class_cascade(market: ClassMarket, shock: float,
                      students: Sequence[tuple[int, str, ClassPosition]]) -> dict[str, Any]:
    """The class cascade at ``shock`` [fraction]: the engine's cascade with the class's
    positions among the crowd (their forced orders move the price too), the crowd's rounds,
    where the money went, the tipping curve (:func:`tipping_shocks`) and each student's fate,
    as JSON-ready data (what the room stores). The fates are ``python -m margin cascade``'s
    ``traders`` on :func:`cascade_document`'s input."""
    run = run_spec(cascade_input_from_dict(cascade_document(market, shock, [p for _, _, p in students])))
    result = run.result
    fates = []
    for (participant_id, nickname, position), fate in zip(students, named_traders(run) if students else []):
        fates.append(asdict(StudentFate(
            participant_id=participant_id, nickname=nickname, position=position,
            liquidation_price=fate["liquidation_price"], round=fate["round"], price=fate["price"])))
    accounting = result.accounting()
    return {
        "shock": shock, "start_price": result.start_price, "final_price": result.final_price,
        "final_drop": result.final_drop, "amplification": _finite(result.amplification),
        "rounds": [{"round": r.round, "price": r.price, "liquidated_count": r.liquidated_count,
                    "liquidated_notional": r.liquidated_notional} for r in result.rounds],
        "traders": run.crowd.n_traders - len(students), "liquidated_count": result.liquidated_count,
        "accounting": {k: _finite(v) for k, v in accounting.items()},
        "students": fates,
        "tipping": None if run.curve is None else {
            "shocks": run.curve.shocks.tolist(), "final_drops": run.curve.final_drops.tolist(),
            "rounds": run.curve.rounds.tolist(), "liquidated_notional": run.curve.liquidated_notional.tolist(),
            "runaway_shock": run.curve.runaway_shock},
    }


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def survival_table(students: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Survivors by leverage bucket (:data:`margin.cascade.LEVERAGE_BUCKETS`) and margin mode:
    rows ``{"leverage", "mode", "students", "survived"}`` for the buckets that hold a student."""
    counts: dict[tuple[int, str], list[int]] = {}
    for s in students:
        key = (int(leverage_bucket(float(s["position"]["leverage"]))), s["position"]["mode"])
        row = counts.setdefault(key, [0, 0])
        row[0] += 1
        row[1] += int(s["round"] is None)
    return [{"leverage": LEVERAGE_BUCKETS[b], "mode": mode, "students": n, "survived": alive}
            for (b, mode), (n, alive) in sorted(counts.items())]


def position_from_dict(raw: Mapping[str, Any]) -> ClassPosition:
    return ClassPosition(side=raw["side"], mode=raw["mode"], leverage=float(raw["leverage"]),
                         notional=float(raw["notional"]))


def class_market_from_dict(raw: Mapping[str, Any]) -> ClassMarket:
    return replace(ClassMarket(), **{k: v for k, v in raw.items() if k in ClassMarket.__dataclass_fields__})


__all__ = ["ClassMarket", "ClassPosition", "MARKET", "StudentFate", "cascade_document", "check_class_market",
           "check_position", "class_market_from_dict", "market_dict", "position_from_dict", "run_class_cascade",
           "student_scenario", "survival_table"]
