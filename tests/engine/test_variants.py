"""The ways every page compares an account (margin.variants): "collateral in USDT" joins as
built, all cross and all isolated exactly where the wallet holds collateral a market moves, and
the crash replay and the stress lab walk it as they walk the others (issue 27, item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from margin import liquidation_prices, scenario_from_dict
from margin.account import account_value
from margin.crashes import custom_crash, load_crash
from margin.presets import load_story
from margin.replay import replay
from margin.stress import run_stress, stress_spec
from margin.variants import (
    USDT_COLLATERAL_LABEL, VARIANT_LABELS, account_variants, arrived_variants, variant_labels,
)

STORY = "collateral-crashes-with-you"  # a 1 BTC long margined by 1 BTC at a 5 % haircut (issue 27)


def _story(name: str = STORY):
    return scenario_from_dict(load_story(name))


def test_the_fourth_way_is_there_only_where_the_wallet_holds_moving_collateral():
    assert variant_labels(_story()) == VARIANT_LABELS + (USDT_COLLATERAL_LABEL,)
    assert list(account_variants(_story())) == list(variant_labels(_story()))
    assert list(arrived_variants(_story())) == list(variant_labels(_story()))
    default = _story("default")
    assert variant_labels(default) == VARIANT_LABELS  # USDT only: a fourth column would equal "as built"
    assert list(account_variants(default)) == list(VARIANT_LABELS)
    empty = load_story(STORY)
    empty["collateral"][0]["amount"] = 0  # an entry that counts nothing: its USDT twin is "as built"
    empty["balance"] = 57_000
    assert variant_labels(scenario_from_dict(empty)) == VARIANT_LABELS


def test_collateral_in_usdt_is_the_same_money_today_and_the_worked_examples_prices():
    """Issue 27's worked example: the long on 1 BTC of collateral is liquidated at 30,848.33,
    the same long on the 57,000 USDT that BTC counts for today at 3,015.08."""
    ways = account_variants(_story())
    built, twin = ways["As built"], ways[USDT_COLLATERAL_LABEL]
    assert account_value(twin) == pytest.approx(account_value(built)) == pytest.approx(57_000.0)
    assert twin.balance == pytest.approx(57_000.0) and twin.collateral == ()
    (on_btc,), (on_usdt,) = liquidation_prices(built), liquidation_prices(twin)
    assert round(on_btc.liquidation_price, 2) == 30_848.33
    assert round(on_usdt.liquidation_price, 2) == 3_015.08


def _liquidation(result):
    return next(e for e in result.events if e.type == "liquidation")


def test_in_a_btc_crash_the_usdt_twin_is_liquidated_later_and_deeper_than_as_built():
    """A straight BTC crash of 97 %: as built is liquidated where the mark crosses 30,848.33 (the
    collateral falls with the position), the USDT twin only where it crosses 3,015.08, later."""
    crash = custom_crash(drop=0.97, duration=300, rebound=0.0, noise=0.0, wick=0.0)
    model = replay(_story(), crash)
    assert list(model.results) == list(variant_labels(_story()))
    built, twin = _liquidation(model.results["As built"]), _liquidation(model.results[USDT_COLLATERAL_LABEL])
    assert built.crossing == pytest.approx(30_848.33, abs=0.005)
    assert twin.crossing == pytest.approx(3_015.08, abs=0.005)
    assert twin.row > built.row
    equity_built, equity_twin = model.equity("As built"), model.equity(USDT_COLLATERAL_LABEL)
    assert equity_built[0] == pytest.approx(equity_twin[0])  # the same money at the start
    assert np.all(equity_twin[1:built.row] > equity_built[1:built.row])  # and falling half as fast


def test_march_2020_liquidates_the_btc_wallet_and_not_its_usdt_twin():
    model = replay(_story(), load_crash("2020-03-12"))
    assert _liquidation(model.results["As built"]).crossing == pytest.approx(30_848.33, abs=0.005)
    assert not any(e.type == "liquidation" for e in model.results[USDT_COLLATERAL_LABEL].events)


def test_the_stress_lab_walks_the_fourth_way_and_it_is_never_liquidated_where_as_built_survives():
    """On the same paths, a path that liquidates the USDT twin (BTC below 3,015) liquidated the
    BTC wallet first (below 30,848): per path, never the other way round."""
    scenario = _story()
    spec = stress_spec(scenario, volatility={"BTCUSDT": 3.0}, n_paths=1_000, n_steps=30, horizon_days=30, seed=3)
    result = run_stress(scenario, spec)
    assert list(result.variants) == list(variant_labels(scenario))
    built, twin = result.variants["As built"], result.variants[USDT_COLLATERAL_LABEL]
    assert twin.start_value == pytest.approx(built.start_value)
    built_hit, twin_hit = built.liquidated.any(axis=1), twin.liquidated.any(axis=1)
    assert not np.any(twin_hit & ~built_hit)
    assert built_hit.sum() > twin_hit.sum()
    default = _story("default")
    assert list(run_stress(default, stress_spec(default, n_paths=100, n_steps=4, seed=0)).variants) == list(VARIANT_LABELS)
