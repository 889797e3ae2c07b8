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
from ui.links import MAX_LINK_CHARS, PAGES, LinkError, control_values, decode, encode, link_url

CONTROL_KEYS = st.one_of(
    st.sampled_from(["lab.shock", "lab.price.AAA", "lab.price.BBB", "lab.variant", "replay.crash",
                     "replay.step", "stress.paths", "cascade.depth", "builder.venue"]),
    st.from_regex(r"\A(lab|replay|stress|cascade)\.[a-z_]{1,12}\Z"),
)
CONTROL_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.lists(st.floats(-1e6, 1e6), max_size=5),
)


@st.composite
def views(draw) -> dict:
    return {"scenario": draw(scenario_dicts()), "page": draw(st.sampled_from(sorted(PAGES))),
            "controls": draw(st.dictionaries(CONTROL_KEYS, CONTROL_VALUES, max_size=8))}


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
     "control this app does not have"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock.slider": 1}}),
     "control this app does not have"),
    (_pack({"scenario": load_story("default"), "page": "lab", "controls": {"lab.x": {"a": 1}}}),
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
    scenario["story"] = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(6000))  # incompressible
    with pytest.raises(LinkError, match="too large for a link"):
        encode({"scenario": scenario, "page": "lab", "controls": {}})


def test_encode_refuses_non_finite_controls():
    with pytest.raises(LinkError):
        encode({"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": float("nan")}})


def test_control_values_keeps_plain_control_keys_only():
    state = {"lab.shock": -0.1, "lab.shock.slider": -0.1, "lab.shock.input": -0.1, "scenario": {},
             "learn.progress": {"a"}, "presenter": True, "replay.crash": "2020-03-12",
             "lab.fig": object(), "stress.seeds": (1, 2)}
    assert control_values(state) == {"lab.shock": -0.1, "replay.crash": "2020-03-12", "stress.seeds": [1, 2]}


def test_link_url_points_at_the_app_root():
    assert link_url("1.x", "https://margin.example/app/crash_replay") == "https://margin.example/?v=1.x"
    assert link_url("1.x", None) == "?v=1.x"
