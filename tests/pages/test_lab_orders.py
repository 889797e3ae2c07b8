"""AppTest: the price lab on issue 27's accounts. With collateral a market moves, the lab shows
a fourth way, "collateral in USDT" (the same collateral value held as USDT), with where each way
is liquidated; with only USDT it shows three. Every stop sits against its liquidation in words
and on its market's strip; a stop beyond the liquidation is said never to fire, and a position
its stop closed is told as closed by it, not as liquidated."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from margin.presets import load_story
from tests.lab_reading import lab_html, line_of, region, section
from tests.support import app_file


def _lab(story: str) -> AppTest:
    at = app_file()
    at.session_state["scenario"] = load_story(story)
    at.session_state["scenario_revision"] = 1
    at.run()
    assert not at.exception, at.exception
    return at


def _ways(at: AppTest) -> list[str]:
    return [node.attrs["aria-label"] for node in lab_html(at).find_all("class", "ml-variant")]


def test_btc_collateral_gives_a_fourth_way_liquidated_far_lower_in_usdt():
    at = _lab("collateral-crashes-with-you")
    assert _ways(at) == ["As built", "All cross", "All isolated", "Collateral in USDT"]
    assert at.radio(key="lab.view.widget").options == ["As built", "All cross", "All isolated", "Collateral in USDT"]
    assert "The same account four ways" in region(at, "text")
    # the worked example of issue 27: 30,848.33 with the BTC wallet, 3,015.08 with its value in USDT
    assert "30,848.33" in line_of(section(at, "Positions, as built"), "BTC long")
    assert "3,015.08" in line_of(section(at, "Positions, collateral in USDT"), "BTC long")
    happening = section(at, "What is happening")
    assert "1 BTC of collateral held instead as the 57,000.00 USDT" in happening
    assert "the BTC long at 30,848.33 USDT as built, at 3,015.08 USDT with USDT collateral" in happening
    assert "falls and rises with BTC" in happening
    # its balance holds no USDT: all isolated has nothing to pay isolated margins with, and says so
    assert "an isolated margin is paid in USDT from the balance, which holds 0.00 USDT" in happening
    # the fourth way's charts can be chosen
    at.radio(key="lab.view.widget").set_value("Collateral in USDT").run()
    assert not at.exception
    assert 'data-chart="Equity sharing, collateral in USDT"' in region(at, "pictures")


def test_an_account_of_usdt_alone_shows_three_ways():
    at = _lab("stop-that-never-fires")
    assert _ways(at) == ["As built", "All cross", "All isolated"]
    assert at.radio(key="lab.view.widget").options == ["As built", "All cross", "All isolated"]
    assert "The same account three ways" in region(at, "text")
    assert "Collateral in USDT" not in region(at, "text")
    assert "an isolated margin is paid in USDT" not in section(at, "What is happening")


def test_each_stop_sits_against_its_liquidation_in_words_and_on_its_strip():
    at = _lab("stop-that-never-fires")
    stops = section(at, "Where each stop sits")
    btc = next(line for line in stops.split("\n- ") if line.lstrip("- ").startswith("BTC long"))
    assert "stop-loss at 94,000.00 USDT, liquidation at 95,477.39 USDT" in btc
    assert "This stop can never fire: it is beyond the liquidation price" in btc
    eth = next(line for line in stops.split("\n- ") if line.lstrip("- ").startswith("ETH long"))
    assert "stop-loss at 3,200.00 USDT, liquidation at 2,814.07 USDT. The stop comes first" in eth
    assert "a gap past it (a crash's candle) fills at the step's price less its 0.5 % slippage" in eth
    assert "■ BTC long stop-loss 94,000.00 (never fires)" in region(at, "strip.BTCUSDT")
    assert "■ ETH long stop-loss 3,200.00 ·" in region(at, "strip.ETHUSDT")


def test_a_fall_liquidates_the_btc_long_before_its_stop_and_the_eth_stop_closes_its_long():
    at = _lab("stop-that-never-fires")
    at.slider(key="lab.shock.slider").set_value(-10.0).run()
    assert not at.exception
    built = section(at, "Positions, as built")
    assert "✕ liquidated" in line_of(built, "BTC long")
    eth = line_of(built, "ETH long")
    assert "■ closed by stop-loss" in eth and "closed at 3,200.00 USDT (-3,000.00 USDT realized)" in eth
    events = section(at, "What happened on the way, as built")
    assert "ETH long: its stop-loss closed 10 at 3,200.00 (-3,000.00 USDT realized)" in events
    assert "stop-loss closed 0.5" not in events  # the BTC stop never fired
    # all cross, the pool is deep enough: both stops fire
    cross = section(at, "What happened on the way, all cross")
    assert "BTC long: its stop-loss closed 0.5 at 94,000.00" in cross
    assert "Where each stop sits" not in region(at, "text")  # nothing open holds an order now
    said = region(at, "announce")  # what the step changed, for a screen reader
    assert "BTC long (isolated) liquidated" in said and "ETH long closed by its stop-loss" in said


def test_a_stop_that_filled_before_today_is_told_as_its_stop_not_a_liquidation():
    """ETH today at 3,100, below the long's 3,200 stop and above its 2,814 liquidation: on the
    way from its 3,500 entry the stop closed it, and the lab's first sentences say so."""
    scenario = load_story("stop-that-never-fires")
    scenario["markets"]["ETHUSDT"]["price"] = 3100
    at = app_file()
    at.session_state["scenario"] = scenario
    at.session_state["scenario_revision"] = 1
    at.run()
    assert not at.exception, at.exception
    happening = section(at, "What is happening")
    assert "the ETH long was already closed by its stop-loss at 3,200.00 USDT" in happening
    assert "ETH long was already liquidated" not in happening
