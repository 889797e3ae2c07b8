"""The venue rules of issue 16, one by one: each with a documented example (source named) and
the properties it must keep."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.fields import ScenarioError
from margin.scenario import scenario_from_dict
from margin.simulate import price_path, simulate, simulate_reference
from tests.strategies import paths_for, scenario_dicts


def _one(rules: dict | None = None, *, mode: str = "isolated", side: str = "long", size: float = 1.0,
         entry: float = 100.0, leverage: float = 10.0, mmr: float = 0.05, balance: float = 1_000.0,
         price: float = 100.0, market: dict | None = None) -> dict:
    return {"balance": balance, "rules": rules or {},
            "markets": {"BTC": {"price": price, "mmr": mmr, **(market or {})}},
            "positions": [{"id": "p", "market": "BTC", "side": side, "size": size, "entry": entry,
                           "leverage": leverage, "mode": mode}]}


# ----------------------------------------------------------------------------- fee rate in [0, 1]


def test_a_liquidation_fee_of_100_percent_takes_all_that_is_left_and_no_more():
    """dYdX v4's liquidation tests charge a 100 % fee (the fee is capped at what is left): the
    format allows [0, 1] and the engine settles it. A long of 1 at 100 with 10 margin and MMR
    5 % is liquidated at 95 (equity 5 = MM 4.75 just above; at 94.5: 4.5 ≤ 4.725)."""
    scenario = scenario_from_dict(_one({"liquidation_fee_rate": 1, "settlement": "mark"}))
    assert scenario.rules.liquidation_fee_rate == 1.0
    result = simulate(scenario, price_path({"BTC": [100.0, 94.5]}))
    close = next(e for e in result.events if e.type == "liquidation")
    left = 10.0 + (94.5 - 100.0)
    assert close.fee == pytest.approx(left)  # 100 % of 94.5 notional, capped at the 4.5 left
    assert result.final.balance == pytest.approx(990.0)  # the trader keeps nothing of the position
    assert result.final.insurance_fund == pytest.approx(left)


def test_a_liquidation_fee_above_100_percent_is_refused_naming_the_field():
    with pytest.raises(ScenarioError, match=r"rules\.liquidation_fee_rate: must be in \[0, 1\]"):
        scenario_from_dict(_one({"liquidation_fee_rate": 1.000001}))


# ----------------------------------------------------------------------------- trigger at or below


@pytest.mark.parametrize("mode", ["isolated", "cross"])
def test_at_equality_binance_liquidates_and_dydx_does_not(mode):
    """Binance and Bybit liquidate when the margin ratio reaches 100 % (equity = maintenance);
    dYdX v4 liquidates when total collateral is below the maintenance requirement (help.dydx.
    exchange, 'Liquidations on dYdX Chain'). A long of 1 at 100 with 10 behind it (isolated
    margin, or the cross wallet) and MMR 6.25 % has equity = MM = 6 at exactly 96."""
    balance = 10.0 if mode == "cross" else 1_000.0
    at = scenario_from_dict(_one({"liquidation_trigger": "at_maintenance"}, mode=mode, mmr=0.0625,
                                 balance=balance))
    below = scenario_from_dict(_one({"liquidation_trigger": "below_maintenance"}, mode=mode, mmr=0.0625,
                                    balance=balance))
    from margin.account import evaluate
    assert evaluate(at, {"BTC": 96.0}).positions[0].liquidatable
    assert not evaluate(below, {"BTC": 96.0}).positions[0].liquidatable
    assert evaluate(below, {"BTC": 96.0}).positions[0].status == "at risk"
    path = price_path({"BTC": [100.0, 98.0, 96.0, 96.0, 95.99]})
    first = {name: simulate(s, path).events[0].row for name, s in (("at", at), ("below", below))}
    assert first == {"at": 2, "below": 4}


def test_the_trigger_is_validated_and_written_only_when_not_the_default():
    from margin.scenario import scenario_to_dict
    with pytest.raises(ScenarioError, match=r"rules\.liquidation_trigger: must be"):
        scenario_from_dict(_one({"liquidation_trigger": "strict"}))
    assert "liquidation_trigger" not in scenario_to_dict(scenario_from_dict(_one()))["rules"]
    again = scenario_from_dict(scenario_to_dict(scenario_from_dict(_one({"liquidation_trigger": "below_maintenance"}))))
    assert again.rules.liquidation_trigger == "below_maintenance"


def test_the_dydx_preset_selects_the_strict_trigger():
    from margin.presets import load_venue
    assert load_venue("dydx")["rules"]["liquidation_trigger"] == "below_maintenance"
    assert load_venue("binance")["rules"].get("liquidation_trigger", "at_maintenance") == "at_maintenance"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_event_walker_agrees_with_the_plain_loop_under_the_strict_trigger(data):
    """simulate's breach search widens its candidates by a tolerance and lets the settlement
    step decide; under the strict trigger it must still give the plain loop's events."""
    raw = data.draw(scenario_dicts())
    raw["rules"]["liquidation_trigger"] = "below_maintenance"
    scenario = scenario_from_dict(raw)
    path = data.draw(paths_for(scenario))
    assert simulate(scenario, path).events == simulate_reference(scenario, path).events
