"""The lab follows the learner's own path: a liquidation stays, the page says when it happened,
Reset starts again, a link carries the path, and the lab's state after any steps is what
``simulate`` gives on the concatenated path."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.simulate import PricePath, simulate
from margin.walk import entry_prices, straight_rows
from tests.lab_reading import line_of, section
from tests.strategies import scenarios
from tests.support import app_file, opened_with
from ui.lab.model import move_history, new_history, target_prices
from ui.common.link_codec import decode


def _statuses(at) -> dict[str, str]:
    built = section(at, "Positions, as built")
    return {label: line_of(built, label) for label in ("BTC long", "SOL long")}


def test_a_liquidation_stays_when_the_shock_goes_back_and_reset_restores_it():
    at = app_file().run()
    assert all("healthy" in line for line in _statuses(at).values())
    at.number_input(key="lab.shock.input").set_value(-15.0).run()
    assert all("liquidated" in line for line in _statuses(at).values())
    at.number_input(key="lab.shock.input").set_value(0.0).run()
    lines = _statuses(at)
    assert all("liquidated" in line and "healthy" not in line for line in lines.values()), lines
    assert "closed at 90," in lines["BTC long"]  # where the pool breached on the way down
    happening = section(at, "What is happening")
    assert ("You went to a shock of -15.0 %, then to a shock of 0.0 %: the cross pool was liquidated on "
            "the way to a shock of -15.0 %, when BTC was at 90,") in happening
    assert "A liquidation is final" in happening
    events = section(at, "What happened on the way, as built")
    assert events.startswith("- On the way to a shock of -15.0 %: BTC long liquidated at 90,")
    at.button(key="lab.reset").click().run()
    assert all("healthy" in line for line in _statuses(at).values())
    assert "Nothing was liquidated on the way." in section(at, "What happened on the way, as built")


def test_a_run_of_steps_the_same_way_is_one_turn_of_the_path():
    at = app_file().run()
    for shock in (-1.0, -2.0, -3.0, -12.0):
        at.number_input(key="lab.shock.input").set_value(shock).run()
    at.number_input(key="lab.shock.input").set_value(-4.0).run()
    assert at.session_state["lab.path"] == [[-12.0, {"BTCUSDT": 100_000.0, "SOLUSDT": 180.0}],
                                            [-4.0, {"BTCUSDT": 100_000.0, "SOLUSDT": 180.0}]]


def test_a_shared_link_carries_the_path_and_its_liquidations():
    at = app_file().run()
    at.number_input(key="lab.shock.input").set_value(-15.0).run()
    at.number_input(key="lab.shock.input").set_value(0.0).run()
    at.session_state["lab.share"] = True  # open "Share this view"
    url = next(c.value for c in at.run().code if "?v=" in c.value)
    view = decode(url.split("?v=", 1)[1])
    assert view["controls"]["lab.path"][0][0] == -15.0
    again = opened_with(v=url.split("?v=", 1)[1])
    assert not again.exception
    assert again.session_state["lab.shock"] == 0.0
    assert all("liquidated" in line for line in _statuses(again).values())
    assert "the cross pool was liquidated on the way to a shock of -15.0 %" in section(again, "What is happening")


def test_a_link_path_outside_the_sliders_is_held_to_their_range():
    raw = load_story("default")
    from ui.common.link_codec import encode
    view = {"scenario": raw, "page": "lab", "controls": {"lab.path": [[0.0, {"BTCUSDT": 1e9, "SOLUSDT": 180.0}]]}}
    at = opened_with(v=encode(view))
    assert not at.exception
    walk = at.session_state["lab.history"].walks["As built"]
    assert max(walk.prices) <= 180_000.0  # BTC's slider stops at 180 % of its price


# ----------------------------------------------------------------------------- property

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(data=st.data())
def test_the_labs_state_after_any_steps_equals_simulate_on_the_concatenated_path(data):
    scenario = data.draw(scenarios())
    history = new_history(scenario, "key")
    names = list(scenario.markets)
    rows = [np.array([[entry_prices(scenario)[n] for n in names]])]
    now = rows[0][0]
    rows.append(straight_rows(now, np.array([scenario.markets[n].price for n in names])))
    now = np.array([scenario.markets[n].price for n in names])
    for _ in range(data.draw(st.integers(1, 6))):
        shock = data.draw(st.floats(-0.6, 0.6))
        sliders = {n: m.price * data.draw(st.floats(0.5, 1.5)) for n, m in scenario.markets.items()}
        history = move_history(history, sliders, shock)
        target = target_prices(scenario, sliders, shock)
        end = np.array([target[n] for n in names])
        rows.append(straight_rows(now, end))
        now = end
    marks = np.vstack(rows)
    whole = simulate(scenario, PricePath(steps=np.arange(marks.shape[0]), markets=tuple(names), marks=marks),
                     crossing="settle")  # the lab's walk is invented: settled at its crossings
    walk = history.walks["As built"]
    assert walk.state == whole.final
    assert [e.as_dict() for e in walk.events] == [e.as_dict() for e in whole.events]


def test_history_ignores_a_step_that_moves_nothing():
    s = scenario_from_dict(load_story("default"))
    history = new_history(s, "k")
    assert move_history(history, s.prices, 0.0) is history


def test_a_links_long_wide_path_is_walked_in_a_bounded_number_of_rows():
    from margin.limits import MAX_LINK_PATH_ROWS, MAX_PATH_TURNS
    from ui.lab.model import Waypoint, replay_history

    scenario = scenario_from_dict(load_story("hedge-that-saved-it"))
    start = new_history(scenario, "k")
    ends = [Waypoint(shock=(-0.9 if k % 2 else 0.9),
                     prices=tuple((n, m.price * (0.2 if k % 2 else 1.8)) for n, m in scenario.markets.items()))
            for k in range(MAX_PATH_TURNS)]
    walked = replay_history(start, ends)
    for label, walk in walked.walks.items():
        assert walk.rows - start.walks[label].rows <= MAX_LINK_PATH_ROWS, label
    assert len(walked.waypoints) > 1
