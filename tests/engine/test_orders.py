"""Stop-loss and take-profit (issue 27, item 3): where they fill on a line and on a gap, which of a
stop and a liquidation comes first along a step, where each order sits against the liquidation
price, and the same orders in the walk, the replay, the stress lab and the cascade's learner."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from margin import liquidation_prices, scenario_from_dict, simulate, simulate_reference
from margin.cascade import cascade_input_from_dict, run_spec
from margin.crossing import CROSSING_MODES
from margin.crashes import load_crash
from margin.paths import PricePath
from margin.replay import replay
from margin.simulate import price_path
from margin.stops import order_reach
from margin.stress import path_events, stress_spec
from margin.walk import start_walk, walk_to
from tests.strategies import paths_for, rich_scenario_dicts, scenario_dicts

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _long(**orders) -> dict:
    """A 10x isolated BTC long of 1 at 100,000 on a 10,000 margin (liquidated at 90,452.26 with
    a 0.5 % maintenance rate)."""
    return {"balance": 20_000, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.005}},
            "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100_000,
                           "leverage": 10, "mode": "isolated", **orders}]}


def test_on_a_line_a_stop_fills_at_its_trigger():
    walk = walk_to(start_walk(scenario_from_dict(_long(stop_loss=95_000, stop_slippage=0.02))), {"BTCUSDT": 80_000})
    (stop,) = walk.events
    assert (stop.type, stop.price, stop.realized_pnl) == ("stop_loss", 95_000.0, -5_000.0)
    assert walk.state.balance == 15_000.0


def test_a_gap_fills_at_the_steps_price_with_the_slippage():
    scenario = scenario_from_dict(_long(stop_loss=95_000, stop_slippage=0.02))
    (stop,) = simulate(scenario, price_path({"BTCUSDT": [100_000.0, 93_000.0]})).events
    assert stop.type == "stop_loss" and stop.price == pytest.approx(93_000 * 0.98)


def test_a_take_profit_fills_on_a_gap_too():
    scenario = scenario_from_dict(_long(take_profit=110_000, stop_slippage=0.01))
    (tp,) = simulate(scenario, price_path({"BTCUSDT": [100_000.0, 112_000.0]})).events
    assert (tp.type, tp.price) == ("take_profit", pytest.approx(112_000 * 0.99))
    short = _long(take_profit=90_000)
    short["positions"][0].update(side="short", stop_loss=None)
    (tp,) = simulate(scenario_from_dict(short), price_path({"BTCUSDT": [100_000.0, 95_000.0, 85_000.0]})).events
    assert (tp.type, tp.price, tp.row) == ("take_profit", 85_000.0, 2)


def test_a_stop_below_the_liquidation_price_never_fires():
    scenario = scenario_from_dict(_long(stop_loss=85_000))
    (lp,) = liquidation_prices(scenario)
    assert lp.liquidation_price == pytest.approx(90_452.26, abs=0.01)
    (reach,) = order_reach(scenario)
    assert not reach.can_fire and reach.liquidation_price == pytest.approx(lp.liquidation_price)
    for path in (price_path({"BTCUSDT": [100_000.0, 80_000.0]}),  # one gap past both
                 price_path({"BTCUSDT": np.linspace(100_000, 50_000, 1_000)})):
        types = [e.type for e in simulate(scenario, path).events]
        assert types[0] == "liquidation" and "stop_loss" not in types
    assert [e.type for e in walk_to(start_walk(scenario), {"BTCUSDT": 50_000}).events] == ["liquidation"]


def test_a_gap_through_a_stop_that_can_fire_fills_beyond_the_liquidation_price():
    """The stop at 95,000 comes before the liquidation at 90,452.26 along the step, so a crash
    to 88,000 closes it there: with 2 % slippage at 86,240, beyond the bankruptcy price 90,000,
    so the close loses more than its margin, which an empty insurance fund leaves to others."""
    scenario = scenario_from_dict(_long(stop_loss=95_000, stop_slippage=0.02))
    (reach,) = order_reach(scenario)
    assert reach.can_fire and reach.bankruptcy_price == pytest.approx(90_000.0)
    assert reach.gap_to_bankruptcy == pytest.approx(1 - 90_000 / 0.98 / 95_000)
    stop, bankruptcy, socialized = simulate(scenario, price_path({"BTCUSDT": [100_000.0, 88_000.0]})).events
    assert (stop.type, bankruptcy.type, socialized.type) == ("stop_loss", "bankruptcy", "socialized_loss")  # no fund
    assert stop.price == pytest.approx(86_240.0) and bankruptcy.amount == pytest.approx(3_760.0)
    just = simulate(scenario, price_path({"BTCUSDT": [100_000.0, 95_000 * (1 - reach.gap_to_bankruptcy)]}))
    assert just.events[0].realized_pnl == pytest.approx(-10_000.0)  # the whole margin, to the cent


def test_in_a_cross_pool_the_stop_and_the_liquidation_meet_in_the_order_of_the_step():
    """Two cross longs on one wallet: the BTC stop at 95,000 and the pool's liquidation meet a
    one-step crash in order: a crash that reaches the stop first closes it, then judges the rest."""
    raw = {"balance": 12_000, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.005}},
           "positions": [{"id": "a", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100_000,
                          "leverage": 10, "mode": "cross", "stop_loss": 95_000},
                         {"id": "b", "market": "BTCUSDT", "side": "long", "size": 0.1, "entry": 100_000,
                          "leverage": 10, "mode": "cross"}]}
    scenario = scenario_from_dict(raw)
    (a_reach,) = order_reach(scenario)
    assert a_reach.can_fire  # the pool breaks at ~89,000: below the stop
    events = simulate(scenario, price_path({"BTCUSDT": [100_000.0, 60_000.0]})).events
    assert [(e.type, e.position) for e in events][:2] == [("stop_loss", "a"), ("liquidation", "b")]
    raw["positions"][0]["stop_loss"] = 85_000  # below the pool's liquidation: never
    events = simulate(scenario_from_dict(raw), price_path({"BTCUSDT": [100_000.0, 60_000.0]})).events
    assert "stop_loss" not in [e.type for e in events]


# ----------------------------------------------------------------------------- properties


def _one_order_beyond_liquidation(raw: dict, data) -> tuple[dict, int] | None:
    """``raw`` with one position's stop put beyond its liquidation price (none elsewhere)."""
    scenario = scenario_from_dict(raw)
    k = data.draw(st.integers(0, len(scenario.positions) - 1))
    lp = liquidation_prices(scenario)[k]
    p = scenario.positions[k]
    here = scenario.markets[p.market].price
    if lp.liquidation_price is None or (lp.liquidation_price - here) * p.sign >= 0:
        return None  # no liquidation the way a stop-loss lies
    stop = lp.liquidation_price * (1 - p.sign * data.draw(st.floats(1e-6, 0.5)))
    if (stop - p.entry) * p.sign >= 0 or stop < 1e-6:
        return None  # would not be a stop-loss of this position
    raw["positions"][k]["stop_loss"] = stop
    return raw, k


@PROPERTY
@given(raw=scenario_dicts(liquidation=("full",)), data=st.data())
def test_a_stop_beyond_the_liquidation_price_never_fires(raw, data):
    """Whatever the path of the position's market (the others held, as its liquidation price
    assumes), in jumps or on the lab's line, the pool is liquidated before the stop is reached."""
    found = _one_order_beyond_liquidation(raw, data)
    assume(found is not None)
    raw, k = found
    scenario = scenario_from_dict(raw)
    assert not order_reach(scenario)[0].can_fire
    market = scenario.positions[k].market
    moves = data.draw(st.lists(st.floats(0.05, 3.0), min_size=1, max_size=6))
    here = scenario.markets[market].price
    gaps = simulate(scenario, price_path({market: [here] + [here * m for m in moves]}))
    assert all(e.type != "stop_loss" for e in gaps.events)
    walk = start_walk(scenario, from_entries=False)
    for m in moves:
        walk = walk_to(walk, {market: here * m}, max_rows=2_000)
    assert all(e.type != "stop_loss" for e in walk.events)


@PROPERTY
@given(raw=scenario_dicts(modes=("isolated",), max_positions=1), drop=st.floats(0.0, 0.6),
       slippage=st.sampled_from([0.0, 0.001, 0.05, 0.5]), stop=st.floats(0.001, 0.2))
def test_a_gap_fills_at_the_steps_price(raw, drop, slippage, stop):
    """One step jumps past the stop: the close is at that step's price worsened by the
    slippage, to the last bit, whenever the liquidation is not reached first."""
    p = raw["positions"][0]
    sign = 1 if p["side"] == "long" else -1
    p.update(stop_loss=p["entry"] * (1 - sign * stop), stop_slippage=slippage)
    scenario = scenario_from_dict(raw)
    here = scenario.markets[p["market"]].price
    (reach,) = order_reach(scenario)
    assume(reach.can_fire and (p["stop_loss"] - here) * sign < 0)
    target = p["stop_loss"] * (1 - sign * drop)
    result = simulate(scenario, price_path({p["market"]: [here, target]}))
    assert result.events[0].type == "stop_loss" and result.events[0].row == 1
    assert result.events[0].price == target * (1 - sign * slippage)


@PROPERTY
@given(data=st.data())
def test_money_is_conserved_with_orders(data):
    scenario = scenario_from_dict(data.draw(rich_scenario_dicts(collateral=False, orders=True)))
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path)
    realized = sum(e.realized_pnl for e in result.events)
    before = scenario.balance + scenario.rules.insurance_fund + realized
    final = result.final
    assert final.balance + final.insurance_fund - final.socialized_loss == pytest.approx(before, abs=0.005, rel=1e-12)
    # Without collateral nothing lends: the cross pool never owes more than its open positions
    # are worth. Its wallet alone may be below zero: a stop that closes a loser at a loss
    # larger than the wallet, beside a winner still open whose profit covers it (the pool's
    # equity, not its wallet, is what a venue judges).
    last = path.marks[-1]
    columns = list(path.markets)
    open_cross = [(p, size) for p, size in zip(scenario.positions, final.sizes) if size > 0 and not p.is_isolated]
    if all(not p.is_inverse for p, _ in open_cross):
        equity = final.cross_wallet + sum(p.sign * size * (last[columns.index(p.market)] - p.entry) for p, size in open_cross)
        scale = 1.0 + sum(p.size * p.entry for p in scenario.positions)
        assert equity >= -1e-9 * scale


@PROPERTY
@given(data=st.data())
def test_the_event_walk_equals_the_loop_with_orders_and_collateral(data):
    scenario = scenario_from_dict(data.draw(rich_scenario_dicts(orders=True, collateral=data.draw(st.booleans()))))
    path = data.draw(paths_for(scenario))
    crossing = data.draw(st.sampled_from(CROSSING_MODES))
    before = np.array([m.price for m in scenario.markets.values()]) if data.draw(st.booleans()) else None
    assert simulate(scenario, path, crossing=crossing, before=before).as_dict() == \
        simulate_reference(scenario, path, crossing=crossing, before=before).as_dict()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=rich_scenario_dicts(orders=True, collateral=False), turns=st.lists(st.floats(0.5, 1.6), min_size=1, max_size=4))
def test_walking_move_by_move_equals_one_walk_of_the_whole_line(raw, turns):
    """The lab's walk, a move at a time, gives the events of one continuous walk of its rows."""
    scenario = scenario_from_dict(raw)
    market = next(iter(scenario.markets))
    walk = start_walk(scenario, from_entries=False)
    rows = []
    start = np.array(walk.prices)
    for factor in turns:
        target = {market: scenario.markets[market].price * factor}
        before = walk.rows
        walk = walk_to(walk, target, max_rows=500)
        from margin.walk import straight_rows
        end = np.array([target.get(n, start[j]) for j, n in enumerate(scenario.markets)])
        rows.append(straight_rows(start, end, 500))
        start = end
        assert walk.rows == before + rows[-1].shape[0]
    marks = np.vstack([np.array([[m.price for m in scenario.markets.values()]])] + rows)
    whole = simulate(scenario, PricePath(steps=np.arange(marks.shape[0]), markets=tuple(scenario.markets), marks=marks),
                     crossing="settle")
    assert [(e.type, e.position, e.row, e.price) for e in whole.events] == \
        [(e.type, e.position, e.row, e.price) for e in walk.events]


# ----------------------------------------------------------------------------- every engine that walks


def _btc_long_with_a_stop() -> dict:
    raw = {"balance": 5_000, "markets": {"BTCUSDT": {"price": 9_000, "mmr": 0.005}},
           "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 9_000,
                          "leverage": 5, "mode": "isolated", "stop_loss": 8_000, "stop_slippage": 0.01}]}
    return raw


def test_the_replay_fires_a_stop_on_the_crash_and_gaps_it():
    model = replay(scenario_from_dict(_btc_long_with_a_stop()), load_crash("2020-03-12"))
    stops = [e for e in model.results["As built"].events if e.type == "stop_loss"]
    assert len(stops) == 1 and stops[0].price < 8_000  # a candle's print past the trigger, less 1 %


def test_the_stress_lab_fires_the_same_stops_as_simulate():
    scenario = scenario_from_dict(_btc_long_with_a_stop())
    spec = stress_spec(scenario, volatility={"BTCUSDT": 2.0}, n_paths=40, n_steps=50, horizon_days=30, seed=7)
    from margin.stress.sampler import sample_prices
    from margin.account import price_vector
    fired = 0
    for index in range(40):
        prices = sample_prices(spec, price_vector(scenario), index, 1)[:, 0, :].T
        path = PricePath(steps=np.arange(prices.shape[0]), markets=tuple(scenario.markets), marks=prices)
        expected = simulate(scenario, path).events
        assert path_events(scenario, spec, index) == expected
        fired += any(e.type == "stop_loss" for e in expected)
    assert fired > 0


def test_the_cascade_learner_is_closed_by_its_stop():
    raw = _btc_long_with_a_stop()
    doc = {"market": {"name": "BTCUSDT"}, "crowd": {"n_traders": 2_000, "seed": 3}, "depth": 20_000_000,
           "shock": -0.15, "scenario": raw}
    (fate,) = run_spec(cascade_input_from_dict(doc)).learner
    assert fate["event"] == "stop_loss" and fate["round"] is not None and fate["price"] < 8_000


def test_an_order_on_the_wrong_side_of_the_entry_is_refused():
    from margin.fields import ScenarioError
    for orders, words in (({"stop_loss": 101_000}, r"positions\[0\]\.stop_loss: a long's stop-loss must be below"),
                          ({"take_profit": 99_000}, r"positions\[0\]\.take_profit: a long's take-profit must be above"),
                          ({"stop_slippage": 0.01}, r"positions\[0\]\.stop_slippage: applies to a stop_loss"),
                          ({"stop_loss": 90_000, "stop_slippage": 0.6}, r"stop_slippage: must be ≤ 0\.5")):
        with pytest.raises(ScenarioError, match=words):
            scenario_from_dict(_long(**orders))
    raw = _long(stop_loss=95_000)
    assert scenario_from_dict(copy.deepcopy(raw)).positions[0].stop_loss == 95_000.0
