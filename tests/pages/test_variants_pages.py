"""AppTest: the crash replay and the stress lab compare the account a fourth way, "collateral in
USDT", where its wallet holds coins (the story "your collateral crashes with your position"),
and only there (issue 27, item 4)."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from margin.presets import load_story
from tests.support import open_page, page_text

REPLAY = "pages/crash_replay.py"
STRESS = "pages/stress_lab.py"
STORY = "collateral-crashes-with-you"
FOURTH = "Collateral in USDT"
SHORT = "All isolated: an isolated margin is paid in USDT from the balance, which holds 0.00 USDT"  # as the lab
HELD = "Collateral in USDT is this account with its 1 BTC of collateral held instead as the 57,000.00 USDT"


def _titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def _metric_labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def test_the_replay_walks_the_btc_wallet_a_fourth_way_and_says_what_it_shows():
    at = open_page(REPLAY, scenario=load_story(STORY), **{"replay.step": 10_000})  # the end of March 2020
    assert _metric_labels(at) == ["Equity, as built", "Equity, all cross", "Equity, all isolated",
                                  "Equity, collateral in USDT"]
    assert at.radio(key="replay.view.widget").options == ["As built", "All cross", "All isolated", FOURTH]
    text = page_text(at)
    assert "a fourth: with that collateral held as the USDT it is worth today" in text
    assert HELD in text
    assert "none of it falling with the market" in text
    assert "with USDT collateral, nothing is liquidated in this crash" in text  # March 2020 never nears 3,015
    assert "As built, the BTC long was liquidated after" in text
    assert SHORT in text  # why all isolated is gone at once
    assert "Equity over time, four ways" in _titles(at)
    money = next(c for c in at.get("plotly_chart") if "money went" in c.proto.spec)
    assert {t["name"].split(" (")[0] for t in json.loads(money.proto.spec)["data"]} == {
        "As built", "All cross", "All isolated", FOURTH}
    at.radio(key="replay.view.widget").set_value(FOURTH).run()
    assert not at.exception
    assert at.session_state["replay.view"] == FOURTH


def test_the_replay_of_a_usdt_wallet_stays_three_ways_even_after_a_btc_wallet():
    at = open_page(REPLAY, **{"replay.view": FOURTH})  # the default account: USDT only
    assert _metric_labels(at) == ["Equity, as built", "Equity, all cross", "Equity, all isolated"]
    assert at.radio(key="replay.view.widget").options == ["As built", "All cross", "All isolated"]
    assert at.session_state["replay.view"] == "As built"
    text = page_text(at)
    assert FOURTH not in text and "collateral in USDT" not in text and "a fourth" not in text
    assert "All isolated: an isolated margin is paid" not in text


def test_the_stress_lab_runs_the_btc_wallet_a_fourth_way():
    at = open_page(STRESS, scenario=load_story(STORY), **{"stress.paths": 500, "stress.horizon": 30.0,
                                                          "stress.vol.BTCUSDT": 300.0})
    assert _metric_labels(at) == ["Wipe-out, as built", "Wipe-out, all cross", "Wipe-out, all isolated",
                                  "Wipe-out, collateral in USDT"]
    assert len(at.table) == 4
    assert at.get("segmented_control")  # the distribution's account
    control = next(c for c in at.get("segmented_control") if c.proto.id.endswith("stress.variant.widget"))
    assert [o.content for o in control.proto.options] == ["As built", "All cross", "All isolated", FOURTH]
    text = page_text(at)
    assert "4 ways each (as built, all cross, all isolated and collateral in USDT)" in text
    assert HELD in text
    assert "On the same paths, as built a position is liquidated on" in text
    assert SHORT in text


def test_the_stress_lab_of_a_usdt_wallet_stays_three_ways():
    at = open_page(STRESS, **{"stress.paths": 500, "stress.variant": FOURTH})
    assert _metric_labels(at) == ["Wipe-out, as built", "Wipe-out, all cross", "Wipe-out, all isolated"]
    assert len(at.table) == 3
    text = page_text(at)
    assert "3 ways each (as built, all cross and all isolated)" in text
    assert FOURTH not in text and "collateral in USDT" not in text
