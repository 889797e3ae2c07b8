"""Crash paths (margin.crashes): the shipped events, custom crashes, paths for an account, the
replay's events against `python -m margin simulate`, where the money went, and the wick."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from margin.crashes import (
    MIN_MULTIPLIER, REFERENCE_MARKET, crash_from_dict, crash_ids, crash_path, custom_crash, load_crash, path_csv,
)
from margin.account import position_liquidation_price
from margin.replay import money_split, replay, starting_equity, timeline_events, wick_check
from margin.presets import load_story
from margin.scenario import ScenarioError, scenario_from_dict, scenario_to_dict
from margin.simulate import parse_path_csv, price_path, simulate
from margin.walk import scenario_now
from tests.paths import ROOT
from tests.strategies import paths_for, scenarios

LABEL = "Shaped after the event with its published magnitude; not real tick data."


def test_the_four_shaped_events_load_with_label_and_source():
    assert crash_ids() == ["2020-03-12", "2021-05-19", "2022-11-ftx", "2025-10-10"]
    published_btc_low = {"2020-03-12": 0.50, "2021-05-19": 0.70, "2022-11-ftx": 0.75, "2025-10-10": 0.86}
    for crash_id in crash_ids():
        crash = load_crash(crash_id)
        assert crash.label.rstrip(".") == LABEL.rstrip(".")
        assert crash.source and crash.shaped_after and crash.step_minutes > 0
        assert crash.n_steps > 100
        for name in crash.markets:
            assert crash.mark[name][0] == 1.0 and crash.last[name][0] == 1.0
        assert crash.mark[REFERENCE_MARKET].min() == pytest.approx(published_btc_low[crash_id])
        # the candle's low goes deeper than the mark's low: the wick
        assert crash.last[REFERENCE_MARKET].min() < crash.mark[REFERENCE_MARKET].min()


def test_a_bad_crash_file_names_the_field():
    raw = json.loads((ROOT / "assets" / "crashes" / "2021-05-19.json").read_text())
    for change, field in [({"format": "x"}, "format"), ({"step_minutes": 0}, "step_minutes"),
                          ({"source": ""}, "source")]:
        with pytest.raises(ScenarioError) as err:
            crash_from_dict(raw | change)
        assert err.value.field == field
    broken = json.loads(json.dumps(raw))
    broken["mark"]["ETHUSDT"] = broken["mark"]["ETHUSDT"][:-1]
    with pytest.raises(ScenarioError, match="mark.ETHUSDT"):
        crash_from_dict(broken)
    broken = json.loads(json.dumps(raw))
    broken["last"]["SOLUSDT"][3] = -1
    with pytest.raises(ScenarioError, match="last.SOLUSDT"):
        crash_from_dict(broken)


def test_crash_path_scales_prices_and_moves_unknown_markets_by_beta():
    story = load_story("default")
    story["markets"]["AAAUSDT"] = {"price": 10.0, "mmr": 0.01, "beta": 2.5}
    scenario = scenario_from_dict(story)
    crash = load_crash("2020-03-12")
    path = crash_path(crash, scenario)
    col = {name: j for j, name in enumerate(path.markets)}
    np.testing.assert_allclose(path.marks[:, col["SOLUSDT"]], 180 * crash.mark["SOLUSDT"])
    btc = crash.mark["BTCUSDT"]
    expected = 10.0 * np.maximum(1 + 2.5 * (btc - 1), MIN_MULTIPLIER)
    np.testing.assert_allclose(path.marks[:, col["AAAUSDT"]], expected)
    assert path.marks[:, col["AAAUSDT"]].min() == pytest.approx(10.0 * MIN_MULTIPLIER)  # -50 % × 2.5: floored
    last = crash_path(crash, scenario, "last")
    np.testing.assert_allclose(last.marks[:, col["BTCUSDT"]], 100_000 * crash.last["BTCUSDT"])


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 0.9), st.integers(1, 80), st.floats(0, 1), st.floats(0, 0.03), st.integers(0, 10_000),
       st.floats(0.2, 4))
def test_custom_crash_is_deterministic_and_hits_its_drop(drop, duration, rebound, noise, seed, beta):
    a = custom_crash(drop=drop, duration=duration, rebound=rebound, noise=noise, seed=seed, betas={"ETHUSDT": beta})
    b = custom_crash(drop=drop, duration=duration, rebound=rebound, noise=noise, seed=seed, betas={"ETHUSDT": beta})
    for name in a.markets:
        assert np.array_equal(a.mark[name], b.mark[name]) and np.array_equal(a.last[name], b.last[name])
        assert np.all(a.mark[name] >= MIN_MULTIPLIER) and np.all(a.last[name] >= MIN_MULTIPLIER)
    assert a.n_steps == 2 * duration + 1
    assert a.mark[REFERENCE_MARKET].min() == pytest.approx(1 - drop)
    follows = np.maximum(1 + beta * (a.mark[REFERENCE_MARKET] - 1), MIN_MULTIPLIER)
    others = np.arange(a.n_steps) != duration // 2  # every step but the reverse dip halfway down
    np.testing.assert_allclose(a.mark["ETHUSDT"][others], follows[others], rtol=1e-12)
    if noise == 0 and duration >= 2:
        assert a.mark[REFERENCE_MARKET][-1] == pytest.approx(1 - drop * (1 - rebound))


def test_custom_crash_seed_changes_the_noise():
    a = custom_crash(noise=0.01, seed=1)
    b = custom_crash(noise=0.01, seed=2)
    assert not np.array_equal(a.mark[REFERENCE_MARKET], b.mark[REFERENCE_MARKET])


@pytest.mark.parametrize("kwargs, field", [
    ({"drop": 0}, "drop"), ({"drop": 1.2}, "drop"), ({"drop": "much"}, "drop"), ({"duration": 0}, "duration"),
    ({"duration": 2.5}, "duration"), ({"rebound": -0.1}, "rebound"), ({"noise": 0.5}, "noise"),
    ({"seed": -1}, "seed"), ({"betas": {"SOLUSDT": 99}}, "betas.SOLUSDT"), ({"wick": 0.9}, "wick"),
])
def test_custom_crash_rejects_bad_parameters_naming_the_field(kwargs, field):
    with pytest.raises(ScenarioError) as err:
        custom_crash(**kwargs)
    assert err.value.field == field


def test_path_csv_round_trips_through_the_cli_parser():
    scenario = scenario_from_dict(load_story("default"))
    path = crash_path(load_crash("2021-05-19"), scenario)
    parsed = parse_path_csv(path_csv(path))
    assert parsed.markets == path.markets
    assert np.array_equal(parsed.marks, path.marks) and np.array_equal(parsed.steps, path.steps)


def _cli_simulate(tmp_path: Path, scenario, path) -> dict:
    (tmp_path / "scenario.json").write_text(json.dumps(scenario_to_dict(scenario)))
    (tmp_path / "path.csv").write_text(path_csv(path))
    done = subprocess.run([sys.executable, "-m", "margin", "simulate", str(tmp_path / "scenario.json"),
                           "--path", str(tmp_path / "path.csv")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


CASES = [("default", c) for c in crash_ids()] + [("one-bad-trade", "custom"), ("over-leveraged-whale", "2025-10-10")]


@pytest.mark.parametrize("story, crash_id", CASES)
def test_replay_events_equal_the_cli_simulate_output(tmp_path, story, crash_id):
    scenario = scenario_from_dict(load_story(story))
    crash = custom_crash(drop=0.35, duration=30, rebound=0.5, noise=0.01, seed=4) if crash_id == "custom" \
        else load_crash(crash_id)
    model = replay(scenario, crash)
    labels = list(model.results) if crash_id in ("custom", "2020-03-12") else ["As built"]
    for label in labels:
        # the replay starts where the variant arrives from its entries: the command line, given
        # the account as it stands then, walks the same crash to the same events
        cli = _cli_simulate(tmp_path, scenario_now(model.arrivals[label]), model.path)
        page = model.results[label].as_dict()
        assert json.loads(json.dumps(page)) == cli, label
    assert any(r.events for r in model.results.values())


@pytest.mark.parametrize("crash_id", crash_ids())
def test_where_the_money_went_adds_up(crash_id):
    for story in ("default", "hedge-that-saved-it", "over-leveraged-whale"):
        scenario = scenario_from_dict(load_story(story))
        model = replay(scenario, load_crash(crash_id))
        for label, result in model.results.items():
            variant = model.variants[label]
            arrival = model.arrivals[label]
            split = money_split(variant, result, arrival)
            assert split.start == pytest.approx(starting_equity(scenario_now(arrival)))
            assert split.kept + split.taken_by_fund + split.lost_to_market == pytest.approx(split.start)
            assert split.kept >= 0 and split.taken_by_fund >= 0 and split.paid_by_fund >= 0
            fund_change = result.final.insurance_fund - arrival.state.insurance_fund
            assert split.taken_by_fund - split.paid_by_fund == pytest.approx(fund_change, abs=1e-6)
            assert split.socialized == result.final.socialized_loss
            payouts = [e for e, kind in timeline_events(result.events) if kind == "insurance_fund_payout"]
            assert sum(-e.insurance_fund_delta for e in payouts) == pytest.approx(split.paid_by_fund)


def _one_long(entry: float, leverage: float) -> dict:
    return {"balance": 10_000, "rules": {"liquidation_fee_rate": 0.005, "insurance_fund": 1e6},
            "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.005}},
            "positions": [{"id": "long", "market": "BTCUSDT", "side": "long", "size": 0.1, "entry": entry,
                           "leverage": leverage, "mode": "isolated"}]}


def test_the_candle_touched_my_price_but_i_was_not_liquidated():
    crash = custom_crash(drop=0.20, duration=20, rebound=0.5, noise=0.0, seed=0, wick=0.04)
    bottom = int(np.argmin(crash.mark[REFERENCE_MARKET]))
    mark_low = 100_000 * crash.mark[REFERENCE_MARKET][bottom]
    last_low = 100_000 * crash.last[REFERENCE_MARKET][bottom]
    assert last_low < mark_low
    # an isolated long whose liquidation price sits between the candle's low and the mark's low
    target = (mark_low + last_low) / 2
    # liquidation price of an isolated long: entry·(1 − 1/lev)/(1 − mmr); solve for the leverage
    leverage = 1 / (1 - target * (1 - 0.005) / 100_000)
    scenario = scenario_from_dict(_one_long(100_000, leverage))
    model = replay(scenario, crash)
    result = model.results["As built"]
    assert result.events == ()  # never liquidated: judged on the mark
    check = wick_check(scenario, result, model.path, model.last_path, "BTCUSDT")
    touched = np.flatnonzero(check.touched_not_liquidated[:, 0])
    assert bottom in touched
    assert check.liquidation_price[bottom, 0] == pytest.approx(target, rel=1e-9)
    assert not check.mark_breach.any()


def test_and_the_reverse_liquidated_on_the_mark_while_the_candle_stayed_above():
    crash = custom_crash(drop=0.20, duration=20, rebound=0.3, noise=0.0, seed=0, wick=0.04)
    mark = 100_000 * crash.mark[REFERENCE_MARKET]
    last = 100_000 * crash.last[REFERENCE_MARKET]
    dips = np.flatnonzero(mark < last * (1 - 1e-9))
    assert dips.tolist() == [10]  # halfway down
    row = 10
    # a long whose liquidation price sits between the dipped mark and the last price there
    target = (mark[row] + last[row]) / 2
    assert target < mark[:row].min()
    leverage = 1 / (1 - target * (1 - 0.005) / 100_000)
    scenario = scenario_from_dict(_one_long(100_000, leverage))
    model = replay(scenario, crash)
    result = model.results["As built"]
    assert result.events[0].type == "liquidation" and result.events[0].row == row
    check = wick_check(scenario, result, model.path, model.last_path, "BTCUSDT")
    assert np.flatnonzero(check.liquidated_not_touched[:, 0]).tolist() == [row]
    assert not check.touched_not_liquidated.any()


def test_timeline_adds_insurance_fund_payouts_to_bankruptcies():
    scenario = scenario_from_dict(load_story("default"))
    model = replay(scenario, load_crash("2022-11-ftx"))
    kinds = [kind for e, kind in timeline_events(model.results["All isolated"].events)]
    assert "bankruptcy" in kinds and "insurance_fund_payout" in kinds
    assert kinds.index("insurance_fund_payout") == kinds.index("bankruptcy") + 1


def test_wick_check_rejects_an_unknown_market():
    scenario = scenario_from_dict(load_story("default"))
    model = replay(scenario, load_crash("2021-05-19"))
    with pytest.raises(ScenarioError) as err:
        wick_check(scenario, model.results["As built"], model.path, model.last_path, "NOPE")
    assert err.value.field == "market"


def test_a_replay_charges_funding_and_shows_it_paid_and_received(tmp_path):
    """The FTX crash runs for days in 1-hour steps: with a funding rate on every market the
    replay charges it every 8 hours; the money split names what was paid and received and still
    adds up; the command line, given the same path file (its hours column), finds the same
    events; funding is told in the event list but is no point on the timeline."""
    raw = load_story("hedge-that-saved-it")
    for market in raw["markets"].values():
        market["funding_rate"] = 0.001  # the SOL long pays it, the BTC short receives it
    scenario = scenario_from_dict(raw)
    model = replay(scenario, load_crash("2022-11-ftx"))
    assert model.path.hours is not None and model.path.hours[1] == 1.0
    for label, result in model.results.items():
        funding = [e for e in result.events if e.type == "funding"]
        assert funding, label
        assert {e.row for e in funding} <= {r for r in range(len(model.path.hours)) if model.path.hours[r] % 8 == 0}
        split = money_split(model.variants[label], result, model.arrivals[label])
        assert split.funding_paid == pytest.approx(-sum(e.realized_pnl for e in funding if e.realized_pnl < 0))
        assert split.funding_received == pytest.approx(sum(e.realized_pnl for e in funding if e.realized_pnl > 0))
        assert split.funding_paid > 0 and split.funding_received > 0
        assert (split.kept + split.taken_by_fund + split.lost_to_market + split.funding_paid
                == pytest.approx(split.start + split.funding_received))
        assert all(kind != "funding" for _, kind in timeline_events(result.events))
    cli = _cli_simulate(tmp_path, scenario_now(model.arrivals["As built"]), model.path)
    assert json.loads(json.dumps(model.results["As built"].as_dict())) == cli
    from ui.replay.model import event_lines
    lines = [text for _, text in event_lines(model, len(model.path.hours) - 1)]
    assert any(text.count("Funding") == 1 and "SOL long paid" in text and "BTC short received" in text for text in lines)


def test_without_funding_rates_a_replay_is_what_it_was():
    """Crash paths now carry their time; with no funding rate nothing is charged."""
    scenario = scenario_from_dict(load_story("default"))
    model = replay(scenario, load_crash("2022-11-ftx"))
    untimed = replace(model.path, hours=None)
    for label, result in model.results.items():
        assert not [e for e in result.events if e.type == "funding"]
        again = simulate(model.variants[label], untimed, start=model.arrivals[label].state, crossing="report")
        assert again.events == result.events


def _hourly_crash(**extra) -> dict:
    n = 49
    fall = list(np.linspace(1.0, 0.8, n))
    return {"format": "margin-crash/1", "id": "funded", "name": "Two days of falling", "shaped_after": "none",
            "source": "made up for a test", "label": "Made up.", "step_minutes": 60,
            "mark": {"BTCUSDT": fall}, "last": {"BTCUSDT": fall}, **extra}


def test_a_crash_file_may_carry_a_funding_series_that_the_replay_charges():
    """A crash's own funding series overrides the market's constant rate along it: here BTC
    funding turns from +0.05 % to −0.05 % per 8 h halfway; the replay charges each rate at its
    funding time, on the notional at that step's mark."""
    rates = [0.0005] * 25 + [-0.0005] * 24
    crash = crash_from_dict(_hourly_crash(funding={"BTCUSDT": rates, "ETHUSDT": [0.0] * 49}))
    scenario = scenario_from_dict({
        "balance": 10_000, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.004, "funding_rate": 0.01},
                                       "SOLUSDT": {"price": 180, "mmr": 0.01}},
        "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 0.1, "entry": 100_000,
                       "leverage": 2, "mode": "isolated"}]})
    path = crash_path(crash, scenario)
    assert set(path.funding) == {"BTCUSDT"}  # a market the account does not hold is left out
    model = replay(scenario, crash)
    btc = next(p for p in scenario.positions if p.market == "BTCUSDT")
    funding = [e for e in model.results["As built"].events if e.type == "funding" and e.position == btc.id]
    assert [e.row for e in funding] == [8, 16, 24, 32, 40, 48]
    for e in funding:
        rate = rates[e.row]
        assert e.realized_pnl == pytest.approx(-btc.sign * e.size * e.price * rate)
    assert funding[0].realized_pnl < 0 < funding[-1].realized_pnl  # the long pays, then receives


def test_a_bad_crash_funding_series_names_the_field():
    with pytest.raises(ScenarioError, match=r"funding\.BTCUSDT: must have 49 steps"):
        crash_from_dict(_hourly_crash(funding={"BTCUSDT": [0.001] * 3}))
    with pytest.raises(ScenarioError, match=r"funding\.BTCUSDT: rates must be finite and in"):
        crash_from_dict(_hourly_crash(funding={"BTCUSDT": [0.5] * 49}))


def _liquidation_prices_row_by_row(scenario, result, path, market):
    """The check's liquidation prices the plain way: :func:`position_liquidation_price` of each
    position of ``market`` in the state before each row (NaN where closed or none)."""
    names = list(scenario.markets)
    trace = result.trace
    out = np.full(trace.size.shape, np.nan)
    for row in range(trace.size.shape[0]):
        size = [p.size for p in scenario.positions] if row == 0 else trace.size[row - 1]
        margin = [p.margin if p.is_isolated else 0.0 for p in scenario.positions] if row == 0 else trace.isolated_margin[row - 1]
        wallet = scenario.cross_wallet if row == 0 else float(trace.cross_wallet[row - 1])
        prices = dict(zip(names, map(float, path.marks[row])))
        for i, position in enumerate(scenario.positions):
            if position.market == market and size[i] > 0:
                price = position_liquidation_price(scenario, i, prices, sizes=size, margins=margin,
                                                   cross_wallet=wallet).liquidation_price
                out[row, i] = np.nan if price is None else price
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def _crowded_market() -> dict:
    """Ten cross legs in BTC (a pool wider than numpy's 8-term sum), two isolated, a cross SOL leg."""
    raw = load_story("default")
    btc = [{"id": f"btc{k}", "market": "BTCUSDT", "side": "long" if k % 3 else "short", "size": 0.05 + 0.01 * k,
            "entry": 100_000 * (1 + (k - 5) / 100), "leverage": 20, "mode": "cross"} for k in range(10)]
    alone = [{"id": f"iso{k}", "market": "BTCUSDT", "side": side, "size": 0.1, "entry": 100_000, "leverage": 25,
              "mode": "isolated"} for k, side in enumerate(("long", "short"))]
    raw["positions"] = btc + alone + [p for p in raw["positions"] if p["market"] != "BTCUSDT"]
    raw["balance"] = 8_000
    return raw


@pytest.mark.parametrize("account, crash_id", [
    ("twenty", "2021-05-19"), ("crowded", "2020-03-12"), ("hedge-that-saved-it", "2022-11-ftx")])
def test_the_checks_liquidation_prices_are_those_of_each_row_alone_bit_for_bit(account, crash_id):
    raw = {"twenty": lambda: json.loads((ROOT / "tests" / "data" / "twenty-positions.json").read_text()),
           "crowded": _crowded_market}.get(account, lambda: load_story(account))()
    scenario = scenario_from_dict(raw)
    model = replay(scenario, load_crash(crash_id))
    market = model.path.markets[0]
    for label, result in model.results.items():
        variant = model.variants[label]
        check = wick_check(variant, result, model.path, model.last_path, market)
        expected = _liquidation_prices_row_by_row(variant, result, model.path, market)
        assert not np.isnan(expected).all()
        assert _same(check.liquidation_price, expected), label


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_checks_liquidation_prices_match_each_row_alone_on_random_accounts(data):
    scenario = data.draw(scenarios(first_modes=("cross", "isolated", "cross"), max_positions=6))
    path = data.draw(paths_for(scenario, max_steps=40))
    result = simulate(scenario, path, trace=True)
    for market in scenario.markets:
        check = wick_check(scenario, result, path, path, market)
        assert _same(check.liquidation_price, _liquidation_prices_row_by_row(scenario, result, path, market))


def test_the_checks_liquidation_price_follows_its_own_markets_mark():
    """A nearly hedged cross pool's only root (1,163,265) is out of reach (10 × the mark) at
    100,000 and within it past 116,327: the check says so row by row (a cache keyed on the
    state and the other markets, as it once was, kept the first row's "none" for the whole path)."""
    tiers = [{"floor": 0, "mmr": 0.004, "max_leverage": 100}, {"floor": 150_000, "mmr": 0.02, "max_leverage": 20}]
    legs = [{"id": side, "market": "BTCUSDT", "side": side, "size": size, "entry": 100_000, "leverage": 10,
             "mode": "cross"} for side, size in (("long", 1.0), ("short", 0.98))]
    scenario = scenario_from_dict({"format": "margin-scenario/1", "name": "hedged", "balance": 20_000,
                                   "markets": {"BTCUSDT": {"price": 100_000, "tiers": tiers}}, "positions": legs})
    path = price_path({"BTCUSDT": np.concatenate([np.linspace(100_000, 170_000, 30), np.linspace(170_000, 100_000, 30)])})
    result = simulate(scenario, path, trace=True)
    assert result.events == ()
    price = wick_check(scenario, result, path, path, "BTCUSDT").liquidation_price
    assert _same(price, _liquidation_prices_row_by_row(scenario, result, path, "BTCUSDT"))
    in_reach = path.marks[:, 0] * 10 >= 1_163_265.31
    assert np.isnan(price[~in_reach]).all() and in_reach.any() and (~in_reach).any()
    assert price[in_reach] == pytest.approx(1_163_265.306, rel=1e-9)
