"""The venue rules of issue 16, one by one: each with a documented example (source named) and
the properties it must keep."""

from __future__ import annotations

import pytest

from margin.fields import ScenarioError
from margin.scenario import scenario_from_dict
from margin.simulate import price_path, simulate


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
