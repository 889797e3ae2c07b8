"""Every exchange export either imports or is refused in words (margin/imports).

Hypothesis breaks each exchange's export shape (Binance USDⓈ-M ``positionRisk`` + ``account``,
Bybit v5 ``position/list`` + ``wallet-balance``, OKX v5 ``account/positions`` +
``account/balance``, Hyperliquid ``clearinghouseState``, from the documented files in
tests/data/imports/) in its field values (huge, tiny, subnormal, NaN text, negative, of the wrong
type, long, unicode) and in its structure (a field missing, a row repeated, an extra row, an extra
field, an empty list). Whatever it makes, :func:`read_exchange_export` returns a scenario that
loads, or raises :class:`ScenarioError` whose message is one line naming a field; never another
exception. The cases the issue saw crash are listed by hand below the fuzz.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.imports import read_exchange_export
from margin.scenario import ScenarioError, scenario_from_dict
from tests.paths import DATA

IMPORTS = DATA / "imports"
MAX_MESSAGE_CHARS = 1_000  # a refusal a person reads; a pasted 5,000-character value is not repeated whole


def _load(name: str):
    return json.loads((IMPORTS / name).read_text(encoding="utf-8"))


# Each exchange's export shapes: the documents a user pastes together, by paste name.
EXPORTS = {
    "binance": [
        {"positionRisk": "binance_positionRisk_v3_oneway.json", "account": "binance_account_v3.json"},
        {"positionRisk": "binance_positionRisk_v3_hedge_btc.json", "account": "binance_account_v3_usdt.json"},
        {"positionRisk": "binance_positionRisk_v2_isolated.json", "account": "binance_account_v3_usdt.json"},
    ],
    "bybit": [
        {"position/list": "bybit_position_list_linear.json", "wallet-balance": "bybit_wallet_balance_usdt.json"},
        {"position/list": "bybit_position_list_linear_hedge.json", "wallet-balance": "bybit_wallet_balance_usdt.json",
         "account/info": "bybit_account_info_isolated.json"},
    ],
    "okx": [
        {"positions": "okx_positions_swap.json", "balance": "okx_balance.json"},
        {"positions": "okx_positions_swap_observed_2025-11-29.json", "balance": "okx_balance.json"},
    ],
    "hyperliquid": [
        {"clearinghouseState": "hyperliquid_clearinghouseState.json"},
        {"clearinghouseState": "hyperliquid_clearinghouseState_sdk_cassette_2023-03-27.json"},
    ],
}

HUGE = ["9" * 40, 10**39, 1e308, "1e308", -1e308, "1e309", "1" + "0" * 39]
TINY = ["1e-320", 5e-324, "5e-324", 1e-300, "1e-310", 2.2e-308, "0.0000000000000000000001"]
NAN_TEXT = ["NaN", "nan", "Infinity", "-Infinity", "inf", "-inf", "NAN"]
NEGATIVE = [-1, "-1", "-0.0001", -0.0, "-0", -1e15]
WRONG_TYPE = [None, True, False, [], {}, [1], {"a": 1}, 0, 1, "", " "]
LONG = ["x" * 5000, "1" * 60, "0." + "0" * 100 + "1", "BTC" * 500 + "USDT"]
UNICODE = ["₿", "١٢٣", "٠.٥", "\u0000", "\ud800", "ＢＴＣＵＳＤＴ", "BTC\u200bUSDT", "btcusdt", "💥", "e\u0301"]
WORDS = ["LONG", "SHORT", "BOTH", "Buy", "Sell", "cross", "isolated", "crossed", "net", "long", "short",
         "SWAP", "FUTURES", "BTC-USDT-SWAP", "BTC-USD-SWAP", "BTCUSDT", "BTCUSDT_250627", "USDT", "BTC", "oneWay"]
VALUES = st.one_of(  # each kind as likely as any other
    *(st.sampled_from(kind) for kind in (HUGE, TINY, NAN_TEXT, NEGATIVE, WRONG_TYPE, LONG, UNICODE, WORDS)),
    st.integers(-(10**40), 10**40), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
).map(copy.deepcopy)  # a fresh [] or {} each time: one shared object placed twice could hold itself
NUMBERS = st.one_of(  # for a place that holds a number: what breaks a number reader
    *(st.sampled_from(kind) for kind in (HUGE, TINY, NAN_TEXT, NEGATIVE, WRONG_TYPE)), st.integers(-(10**40), 10**40),
).map(copy.deepcopy)


def _places(value, path=()):
    """Every place in a JSON document: (path, value)."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


def _parent(document, path):
    for key in path[:-1]:
        document = document[key]
    return document


def _numeric(value) -> bool:
    """A number as exchanges send it (a JSON number or a decimal in a string)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@st.composite
def mutated(draw, documents: dict):
    """``documents`` (paste name → JSON) changed in one to three places."""
    documents = copy.deepcopy(documents)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(documents)))
        places = [p for p, _ in _places(documents[name]) if p]
        if not places:
            continue
        numbers = [p for p, v in _places(documents[name]) if p and _numeric(v)]
        times = [p for p, v in _places(documents[name]) if p and _numeric(v) and float(v) > 1e12]  # ms since 1970
        kind = draw(st.sampled_from(["number", "number", "time", "other", "other", "other"]))
        if kind == "time" and times or kind == "number" and numbers:  # each field name as likely as another
            chosen = times if kind == "time" else numbers
            field = draw(st.sampled_from(sorted({str(p[-1]) for p in chosen})))
            path = draw(st.sampled_from([p for p in chosen if str(p[-1]) == field]))
            _parent(documents[name], path)[path[-1]] = draw(NUMBERS)
            continue
        path = draw(st.sampled_from(places))
        parent, key = _parent(documents[name], path), path[-1]
        how = draw(st.sampled_from(["value", "value", "delete", "repeat", "extra_row", "extra_field", "empty"]))
        if how == "value":
            parent[key] = draw(VALUES)
        elif how == "delete":
            del parent[key]
        elif how in ("repeat", "extra_row") and isinstance(parent, list):
            row = copy.deepcopy(parent[key])
            if how == "extra_row" and isinstance(row, dict) and row:
                row[draw(st.sampled_from(sorted(row)))] = draw(VALUES)
            parent.insert(draw(st.integers(0, len(parent))), row)
        elif how == "extra_field" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(VALUES)
        elif how == "empty" and isinstance(parent[key], (list, dict)):
            parent[key] = type(parent[key])()
        else:
            parent[key] = draw(VALUES)
    return documents


def _pastes(documents: dict) -> dict[str, str]:
    return {f"{name}.json": json.dumps(doc, allow_nan=True) for name, doc in documents.items()}


def imports_or_refuses_in_words(source) -> None:
    """The contract of every import: a scenario that loads, or a one-line refusal naming a field."""
    try:
        result = read_exchange_export(source)
    except ScenarioError as err:
        message = str(err)
        assert err.field and err.field.strip() and err.problem.strip(), message
        assert message.splitlines() == [message] and len(message) <= MAX_MESSAGE_CHARS, message[:300]
        return
    scenario_from_dict(copy.deepcopy(result.scenario))
    json.dumps(result.scenario, allow_nan=False)  # finite numbers only: a link or a file can hold it
    assert result.scenario["positions"] and all(isinstance(note, str) for note in result.notes)


FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def test_every_base_export_imports():
    """The fuzz starts from exports that import: what it breaks, it breaks."""
    for exchange, shapes in EXPORTS.items():
        for shape in shapes:
            result = read_exchange_export(_pastes({k: _load(v) for k, v in shape.items()}))
            assert result.exchange == exchange


@pytest.mark.parametrize("exchange", sorted(EXPORTS))
@FUZZ
@given(data=st.data())
def test_a_broken_export_imports_or_is_refused_naming_a_field(exchange, data):
    shape = data.draw(st.sampled_from(EXPORTS[exchange]))
    documents = data.draw(mutated({name: _load(file) for name, file in shape.items()}))
    imports_or_refuses_in_words(_pastes(documents))


# ----------------------------------------------------------------------------- what the issue saw


def _changed(exchange: int, shape: int, change) -> dict[str, str]:
    documents = {name: _load(file) for name, file in EXPORTS[exchange][shape].items()}
    change(documents)
    return _pastes(documents)


def _each_row(rows: list, **fields) -> None:
    for row in rows:
        row.update(fields)


FORTY_DIGITS = int("9" * 40)
CRASHED = {  # an OverflowError before: each is refused naming the field
    "Binance updateTime of 40 digits": (
        ("binance", 0, lambda d: _each_row(d["positionRisk"], updateTime=FORTY_DIGITS)),
        "positionRisk[0].updateTime: must be a time in milliseconds since 1970 up to the year 9999, got a number of 40 digits"),
    "Binance updateTime of 40 digits in a string": (
        ("binance", 1, lambda d: _each_row(d["positionRisk"], updateTime="9" * 40)),
        "positionRisk[0].updateTime: must be a time"),
    "OKX uTime of 40 digits": (
        ("okx", 0, lambda d: _each_row(d["positions"]["data"], uTime="9" * 40)),
        "positions.data[0].uTime: must be a time in milliseconds since 1970 up to the year 9999"),
    "Hyperliquid time of 40 digits": (
        ("hyperliquid", 0, lambda d: d["clearinghouseState"].update(time=FORTY_DIGITS)),
        "clearinghouseState.time: must be a time"),
    "Hyperliquid time of 40 digits in a string": (
        ("hyperliquid", 1, lambda d: d["clearinghouseState"].update(time="9" * 40)),
        "clearinghouseState.time: must be a time"),
    "Bybit time of 40 digits": (
        ("bybit", 0, lambda d: d["wallet-balance"].update(time=FORTY_DIGITS)),
        "wallet-balance.time: must be a time"),
    "Binance positionInitialMargin 1e-320 (subnormal)": (
        ("binance", 0, lambda d: _each_row(d["positionRisk"], positionInitialMargin="1e-320")),
        "positionRisk[0].positionInitialMargin: is 1e-320, too close to 0 for any amount, price or rate"),
    "Binance positionInitialMargin 5e-324 as a JSON number": (
        ("binance", 0, lambda d: _each_row(d["positionRisk"], positionInitialMargin=5e-324)),
        "positionRisk[0].positionInitialMargin: is 4.94066e-324, too close to 0"),
    "Binance notional of 40 digits": (
        ("binance", 0, lambda d: _each_row(d["positionRisk"], notional="9" * 40)),
        "positionRisk[0].notional: is 9999999999999999999999999999999999999999, larger than any amount"),
}


@pytest.mark.parametrize("case", sorted(CRASHED))
def test_what_crashed_the_import_is_refused_naming_the_field(case):
    (exchange, shape, change), message = CRASHED[case]
    with pytest.raises(ScenarioError) as caught:
        read_exchange_export(_changed(exchange, shape, change))
    assert str(caught.value).startswith(message), str(caught.value)


def _twice(rows: list, index: int = 0) -> None:
    rows.append(copy.deepcopy(rows[index]))


REPEATED = {  # imported as two positions with no note before: refused, naming both rows
    "binance": (0, lambda d: _twice(d["positionRisk"]), "positionRisk[1]: repeats positionRisk[0] (ADAUSDT): "
                "Binance sends one row per symbol in one-way mode (positionSide BOTH)"),
    "binance hedge leg": (1, lambda d: _twice(d["positionRisk"], 1), "positionRisk[3]: repeats positionRisk[1] (BTCUSDT)"),
    "bybit": (0, lambda d: _twice(d["position/list"]["result"]["list"]),
              "position/list.result.list[2]: repeats position/list.result.list[0] (BTCUSDT): Bybit sends one row"),
    "okx": (0, lambda d: _twice(d["positions"]["data"]), "positions.data[2]: repeats positions.data[0] (BTC-USDT-SWAP)"),
    "hyperliquid": (0, lambda d: _twice(d["clearinghouseState"]["assetPositions"]),
                    "clearinghouseState.assetPositions[1].position: repeats clearinghouseState.assetPositions[0]"
                    ".position (ETHUSDT)"),
}


@pytest.mark.parametrize("case", sorted(REPEATED))
def test_a_position_listed_twice_is_refused_naming_both_rows(case):
    shape, change, message = REPEATED[case]
    with pytest.raises(ScenarioError) as caught:
        read_exchange_export(_changed(case.split()[0], shape, change))
    assert str(caught.value).startswith(message), str(caught.value)
    assert "pasted together" in str(caught.value)


def test_hedge_legs_and_a_cross_and_isolated_pair_are_not_repeats():
    """Two rows of one symbol that are two positions at the exchange still import as two."""
    binance = read_exchange_export(_pastes({k: _load(v) for k, v in EXPORTS["binance"][1].items()}))
    assert sum(p["market"] == "BTCUSDT" for p in binance.scenario["positions"]) == 2

    def cross_and_isolated(documents):
        rows = documents["positions"]["data"]
        rows.append(dict(copy.deepcopy(rows[0]), mgnMode="isolated", margin="24"))
    okx = read_exchange_export(_changed("okx", 0, cross_and_isolated))
    assert {p["mode"] for p in okx.scenario["positions"] if p["market"] == "BTCUSDT"} == {"cross", "isolated"}


def test_a_time_no_date_can_be_made_of_leaves_no_date_in_the_story():
    """latest_time, for any reader that passes it raw values, skips one out of range."""
    from margin.imports.accounts import as_of_text, latest_time
    assert latest_time("9" * 40, FORTY_DIGITS, -5, "١٢٣") is None
    assert as_of_text(FORTY_DIGITS) is None and as_of_text(1720736417660) == "2024-07-11 22:20 UTC"
