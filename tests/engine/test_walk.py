"""The learner's own path: a walk continued move by move equals one walk of the whole path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.scenario import scenario_from_dict
from margin.simulate import PricePath, simulate
from margin.walk import entry_prices, scenario_now, start_walk, straight_rows, walk_to
from tests.strategies import scenarios

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def moves_for(draw, scenario, max_moves: int = 6):
    """A few targets, each market moved by up to ±60 % of its price."""
    out = []
    for _ in range(draw(st.integers(1, max_moves))):
        out.append({name: market.price * draw(st.floats(0.4, 1.6))
                    for name, market in scenario.markets.items() if draw(st.booleans())})
    return out


def _concatenated(scenario, targets):
    names = list(scenario.markets)
    entries = entry_prices(scenario)
    rows = [np.array([[entries[n] for n in names]])]
    now = rows[0][0]
    for target in [scenario.prices, *targets]:
        end = np.array([float(target.get(n, now[j])) for j, n in enumerate(names)])
        rows.append(straight_rows(now, end))
        now = end if rows[-1].shape[0] else now
    marks = np.vstack(rows)
    return PricePath(steps=np.arange(marks.shape[0]), markets=tuple(names), marks=marks)


@PROPERTY
@given(data=st.data())
def test_moves_one_by_one_equal_simulate_on_the_concatenated_path(data):
    scenario = data.draw(scenarios())
    targets = data.draw(moves_for(scenario))
    walk = start_walk(scenario)
    for target in targets:
        walk = walk_to(walk, target)
    whole = simulate(scenario, _concatenated(scenario, targets), crossing="settle")
    assert [e.as_dict() for e in walk.events] == [e.as_dict() for e in whole.events]
    assert [e.row for e in walk.events] == [e.row for e in whole.events]
    assert walk.state == whole.final
    assert walk.rows == _concatenated(scenario, targets).marks.shape[0]


@PROPERTY
@given(data=st.data())
def test_what_was_closed_stays_closed_after_a_move_back(data):
    scenario = data.draw(scenarios())
    targets = data.draw(moves_for(scenario))
    walk = start_walk(scenario)
    closed: set[str] = set()
    for target in [*targets, scenario.prices]:
        walk = walk_to(walk, target)
        now_closed = {p.id for p, size in zip(scenario.positions, walk.state.sizes) if size <= 0}
        assert closed <= now_closed
        closed = now_closed


def test_a_move_back_to_the_start_keeps_the_liquidation():
    raw = {"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
           "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
                          "leverage": 10, "mode": "cross"}]}
    walk = start_walk(scenario_from_dict(raw))
    down = walk_to(walk, {"BTC": 85.0})
    back = walk_to(down, {"BTC": 100.0})
    assert [e.type for e in back.events] == ["liquidation"]
    assert back.state.open_positions == ()
    assert back.event_moves == (1,)
    assert 90.85 < back.events[0].price <= 90.91  # at its liquidation price 90.909, within a row
    assert scenario_now(back).positions == ()


def test_an_isolated_position_under_water_dies_on_the_way_from_its_entry_at_its_liquidation_price():
    """Isolated at today's price, a long that lost more than its margin would have been
    liquidated on the way down from its entry: at its liquidation price, not at today's price
    with the insurance fund paying the rest."""
    raw = {"balance": 1000, "rules": {"insurance_fund": 1e6},
           "markets": {"SOL": {"price": 180, "mmr": 0.01}},
           "positions": [{"id": "sol", "market": "SOL", "side": "long", "size": 10, "entry": 220,
                          "leverage": 20, "mode": "isolated"}]}
    walk = start_walk(scenario_from_dict(raw))
    kinds = [e.type for e in walk.events]
    assert kinds == ["liquidation"]  # no bankruptcy: no loss beyond margin
    liquidation = (220 * 10 - 110) / (10 * 0.99)  # margin + 10 (p − 220) = 0.01 · 10 p
    assert walk.events[0].price == pytest.approx(liquidation, rel=6e-4)
    assert walk.event_moves == (0,)
    assert walk.state.insurance_fund >= 1e6  # the fund kept what was left, paid nothing


def test_without_the_entries_the_walk_starts_at_todays_prices():
    raw = {"balance": 1000, "rules": {"insurance_fund": 1e6}, "markets": {"SOL": {"price": 180, "mmr": 0.01}},
           "positions": [{"id": "sol", "market": "SOL", "side": "long", "size": 10, "entry": 220,
                          "leverage": 20, "mode": "isolated"}]}
    walk = start_walk(scenario_from_dict(raw), from_entries=False)
    assert [e.type for e in walk.events] == ["liquidation", "bankruptcy"]  # judged at 180 at once
    assert walk.rows == 1
