"""The liquidation cascade (margin.cascade): no impact means no amplification, a bigger shock
never ends smaller, money is conserved for every trader, the vectorized rounds equal a plain
loop over traders, and the accounting agrees with margin.account and margin.simulate."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from margin.account import liquidation_prices
from margin.cli.commands import cascade_report
from margin.cascade import (
    LEVERAGE_BUCKETS, CrowdParams, build_crowd, cascade_input_from_dict, final_price_fixed_point,
    learner_fate, price_factor, run_cascade, tipping_point,
)
from margin.presets import load_story
from margin.scenario import Market, ScenarioError, parse_tiers, scenario_from_dict
from margin.simulate import price_path, simulate
from tests.paths import ROOT

SETTINGS = settings(max_examples=40, deadline=None)

TIERS = [{"floor": 0, "mmr": 0.004, "max_leverage": 125}, {"floor": 50_000, "mmr": 0.005, "max_leverage": 100},
         {"floor": 250_000, "mmr": 0.01, "max_leverage": 50}, {"floor": 1_000_000, "mmr": 0.025, "max_leverage": 20}]
BTC = Market(name="BTCUSDT", price=100_000.0, tiers=parse_tiers(TIERS, "tiers"))


@st.composite
def markets(draw) -> Market:
    n = draw(st.integers(1, 4))
    floors = [0.0] + sorted(draw(st.lists(st.floats(500, 200_000), min_size=n - 1, max_size=n - 1, unique=True)))
    rates = sorted(draw(st.lists(st.floats(0.002, 0.05), min_size=n, max_size=n)))
    tiers = [{"floor": f, "mmr": r, "max_leverage": max(1.0, 0.5 / r)} for f, r in zip(floors, rates)]
    return Market(name="X", price=draw(st.floats(0.5, 100_000)), tiers=parse_tiers(tiers, "tiers"))


@st.composite
def crowd_params(draw, max_traders: int = 400) -> CrowdParams:
    leverage_max = draw(st.floats(2, 125))
    return CrowdParams(
        n_traders=draw(st.integers(1, max_traders)),
        leverage_mean=draw(st.floats(1, leverage_max)), leverage_spread=draw(st.floats(0, 1.5)),
        leverage_max=leverage_max, long_share=draw(st.floats(0, 1)),
        size_median=draw(st.floats(100, 100_000)), size_spread=draw(st.floats(0, 2)),
        cross_share=draw(st.floats(0, 1)), cross_buffer=draw(st.floats(0, 2)),
        seed=draw(st.integers(0, 2**31)),
    )


def _depth_for(crowd, draw_fraction: float) -> float:
    """A depth on the crowd's own scale: 1 % per ``draw_fraction`` of its notional."""
    return max(float(crowd.notional.sum()) * draw_fraction, 1.0)


shocks = st.floats(-0.6, 0.6).filter(lambda s: abs(s) > 1e-6)


# ----------------------------------------------------------------------------- the invariants


@SETTINGS
@given(markets(), crowd_params(), shocks, st.sampled_from(["none", "linear", "sqrt"]))
def test_no_price_impact_means_no_amplification(market, params, shock, impact):
    crowd = build_crowd(market, params)
    depth = math.inf if impact != "none" else 1e6
    result = run_cascade(crowd, shock, depth, impact)
    assert result.final_drop == pytest.approx(shock, abs=1e-12)
    assert result.active_rounds <= 1  # whoever the shock crosses goes at once, nobody after


@SETTINGS
@given(markets(), crowd_params(), st.floats(-0.6, 0.6), st.floats(-0.6, 0.6),
       st.sampled_from(["linear", "sqrt"]), st.floats(0.001, 0.5))
def test_a_larger_shock_never_gives_a_smaller_final_move(market, params, a, b, impact, depth_fraction):
    crowd = build_crowd(market, params)
    depth = _depth_for(crowd, depth_fraction)
    small, large = sorted([a, b], key=abs)
    if small * large < 0:  # compare moves in the same direction
        large = -large
    final_small = run_cascade(crowd, small, depth, impact).final_drop
    final_large = run_cascade(crowd, large, depth, impact).final_drop
    assert abs(final_large) >= abs(final_small) - 1e-12
    assert abs(final_small) >= abs(small) - 1e-12  # forced orders only push the same way


@SETTINGS
@given(markets(), crowd_params(), shocks, st.sampled_from(["linear", "sqrt"]), st.floats(0.001, 0.5),
       st.sampled_from(["bankruptcy", "mark"]), st.sampled_from([0.0, 0.0005, 0.005, 0.02]))
def test_money_is_conserved_for_every_trader(market, params, shock, impact, depth_fraction, settlement, fee_rate):
    crowd = build_crowd(market, params)
    result = run_cascade(crowd, shock, _depth_for(crowd, depth_fraction), impact, settlement=settlement,
                         liquidation_fee_rate=fee_rate)
    t = result.traders
    hit = t.round >= 0
    collateral = crowd.collateral
    pnl = crowd.side * crowd.size * (t.fill_price - crowd.entry_price)
    np.testing.assert_allclose(t.equity[hit], collateral[hit] + pnl[hit], rtol=1e-12, atol=1e-9)
    # what the trader keeps, plus what the fund keeps, less the deficit, is the equity
    scale = 1e-9 * (1 + collateral + crowd.notional)
    assert np.all(np.abs(t.returned + t.to_fund - t.deficit - t.equity) <= scale)
    # nobody loses more than it put up; fees never exceed what is left; no negative amounts
    assert np.all(collateral - t.returned <= collateral + 1e-9)
    assert np.all(t.returned >= 0) and np.all(t.to_fund >= 0) and np.all(t.deficit >= 0)
    assert np.all(t.fee <= np.maximum(t.equity, 0) + 1e-9)
    if settlement == "bankruptcy":
        assert np.all(t.returned == 0)
    # survivors are untouched
    assert np.all(t.equity[~hit] == 0) and np.all(t.deficit[~hit] == 0)
    # totals: counterparties are paid the traders' losses; the fund pays what is beyond them
    acc = result.accounting()
    assert acc["returned_to_traders"] + acc["insurance_fund_kept"] - acc["deficit"] == pytest.approx(
        acc["equity_at_liquidation"], rel=1e-9, abs=1e-6)


@SETTINGS
@given(markets(), crowd_params(max_traders=120), shocks, st.sampled_from(["linear", "sqrt"]),
       st.floats(0.001, 0.5))
def test_vectorized_rounds_equal_a_plain_loop_over_traders(market, params, shock, impact, depth_fraction):
    crowd = build_crowd(market, params)
    depth = _depth_for(crowd, depth_fraction)
    result = run_cascade(crowd, shock, depth, impact)
    p0 = crowd.entry_price
    shocked = p0 * (1 + shock)
    alive = [True] * crowd.n_traders
    sold = []  # signed size × P0 of every forced order so far
    price, prices, round_of = shocked, [p0], [-1] * crowd.n_traders
    while True:
        new = [i for i in range(crowd.n_traders) if alive[i] and (
            crowd.liquidation_price[i] >= price if crowd.side[i] > 0 else crowd.liquidation_price[i] <= price)]
        prices.append(price)
        if not new:
            break
        for i in new:
            alive[i] = False
            round_of[i] = len(prices) - 1
            sold.append(float(crowd.side[i]) * float(crowd.size[i]) * p0)
        price = shocked * float(price_factor(math.fsum(sold), depth, impact))
    np.testing.assert_allclose(result.prices, prices, rtol=1e-9)
    assert result.traders.round.tolist() == round_of
    assert result.final_price == pytest.approx(final_price_fixed_point(crowd, shock, depth, impact), rel=1e-9)


@SETTINGS
@given(markets(), crowd_params(max_traders=60))
def test_liquidation_prices_agree_with_the_account_engine(market, params):
    crowd = build_crowd(market, params)
    sample = range(min(crowd.n_traders, 12))
    tiers = [{"floor": t.floor, "mmr": t.mmr} for t in market.tiers]
    for i in sample:
        scenario = scenario_from_dict({
            "balance": float(crowd.collateral[i]), "markets": {"X": {"price": market.price, "tiers": tiers}},
            "positions": [{"id": "t", "market": "X", "side": "long" if crowd.side[i] > 0 else "short",
                           "size": float(crowd.size[i]), "entry": market.price, "leverage": float(crowd.leverage[i]),
                           "mode": "isolated", "margin": float(crowd.collateral[i])}],
        })
        expected = liquidation_prices(scenario)[0]
        mine = crowd.liquidation_price[i]
        # Prices near zero (a ~1x long) carry the rounding of terms of the market price's size.
        close = {"rel": 1e-9, "abs": 1e-9 * market.price}
        if expected.liquidation_price is None:
            assert mine == 0.0 and crowd.side[i] > 0
        else:
            assert mine == pytest.approx(expected.liquidation_price, **close)
        if expected.bankruptcy_price is not None:
            assert crowd.bankruptcy_price[i] == pytest.approx(expected.bankruptcy_price, **close)


def test_traders_settle_as_margin_simulate_settles_them():
    """Each liquidated trader, replayed alone through margin.simulate along the cascade's
    prices (one row per round), is liquidated in the same round with the same money."""
    crowd = build_crowd(BTC, CrowdParams(n_traders=3_000, seed=3))
    result = run_cascade(crowd, -0.05, 2_000_000.0, "sqrt", liquidation_fee_rate=0.005)
    t = result.traders
    hit = np.flatnonzero(t.round >= 0)
    assert len(hit) > 20
    path = price_path({"BTCUSDT": result.prices})
    for i in hit[:: max(1, len(hit) // 25)]:
        scenario = scenario_from_dict({
            "balance": float(crowd.collateral[i]),
            "rules": {"liquidation_fee_rate": 0.005, "settlement": "bankruptcy", "insurance_fund": 1e12},
            "markets": {"BTCUSDT": {"price": BTC.price, "tiers": TIERS}},
            "positions": [{"id": "t", "market": "BTCUSDT", "side": "long" if crowd.side[i] > 0 else "short",
                           "size": float(crowd.size[i]), "entry": BTC.price, "leverage": float(crowd.leverage[i]),
                           "mode": "isolated", "margin": float(crowd.collateral[i])}],
        })
        events = simulate(scenario, path).events
        liquidation = events[0]
        assert liquidation.type == "liquidation" and liquidation.step == t.round[i]
        assert liquidation.price == pytest.approx(t.fill_price[i])
        assert liquidation.fee == pytest.approx(t.fee[i], abs=1e-9)
        assert liquidation.insurance_fund_delta == pytest.approx(t.to_fund[i], abs=1e-6)
        deficit = sum(e.amount for e in events if e.type == "bankruptcy")
        assert deficit == pytest.approx(t.deficit[i], abs=1e-6)


# ----------------------------------------------------------------------------- shape of the result


def test_rounds_add_up_and_the_cascade_comes_to_rest():
    crowd = build_crowd(BTC, CrowdParams(n_traders=20_000, seed=7))
    result = run_cascade(crowd, -0.05, 5_000_000.0)
    assert result.stopped == "no new liquidations"
    assert result.rounds[0].price == BTC.price and result.rounds[0].liquidated_count == 0
    assert result.rounds[1].price == pytest.approx(95_000.0)
    assert result.rounds[-1].liquidated_count == 0  # the round at rest
    assert result.active_rounds >= 3 and result.final_drop < -0.10  # this crowd amplifies -5 % a lot
    assert np.all(np.diff(result.prices[1:]) <= 0)
    for r in result.rounds:
        assert r.by_leverage.sum() == pytest.approx(r.liquidated_notional)
        assert r.count_by_leverage.sum() == r.liquidated_count
    assert result.liquidated_count == int((result.traders.round >= 0).sum())
    assert len(LEVERAGE_BUCKETS) == result.rounds[1].by_leverage.shape[0]
    # the highest leverage dies first: the first round's mean leverage is above the last's
    t = result.traders
    first = crowd.leverage[t.round == 1].mean()
    last = crowd.leverage[t.round == result.rounds[-2].round].mean()
    assert first > last


def test_the_crowd_is_deterministic_for_a_seed_and_capped():
    a = build_crowd(BTC, CrowdParams(n_traders=5_000, seed=1))
    b = build_crowd(BTC, CrowdParams(n_traders=5_000, seed=1))
    c = build_crowd(BTC, CrowdParams(n_traders=5_000, seed=2))
    assert np.array_equal(a.liquidation_price, b.liquidation_price)
    assert not np.array_equal(a.liquidation_price, c.liquidation_price)
    assert a.leverage.min() >= 1 and a.leverage.max() <= 100
    assert np.all(a.buffer[~a.cross] == 0) and np.all(a.buffer[a.cross] >= 0)
    # nobody is liquidatable at entry: longs' liquidation prices below, shorts' above
    assert np.all(a.liquidation_price[a.side > 0] < BTC.price)
    assert np.all(a.liquidation_price[a.side < 0] > BTC.price)


def test_tipping_curve_matches_single_cascades_and_finds_the_runaway():
    crowd = build_crowd(BTC, CrowdParams(n_traders=20_000, seed=7))
    shock_grid = np.linspace(-0.005, -0.30, 50)
    curve = tipping_point(crowd, shock_grid, 5_000_000.0)
    for k in (0, 7, 20, 49):
        single = run_cascade(crowd, shock_grid[k], 5_000_000.0, outcomes=False)
        assert curve.final_drops[k] == pytest.approx(single.final_drop, rel=1e-12)
        assert curve.rounds[k] == len(single.rounds) - 1
    assert np.all(np.diff(curve.final_drops) <= 1e-12)
    assert curve.runaway_shock is not None
    below = curve.shocks[np.abs(curve.shocks) < abs(curve.runaway_shock)]
    assert np.all(curve.amplification[np.isin(curve.shocks, below)] < 2)
    calm = tipping_point(crowd, shock_grid, math.inf)
    assert calm.runaway_shock is None and np.allclose(calm.final_drops, shock_grid)


def test_price_factor_linear_and_sqrt():
    assert float(price_factor(1e6, 1e6, "linear")) == pytest.approx(0.99)
    assert float(price_factor(-1e6, 1e6, "linear")) == pytest.approx(1.01)
    assert float(price_factor(9e6, 1e6, "sqrt")) == pytest.approx(0.97)
    assert float(price_factor(1e12, 1e6, "linear")) == pytest.approx(0.01)  # floored
    assert float(price_factor(5e6, math.inf, "linear")) == 1.0


# ----------------------------------------------------------------------------- the learner, input, CLI


def test_the_learner_dies_in_the_round_simulate_says():
    story = load_story("default")
    story["positions"] = [story["positions"][0] | {"leverage": 20, "entry": 100_000, "mode": "isolated"}]
    scenario = scenario_from_dict(story)
    crowd = build_crowd(scenario.markets["BTCUSDT"], CrowdParams(n_traders=20_000, seed=7))
    result = run_cascade(crowd, -0.05, 5_000_000.0)
    fate = learner_fate(scenario, "BTCUSDT", result)
    assert fate[0]["id"] == "btc-long" and fate[0]["round"] is not None
    died = fate[0]["round"]
    liq = liquidation_prices(scenario)[0].liquidation_price
    assert result.prices[died] <= liq < result.prices[died - 1]


def _input(**overrides):
    raw = {"market": {"name": "BTCUSDT", "price": 100_000, "tiers": TIERS},
           "crowd": {"n_traders": 2_000, "seed": 1}, "depth": 1_000_000, "impact": "linear", "shock": -0.05}
    raw.update(overrides)
    return raw


@pytest.mark.parametrize("overrides, field", [
    ({"depth": -1}, "depth"), ({"depth": "deep"}, "depth"), ({"impact": "cubic"}, "impact"),
    ({"shock": -2}, "shock"), ({"shock": "down"}, "shock"), ({"shocks": [-0.1, 3]}, "shocks[1]"),
    ({"crowd": {"n_traders": 0}}, "crowd.n_traders"), ({"crowd": {"long_share": 1.5}}, "crowd.long_share"),
    ({"crowd": {"leverage_mean": 50, "leverage_max": 10}}, "crowd.leverage_mean"),
    ({"crowd": {"colour": "red"}}, "crowd.colour"), ({"market": {"price": 100}}, "market"),
    ({"market": {"price": -5, "mmr": 0.01}}, "market.price"),
    ({"market": {"price": 5, "tiers": [{"floor": 3, "mmr": 0.01}]}}, "market.tiers[0].floor"),
    ({"scenario": {"balance": -1}}, "scenario.balance"), ({"liquidation_fee_rate": 1.5}, "liquidation_fee_rate"),
])
def test_bad_input_names_the_field(overrides, field):
    with pytest.raises(ScenarioError) as err:
        cascade_input_from_dict(_input(**overrides))
    assert err.value.field == field


def test_no_depth_means_an_infinitely_deep_book():
    out = cascade_report(_input(depth=None, shock=-0.07))
    assert out["final"]["drop"] == pytest.approx(-0.07)


def test_cli_runs_a_cascade_and_reports_rounds(tmp_path):
    story = load_story("default")
    spec = _input(shocks=[-0.01, -0.05, -0.2], scenario=story)
    (tmp_path / "in.json").write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, "-m", "margin", "cascade", str(tmp_path / "in.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = cascade_report(spec)
    assert out["final"]["drop"] == pytest.approx(expected["final"]["drop"])
    assert [r["round"] for r in out["rounds"]] == list(range(len(out["rounds"])))
    assert sum(r["liquidated_count"] for r in out["rounds"]) == out["final"]["liquidated_count"]
    assert len(out["tipping"]["final_drops"]) == 3
    assert [p["id"] for p in out["learner"]] == ["btc-long", "sol-long"]
    bad = subprocess.run([sys.executable, "-m", "margin", "cascade", "-"], input='{"depth": 0, "shock": -0.1}',
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


# ----------------------------------------------------------------------------- the venue's trigger and reserve


@SETTINGS
@given(markets(), crowd_params(), shocks, st.floats(0.0001, 0.002))
def test_a_closing_fee_reserve_never_liquidates_the_crowd_later(market, params, shock, reserve):
    """The reserve raises every trader's maintenance, so at every shock at least as many are
    liquidated, and each long's liquidation price is at least as high (a short's as low)."""
    from dataclasses import replace
    plain, reserved = build_crowd(market, params), build_crowd(replace(market, close_fee_reserve=reserve), params)
    depth = _depth_for(plain, 0.05)
    assert run_cascade(reserved, shock, depth).liquidated_count >= run_cascade(plain, shock, depth).liquidated_count
    side = plain.side
    up, down = reserved.liquidation_price, plain.liquidation_price
    finite = np.isfinite(up) & np.isfinite(down) & (up > 0) & (down > 0)
    assert np.all((side * (up - down))[finite] >= -1e-9 * down[finite])


def test_the_trigger_decides_a_trader_at_exactly_its_liquidation_price():
    """``at_maintenance`` liquidates at equality, ``below_maintenance`` (dYdX) only past it."""
    from margin.cascade.rounds import _counts
    crowd = build_crowd(BTC, CrowdParams(n_traders=500, seed=3, long_share=1.0))
    at = float(crowd.long_liq_sorted[0])  # the highest long liquidation price
    assert _counts(crowd, at, "at_maintenance")[0] == 1 + int((crowd.long_liq_sorted[1:] == at).sum())
    assert _counts(crowd, at, "below_maintenance")[0] == 0


def test_a_cascade_input_takes_the_scenarios_reserve_and_trigger():
    story = load_story("default")
    story["rules"] = {"close_fee_reserve": 0.0005, "liquidation_trigger": "below_maintenance"}
    spec = cascade_input_from_dict(_input(scenario=story, market={"name": "BTCUSDT"}))
    assert spec.market.close_fee_reserve == 0.0005 and spec.liquidation_trigger == "below_maintenance"
    plain = cascade_input_from_dict(_input())
    assert plain.market.close_fee_reserve == 0.0 and plain.liquidation_trigger == "at_maintenance"
    with pytest.raises(ScenarioError) as err:
        cascade_input_from_dict(_input(liquidation_trigger="sometimes"))
    assert err.value.field == "liquidation_trigger"
