"""Exchange exports into scenarios (margin/imports): one test per format from the documented
response shapes in tests/data/imports/ (sources in its README), then one per bad import.

Every imported scenario is checked against the exchange's own numbers: at the exchange's mark
prices the positions' PnL, Σ size × (mark − entry) × side, equals the unrealized PnL the
exchange reported, so sizes, sides, entries and marks were all read right.
"""

from __future__ import annotations

import copy
import json

import pytest

from margin.imports import MAX_DEPTH, MAX_IMPORT_BYTES, read_exchange_export
from margin.scenario import ScenarioError, scenario_from_dict
from tests.paths import DATA

IMPORTS = DATA / "imports"


def text(name: str) -> str:
    return (IMPORTS / name).read_text(encoding="utf-8")


def load(name: str):
    return json.loads(text(name))


def positions(result) -> dict[str, dict]:
    return {p["id"]: p for p in result.scenario["positions"]}


def pnl(result) -> float:
    """Σ unrealized PnL at the scenario's (the exchange's mark) prices [USDT]."""
    markets = result.scenario["markets"]
    return sum(p["size"] * (markets[p["market"]]["price"] - p["entry"]) * (1 if p["side"] == "long" else -1)
               for p in result.scenario["positions"])


def check_loads(result) -> None:
    """The contract: the scenario loads, and survives a JSON round trip unchanged."""
    scenario_from_dict(result.scenario)
    assert json.loads(json.dumps(result.scenario)) == result.scenario


def fails(source, venue=None) -> str:
    with pytest.raises(ScenarioError) as caught:
        read_exchange_export(source, venue=venue)
    return str(caught.value)


# ----------------------------------------------------------------------------- Binance


def test_binance_v3_hedge_example_documented():
    result = read_exchange_export({"positionRisk.json": text("binance_positionRisk_v3_hedge.json"),
                                   "account.json": text("binance_account_v3.json")})
    check_loads(result)
    held = positions(result)
    assert set(held) == {"ada-long", "comp-short"}
    assert held["ada-long"] == {"id": "ada-long", "market": "ADAUSDT", "side": "long", "size": 30.0,
                                "entry": 0.385, "leverage": 20, "mode": "cross"}
    assert held["comp-short"]["size"] == 1.0 and held["comp-short"]["leverage"] == 20
    assert result.scenario["markets"]["ADAUSDT"]["price"] == 0.4104759
    assert result.scenario["balance"] == 23.72469206  # assets[USDT].walletBalance, not the USDC
    assert pnl(result) == pytest.approx(0.76427700 + 21.20817624, abs=1e-8)
    assert (result.exchange, result.venue, result.endpoints) == ("binance", "binance", ("positionRisk v3", "account"))
    notes = " ".join(result.notes)
    assert "markPrice" in notes and "positionInitialMargin" in notes and "not your account's own bracket" in notes
    assert "USDC (103.12)" in notes  # the other asset is named as not counted


def test_binance_v3_one_way_documented():
    result = read_exchange_export(text("binance_positionRisk_v3_oneway.json") + "\n" + text("binance_account_v3.json"))
    check_loads(result)
    assert list(positions(result)) == ["ada-long"]
    assert result.scenario["story"].startswith("Imported from your Binance")


def test_binance_hedge_mode_both_legs_of_one_market():
    result = read_exchange_export({"positions": text("binance_positionRisk_v3_hedge_btc.json"),
                                   "account": text("binance_account_v3_usdt.json")})
    check_loads(result)
    held = positions(result)
    assert (held["btc-long"]["side"], held["btc-long"]["size"]) == ("long", 0.01)
    assert (held["btc-short"]["side"], held["btc-short"]["size"], held["btc-short"]["entry"]) == ("short", 0.004, 97000.0)
    assert held["eth-long"]["mode"] == "isolated" and held["eth-long"]["margin"] == 175.0
    assert held["eth-long"]["leverage"] == 10
    assert scenario_from_dict(result.scenario).cross_wallet == 825.0  # = crossWalletBalance
    assert pnl(result) == pytest.approx(10 + 4 - 50)
    assert any("BTCUSDT holds both legs" in n for n in result.notes)


def test_binance_v2_isolated_in_one_combined_paste():
    paste = json.dumps({"positions": load("binance_positionRisk_v2_isolated.json"),
                        "account": {"totalWalletBalance": "500"}})
    result = read_exchange_export(paste)
    check_loads(result)
    assert positions(result) == {"sol-short": {
        "id": "sol-short", "market": "SOLUSDT", "side": "short", "size": 10.0, "entry": 180.0,
        "leverage": 10.0, "mode": "isolated", "margin": 180.0}}  # the flat dated row is skipped
    assert result.endpoints[0] == "positionRisk v2"
    assert pnl(result) == pytest.approx(100.0)


# ----------------------------------------------------------------------------- Bybit


def test_bybit_linear_one_way():
    result = read_exchange_export({"p": text("bybit_position_list_linear.json"), "w": text("bybit_wallet_balance_usdt.json")})
    check_loads(result)
    held = positions(result)
    assert held["btc-long"] == {"id": "btc-long", "market": "BTCUSDT", "side": "long", "size": 0.1,
                                "entry": 60000.0, "leverage": 10.0, "mode": "cross"}
    assert (held["eth-short"]["size"], held["eth-short"]["leverage"]) == (2.0, 20.0)
    assert result.scenario["balance"] == 5000.0 and result.venue == "bybit"
    assert result.scenario["rules"]["mm_basis"] == "entry"  # the preset's rules came with it
    assert pnl(result) == pytest.approx(100 + 100)
    assert any("assumed cross" in n for n in result.notes)


def test_bybit_hedge_mode_position_idx_1_and_2():
    result = read_exchange_export({"p": text("bybit_position_list_linear_hedge.json"), "w": text("bybit_wallet_balance_usdt.json")})
    check_loads(result)
    held = positions(result)
    assert set(held) == {"btc-long", "btc-short"}  # the empty SOLUSDT leg is skipped
    assert (held["btc-long"]["size"], held["btc-short"]["size"]) == (0.2, 0.1)
    assert list(result.scenario["markets"]) == ["BTCUSDT"]
    assert pnl(result) == pytest.approx(200 + 100)


def test_bybit_isolated_margin_mode_from_account_info():
    result = read_exchange_export({"p": text("bybit_position_list_linear.json"), "w": text("bybit_wallet_balance_usdt.json"),
                                   "i": text("bybit_account_info_isolated.json")})
    check_loads(result)
    held = positions(result)
    assert (held["btc-long"]["mode"], held["btc-long"]["margin"]) == ("isolated", 603.6)
    assert held["eth-short"]["margin"] == 303.6
    assert "account/info" in result.endpoints


# ----------------------------------------------------------------------------- OKX


def test_okx_observed_swap_with_documented_balance():
    result = read_exchange_export({"pos": text("okx_positions_swap_observed_2025-11-29.json"), "bal": text("okx_balance.json")})
    check_loads(result)
    assert positions(result) == {"eth-long": {
        "id": "eth-long", "market": "ETHUSDT", "side": "long", "size": 0.1, "entry": 3011.0,
        "leverage": 10.0, "mode": "isolated", "margin": 30.11}}  # 1 contract × ctVal 0.1 ETH
    assert result.scenario["markets"]["ETHUSDT"]["price"] == 3010.54
    assert result.scenario["balance"] == pytest.approx(4850.435693622894)
    assert pnl(result) == pytest.approx(-0.046)  # the exchange's upl
    assert result.venue == "okx" and any("assets/venues/okx.json" in n for n in result.notes)
    assert result.scenario["rules"]["close_fee_reserve"] == 0.0005  # OKX keeps the taker fee in maintenance
    # OKX's own mmr field (1.204216 USDT) is tier 1's 0.40 % of the 301.054 USDT at the mark, fee excluded
    assert result.scenario["markets"]["ETHUSDT"]["tiers"][0]["mmr"] * 0.1 * 3010.54 == pytest.approx(1.204216)


def test_okx_net_mode_swaps_in_contracts():
    result = read_exchange_export({"pos": text("okx_positions_swap.json"), "bal": text("okx_balance.json")})
    check_loads(result)
    held = positions(result)
    assert (held["btc-short"]["size"], held["btc-short"]["mode"]) == (0.05, "cross")  # -5 × 0.01 BTC
    assert held["doge-long"] == {"id": "doge-long", "market": "DOGEUSDT", "side": "long", "size": 3000.0,
                                 "entry": 0.35, "leverage": 5.0, "mode": "isolated", "margin": 210.0}
    assert pnl(result) == pytest.approx(-50 + 30)


def test_okx_long_short_mode_maps_both_legs():
    exported = load("okx_positions_swap_observed_2025-11-29.json")
    short = dict(exported["data"][0], posSide="short", pos="2", avgPx="3020", mgnMode="cross", margin="")
    exported["data"].append(short)
    result = read_exchange_export({"pos": json.dumps(exported), "bal": text("okx_balance.json")})
    held = positions(result)
    assert (held["eth-long"]["side"], held["eth-short"]["side"], held["eth-short"]["size"]) == ("long", "short", 0.2)


def test_okx_unknown_swap_is_read_with_a_pasted_instruments_list():
    exported = load("okx_positions_swap.json")
    exported["data"][0]["instId"] = "ADA-USDT-SWAP"
    assert "'ADA-USDT-SWAP'" in fails({"pos": json.dumps(exported), "bal": text("okx_balance.json")})
    instruments = {"code": "0", "msg": "", "data": [{"instType": "SWAP", "instId": "ADA-USDT-SWAP",
                                                    "ctType": "linear", "ctVal": "100", "ctMult": "1"}]}
    result = read_exchange_export({"pos": json.dumps(exported), "bal": text("okx_balance.json"),
                                   "ins": json.dumps(instruments)})
    assert positions(result)["ada-short"]["size"] == 500.0


# ----------------------------------------------------------------------------- Hyperliquid


def test_hyperliquid_isolated_documented():
    result = read_exchange_export(text("hyperliquid_clearinghouseState.json"))
    check_loads(result)
    assert positions(result) == {"eth-long": {
        "id": "eth-long", "market": "ETHUSDT", "side": "long", "size": 0.0335, "entry": 2986.3,
        "leverage": 20.0, "mode": "isolated", "margin": 4.981226}}  # marginUsed − unrealizedPnl
    assert result.scenario["markets"]["ETHUSDT"]["price"] == 2985.9  # positionValue ÷ szi
    scenario = scenario_from_dict(result.scenario)
    assert scenario.cross_wallet == pytest.approx(13104.514502)  # crossMarginSummary.accountValue
    assert pnl(result) == pytest.approx(-0.0134)


def test_hyperliquid_real_cross_account_and_leverage_above_the_preset():
    result = read_exchange_export(text("hyperliquid_clearinghouseState_sdk_cassette_2023-03-27.json"))
    check_loads(result)
    assert len(result.scenario["positions"]) == 12
    assert result.scenario["balance"] + pnl(result) == pytest.approx(1182.312496, abs=1e-6)  # accountValue
    held = positions(result)
    assert held["btc-short"]["leverage"] == 20.0  # within Hyperliquid's 40x for BTC
    assert held["atom-short"]["leverage"] == 10  # 20x lowered to the preset's maximum, not refused
    assert any("atom-short 20x → 10x" in n for n in result.notes)


def test_leverage_worked_out_below_1x_is_set_to_1x():
    rows = load("binance_positionRisk_v3_hedge_btc.json")
    rows[2]["positionInitialMargin"] = "3400"  # twice the notional: 0.5x
    result = read_exchange_export({"p": json.dumps(rows), "a": text("binance_account_v3_usdt.json")})
    assert positions(result)["eth-long"]["leverage"] == 1
    assert any("eth-long 0.5x → 1x" in n for n in result.notes)


# ----------------------------------------------------------------------------- ways to paste


def test_separate_pastes_one_paste_and_bytes_give_one_scenario():
    risk, account = text("binance_positionRisk_v3_hedge.json"), text("binance_account_v3.json")
    apart = read_exchange_export({"a": risk, "b": account}).scenario
    together = read_exchange_export(risk + account).scenario
    combined = read_exchange_export(json.dumps({"positions": risk, "account": account})).scenario
    as_bytes = read_exchange_export({"a": b"\xef\xbb\xbf" + risk.encode(), "b": account.encode()}, venue="binance").scenario
    assert apart == together == combined == as_bytes


# ----------------------------------------------------------------------------- bad imports


def binance_pair(mutate) -> dict[str, str]:
    rows = load("binance_positionRisk_v3_hedge_btc.json")
    mutate(rows)
    return {"positionRisk": json.dumps(rows), "account": text("binance_account_v3_usdt.json")}


@pytest.mark.parametrize("source, message", [
    (binance_pair(lambda rows: rows[1].pop("markPrice")), "positionRisk[1].markPrice: is missing"),
    (binance_pair(lambda rows: rows[0].update(entryPrice="9.5e4x")), "positionRisk[0].entryPrice: must be a number, got '9.5e4x'"),
    (binance_pair(lambda rows: rows[0].update(positionAmt="")), "positionRisk[0].positionAmt: is empty; a number is needed"),
    (binance_pair(lambda rows: rows[0].update(positionAmt=True)), "positionRisk[0].positionAmt: must be a number, got bool"),
    (binance_pair(lambda rows: rows[2].update(positionInitialMargin="0", initialMargin="0")),
     "positionRisk[2].positionInitialMargin: is missing or 0"),
])
def test_a_missing_field_or_a_non_number_is_named(source, message):
    assert fails(source).startswith(message)


def test_missing_fields_are_named_on_every_venue():
    okx = load("okx_positions_swap.json")
    del okx["data"][1]["avgPx"]
    assert fails({"p": json.dumps(okx), "b": text("okx_balance.json")}).startswith("positions.data[1].avgPx: is missing")
    bybit = load("bybit_position_list_linear.json")
    bybit["result"]["list"][0]["markPrice"] = "n/a"
    message = fails({"p": json.dumps(bybit), "w": text("bybit_wallet_balance_usdt.json")})
    assert message == "position/list.result.list[0].markPrice: must be a number, got 'n/a'"
    state = load("hyperliquid_clearinghouseState.json")
    del state["assetPositions"][0]["position"]["szi"]
    assert fails(json.dumps(state)) == "clearinghouseState.assetPositions[0].position.szi: is missing"


@pytest.mark.parametrize("mutate, message", [
    (lambda rows: rows[0].update(symbol="BTCUSDT_250627"), "positionRisk[0].symbol: 'BTCUSDT_250627' is a delivery"),
    (lambda rows: rows[0].update(symbol="BTCUSDC"), "positionRisk[0].symbol: 'BTCUSDC' is not a USDT-margined perpetual"),
])
def test_binance_symbols_that_are_not_usdt_perpetuals(mutate, message):
    assert fails(binance_pair(mutate)).startswith(message)


def test_margin_and_foreign_contracts_are_refused_by_name():
    okx = fails({"p": text("okx_positions_margin.json"), "b": text("okx_balance.json")})
    assert okx.startswith("positions.data[0].instType: is 'MARGIN' (BTC-USDT): not a perpetual swap")
    inverse = load("okx_positions_swap.json")
    inverse["data"][0]["instId"] = "BTC-USD-SWAP"
    assert "'BTC-USD-SWAP' is not a USDT-margined swap" in fails({"p": json.dumps(inverse), "b": text("okx_balance.json")})
    state = load("hyperliquid_clearinghouseState.json")
    state["assetPositions"][0]["position"]["coin"] = "xyz:TSLA"
    assert "builder-deployed" in fails(json.dumps(state))


def test_a_wallet_without_usdt_is_refused():
    message = fails({"p": text("bybit_position_list_linear.json"), "w": text("bybit_wallet_balance.json")})
    assert message == ("wallet-balance.result.list[0].coin: has no USDT entry (coins: BTC); "
                       "the lab's accounts are in USDT")


@pytest.mark.parametrize("source", [
    {"p": text("binance_positionRisk_v2.json"), "a": text("binance_account_v3.json")},  # documented: a flat row
    {"p": json.dumps({"code": "0", "msg": "", "data": []}), "b": text("okx_balance.json")},
    json.dumps(dict(load("hyperliquid_clearinghouseState.json"), assetPositions=[])),
    "[]",
])
def test_an_empty_account_says_so(source):
    assert fails(source).startswith("positions: no open position in this export")


def test_the_wallet_must_cover_the_isolated_margins():
    message = fails({"p": text("binance_positionRisk_v3_hedge_btc.json"), "a": text("binance_account_v3.json")})
    assert message.startswith("account.assets[0].walletBalance: the wallet (23.72 USDT) does not cover")


def test_a_missing_balance_export_is_named():
    assert fails(text("binance_positionRisk_v3_oneway.json")).startswith("account: is missing")
    assert fails(text("okx_positions_swap.json")).startswith("balance: is missing")
    assert fails(text("bybit_wallet_balance_usdt.json")).startswith("position/list: is missing")


@pytest.mark.parametrize("paste, message", [
    ('{"positions": [', "paste: is not valid JSON: Expecting value at line 1 column 16"),
    ("", "paste: is empty"),
    (b"\x93positions\x94", "paste: is not UTF-8 text"),
    ('[{"symbol": "BTCUSDT", "positionAmt": NaN}]', "paste: is not valid JSON: holds NaN, which is not a number JSON allows"),
    ('{"totalWalletBalance": -Infinity}', "paste: is not valid JSON: holds -Infinity, which is not a number JSON allows"),
    ('[{"symbol": "BTCUSDT", "positionAmt": 1e999}]', "positionRisk[0].positionAmt: must be finite, got inf"),
    ('[{"symbol": "BTCUSDT", "positionAmt": 1' + "0" * 400 + '}]', "paste: is not valid JSON: holds an integer of 401 digits"),
    ('[{"symbol": "BTCUSDT", "positionAmt": 1' + "0" * 5000 + '}]', "paste: is not valid JSON: holds an integer of 5,001 digits"),
    ('{"hello": "world"}', "paste: is not an export the lab can read"),
    ('{"code": -2015, "msg": "Invalid API-key"}', "paste: is an error the exchange sent instead of data (code -2015"),
])
def test_bad_json_is_refused_with_where(paste, message):
    assert fails(paste).startswith(message)


def test_too_deep_is_refused_without_recursion():
    assert f"nests {MAX_DEPTH + 1} levels deep; the limit is {MAX_DEPTH}" in fails("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert "levels deep; the limit is" in fails("[" * 200_000)  # would overflow json's C recursion
    assert "nests" not in fails("[" * MAX_DEPTH + "]" * MAX_DEPTH)  # 64 is allowed (and not an export)
    assert "nests" not in fails('["' + "[" * 1000 + '"]')  # brackets inside a string are text


def test_too_big_is_refused_unread():
    big = '{"pad": "' + "x" * MAX_IMPORT_BYTES + '"}'
    assert fails(big) == f"paste: is {len(big):,} bytes; the limit is 1,000,000 bytes (1 MB)"
    assert fails({"positions.json": big.encode()}).startswith("positions.json: is 1,000,011 bytes")


def test_mixed_exchanges_and_a_wrong_venue_are_refused():
    mixed = fails({"a": text("binance_positionRisk_v3_oneway.json"), "b": text("okx_balance.json")})
    assert mixed.startswith("export: mixes exchanges (a is Binance USDS-M positionRisk; b is OKX balance)")
    assert fails(text("hyperliquid_clearinghouseState.json"), venue="bybit").startswith(
        "venue: is 'bybit', but paste looks like Hyperliquid clearinghouseState")
    assert fails("[]", venue="kraken").startswith("venue: must be one of binance, bybit, okx, hyperliquid")


def test_a_second_export_of_one_endpoint_is_refused():
    risk = text("binance_positionRisk_v3_oneway.json")
    assert "is a second positionRisk export" in fails({"a": risk, "b": risk, "c": text("binance_account_v3.json")})


def test_import_does_not_change_the_sample_files():
    before = copy.deepcopy(load("okx_positions_swap.json"))
    read_exchange_export({"p": text("okx_positions_swap.json"), "b": text("okx_balance.json")})
    assert load("okx_positions_swap.json") == before


# ----------------------------------------------------------------------------- coins (issue 27)


def coin_pnl(result) -> dict[str, float]:
    """Σ unrealized PnL of the inverse positions at the exchange's marks, by coin [coin]."""
    from margin.account import evaluate
    scenario = scenario_from_dict(result.scenario)
    out: dict[str, float] = {}
    for snap in evaluate(scenario).positions:
        out[snap.currency] = out.get(snap.currency, 0.0) + snap.unrealized_pnl
    return out


def test_bybit_inverse_documented_example_is_imported_in_its_coin():
    """The docs' only position example (an inverse BTCUSD short of 300 contracts), once refused:
    contracts of 1 USD, PnL in BTC equal to the exchange's unrealisedPnl."""
    result = read_exchange_export({"p": text("bybit_position_list_inverse.json"), "w": text("bybit_wallet_balance.json")})
    check_loads(result)
    market = result.scenario["markets"]["BTCUSD"]
    assert (market["contract"], market["contract_value"], market["settle_asset"]) == ("inverse", 1.0, "BTC")
    assert result.scenario["collateral"] == [{"asset": "BTC", "amount": 0.0, "market": "BTCUSD"}]
    assert coin_pnl(result)["BTC"] == pytest.approx(-0.00029413, abs=5e-9)
    assert any("contracts of 1 USD" in n for n in result.notes)


def test_binance_coin_m_positions_are_imported_with_their_coins():
    result = read_exchange_export({"positionRisk.json": text("binance_coinm_positionRisk.json"),
                                   "account.json": text("binance_coinm_account.json")})
    check_loads(result)
    markets = result.scenario["markets"]
    assert markets["BTCUSD_PERP"]["contract_value"] == 100.0 and markets["ETHUSD_PERP"]["contract_value"] == 10.0
    assert result.scenario["balance"] == 0.0
    assert {c["asset"]: c["amount"] for c in result.scenario["collateral"]} == {"BTC": 0.05, "ETH": 1.2}
    rows = {r["symbol"]: float(r["unRealizedProfit"]) for r in load("binance_coinm_positionRisk.json")}
    pnl_by_coin = coin_pnl(result)
    assert pnl_by_coin["BTC"] == pytest.approx(rows["BTCUSD_PERP"], abs=1e-8)
    assert pnl_by_coin["ETH"] == pytest.approx(rows["ETHUSD_PERP"], abs=1e-8)
    short = positions(result)["btcusd_perp-short"]
    assert short["mode"] == "isolated" and short["margin"] == 0.00714286
    assert any("100 USD" in n for n in result.notes) and any("one tier in the coin" in n for n in result.notes)


def test_a_coin_m_row_whose_notional_says_another_contract_value_keeps_the_exports():
    rows = load("binance_coinm_positionRisk.json")
    rows[1]["notionalValue"] = str(50 * 100 / 3100)  # an ETH contract of 100 USD, as this row says
    result = read_exchange_export({"p": json.dumps(rows), "a": text("binance_coinm_account.json")})
    assert result.scenario["markets"]["ETHUSD_PERP"]["contract_value"] == pytest.approx(100.0)


def test_bybit_multi_currency_balance_counts_its_collateral_at_the_presets_haircut():
    result = read_exchange_export({"p": text("bybit_position_list_linear.json"), "w": text("bybit_wallet_balance_multi.json")})
    check_loads(result)
    (eth,) = result.scenario["collateral"]  # SOL's marginCollateral is off; BTC holds nothing
    assert eth == {"asset": "ETH", "amount": 2.0, "market": "ETHUSDT", "haircut": 0.05}
    assert result.scenario["markets"]["ETHUSDT"]["price"] == 2_950.0  # the ETHUSDT swap's mark prices it
    assert any("ETH 2 at a haircut of 5 % (representative" in n for n in result.notes)


def test_okx_multi_currency_balance_counts_its_collateral_at_the_exchanges_haircut():
    result = read_exchange_export({"p": text("okx_positions_swap.json"), "b": text("okx_balance_multi.json")})
    check_loads(result)
    (btc,) = result.scenario["collateral"]
    assert btc == {"asset": "BTC", "amount": 0.5, "market": "BTCUSDT", "haircut": 0.03}  # 1 − 29,100 / 30,000
    assert any("the exchange's, balance.data[0].details[1].disEq" in n for n in result.notes)
    assert any("multi-currency margin mode" in n for n in result.notes)
