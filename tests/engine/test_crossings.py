"""Exact crossings: every stated liquidation or bankruptcy shock is where the engine's own
status changes, to the neighbouring float, not a grid point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from margin.account import evaluate, value_account, compile_account
from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.sweep import CROSSING_KINDS, shock_crossings, shock_prices
from tests.strategies import scenarios

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _status(scenario, shocks, column):
    return value_account(compile_account(scenario), shock_prices(scenario, np.asarray(shocks, dtype=float))).status[:, column]


def _column(scenario, crossing):
    if crossing.position is None:
        return next(i for i, p in enumerate(scenario.positions) if not p.is_isolated)
    return next(i for i, p in enumerate(scenario.positions) if p.id == crossing.position)


def test_the_default_accounts_pool_is_healthy_at_925_and_liquidated_at_927():
    """The issue's case: the lab said −9.5 % (a grid point); the crossing is −9.26 %, and
    bankruptcy −9.70 %."""
    s = scenario_from_dict(load_story("default"))
    found = {c.kind: c for c in shock_crossings(s) if c.position is None}
    assert round(found["liquidation"].shock * 100, 2) == -9.26
    assert round(found["bankruptcy"].shock * 100, 2) == -9.70
    def cross_liquidatable(shock):
        return evaluate(s, dict(zip(s.markets, shock_prices(s, np.array([shock]))[0]))).cross.liquidatable
    assert not cross_liquidatable(-0.0925) and cross_liquidatable(-0.0927)
    for kind, c in found.items():
        stated = round(c.shock * 100, 2) / 100
        column = _column(s, c)
        inside, outside = _status(s, [stated - 0.0001, stated + 0.0001], column) >= CROSSING_KINDS[kind]
        assert inside and not outside, kind


@PROPERTY
@given(scenario=scenarios())
def test_every_crossing_is_where_the_status_changes(scenario):
    for c in shock_crossings(scenario):
        level = CROSSING_KINDS[c.kind]
        column = _column(scenario, c)
        assert c.known_to <= 4 * np.spacing(max(abs(c.shock), 1e-3)) + 1e-15, c
        at, before = _status(scenario, [c.shock, c.shock - c.beyond * c.known_to], column) >= level
        assert at and not before, c


@PROPERTY
@given(scenario=scenarios())
def test_no_crossing_is_missed_between_grid_points(scenario):
    """Every change of status on a fine grid holds a stated crossing between its two points,
    and every stated crossing lies between two grid points whose status differs (or within
    a grid step of another crossing)."""
    grid = np.linspace(-0.99, 0.99, 397)
    crossings = shock_crossings(scenario)
    for kind, level in CROSSING_KINDS.items():
        for position, column in {(_pool(scenario, i), i) for i in _pool_columns(scenario)}:
            holds = _status(scenario, grid, column) >= level
            mine = [c for c in crossings if c.kind == kind and c.position == position]
            for k in np.flatnonzero(holds[:-1] != holds[1:]):
                # within what the crossing is known to: a crossing on a grid point may be stated
                # an ulp beyond it, where the status computed at the point already changed
                assert any(grid[k] - c.known_to <= c.shock <= grid[k + 1] + c.known_to for c in mine), (
                    kind, position, grid[k])


def _pool(scenario, i):
    p = scenario.positions[i]
    return p.id if p.is_isolated else None


def _pool_columns(scenario):
    cross = [i for i, p in enumerate(scenario.positions) if not p.is_isolated]
    return cross[:1] + [i for i, p in enumerate(scenario.positions) if p.is_isolated]


def test_a_crossing_past_the_price_floor_bend_is_solved_too():
    """A market of beta 2 reaches its floor (1 % of its price) at a shock of −49.5 %; the
    crossing beyond that bend is solved on the segment after it."""
    raw = {"balance": 160, "markets": {"X": {"price": 100, "mmr": 0.01, "beta": 2.0}, "Y": {"price": 10, "mmr": 0.01}},
           "positions": [{"id": "x", "market": "X", "side": "long", "size": 1, "entry": 100, "leverage": 1, "mode": "cross"},
                         {"id": "y", "market": "Y", "side": "long", "size": 10, "entry": 10, "leverage": 1, "mode": "cross"}]}
    s = scenario_from_dict(raw)
    liq = next(c for c in shock_crossings(s) if c.kind == "liquidation")
    # past −49.5 %, X sits at 1 and Y at 10 (1 + shock): equity 160 − 99 + 100 shock meets
    # MM 0.01 (1 + 100 (1 + shock)) at shock = −59.99 / 99
    assert liq.shock == pytest.approx(-59.99 / 99, rel=1e-14)
    snap = evaluate(s, dict(zip(s.markets, shock_prices(s, np.array([liq.shock]))[0])))
    assert snap.cross.equity == pytest.approx(snap.cross.maintenance_margin, abs=1e-12)


# ----------------------------------------------------------------------------- along a path

from dataclasses import replace as _replace  # noqa: E402

from margin.account import position_liquidation_price  # noqa: E402
from margin.simulate import simulate, simulate_reference  # noqa: E402
from margin.variants import account_variants, arrived_variants  # noqa: E402
from margin.walk import scenario_now, start_walk, walk_to  # noqa: E402
from tests.strategies import paths_for  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _no_crossing(event):
    return _replace(event, crossing=None, crossing_fraction=None)


@PROPERTY
@given(data=st.data())
def test_settling_or_reporting_at_the_crossings_is_the_same_event_to_event_and_row_by_row(data):
    scenario = data.draw(scenarios())
    path = data.draw(paths_for(scenario, max_steps=60))
    before = np.array([m.price for m in scenario.markets.values()])
    for mode in ("settle", "report"):
        fast = simulate(scenario, path, crossing=mode, before=before)
        slow = simulate_reference(scenario, path, crossing=mode, before=before)
        assert fast.events == slow.events, mode
        assert fast.final == slow.final, mode


@PROPERTY
@given(data=st.data())
def test_a_replay_of_observed_marks_fills_at_the_observed_mark_and_tells_the_crossing_beside_it(data):
    """``report`` invents nothing: every event is the plain walk's, with where the line between
    the two observed marks crossed, inside the step."""
    scenario = data.draw(scenarios())
    path = data.draw(paths_for(scenario, max_steps=60))
    plain = simulate(scenario, path)
    told = simulate(scenario, path, crossing="report")
    assert [_no_crossing(e) for e in told.events] == list(plain.events)
    assert told.final == plain.final
    for e in told.events:
        if e.crossing is None:
            continue
        assert 0 < e.crossing_fraction <= 1 and e.row > 0
        column = path.markets.index(e.market)
        low, high = sorted(path.marks[e.row - 1:e.row + 1, column])
        assert low <= e.crossing <= high


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenario=scenarios(liquidation=("full",)), factor=st.sampled_from([0.1, 0.3, 0.6, 1.8, 3.0]),
       market=st.integers(0, 2))
def test_a_walk_moving_one_market_liquidates_at_the_liquidation_price_itself(scenario, factor, market):
    """The lab's walk is invented between the learner's prices: a pool that breaches while one
    market moves is settled at that market's liquidation price (the closed form, every other
    market held), not at the next row 0.05 % past it."""
    walk = start_walk(scenario)
    name = list(scenario.markets)[market % len(scenario.markets)]
    now = scenario_now(walk)
    held = {p.id: position_liquidation_price(now, k) for k, p in enumerate(now.positions)}
    moved = walk_to(walk, {name: walk.price_map()[name] * factor})
    new = [e for e in moved.events[len(walk.events):] if e.type == "liquidation"]
    first = next((e for e in new if e.row == new[0].row and e.market == name), None)
    assume(first is not None and held[first.position].liquidation_price is not None)
    assert first.crossing == first.price
    assert first.price == pytest.approx(held[first.position].liquidation_price, rel=1e-9)


def test_the_default_accounts_isolated_sol_long_is_closed_at_its_liquidation_price_and_its_money_adds_up():
    """All isolated, the SOL long (2,640 USDT of margin, entered at 220) dies on the way down
    to 180: at its liquidation price 210.99, and its close says where all 2,640 went."""
    s = scenario_from_dict(load_story("default"))
    walk = arrived_variants(s)["All isolated"]
    (event,) = walk.events
    formula = position_liquidation_price(account_variants(s)["All isolated"], 1).liquidation_price
    assert event.price == pytest.approx(formula, rel=1e-12) and round(event.price, 2) == 210.99
    assert (round(event.realized_pnl, 2), round(event.fee, 2), round(event.to_fund, 2)) == (-2162.24, 253.19, 224.57)
    assert event.money_change == pytest.approx(-2640.0, abs=1e-9)


def test_a_move_back_keeps_a_liquidation_settled_at_the_exact_price():
    raw = {"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
           "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
                          "leverage": 10, "mode": "cross"}]}
    down = walk_to(start_walk(scenario_from_dict(raw)), {"BTC": 85.0})
    assert down.events[0].price == pytest.approx(9000 / 99, rel=1e-14)
    assert down.before_close[0].prices == pytest.approx((9000 / 99,), rel=1e-14)


def test_an_observed_drop_past_the_liquidation_price_fills_at_the_observed_mark_and_says_where_it_crossed():
    raw = {"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
           "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
                          "leverage": 10, "mode": "cross"}]}
    from margin.simulate import price_path
    path = price_path({"BTC": np.array([100.0, 95.0, 89.0])})
    (event,) = [e for e in simulate(scenario_from_dict(raw), path, crossing="report").events if e.type == "liquidation"]
    assert event.price == 89.0 and event.row == 2  # the venue saw 89 and filled there
    assert event.crossing == pytest.approx(9000 / 99, rel=1e-14)
    assert event.crossing_fraction == pytest.approx((95 - 9000 / 99) / 6, rel=1e-12)
    (settled,) = [e for e in simulate(scenario_from_dict(raw), path, crossing="settle").events if e.type == "liquidation"]
    assert settled.price == settled.crossing == pytest.approx(9000 / 99, rel=1e-14)
