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


# ----------------------------------------------------------------------------- closing-fee reserve


def _okx_like(reserve: float) -> dict:
    """1 BTC long at 20,000, 50x isolated (margin 400), MMR 0.4 %, with or without a taker fee
    of 0.05 % kept inside maintenance."""
    rules = {"close_fee_reserve": reserve} if reserve else {}
    return _one(rules, size=1.0, entry=20_000.0, leverage=50.0, mmr=0.004, price=20_000.0, balance=1_000.0)


def test_the_closing_fee_reserve_liquidates_while_the_close_can_still_be_paid():
    """OKX, 'Tiered maintenance margin ratio rules' (okx.com/help, updated 16 May 2025): the
    margin ratio reaches 100 % when equity is at or below the maintenance margin plus the
    liquidation (taker) fee. Long 1 at 20,000 with 400: without the reserve the liquidation
    price solves 400 + p − 20,000 = 0.004 p (19,678.71); with a 0.05 % reserve
    400 + p − 20,000 = 0.0045 p (19,688.60), where the equity left (88.60) still pays the
    close (9.84) on top of the plain maintenance (78.75)."""
    from margin.account import liquidation_prices
    plain, reserved = (scenario_from_dict(_okx_like(r)) for r in (0.0, 0.0005))
    assert liquidation_prices(plain)[0].liquidation_price == pytest.approx(19_600 / 0.996, abs=0.005)
    price = liquidation_prices(reserved)[0].liquidation_price
    assert price == pytest.approx(19_600 / 0.9955, abs=0.005)
    assert round(price, 2) == 19_688.60
    equity = 400.0 + price - 20_000.0
    assert equity - 0.0005 * price == pytest.approx(0.004 * price)  # pays the close, keeps the plain MM
    # Along a path the reserved account is liquidated at its own price, not at the plain one.
    path = price_path({"BTC": [20_000.0, 19_690.0, 19_688.0, 19_680.0, 19_678.0]})
    assert [e.row for e in simulate(reserved, path).events] == [2]
    assert [e.row for e in simulate(plain, path).events] == [4]


def test_the_closing_fee_reserve_is_validated_at_the_loader():
    from margin.scenario import scenario_to_dict
    with pytest.raises(ScenarioError, match=r"rules\.close_fee_reserve: must be"):
        scenario_from_dict(_one({"close_fee_reserve": 0.2}))
    with pytest.raises(ScenarioError, match=r"rules\.close_fee_reserve: .*mm_basis 'mark'"):
        scenario_from_dict(_one({"close_fee_reserve": 0.0005, "mm_basis": "entry"}))
    assert "close_fee_reserve" not in scenario_to_dict(scenario_from_dict(_one()))["rules"]
    written = scenario_to_dict(scenario_from_dict(_okx_like(0.0005)))
    assert written["rules"]["close_fee_reserve"] == 0.0005
    assert written["markets"]["BTC"]["tiers"][0]["mmr"] == 0.004  # the venue's own rate, not + the fee


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_closing_fee_reserve_never_liquidates_later_than_without_it(data):
    """Until the first event both are the same account, and the reserve only adds to
    maintenance: wherever the plain account is liquidated, the reserved one is too."""
    raw = data.draw(scenario_dicts(mm_basis=("mark",)))
    plain = scenario_from_dict(raw)
    path = data.draw(paths_for(plain))
    raw["rules"]["close_fee_reserve"] = data.draw(st.sampled_from([0.0005, 0.002, 0.01]))
    reserved = scenario_from_dict(raw)
    first = [min((e.row for e in simulate(s, path).events), default=len(path.steps)) for s in (plain, reserved)]
    assert first[1] <= first[0]
    assert simulate(reserved, path).events == simulate_reference(reserved, path).events
    # An isolated position's liquidation price moves towards today's price, never away.
    from margin.account import liquidation_prices
    for p, a, b in zip(plain.positions, liquidation_prices(plain), liquidation_prices(reserved)):
        if p.is_isolated and a.liquidation_price is not None:
            assert b.liquidation_price is not None
            assert p.sign * (b.liquidation_price - a.liquidation_price) >= -1e-9 * a.liquidation_price
