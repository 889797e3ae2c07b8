"""Dashboard: the price lab and the account builder through AppTest, the lab's numbers, and
the figure builders directly (AppTest has no Plotly accessor)."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from margin.presets import load_story
from ui.shell.live_html import region_name
from tests.support import DATA, PAGE_FILES, app_file, shown
from tests.lab_reading import html_bodies, line_of, metric, parse, region, section

TWENTY = DATA / "twenty-positions.json"


def edit_positions(at: AppTest, edited_rows: dict[int, dict]) -> AppTest:
    """Type into the builder's positions table (its edit state, as the browser sends it)."""
    key = f"builder.positions.{at.session_state['builder.version']}"
    at.session_state[key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return at.run()


# ----------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_every_page_renders_without_exception(page_file):
    at = app_file().run()
    assert not at.exception
    at.switch_page(page_file).run()
    assert not at.exception, at.exception
    assert at.title, f"{page_file} shows no title"


def test_default_account_loads_on_first_visit_with_the_lesson_visible():
    at = app_file().run()
    assert at.session_state["scenario"]["name"] == "A winner keeps a loser alive"
    assert [t.value for t in at.title] == ["Price lab"]
    built = section(at, "Positions, as built")
    assert "healthy" in line_of(built, "SOL long") and "healthy" in line_of(built, "BTC long")
    # the lesson at once: all isolated, the SOL long died on its own margin on the way from its
    # entry (220) to today's 180, at its liquidation price: closed, no loss beyond margin
    sol = line_of(section(at, "Positions, all isolated"), "SOL long")
    assert "liquidated" in sol and "closed at 210.9" in sol and "bankrupt" not in sol
    assert "before you moved anything" in section(at, "What happened on the way, all isolated").lower()
    happening = section(at, "What is happening")
    assert "holding up" in happening and "BTC long" in happening and "SOL long" in happening
    assert not at.get("plotly_chart")  # the lab's pictures are light HTML (see ui/lab/charts.py)
    assert re.findall(r'data-chart="([^"]+)"', "".join(html_bodies(at))) == [
        "Equity sharing, as built", "Equity across every market shock, as built"]
    waterfall = [body for body in html_bodies(at) if 'data-chart="Equity sharing, as built"' in body]
    assert len(waterfall) == 1 and 'data-bar="BTC long PnL"' in waterfall[0]
    lab_text = "".join(body for body in html_bodies(at) if 'data-section="What is happening"' in body)
    gauges = re.findall(r'role="meter" aria-label="([^"]+)"', lab_text)
    assert gauges == ["Margin ratio, cross pool", "Margin ratio, cross pool", "Margin ratio, BTC long, isolated"]


# ----------------------------------------------------------------------------- price lab


def test_shock_slider_turns_a_healthy_position_liquidated():
    at = app_file().run()
    assert "Nothing was liquidated on the way." in section(at, "What happened on the way, as built")
    at.slider(key="lab.shock.slider").set_value(-30.0).run()
    assert not at.exception
    sol = line_of(section(at, "Positions, as built"), "SOL long")
    assert "liquidated" in sol and "healthy" not in sol
    events = section(at, "What happened on the way, as built")
    assert "BTC long liquidated at" in events and "the cross pool fell below maintenance" in events
    assert at.number_input(key="lab.shock.input").value == -30.0  # the twin follows


def _sweep_chart(at) -> str:
    """The shock-range chart's HTML (it shares the "pictures" region with the waterfall)."""
    body = region(at, "pictures")
    return body[body.index('<div class="ml-chart ml-sweep"'):]


def test_the_shock_chart_follows_the_slider_and_the_variant():
    at = app_file().run()
    at.number_input(key="lab.shock.input").set_value(-5.0).run()
    assert re.findall(r'data-here="([^"]+)"', _sweep_chart(at)) == ["-5.00"]
    first = _sweep_chart(at)
    at.number_input(key="lab.shock.input").set_value(-7.5).run()  # the same chart, point moved along
    moved = _sweep_chart(at)
    assert re.findall(r'data-here="([^"]+)"', moved) == ["-7.50"]
    assert moved.split('<div class="ml-sweep-now"')[0] == first.split('<div class="ml-sweep-now"')[0]
    at.radio(key="lab.view.widget").set_value("All isolated").run()
    chart = _sweep_chart(at)
    assert 'data-chart="Equity across every market shock, all isolated"' in chart
    assert re.findall(r'data-here="([^"]+)"', chart) == ["-7.50"]
    assert any('data-chart="Equity sharing, all isolated"' in body for body in html_bodies(at))


def test_liquidation_happens_where_the_sweep_says_and_at_the_path_price():
    """Just short of the -9.26 % threshold the pool lives; just past it, it is closed at the
    price where it breached on the way, not at the slider's end price."""
    at = app_file().run()
    at.number_input(key="lab.shock.input").set_value(-9.0).run()
    assert "Nothing was liquidated" in section(at, "What happened on the way, as built")
    at.number_input(key="lab.shock.input").set_value(-60.0).run()
    events = section(at, "What happened on the way, as built")
    fill = float(events.split("BTC long liquidated at ")[1].split(" USDT")[0].replace(",", ""))
    assert 90_000 < fill < 91_000  # ~ -9.26 % of 100,000, far above the end price of 40,000
    assert metric(at, "Equity", 0) == "0.00 USDT"


def test_market_price_slider_moves_the_other_positions_liquidation_price():
    at = app_file().run()
    before = line_of(section(at, "Positions, as built"), "SOL long")
    at.slider(key="lab.price.BTCUSDT.slider").set_value(90_000.0).run()
    after = line_of(section(at, "Positions, as built"), "SOL long")
    # less BTC profit in the shared pool: the SOL long's liquidation price rises

    def price_of(text):
        return float(text.split("at ")[-1].split(" USDT")[0].replace(",", ""))
    assert price_of(after) > price_of(before)


def test_a_market_step_moves_its_twin_its_marks_and_the_lab():
    """A market's step updates the lab's regions from the market's own fragment (in the browser
    that fragment is all the step reruns; see test_dashboard_browser)."""
    at = app_file().run()
    at.slider(key="lab.price.SOLUSDT.slider").set_value(150.0).run()
    assert not at.exception
    assert at.number_input(key="lab.price.SOLUSDT.input").value == 150.0  # the twin follows
    assert "after the shock 150.00" in region(at, "strip.SOLUSDT")  # its marks
    updates = [c.proto.id for c in at.get("bidi_component")]
    assert any(i.endswith("-lab.live.SOLUSDT") for i in updates), updates  # sent by the market's fragment
    assert "PnL -16,800.00 USDT" in line_of(section(at, "Positions, as built"), "SOL long")  # 240 SOL, 220 -> 150


def test_reset_puts_prices_and_shock_back():
    at = app_file().run()
    at.slider(key="lab.shock.slider").set_value(-20.0).run()
    at.slider(key="lab.price.SOLUSDT.slider").set_value(150.0).run()
    at.button(key="lab.reset").click().run()
    assert at.session_state["lab.shock"] == 0.0 and at.session_state["lab.price.SOLUSDT"] == 180.0
    assert "Nothing was liquidated" in section(at, "What happened on the way, as built")


def test_switching_a_position_to_isolated_changes_the_shared_equity():
    at = app_file().run()
    assert metric(at, "Cross pool equity", 0) == "16,400.00 USDT"
    at.switch_page("pages/builder.py").run()
    edit_positions(at, {1: {"mode": "isolated"}})
    assert at.session_state["scenario"]["positions"][1]["mode"] == "isolated"
    at.switch_page("pages/price_lab.py").run()
    # the SOL long's loss no longer drains the pool: only its 2,640 USDT margin left it
    assert metric(at, "Cross pool equity", 0) == "23,360.00 USDT"
    assert metric(at, "Cross pool equity", 1) == "16,400.00 USDT"  # all cross is unchanged
    assert any("would have been liquidated on the way from its entry" in shown(w.value) for w in at.warning)


def test_account_with_a_changed_price_restarts_its_slider():
    at = app_file().run()
    at.slider(key="lab.price.SOLUSDT.slider").set_value(150.0).run()
    raw = load_story("default")
    raw["markets"]["SOLUSDT"]["price"] = 170.0
    at.session_state["scenario"] = raw
    at.session_state["scenario_revision"] = 7
    at.run()
    assert at.session_state["lab.price.SOLUSDT"] == 170.0


def test_twenty_positions_from_the_benchmark_variable(monkeypatch):
    monkeypatch.setenv("MARGIN_LAB_SCENARIO", str(TWENTY))
    at = app_file().run()
    assert not at.exception
    assert at.session_state["scenario"]["name"] == "Twenty positions (benchmark)"
    at.number_input(key="lab.shock.input").set_value(-25.0).run()
    assert not at.exception
    assert section(at, "Positions, as built").count("liquidated") >= 15


def test_the_benchmark_file_is_read_once_per_change_and_each_session_gets_its_own_dict(tmp_path):
    import json
    import os

    from ui.shell.state import file_account

    path = tmp_path / "account.json"
    raw = load_story("default")
    path.write_text(json.dumps(raw))
    first = file_account(str(path))
    first["name"] = "changed in one session"
    assert file_account(str(path))["name"] == raw["name"]  # a new dict each time
    raw["name"] = "Edited on disk"
    path.write_text(json.dumps(raw))
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 1_000_000_000))
    assert file_account(str(path))["name"] == "Edited on disk"


# ----------------------------------------------------------------------------- builder


def test_invalid_edit_is_told_in_words_and_kept():
    at = app_file().run().switch_page("pages/builder.py").run()
    edit_positions(at, {1: {"size": -3.0}})
    errors = [shown(e.value) for e in at.error]
    assert any(e.startswith("Position 2 (sol-long), size: must be > 0, got -3") for e in errors), errors
    assert at.session_state["scenario"]["positions"][1]["size"] == 240  # the account is kept
    assert at.session_state["builder.draft"]["positions"][1]["size"] == -3.0  # and so is the edit
    at.switch_page("pages/price_lab.py").run().switch_page("pages/builder.py").run()
    assert any("Position 2 (sol-long), size" in shown(e.value) for e in at.error)  # still there after a page change


def test_a_decimal_typed_in_a_position_cell_is_the_decimal_kept():
    """The preset's whole-number sizes must not make the Size column an integer column: a
    0.5 typed there was stored as 5 in the browser (and as 0 here), silently."""
    at = app_file().run().switch_page("pages/builder.py").run()
    edit_positions(at, {0: {"size": 0.5}})
    assert not at.error, [shown(e.value) for e in at.error]
    assert at.session_state["scenario"]["positions"][0]["size"] == 0.5
    edit_positions(at, {0: {"size": 0.0015, "entry": 83_000.25, "leverage": 12.5},
                        1: {"mode": "isolated", "margin": 2_640.75}})
    btc, sol = at.session_state["scenario"]["positions"]
    assert (btc["size"], btc["entry"], btc["leverage"]) == (0.0015, 83_000.25, 12.5)
    assert sol["margin"] == 2_640.75
    shown = "\n".join(t.value for t in at.text).splitlines()  # what it kept, every digit of it
    assert "BTC long: 0.0015 BTC at an entry of 83,000.25 USDT, 12.5× cross" in shown
    assert "SOL long: 240 SOL at an entry of 220 USDT, 20× isolated, margin 2,640.75 USDT" in shown


def test_a_decimal_typed_in_a_market_cell_is_the_decimal_kept():
    at = app_file().run().switch_page("pages/builder.py").run()
    key = f"builder.markets.{at.session_state['builder.version']}"
    at.session_state[key] = {"edited_rows": {0: {"price": 100_000.5}, 1: {"beta": 1.25}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    markets = at.session_state["scenario"]["markets"]
    assert markets["BTCUSDT"]["price"] == 100_000.5 and markets["SOLUSDT"]["beta"] == 1.25


def test_a_funding_rate_typed_in_the_markets_table_is_charged_in_the_crash_replay():
    """0.01 % per interval typed in the builder is the market's funding_rate 0.0001; the FTX
    crash (days of 1-hour steps) then charges it, and where the money went says so."""
    at = app_file().run().switch_page("pages/builder.py").run()
    key = f"builder.markets.{at.session_state['builder.version']}"
    at.session_state[key] = {"edited_rows": {0: {"funding": 0.01}, 1: {"funding": 0.05}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    markets = at.session_state["scenario"]["markets"]
    assert markets["BTCUSDT"]["funding_rate"] == 0.0001 and markets["SOLUSDT"]["funding_rate"] == 0.0005
    at.session_state["replay.crash"] = "2022-11-ftx"
    at.switch_page("pages/crash_replay.py").run()
    from margin.crashes import load_crash
    at.number_input(key="replay.step.input").set_value(float(load_crash("2022-11-ftx").n_steps - 1)).run()
    assert not at.exception
    assert "of funding and received" in " ".join(c.value for c in at.caption)


def test_the_tables_show_what_they_store():
    """Every number column is a float column, shown in a format that rounds nothing away, and
    a missing value (a cross position's margin) is a blank cell, not the word None."""
    import pyarrow as pa

    at = app_file().run().switch_page("pages/builder.py").run()
    for table in at.get("dataframe"):
        schema = pa.ipc.open_stream(table.proto.arrow_data.data).schema
        columns = json.loads(table.proto.columns)
        for name in ("size", "entry", "leverage", "margin", "price", "beta"):
            if name in schema.names:
                assert pa.types.is_floating(schema.field(name).type), (name, schema.field(name).type)
                number_format = columns[name]["type_config"]["format"]
                assert re.fullmatch(r"%,?g.*", number_format), (name, number_format)  # no fixed decimals
        assert table.proto.placeholder == ""


def story_box(at: AppTest):
    return at.text_area(key=f"builder.story_text.{at.session_state['builder.version']}")


def test_an_edited_account_says_its_story_was_the_presets_and_takes_its_own():
    at = app_file().run().switch_page("pages/builder.py").run()
    preset = load_story("default")["story"]
    assert story_box(at).value == preset
    assert not at.warning  # the account is the preset's: its story describes it
    edit_positions(at, {0: {"size": 0.5}})
    note = " ".join(shown(w.value) for w in at.warning)
    assert "This story was written for the preset “A winner keeps a loser alive”" in note
    assert "The account's positions have changed since" in note
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "Written for the preset “A winner keeps a loser alive”" in sidebar

    at.button(key="builder.clear_story").click().run()  # the offer: start a story of one's own
    assert story_box(at).value == "" and "story" not in at.session_state["scenario"]
    at.text_input(key=f"builder.name.{at.session_state['builder.version']}").input("**My** <i>account</i>").run()
    assert "**My** <i>account</i>" in [t.value for t in at.sidebar.text]  # the name too, as text
    own = "Half a BTC: **not** bold, <b>not</b> HTML, $5 and $6 stay dollars."
    story_box(at).input(own).run()
    assert at.session_state["scenario"]["story"] == own
    assert not at.warning
    # shown as text (st.text), never through Markdown, in the sidebar
    assert own in [t.value for t in at.sidebar.text]
    assert not [m for m in at.sidebar.markdown if "not** bold" in m.value or "not</b>" in m.value]
    at.switch_page("pages/price_lab.py").run().switch_page("pages/builder.py").run()
    assert story_box(at).value == own  # kept with the account


def test_add_duplicate_and_remove_positions():
    at = app_file().run().switch_page("pages/builder.py").run()
    at.button(key="builder.add").click().run()
    assert len(at.session_state["scenario"]["positions"]) == 3
    at.selectbox(key="builder.pick").set_value(1).run()
    at.button(key="builder.duplicate").click().run()
    ids = [p["id"] for p in at.session_state["scenario"]["positions"]]
    assert ids[:3] == ["btc-long", "sol-long", "sol-long-1"] and len(ids) == 4
    at.selectbox(key="builder.pick").set_value(0).run()
    at.button(key="builder.remove").click().run()
    assert [p["id"] for p in at.session_state["scenario"]["positions"]][0] == "sol-long"
    assert not at.exception


def test_story_and_venue_presets():
    at = app_file().run().switch_page("pages/builder.py").run()
    at.selectbox(key="builder.story").set_value("one-bad-trade").run()
    assert "50x SOL long" in " ".join(c.value for c in at.caption)  # the story is told before loading
    at.button(key="builder.load").click().run()
    assert at.session_state["scenario"]["name"] == "One bad trade takes the account"
    assert at.session_state["scenario"]["rules"]["mm_basis"] == "entry"  # BitMEX-like
    # dYdX's Mid-Cap tier caps SOL at 10x: the 50x long is refused in words, the account kept
    at.selectbox(key="builder.venue").set_value("dydx").run()
    assert any("Position 3 (sol-long), leverage: 50x is above the tier's maximum 10x" in shown(e.value) for e in at.error)
    assert at.session_state["scenario"]["venue"] == "bitmex"
    at.selectbox(key="builder.venue").set_value("bybit").run()
    assert at.session_state["scenario"]["venue"] == "bybit" and not at.error
    assert not at.exception


def test_bad_upload_shows_why_and_keeps_the_account():
    at = app_file().run().switch_page("pages/builder.py").run()
    at.file_uploader(key="builder.upload").set_value(("bad.json", b'{"balance": -5}', "application/json")).run()
    errors = " ".join(shown(e.value) for e in at.error)
    assert "Wallet balance: must be ≥ 0, got -5" in errors and "unchanged" in errors
    assert at.session_state["scenario"]["name"] == "A winner keeps a loser alive"


def test_good_upload_replaces_the_account():
    raw = json.dumps(load_story("hedge-that-saved-it")).encode()
    at = app_file().run().switch_page("pages/builder.py").run()
    at.file_uploader(key="builder.upload").set_value(("hedge.json", raw, "application/json")).run()
    assert at.session_state["scenario"]["name"] == "The hedge that saved it"
    assert at.text_input(key=f"builder.name.{at.session_state['builder.version']}").value == "The hedge that saved it"


def test_two_sessions_stay_apart():
    first, second = app_file().run(), app_file().run()
    second.switch_page("pages/builder.py").run()
    second.selectbox(key="builder.story").set_value("over-leveraged-whale").run()
    second.button(key="builder.load").click().run()
    second.switch_page("pages/price_lab.py").run()
    first.slider(key="lab.shock.slider").set_value(-5.0).run()
    assert first.session_state["scenario"]["name"] == "A winner keeps a loser alive"
    assert second.session_state["scenario"]["name"] == "The over-leveraged whale"
    assert "SOL long" in section(first, "Positions, as built")
    assert "SOL long" not in section(second, "Positions, as built")
    assert second.session_state["lab.shock"] == 0.0


# ----------------------------------------------------------------------------- builder logic


HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def test_names_from_the_account_reach_the_live_regions_as_text_only():
    """The live regions are put into the page without Streamlit's sanitizer (ui/shell/live_html.py),
    so every name that comes from an account (a position's id, a market's name, the account's
    name) must arrive escaped: no element or event handler of its own, whatever it says."""
    raw = load_story("default")
    raw["name"] = HOSTILE
    raw["markets"] = {f"BTC{HOSTILE}" if name == "BTCUSDT" else name: market for name, market in raw["markets"].items()}
    for position in raw["positions"]:
        position["id"] = position["id"] + HOSTILE
        if position["market"] == "BTCUSDT":
            position["market"] = f"BTC{HOSTILE}"
    at = app_file()
    at.session_state["scenario"] = raw
    at.run()
    assert not at.exception
    for shock in (0.0, -30.0):  # healthy, then liquidated: events, closed marks, bankrupt pools
        at.number_input(key="lab.shock.input").set_value(shock).run()
        html = "".join(region(at, name) for name in ("text", "pictures", "strip.shock")) + "".join(
            region(at, region_name("strip", name)) for name in raw["markets"])
        tree = parse(html)
        elements = list(_descendants(tree))
        assert not [e.tag for e in elements if e.tag in ("script", "iframe", "object", "embed")]
        assert not [name for e in elements for name in e.attrs if name.startswith("on")]
        assert all(e.attrs.get("src", "").startswith("data:image/svg+xml") for e in elements if e.tag == "img")
        assert "<script>alert(2)</script>" in tree.text()  # the name is there, as text


def _descendants(node):
    """Every element below ``node``, depth first (text children left out)."""
    for child in node.children:
        if not isinstance(child, str):
            yield child
            yield from _descendants(child)


def test_a_number_box_echoing_an_older_value_does_not_pull_the_slider_back():
    """Dragging the shock slider writes each value into its number box; a rerun the browser
    sent before it saw that write carries the box's older value. It must not undo the drag."""
    at = app_file().run()
    at.slider(key="lab.shock.slider").set_value(-5.0).run()
    at.slider(key="lab.shock.slider").set_value(-6.0).run()
    at.number_input(key="lab.shock.input").set_value(-5.0).run()  # the box's value of one step ago
    assert at.session_state["lab.shock"] == -6.0
    assert at.slider(key="lab.shock.slider").value == -6.0
    at.number_input(key="lab.shock.input").set_value(-12.5).run()  # a value typed by the learner
    assert at.session_state["lab.shock"] == -12.5


def test_the_shock_box_steps_finer_than_the_slider():
    """On a phone the slider moves about 1 % a pixel: the exact box's + and − step 0.1 %, and a
    value between the slider's 0.5 % steps is taken as it is."""
    at = app_file().run()
    assert at.number_input(key="lab.shock.input").step == 0.1 and at.slider(key="lab.shock.slider").step == 0.5
    at.number_input(key="lab.shock.input").increment().run()
    assert at.session_state["lab.shock"] == pytest.approx(0.1)
    at.number_input(key="lab.shock.input").set_value(-9.3).run()
    assert not at.exception and at.session_state["lab.shock"] == pytest.approx(-9.3)
