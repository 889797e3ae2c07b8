"""Shareable links: encode/decode round trip (Hypothesis), and refusal of bad links."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from margin.presets import load_story, story_ids
from tests.strategies import scenario_dicts
from ui.common.site import PAGES, page_ids
from ui.common.link_codec import (MAX_LINK_CHARS, LinkError, control_spec, control_values, decode,
                      encode, link_url)


def _values(kind, extra):
    if kind == "number":
        return st.floats(*extra, allow_nan=False)
    if kind == "integer":
        return st.integers(*extra)
    if kind == "choice":
        return st.sampled_from(list(extra))
    if kind == "bool":
        return st.booleans()
    if kind == "path":  # the lab's path: turns [shock %, {market: price}]
        return st.lists(st.tuples(st.floats(-90.0, 90.0), st.dictionaries(
            st.from_regex(r"[A-Z]{3,8}", fullmatch=True), st.floats(0.01, 1e6), max_size=3)).map(list), max_size=5)
    return st.from_regex(extra, fullmatch=True)


@st.composite
def controls_for(draw, page: str) -> dict:
    """Random positions of every control a link may carry on ``page``."""
    out = {}
    for control in next(p for p in PAGES if p.id == page).controls:
        for key in draw(st.lists(st.from_regex(control.pattern, fullmatch=True), max_size=3)):
            out[key] = draw(_values(control.kind, control.extra))
    return out


@st.composite
def views(draw) -> dict:
    page = draw(st.sampled_from(page_ids()))
    return {"scenario": draw(scenario_dicts()), "page": page, "controls": draw(controls_for(page))}


CONTROLS = [(p.id, i) for p in PAGES for i in range(len(p.controls))]


@pytest.mark.parametrize(("page_id", "index"), CONTROLS, ids=[f"{p}-{i}" for p, i in CONTROLS])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_each_control_a_page_declares_survives_a_link_alone(page_id, index, data):
    """A control the registry declares but the codec refuses would silently drop from every link."""
    control = next(p for p in PAGES if p.id == page_id).controls[index]
    key = data.draw(st.from_regex(control.pattern, fullmatch=True))
    value = data.draw(_values(control.kind, control.extra))
    view = {"scenario": load_story("default"), "page": page_id, "controls": {key: value}}
    assert decode(encode(view))["controls"] == {key: value}


@settings(max_examples=150, deadline=None)
@given(views())
def test_round_trip_random_views(view):
    text = encode(view)
    assert text.startswith("1.") and len(text) <= MAX_LINK_CHARS
    assert set(text[2:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode(text) == view


@pytest.mark.parametrize("story", story_ids())
def test_every_story_fits_in_a_short_link(story):
    view = {"scenario": load_story(story), "page": "lab", "controls": {"lab.shock": -0.12}}
    text = encode(view)
    assert len(text) < 2_000, len(text)
    assert decode(text) == view


def _pack(obj) -> str:
    raw = json.dumps(obj).encode()
    return "1." + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


GOOD = encode({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": -0.12}})


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("garbage", "no version prefix"),
    ("2." + GOOD[2:], "another version"),
    (GOOD[:-25], "corrupt"),  # cut short when copied
    (GOOD[:40] + "!!!!" + GOOD[44:], "corrupt"),
    ("1." + base64.urlsafe_b64encode(zlib.compress(b"{not json")).decode(), "not valid JSON"),
    (_pack([1, 2, 3]), "expected an object"),
    (_pack({"scenario": load_story("default"), "page": "nowhere"}), "unknown page"),
    (_pack({"scenario": {**load_story("default"), "balance": -5}, "page": "lab"}),
     "invalid account: balance: must be ≥ 0"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"scenario": 1}}),
     "control the 'lab' page does not have"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock.slider": 1}}),
     "control the 'lab' page does not have"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.reset": True}}),
     "control the 'lab' page does not have"),
    (_pack({"scenario": load_story("default"), "page": "builder", "controls": {"lab.shock": 1}}),
     "control the 'builder' page does not have"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": {"a": 1}}}),
     "value it cannot take"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": -120}}),
     "value it cannot take"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.view": "Sideways"}}),
     "value it cannot take"),
    (_pack({"scenario": load_story("default"), "page": "lab", "extra": 1}), "unknown fields"),
])
def test_bad_links_say_why(text, words):
    with pytest.raises(LinkError, match=words):
        decode(text)


def test_too_long_link_is_refused_before_unpacking():
    with pytest.raises(LinkError, match=r"too long \(6,001 characters; the limit is 6,000\)"):
        decode("1." + "A" * (MAX_LINK_CHARS - 1))


def test_zip_bomb_is_refused():
    bomb = "1." + base64.urlsafe_b64encode(zlib.compress(b" " * 3_000_000, 9)).decode().rstrip("=")
    assert len(bomb) < MAX_LINK_CHARS
    with pytest.raises(LinkError, match="too large once unpacked"):
        decode(bomb)


def test_encode_refuses_a_view_too_large_for_a_link():
    scenario = load_story("default")
    scenario["notes"] = ["".join(chr(0x4E00 + (i * 7919 + k) % 20000) for i in range(3000)) for k in range(2)]  # incompressible
    with pytest.raises(LinkError, match="too large for a link"):
        encode({"scenario": scenario, "page": "lab", "controls": {}})


def test_encode_refuses_non_finite_controls():
    with pytest.raises(LinkError, match="value it cannot take"):
        encode({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": float("nan")}})


def test_control_values_keeps_the_pages_plain_control_keys_only():
    state = {"lab.shock": -10, "lab.shock.slider": -10.0, "lab.shock.input": -10.0, "scenario": {},
             "learn.progress": {"a"}, "presenter": True, "lab.reset": False, "lab.anchor": {"X": 1.0},
             "lab.price.BTCUSDT": 90_000.0, "lab.view": "All cross", "lab.fig": object()}
    assert control_values(state, "lab") == {"lab.shock": -10.0, "lab.price.BTCUSDT": 90_000.0,
                                            "lab.view": "All cross"}
    assert control_values(state, "builder") == {}
    assert control_spec("lab", "lab.price.SOLUSDT") == ("number", (0.0, 1e9))  # MAX_PRICE


def test_link_url_points_at_the_app_root():
    assert link_url("1.x", "https://margin.example/app/crash_replay") == "https://margin.example/?v=1.x"
    assert link_url("1.x", None) == "?v=1.x"
