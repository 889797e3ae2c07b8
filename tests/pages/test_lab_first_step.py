"""AppTest: a class opening the price lab at once computes its first view once (issue 28: 60
first pages at once). A new session on an account, sliders, chart and theme that another session
has opened gets the same live regions without building its pools again; its own path then goes
on from there, apart from every other session's; a session whose first view differs (a shock
already set, a link's path waiting) computes its own."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.lab.model as lab_model
import ui.lab.session as lab_session
from margin.presets import load_story
from tests.support import app_file


@pytest.fixture
def built(monkeypatch):
    """Every equity_pools and sweep_view call of the lab (the work of a step's views)."""
    calls: dict[str, list[str]] = {"pools": [], "sweeps": []}
    real_pools, real_sweep = lab_model.equity_pools, lab_session.sweep_view

    def pools(walk, *args):
        calls["pools"].append(walk.scenario.name)
        return real_pools(walk, *args)

    def sweep(label, *args, **kwargs):
        calls["sweeps"].append(label)
        return real_sweep(label, *args, **kwargs)

    monkeypatch.setattr(lab_model, "equity_pools", pools)
    monkeypatch.setattr(lab_session, "sweep_view", sweep)
    yield calls
    st.cache_data.clear()
    st.cache_resource.clear()


def _regions(at: AppTest) -> dict[str, str]:
    """Every live region the last run sent."""
    out: dict[str, str] = {}
    for component in at.get("bidi_component"):
        if component.proto.component_name == "margin_lab.live_regions":
            out.update(json.loads(component.proto.json)["regions"])
    assert out, "no live regions in the last run"
    return out


def _open(calls: dict[str, list[str]], **state) -> AppTest:
    """A new session on the default account's lab, with ``state`` set first."""
    for made in calls.values():
        made.clear()
    at = app_file()
    at.session_state["scenario"] = load_story("default")
    at.session_state["scenario_revision"] = 1
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_second_session_gets_the_first_view_without_building_it(built):
    first = _open(built)
    assert built["pools"], "the first session builds its view"
    second = _open(built)
    assert built == {"pools": [], "sweeps": []}
    assert _regions(second) == _regions(first)
    assert second.session_state["lab.path"] == first.session_state["lab.path"] == []


def test_each_session_walks_its_own_path_on_from_the_shared_view(built):
    first = _open(built)
    opened = _regions(first)
    second = _open(built)
    second.slider(key="lab.shock.slider").set_value(-12.0).run()  # the cross pool is liquidated
    assert not second.exception, second.exception
    assert built["pools"], "a step is the session's own work"
    second.slider(key="lab.shock.slider").set_value(0.0).run()
    assert _regions(second)["text"] != opened["text"]  # liquidated on the way: it stays so
    first.run()
    assert _regions(first)["text"] == opened["text"]  # the other session's path is untouched
    third = _open(built)
    assert _regions(third) == opened  # and so is the shared first view
    assert third.session_state["lab.path"] == []


def test_a_session_whose_first_view_differs_builds_its_own(built):
    opened = _regions(_open(built))
    shocked = _open(built, **{"lab.shock": -5.0})
    assert built["pools"]
    assert _regions(shocked)["text"] != opened["text"]
    walked = _open(built)
    walked.slider(key="lab.shock.slider").set_value(-12.0).run()
    path = walked.session_state["lab.path"]
    linked = _open(built, **{"lab.replay": path})  # a link's path waits: walked before the first view
    assert built["pools"]
    assert _regions(linked)["text"] != opened["text"]
