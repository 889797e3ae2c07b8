"""AppTest: the trader's own data on the pages: an exchange export imported in the account
builder (files or pasted text, under the venue's rules; a bad one refused naming the field,
the account kept), and real candles (a kline CSV) replayed as a crash."""

from __future__ import annotations

import json

import numpy as np

from tests.engine.test_klines import kline_csv
from tests.support import DATA, app_file, open_page, page_text, shown

EXPORTS = DATA / "imports"
BUILDER, REPLAY = "pages/builder.py", "pages/crash_replay.py"


def _json(name: str) -> tuple[str, bytes, str]:
    return name, (EXPORTS / name).read_bytes(), "application/json"


def _builder():
    return app_file().run().switch_page(BUILDER).run()


def test_uploading_a_binance_export_imports_the_account_under_binance_rules():
    at = _builder()
    at.file_uploader(key="builder.import_files").set_value(
        [_json("binance_positionRisk_v3_hedge_btc.json"), _json("binance_account_v3_usdt.json")]).run()
    at.button(key="builder.import").click().run()
    assert not at.exception
    scenario = at.session_state["scenario"]
    assert scenario["venue"] == "binance" and scenario["balance"] == 1_000
    assert [(p["market"], p["side"], p["mode"]) for p in scenario["positions"]] == [
        ("BTCUSDT", "long", "cross"), ("BTCUSDT", "short", "cross"), ("ETHUSDT", "long", "isolated")]
    assert scenario["rules"]["settlement"] == "bankruptcy"  # the Binance preset's rules
    successes = shown(" ".join(s.value for s in at.success))
    assert "Imported your Binance USDS-M account (positionRisk v3, account): 3 positions" in successes
    assert "Hedge mode" in successes


def test_pasting_a_hyperliquid_state_imports_it():
    at = _builder()
    at.text_area(key="builder.import_paste").input((EXPORTS / "hyperliquid_clearinghouseState.json").read_text())
    at.button(key="builder.import").click().run()
    assert not at.exception
    assert at.session_state["scenario"]["venue"] == "hyperliquid"
    assert "Imported your Hyperliquid account" in shown(" ".join(s.value for s in at.success))


def test_a_bad_export_says_what_is_wrong_and_keeps_the_account():
    at = _builder()
    before = at.session_state["scenario"]
    options = json.loads((EXPORTS / "bybit_position_list_linear.json").read_text())
    options["result"]["category"] = "option"  # inverse contracts import since issue 27; options do not
    at.file_uploader(key="builder.import_files").set_value(
        [("position_list.json", json.dumps(options).encode(), "application/json"),
         _json("bybit_wallet_balance_usdt.json")]).run()
    at.button(key="builder.import").click().run()
    errors = shown(" ".join(e.value for e in at.error))
    assert "Not imported: position/list.result.category: is 'option', not 'linear' or 'inverse'" in errors
    assert "Your current account is unchanged" in errors
    assert at.session_state["scenario"] == before
    # a file that is no export at all names the file
    at.file_uploader(key="builder.import_files").set_value([("notes.json", b'{"foo": 1}', "application/json")]).run()
    at.button(key="builder.import").click().run()
    assert "Not imported: notes.json: is not an export the lab can read" in shown(" ".join(e.value for e in at.error))
    assert at.session_state["scenario"] == before


def _crash_of_candles(n: int = 120) -> str:
    """BTC falling 30 % over two hours of minute candles and recovering a little."""
    closes = list(np.concatenate([np.linspace(100_000, 70_000, n - 20), np.linspace(70_000, 75_000, 20)]))
    return kline_csv(closes)


def test_imported_candles_are_replayed_as_a_crash():
    at = open_page(REPLAY, **{"replay.crash": "imported"})
    assert "Import a kline CSV above" in page_text(at)
    at.file_uploader(key="replay.klines").set_value(
        ("BTCUSDT-1m-2025-10-10.csv", _crash_of_candles().encode(), "text/csv")).run()
    assert not at.exception
    text = page_text(at)
    assert "BTCUSDT-1m-2025-10-10.csv" in text
    at.number_input(key="replay.step.input").set_value(119.0).run()
    assert not at.exception
    text = page_text(at)
    assert "*As built*: BTC long liquidated at" in text
    assert "By the end, as built kept" in text


def test_a_bad_candle_file_is_refused_naming_the_row():
    at = open_page(REPLAY, **{"replay.crash": "imported"})
    bad = kline_csv([100.0, 98.0, 97.0]).replace("98.00000000", "lots", 1)
    at.file_uploader(key="replay.klines").set_value(("bad.csv", bad.encode(), "text/csv")).run()
    errors = shown(" ".join(e.value for e in at.error))
    assert "These candles cannot be replayed" in errors and "Nothing was changed" in errors


def test_an_import_shows_the_exchanges_own_numbers_beside_the_labs():
    """Binance's export carries liquidationPrice and maintMargin: the builder shows them beside
    the lab's (the ETH long isolated: 3,166.23 reported), with the difference explained."""
    from margin.scenario import scenario_from_dict
    from ui.common.reported import reported_positions
    at = _builder()
    at.file_uploader(key="builder.import_files").set_value(
        [_json("binance_positionRisk_v3_hedge_btc.json"), _json("binance_account_v3_usdt.json")]).run()
    at.button(key="builder.import").click().run()
    assert not at.exception
    reported = at.session_state["scenario"]["imported"]["reported"]
    assert reported["eth-long"]["liquidation_price"] == 3166.23115578
    rows = {r.position: r for r in reported_positions(scenario_from_dict(at.session_state["scenario"]))}
    eth = rows["ETH long"]
    assert eth.exchange_liquidation == 3166.23115578 and eth.lab_liquidation is not None
    table = [d for d in at.dataframe if "Liquidation, exchange [USDT]" in d.value.columns]
    assert table and "3,166.23" in table[0].value.to_string() and f"{eth.lab_liquidation:,.2f}" in table[0].value.to_string()
    words = shown(" ".join(c.value for c in at.caption))
    assert "ETH long" in words and "of the notional" in words and "moves the liquidation price by about" in words
