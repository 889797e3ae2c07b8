"""Shared links through the whole app (AppTest): a link restores the account, the page and the
controls; a corrupt or too-long link says so and changes nothing (the default account on a
first visit, the session's own account otherwise)."""

from __future__ import annotations

import pytest

from margin.account import evaluate
from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.numbers import money
from ui.common.link_codec import MAX_LINK_CHARS, decode, encode
from tests.lab_reading import metric, metrics
from tests.support import in_frame, opened_with, shown, whole_app


def test_a_link_reproduces_the_view_on_the_lab():
    view = {"scenario": load_story("default"), "page": "lab",
            "controls": {"lab.shock": -5.0, "lab.price.BTCUSDT": 104_000.0, "lab.view": "All cross"}}
    at = opened_with(v=encode(view))
    assert not at.exception and in_frame(at)
    assert at.title[0].value == "Price lab"
    assert at.session_state["lab.shock"] == -5.0 and at.session_state["lab.price.BTCUSDT"] == 104_000.0
    assert at.session_state["lab.price.SOLUSDT"] == 180.0  # the account's own price
    assert at.number_input(key="lab.shock.input").value == -5.0
    assert at.radio(key="lab.view.widget").value == "All cross"
    # nothing is liquidated on the way, so the pool is the engine's evaluation at the targets
    s = scenario_from_dict(load_story("default"))
    target = {"BTCUSDT": 104_000.0 * 0.95, "SOLUSDT": 180.0 * (1 - 1.6 * 0.05)}
    equity = money(evaluate(s, target).cross.equity)
    assert equity == "11,744.00 USDT"
    assert metric(at, "Cross pool equity", 0) == equity
    # the address now holds this session's own view (kept for a reload), not applied again
    assert at.query_params.get("keep") == "1" and decode(at.query_params["v"])["scenario"] == view["scenario"]
    at.number_input(key="lab.shock.input").set_value(-1.0).run()
    assert at.session_state["lab.shock"] == -1.0


def test_the_copy_link_of_a_view_opens_the_same_view():
    at = opened_with(v=encode({"scenario": load_story("hedge-that-saved-it"), "page": "lab",
                               "controls": {"lab.shock": -12.0}}))
    assert not [c for c in at.code if "?v=" in c.value]  # the lab fills its popover only when opened
    at.session_state["lab.share"] = True  # open "Share this view", as a click does
    url = next(c.value for c in at.run().code if "?v=" in c.value)
    view = decode(url.split("?v=", 1)[1])
    assert view["page"] == "lab" and view["scenario"] == load_story("hedge-that-saved-it")
    assert view["controls"]["lab.shock"] == -12.0
    again = opened_with(v=url.split("?v=", 1)[1])
    for label in ("Equity", "Cross pool equity", "Maintenance margin"):
        assert len(metrics(at, label)) == 3 and metrics(again, label) == metrics(at, label)


def test_a_link_opens_its_page_and_keeps_presenter_mode():
    view = {"scenario": load_story("one-bad-trade"), "page": "replay",
            "controls": {"replay.crash": "2021-05-19", "replay.step": 120.0}}
    at = opened_with(v=encode(view), present="1")
    assert not at.exception
    assert at.title[0].value == "Crash replay"
    assert at.session_state["replay.step"] == 120.0 and at.session_state["replay.crash"] == "2021-05-19"
    assert at.query_params.get("present") == "1" and at.query_params.get("keep") == "1"
    assert at.button(key="presenter.exit")


@pytest.mark.parametrize("text, words", [
    ("1.this-is-not-a-link", "corrupt"),
    ("7.abc", "another version"),
    ("1." + "A" * MAX_LINK_CHARS, "too long"),
])
def test_a_bad_link_says_so_and_opens_the_default_account(text, words):
    at = whole_app()
    at.session_state["scenario"] = load_story("over-leveraged-whale")  # whatever was there before
    at.query_params["v"] = text
    at.run()
    assert not at.exception
    message = shown(at.error[0].value)
    assert message.startswith("This shared link could not be opened:") and words in message
    assert "Your account is kept as it was." in message
    assert at.session_state["scenario"] == load_story("over-leveraged-whale")
    assert at.title[0].value == "Price lab"
    at.run()  # shown once
    assert not [e for e in at.error if "shared link" in e.value]


def test_a_link_sets_the_cascade_controls():
    controls = {"cascade.shock": -8.0, "cascade.depth": 20.0, "cascade.impact": "sqrt", "cascade.traders": 5_000}
    at = opened_with(v=encode({"scenario": load_story("default"), "page": "cascade", "controls": controls}))
    assert not at.exception and at.title[0].value == "Market cascade"
    for key, value in controls.items():
        assert at.session_state[key] == value
    assert [m.value for m in at.metric if m.label == "Initial shock"] == ["-8.0 %"]
    # the cascade page has no copy-link of its own: the sidebar offers one, with the controls
    shared = [c.value for c in at.sidebar.code if "?v=" in c.value]
    assert len(shared) == 1
    linked = decode(shared[0].split("?v=", 1)[1])["controls"]
    assert {k: linked[k] for k in controls} == controls


def test_pages_with_their_own_copy_link_get_no_second_one():
    at = opened_with(v=encode({"scenario": load_story("default"), "page": "lab", "controls": {}}))
    assert not [c for c in at.sidebar.code if "?v=" in c.value]
    at.session_state["lab.share"] = True  # open the lab's own "Share this view"
    at.run()
    assert len([c for c in at.code if "?v=" in c.value]) == 1
    assert not [c for c in at.sidebar.code if "?v=" in c.value]


def test_the_builder_shares_its_account():
    at = opened_with(v=encode({"scenario": load_story("isolated-lottery-ticket"), "page": "builder", "controls": {}}))
    assert not at.exception and at.title[0].value == "Account builder"
    shared = [c.value for c in at.code if "?v=" in c.value]
    assert decode(shared[0].split("?v=", 1)[1]) == {"scenario": load_story("isolated-lottery-ticket"),
                                                   "page": "builder", "controls": {}}


def _packed(payload: bytes) -> str:
    """A link around any bytes (``encode`` itself would refuse these views)."""
    import base64
    import zlib
    return "1." + base64.urlsafe_b64encode(zlib.compress(payload, 9)).rstrip(b"=").decode()


def _account_with(**position) -> bytes:
    import json
    raw = load_story("default")
    raw["positions"][0].update(position)
    return json.dumps({"scenario": raw, "page": "stress", "controls": {}}).encode()


@pytest.mark.parametrize("payload, words", [
    (b"[" * 100_000 + b"]" * 100_000, "nested 100,000 levels deep"),
    (b'{"scenario": ' + b"1" * 5000 + b"}", "not valid JSON"),
    (_account_with(entry=1e308), "positions[0].entry: must be ≤ 1e+09, got 1e+308"),
    (_account_with(size=1e308), "positions[0].size: must be ≤ 1e+09, got 1e+308"),
    (_account_with(leverage=1e-300), "positions[0].leverage: must be ≥ 1, got 1e-300"),
])
def test_a_deep_or_near_float_max_link_is_a_message_not_an_exception(payload, words):
    at = whole_app()
    at.session_state["scenario"] = load_story("over-leveraged-whale")
    at.query_params["v"] = _packed(payload)
    at.run()
    assert not at.exception
    message = shown(at.error[0].value)
    assert message.startswith("This shared link could not be opened:") and words in message, message
    assert message.endswith("Your account is kept as it was.")
    assert at.session_state["scenario"] == load_story("over-leveraged-whale")  # nothing stored


def test_the_address_keeps_the_account_and_a_reload_restores_it():
    at = opened_with(v=encode({"scenario": load_story("default"), "page": "lab", "controls": {}}))
    own = dict(load_story("hedge-that-saved-it"), name="My own account")
    at.session_state["scenario"] = own  # the learner's work, as the builder leaves it
    at.session_state["scenario_revision"] = 7
    at.number_input(key="lab.shock.input").set_value(-4.0).run()
    at.run()  # a full run writes the view into the address
    kept = dict(at.query_params)
    assert kept.get("keep") == "1" and decode(kept["v"])["scenario"] == own
    assert decode(kept["v"])["controls"]["lab.shock"] == -4.0
    again = opened_with(**kept)  # a reload: a new session with the same address
    assert not again.exception
    assert again.session_state["scenario"] == own and again.session_state["lab.shock"] == -4.0
    assert any("Restored your account “My own account”" in t.value for t in again.toast)
    assert not opened_with(v=kept["v"]).toast  # a shared link (no keep=1) opens without that word
