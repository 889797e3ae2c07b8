"""Every class of bad input exits 2 with one line on stderr that names the field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from margin.cli import main
from tests.paths import ROOT

GOOD = {
    "format": "margin-scenario/1", "name": "ok", "balance": 1000,
    "rules": {"mm_basis": "mark", "liquidation": "full", "settlement": "bankruptcy",
              "liquidation_fee_rate": 0.0, "insurance_fund": 0.0},
    "markets": {"BTC": {"price": 100, "tiers": [{"floor": 0, "mmr": 0.01, "max_leverage": 50},
                                                 {"floor": 5000, "mmr": 0.02, "max_leverage": 20}]},
                "ETH": {"price": 10, "mmr": 0.02}},
    "positions": [
        {"id": "a", "market": "BTC", "side": "long", "size": 1, "entry": 100, "leverage": 10, "mode": "cross"},
        {"id": "b", "market": "ETH", "side": "short", "size": 5, "entry": 10, "leverage": 5, "mode": "isolated", "margin": 10},
    ],
}


def _with(path: str, value):
    raw = copy.deepcopy(GOOD)
    target = raw
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return raw


CASES = {
    # id: (scenario dict, field named in the message, words in the message)
    "unknown market": (_with("positions.0.market", "DOGE"), "positions[0].market", "unknown market"),
    "size zero": (_with("positions.0.size", 0), "positions[0].size", "> 0"),
    "size negative": (_with("positions.0.size", -3), "positions[0].size", "must be > 0, got -3"),
    "size infinite": (_with("positions.0.size", float("inf")), "positions[0].size", "finite"),
    "entry zero": (_with("positions.1.entry", 0), "positions[1].entry", "> 0"),
    "price negative": (_with("markets.BTC.price", -5), "markets.BTC.price", "> 0"),
    "price text": (_with("markets.BTC.price", "lots"), "markets.BTC.price", "number"),
    "leverage zero": (_with("positions.0.leverage", 0), "positions[0].leverage", "≥ 1"),
    "leverage above tier": (_with("positions.0.leverage", 51), "positions[0].leverage", "maximum 50x"),
    "isolated margin zero": (_with("positions.1.margin", 0), "positions[1].margin", "> 0"),
    "isolated margin negative": (_with("positions.1.margin", -1), "positions[1].margin", "> 0"),
    "duplicate id": (_with("positions.1.id", "a"), "positions[1].id", "duplicate"),
    "tiers not ascending": (_with("markets.BTC.tiers.1.floor", 0), "markets.BTC.tiers[1].floor", "ascend"),
    "tiers not from zero": (_with("markets.BTC.tiers.0.floor", 10), "markets.BTC.tiers[0].floor", "start at 0"),
    "mmr of one": (_with("markets.ETH.mmr", 1.0), "markets.ETH.mmr", "[0, 1)"),
    "mmr negative": (_with("markets.BTC.tiers.0.mmr", -0.01), "markets.BTC.tiers[0].mmr", "[0, 1)"),
    "fee rate above one": (_with("rules.liquidation_fee_rate", 1.5), "rules.liquidation_fee_rate", "[0, 1]"),
    "unknown mm basis": (_with("rules.mm_basis", "index"), "rules.mm_basis", "'mark' or 'entry'"),
    "unknown liquidation": (_with("rules.liquidation", "some"), "rules.liquidation", "'full' or 'partial'"),
    "unknown settlement": (_with("rules.settlement", "fair"), "rules.settlement", "'bankruptcy' or 'mark'"),
    "unknown side": (_with("positions.0.side", "up"), "positions[0].side", "'long' or 'short'"),
    "unknown mode": (_with("positions.0.mode", "portfolio"), "positions[0].mode", "'cross' or 'isolated'"),
    "negative fund": (_with("rules.insurance_fund", -1), "rules.insurance_fund", "≥ 0"),
    "balance below isolated margins": (_with("balance", 5), "balance", "isolated margins"),
}


def _run(argv, stdin_text=None, monkeypatch=None, capsys=None):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_exits_2_naming_the_field(case, tmp_path, capsys):
    raw, field, words = CASES[case]
    scenario = tmp_path / "bad.json"
    scenario.write_text(json.dumps(raw))  # json writes inf as Infinity, as a careless tool would
    code, out, err = _run(["liq", str(scenario)], capsys=capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"{field}: "), err
    assert words in err


def test_nan_in_the_file_names_the_field(tmp_path, capsys):
    text = json.dumps(GOOD).replace('"size": 5', '"size": NaN')
    (tmp_path / "nan.json").write_text(text)
    code, _, err = _run(["evaluate", str(tmp_path / "nan.json")], capsys=capsys)
    assert code == 2 and err.strip() == "positions[1].size: must be a number, got NaN"


def test_json_that_does_not_parse(tmp_path, capsys):
    (tmp_path / "broken.json").write_text('{"balance": 1000,, }')
    code, _, err = _run(["liq", str(tmp_path / "broken.json")], capsys=capsys)
    assert code == 2 and err.startswith("scenario: is not valid JSON") and "line 1" in err


def test_a_file_over_one_megabyte_is_refused_unread(tmp_path, capsys):
    big = dict(GOOD, name="x" * 1_100_000)
    (tmp_path / "big.json").write_text(json.dumps(big))
    code, _, err = _run(["liq", str(tmp_path / "big.json")], capsys=capsys)
    assert code == 2 and err.startswith("scenario: file is") and "1 MB" in err


def test_a_missing_file(tmp_path, capsys):
    code, _, err = _run(["liq", str(tmp_path / "nope.json")], capsys=capsys)
    assert code == 2 and err.startswith("scenario: cannot read")


def test_bad_price_override_and_bad_path(tmp_path, capsys):
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    code, _, err = _run(["evaluate", str(tmp_path / "ok.json"), "--price", "BTC=-1"], capsys=capsys)
    assert code == 2 and err.startswith("--price BTC: ")
    (tmp_path / "path.csv").write_text("step,BTC\n0,100\n1,-4\n")
    code, _, err = _run(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path / "path.csv")], capsys=capsys)
    assert code == 2 and err.strip() == "path[1].BTC: must be > 0, got -4"
    (tmp_path / "path.csv").write_text("step,SOL\n0,100\n")
    code, _, err = _run(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path / "path.csv")], capsys=capsys)
    assert code == 2 and "unknown market 'SOL'" in err


def test_usage_errors_are_one_line_too(capsys):
    code, _, err = _run(["explode"], capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and "invalid choice" in err


def test_no_traceback_through_a_real_process(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps(CASES["size negative"][0]))
    run = subprocess.run([sys.executable, "-m", "margin", "evaluate", str(tmp_path / "bad.json")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 2
    assert run.stderr == "positions[0].size: must be > 0, got -3\n"
    assert "Traceback" not in run.stderr


def test_good_input_evaluates_and_simulates(tmp_path, capsys):
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    code, out, _ = _run(["evaluate", str(tmp_path / "ok.json"), "--price", "BTC=90"], capsys=capsys)
    snapshot = json.loads(out)
    assert code == 0
    assert snapshot["cross"]["wallet"] == 990  # 1,000 less the 10 of isolated margin
    assert snapshot["cross"]["equity"] == 980  # long 1 BTC lost 10
    assert snapshot["positions"][0]["maintenance_margin"] == pytest.approx(0.9)
    # ETH short 5 at 10: liquidated at 11.76 (10 + 50 − 5·p − 0.1·p = 0 → p = 60/5.1)
    (tmp_path / "path.csv").write_text("step,ETH\n0,10\n1,11\n2,12\n3,10\n")
    code, out, _ = _run(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path / "path.csv")], capsys=capsys)
    result = json.loads(out)
    assert code == 0
    (event,) = result["events"]
    assert (event["step"], event["type"], event["position"], event["price"]) == (2, "liquidation", "b", 12.0)
    assert event["realized_pnl"] == pytest.approx(-10.0)
    assert event["insurance_fund_delta"] == pytest.approx(0.0)  # margin 10 + PnL −10 = 0 left
    assert result["final"]["balance"] == pytest.approx(990)
    assert result["final"]["open_positions"] == ["a"]


@pytest.mark.parametrize("csv_text, message", [
    ("step,BTC\n0,100\n1,abc\n", "path: has a value that is not a number"),
    ("step,BTC\n0,100\n1,\n", "path[1].BTC: is empty or not a number"),
    ("step,BTC\n0,100,5\n", "path: every row must have 2 columns"),
    ("time,BTC\n0,100\n", "path: the header must start with 'step'"),
    ("step,BTC\n", "path: has no rows"),
    ("step,BTC\n0,inf\n", "path[0].BTC: must be a finite number"),
])
def test_bad_price_path_names_the_row_and_market(csv_text, message, tmp_path, capsys):
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    (tmp_path / "path.csv").write_text(csv_text)
    code, out, err = _run(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path / "path.csv")], capsys=capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(message), err
