"""AppTest: a price-lab step builds the full views (the equity-sharing pools, the shock sweep) of
the variant its two charts draw, and of the others only what the page shows of them: the shock
sweep "as built" (the shock slider's marks and "what is happening" read it) and that of
"collateral in USDT" where the lab shows that way (its comparison reads it). Issue 28, item 1."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.lab.model as lab_model
import ui.lab.session as lab_session
from margin.presets import load_story
from tests.lab_reading import region, section
from tests.support import app_file


@pytest.fixture
def built(monkeypatch):
    """Every equity_pools and sweep_view call of the lab, as the variant's label."""
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
    st.cache_data.clear()
    yield calls
    st.cache_data.clear()


def _lab(story: str, view: str) -> AppTest:
    at = app_file()
    at.session_state["scenario"] = load_story(story)
    at.session_state["scenario_revision"] = 1
    at.session_state["lab.view"] = view
    at.run()
    assert not at.exception, at.exception
    return at


def _step(at: AppTest, shock: float, calls: dict[str, list[str]]) -> None:
    for made in calls.values():
        made.clear()
    at.slider(key="lab.shock.slider").set_value(shock).run()
    assert not at.exception, at.exception


def test_a_shock_step_builds_the_drawn_variants_pools_and_no_hidden_sweep(built):
    at = _lab("default", "All cross")  # the first run: every sweep is new (the caches were cleared)
    assert len(built["pools"]) == 1, built["pools"]
    assert sorted(set(built["sweeps"])) == ["All cross", "As built"], built["sweeps"]
    for shock in (-2.0, -4.5, -7.0):
        _step(at, shock, built)
        assert len(built["pools"]) == 1, built["pools"]  # the drawn variant's pools, no other's
        assert set(built["sweeps"]) <= {"All cross", "As built"}, built["sweeps"]
    # what the learner reads is still there: the drawn charts, every way's column
    assert 'data-chart="Equity sharing, all cross"' in region(at, "pictures")
    for way in ("as built", "all cross", "all isolated"):
        assert "USDT" in section(at, f"Positions, {way}")


def test_the_usdt_twins_sweep_is_built_where_its_comparison_is_shown(built):
    at = _lab("collateral-crashes-with-you", "All isolated")
    assert len(built["pools"]) == 1, built["pools"]
    assert sorted(set(built["sweeps"])) == ["All isolated", "As built", "Collateral in USDT"], built["sweeps"]
    _step(at, -3.0, built)
    assert len(built["pools"]) == 1, built["pools"]
    assert "All cross" not in built["sweeps"]
    assert "; with USDT collateral, " in section(at, "What is happening")
    assert 'data-chart="Equity sharing, all isolated"' in region(at, "pictures")


def test_the_link_is_encoded_only_when_what_it_holds_changes(monkeypatch):
    import ui.shell.links as links

    encoded: list[str] = []
    real = links.encode

    def counted(view, **kwargs):
        encoded.append(view["page"])
        return real(view, **kwargs)

    monkeypatch.setattr(links, "encode", counted)
    at = _lab("default", "As built")
    at.run()  # nothing changed: the address is not encoded again
    encoded.clear()
    at.run()
    assert encoded == []
    at.slider(key="lab.shock.slider").set_value(-3.0).run()  # the step's fragment and app.py's frame: once
    assert encoded == ["lab"]
    assert links.decode(at.query_params["v"])["controls"]["lab.shock"] == -3.0


def test_an_invalid_account_keeps_no_view_in_the_address():
    at = app_file()
    broken = load_story("default")
    broken["balance"] = -5
    at.session_state["scenario"] = broken
    at.session_state["scenario_revision"] = 1
    at.run()
    assert not at.exception
    assert "v" not in at.query_params
