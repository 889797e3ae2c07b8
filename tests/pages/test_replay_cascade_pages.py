"""AppTest: the crash replay (play a crash, see events on the timeline and in words) and the
market cascade (run one, see the rounds), plus the figure builders and words they use."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from margin.cascade import CrowdParams, build_crowd, run_cascade, tipping_point
from margin.crashes import load_crash
from margin.replay import replay
from margin.presets import load_story
from margin.scenario import scenario_from_dict
from tests.support import open_page, page_text
from ui.cascade import charts as charts_cascade
from ui.replay import charts as charts_replay
from ui.cascade.model import cascade_view, leverage_takeaway, tipping_takeaway
from margin.replay import wick_checks as checks
from ui.replay.model import event_lines, splits, timeline_points, wick_sentences

REPLAY, CASCADE = "pages/crash_replay.py", "pages/market_cascade.py"


def _figure(at: AppTest, title: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"]["title"]["text"].startswith(title):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def _timeline_points(spec: dict) -> dict[str, int]:
    return {trace["name"]: len(trace.get("x") or []) for trace in spec["data"]}


# ----------------------------------------------------------------------------- crash replay


def test_replay_page_shows_the_label_and_the_source():
    at = open_page(REPLAY)
    text = page_text(at)
    assert "Shaped after the event with its published magnitude; not real tick data" in text
    assert "Source: CoinDesk and Reuters" in text
    assert at.session_state["replay.step"] == 0


def test_playing_a_crash_puts_events_on_the_timeline():
    at = open_page(REPLAY)
    before = _timeline_points(_figure(at, "Events on the timeline"))
    # all isolated, the SOL long (under water by more than its margin) died before the crash, on
    # the way from its entry: the list says so, and the crash's own timeline starts empty
    assert before.get("Liquidation", 0) == 0
    assert "**Before the crash**, on the way from the entries to today's prices · *All isolated*: SOL long (isolated) liquidated at 210.9" in page_text(at)
    at.session_state["replay.step"] = 40
    at.button(key="replay.play").click().run()
    assert not at.exception
    assert at.session_state["replay.playing"] is True
    assert at.session_state["replay.step"] > 40  # one tick of the player
    at.session_state["replay.step"] = 60  # the player keeps going: jump to a later tick
    at.run()
    points = _timeline_points(_figure(at, "Events on the timeline"))
    assert points["Liquidation"] > before["Liquidation"]
    assert points["Insurance-fund payout"] >= 1
    text = page_text(at)
    assert "*As built*: BTC long liquidated at" in text
    assert "15 h" in text and "*All isolated*: BTC long (isolated) liquidated" in text
    at.button(key="replay.pause").click().run()
    assert at.session_state["replay.playing"] is False


def test_scrubbing_to_the_end_shows_where_the_money_went():
    at = open_page(REPLAY)
    assert "Where the money went is shown when the replay reaches the end" in page_text(at)
    at.number_input(key="replay.step.input").set_value(239.0).run()
    assert not at.exception
    spec = _figure(at, "Where the money went")
    assert [t["name"].split(" (")[0] for t in spec["data"]] == ["As built", "All cross", "All isolated"]
    assert "By the end, as built kept" in page_text(at)


def test_a_custom_crash_from_parameters():
    at = open_page(REPLAY)
    at.selectbox(key="replay.crash.widget").set_value("custom").run()
    assert not at.exception
    assert "Custom crash: -30 % over 48 steps" in page_text(at)
    at.number_input(key="replay.drop.input").set_value(60.0).run()
    assert "Custom crash: -60 % over 48 steps" in page_text(at)
    at.session_state["replay.step"] = 96
    at.run()
    assert _timeline_points(_figure(at, "Events on the timeline"))["Liquidation"] >= 3


def test_mark_and_last_sentences_on_the_page():
    at = open_page(REPLAY)
    at.session_state["replay.step"] = 239
    at.run()
    text = page_text(at)
    assert "Deepest BTC wick so far" in text and "liquidation is judged on the mark" in text
    at.selectbox(key="replay.market.widget").set_value("SOLUSDT").run()
    assert "Deepest SOL wick so far" in page_text(at)


def test_replay_figures_and_words_from_the_model():
    scenario = scenario_from_dict(load_story("default"))
    model = replay(scenario, load_crash("2021-05-19"))
    points = timeline_points(model)
    fig = charts_replay.timeline_figure(model, points, 100)
    counts = {t.name: len(t.x) for t in fig.data}
    assert counts["Liquidation"] == sum(1 for p in points if p.kind == "liquidation" and p.row <= 100)
    symbols = {t.marker.symbol for t in fig.data}
    assert len(symbols) == 5  # one symbol per event type, not colour alone
    equity = charts_replay.equity_figure(model, 50)
    assert [len(t.x) for t in equity.data] == [51, 51, 51]
    assert len({t.line.dash for t in equity.data}) == 3
    lines = event_lines(model, model.crash.n_steps - 1)
    assert [row for row, _ in lines] == sorted(row for row, _ in lines)
    money = charts_replay.money_figure(splits(model))
    assert len(money.data) == 3
    mark_last = charts_replay.mark_last_figure(model, "BTCUSDT", checks(model, "BTCUSDT")["As built"], "As built", 200)
    assert any("mark price" in t.name for t in mark_last.data) and any("last price" in t.name for t in mark_last.data)
    assert wick_sentences(model, "BTCUSDT", checks(model, "BTCUSDT"), 0)[0].startswith("So far the BTC last price")


def _in_order(at: AppTest) -> list[tuple[str, str]]:
    """The main area's elements as the page draws them, depth first: (type, key or text)."""
    out = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            kind = getattr(child, "type", "")
            text = getattr(child, "key", None) or getattr(child, "label", None)
            if text is None and kind in ("markdown", "caption"):
                text = child.value
            out.append((kind, str(text or "")))
            walk(child)

    walk(at.main)
    return out


def test_what_is_happening_sits_right_under_the_player():
    """While it plays, the step, each variant's equity and the latest event are right under the
    play controls and the step slider, before any chart (at 1280 x 800 they are above the fold)."""
    at = open_page(REPLAY)
    order = _in_order(at)

    def where(test):
        return next(i for i, item in enumerate(order) if test(item))
    play = where(lambda e: e == ("button", "replay.play"))
    slider = where(lambda e: e == ("slider", "replay.step.slider"))
    now = where(lambda e: e[0] == "markdown" and "into the crash" in e[1])
    metrics = [i for i, e in enumerate(order) if e[0] == "metric"]
    latest = where(lambda e: e[0] == "markdown" and e[1].startswith(":material/bolt: Latest: **Before the crash**"))
    first_chart = where(lambda e: e[0] == "plotly_chart")
    assert play < slider < now < metrics[0] and metrics[-1] < latest < first_chart
    assert [order[i][1] for i in metrics] == ["Equity, as built", "Equity, all cross", "Equity, all isolated"]
    between = [e for e in order[slider + 1:now] if e[0] not in ("flex_container", "column", "vertical")]
    assert between == [("number_input", "replay.step.input")], between  # nothing pushes the live line down
    at.session_state["replay.step"] = 45  # 11 h 15 min: the cross pool goes
    at.run()
    latest = next(m.value for m in at.markdown if m.value.startswith(":material/bolt: Latest:"))
    assert latest.startswith(":material/bolt: Latest: **11 h 15 min** · *All cross*: SOL long closed with it")


@pytest.mark.parametrize("crash_id", ["2020-03-12", "2021-05-19", "2022-11-ftx", "2025-10-10"])
def test_the_mark_and_last_price_axis_fits_the_prices(crash_id):
    """Not from 0, the same range at every step (no rescaling while it plays), every price of
    the crash on it, and the liquidation prices near it."""
    model = replay(scenario_from_dict(load_story("default")), load_crash(crash_id))
    last_step = model.crash.n_steps - 1
    for market in model.path.markets:
        column = model.path.markets.index(market)
        mark, last = model.path.marks[:, column], model.last_path.marks[:, column]
        for variant, check in checks(model, market).items():
            ranges = {tuple(charts_replay.mark_last_figure(model, market, check, variant, step).layout.yaxis.range)
                      for step in (0, last_step // 2, last_step)}
            assert len(ranges) == 1, ranges
            low, high = ranges.pop()
            assert 0 < low <= last.min() and mark.max() <= high
            liquidations = check.liquidation_price[np.isfinite(check.liquidation_price)]
            near = liquidations[(liquidations > last.min() * 0.8) & (liquidations < mark.max() * 1.2)]
            assert np.all((near >= low) & (near <= high))  # the liquidation prices near the path too
            lowest = min([last.min(), *near])
            assert low > lowest - 0.1 * (mark.max() - lowest)  # a tight fit: no empty band down to 0


# ----------------------------------------------------------------------------- market cascade


def test_cascade_page_states_the_model_and_shows_the_rounds():
    at = open_page(CASCADE)
    info = "\n".join(i.value for i in at.info)
    assert "Stylized model" in info and "no new buyers" in info and "One market" in info
    rounds = at.dataframe[0].value
    assert list(rounds.columns)[0] == "Round"
    assert rounds["Round"].tolist() == list(range(len(rounds)))
    assert rounds["Liquidated"].iloc[-1] == 0  # the round at rest
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Initial shock"] == "-5.0 %"
    text = page_text(at)
    assert "A -5.0 % shock ended as a" in text and "Your account" in text


def test_the_cascade_says_where_the_insurance_fund_ended_and_every_number_has_its_unit():
    at = open_page(CASCADE)
    text = page_text(at)
    scenario = scenario_from_dict(load_story("default"))
    crowd = build_crowd(scenario.markets["BTCUSDT"], CrowdParams(n_traders=20_000, seed=7))
    acc = cascade_view(scenario, "BTCUSDT", crowd, -0.05, 5e6, "linear").result.accounting()
    kept, paid = round(acc["insurance_fund_kept"], 2), round(acc["paid_by_insurance_fund"], 2)
    assert paid > kept > 0  # this cascade: the fund paid more than it kept
    assert (f"Net, the insurance fund ended {paid - kept:,.2f} USDT down (kept {kept:,.2f} USDT, paid "
            f"{paid:,.2f} USDT): this cascade drained it.") in text
    assert "From 100,000.00 USDT the shock sends BTC to 95,000.00 USDT; the forced orders take it to " in text
    assert {m.label: m.value for m in at.metric}["Notional [USDT]"].endswith(" M")
    price = _figure(at, "Price by round")
    assert [t["name"] for t in price["data"]][1].endswith(" USDT")  # "Your BTC long: its liquidation price, … USDT"
    assert "None of your positions is liquidated in this cascade in BTC. The price stopped at 84,767.08 USDT" in text
    assert "would be liquidated only if it reached" in text and "Your account survives" not in text
    at.number_input(key="cascade.shock.input").set_value(-12.0).run()
    # a sentence that parses: the verb before the round ("… in round 2, at … USDT dies." did not)
    assert re.search(r"In this cascade your BTC long \(cross\) is liquidated in round \d+, at [\d,.]+ USDT, "
                     r"and your SOL long \(cross\) in round \d+, at [\d,.]+ USDT\.", page_text(at))


def test_running_a_bigger_shock_gives_more_rounds_of_damage():
    at = open_page(CASCADE)
    first = {m.label: m.value for m in at.metric}
    at.number_input(key="cascade.shock.input").set_value(-12.0).run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    assert after["Initial shock"] == "-12.0 %"
    assert float(after["Final move"].split()[0]) < float(first["Final move"].split()[0])
    assert int(after["Liquidated"].replace(",", "")) > int(first["Liquidated"].replace(",", ""))
    fates = at.dataframe[1].value
    assert "liquidated in round" in " ".join(fates["Fate"])  # the learner's BTC long dies this time


def test_no_impact_means_the_final_move_is_the_shock_on_the_page():
    at = open_page(CASCADE)
    at.radio(key="cascade.impact.widget").set_value("none").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Final move"] == metrics["Initial shock"] == "-5.0 %"
    assert "No runaway up to a 30 % shock" in page_text(at)


def test_cascade_figures_and_words():
    scenario = scenario_from_dict(load_story("default"))
    crowd = build_crowd(scenario.markets["BTCUSDT"], CrowdParams(n_traders=20_000, seed=7))
    view = cascade_view(scenario, "BTCUSDT", crowd, -0.05, 5e6, "linear")
    result = view.result
    price = charts_cascade.price_rounds_figure(result, "BTC", view.learner_lines)
    assert list(price.data[0].y) == list(result.prices)
    assert any("Your BTC long" in t.name for t in price.data)
    heat = charts_cascade.leverage_rounds_figure(result)
    assert np.nansum(np.array(heat.data[0].z, dtype=float)) * 1e6 == pytest.approx(result.liquidated_notional)
    tipping = charts_cascade.tipping_figure(view.curve, result.shock, result.final_drop)
    assert tipping.data[0].name.startswith("No amplification")
    assert any(s.type == "line" for s in tipping.layout.shapes)  # the runaway shock is marked
    assert any("runaway from 4.7 %" in a.text for a in tipping.layout.annotations)
    assert tipping_takeaway(view.curve).startswith("Tipping point near a 4.7 % shock")
    assert leverage_takeaway(result, crowd).startswith("Highest leverage first (shares of the longs). 50x+: 100 %")
    calm = tipping_point(crowd, -np.linspace(0.005, 0.3, 50), float("inf"))
    assert tipping_takeaway(calm).startswith("No runaway")
    up = run_cascade(crowd, 0.05, 5e6)
    assert up.final_drop > 0.05 and charts_cascade.tipping_figure(
        tipping_point(crowd, np.linspace(0.005, 0.3, 50), 5e6), 0.05, up.final_drop).layout.yaxis.title.text == "Final rise [%]"


def test_an_empty_insurance_fund_auto_deleverages_the_learners_winning_short():
    """Limit the fund to nothing: the crowd's losses beyond collateral are covered by ADL, and the
    learner's profitable 20x short stands in the queue: the page says it was auto-deleveraged,
    at what price and what it gave up, and the money lines count its part."""
    story = load_story("default")
    story["positions"] = [{"id": "short", "market": "BTCUSDT", "side": "short", "size": 1, "entry": 100_000,
                           "leverage": 20, "mode": "isolated"}]
    at = open_page(CASCADE, scenario=story)
    assert "auto-deleveraged" not in page_text(at)  # an unlimited fund pays every loss
    at.toggle(key="cascade.fund_limited.widget").set_value(True).run()
    at.number_input(key="cascade.fund.widget").set_value(0.0).run()
    assert not at.exception
    text = page_text(at)
    assert re.search(r"your BTC short was auto-deleveraged in round \d+: 1 BTC closed at [\d,.]+ USDT, a bankrupt "
                     r"trader's bankruptcy price, giving up [\d,.]+ USDT of its profit against the mark", text), text
    assert re.search(r"auto-deleveraging the most profitable, most leveraged opposite positions covered [\d,.]+ USDT "
                     r"\([\d,.]+ USDT of it from your positions\)", text)
    assert "auto-deleveraged in round" in " ".join(at.dataframe[1].value["Fate"])
    at.toggle(key="cascade.adl.widget").set_value(False).run()  # socialized instead
    assert "auto-deleveraged" not in page_text(at) and "was socialized" in page_text(at)


def test_every_cascade_chart_has_its_summary_and_its_data_one_keystroke_away():
    """Each of the cascade's four charts is followed by an expander named by its one-line
    summary (its title, its series and their ranges) holding its data as an HTML table."""
    at = open_page(CASCADE)
    labels = [e.label for e in at.expander if e.label.startswith("In words and as a table")]
    titles = [_figure(at, t)["layout"]["title"]["text"] for t in ("Price by round",)]
    assert len(labels) == len(at.get("plotly_chart")) == 4
    assert any("Price by round" in label for label in labels) and titles
    tables = [h.proto.body for h in at.get("html") if 'class="ml-chart-table"' in h.proto.body]
    assert len(tables) == 4 and all("<th scope=\"col\">Series</th>" in t for t in tables)
