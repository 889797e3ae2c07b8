"""Kline CSVs into crash paths (margin/imports/klines.py).

No real market data ships with the repository (the research found no stated licence for the
data on data.binance.vision): every CSV here is synthetic, written by :func:`kline_csv` in the
archive's layout (12 columns, optional header, ms or µs timestamps).
"""

from __future__ import annotations

import numpy as np
import pytest

from margin.crashes import REFERENCE_MARKET, crash_path
from margin.replay import replay
from margin.imports import MAX_KLINE_ROWS, read_klines
from margin.presets import load_story
from margin.scenario import ScenarioError, scenario_from_dict

START_MS = 1_760_054_400_000  # 2025-10-10 00:00 UTC
HEADER = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
          "taker_buy_volume,taker_buy_quote_volume,ignore")


def kline_csv(closes, *, lows=None, highs=None, interval_ms=60_000, start_ms=START_MS, header=True,
              micro=False, skip=()) -> str:
    """A synthetic kline file: each candle opens at the previous close; wicks 0.1 % beyond the
    body unless given. ``skip`` leaves those candles out (a gap)."""
    lines = [HEADER] if header else []
    previous = closes[0]
    for i, close in enumerate(closes):
        low = lows[i] if lows is not None else min(previous, close) * 0.999
        high = highs[i] if highs is not None else max(previous, close) * 1.001
        opened = start_ms + i * interval_ms
        if i not in skip:
            scale = 1000 if micro else 1
            lines.append(f"{opened * scale},{previous:.8f},{high:.8f},{low:.8f},{close:.8f},12.5,"
                         f"{(opened + interval_ms) * scale - 1},1250,100,6,600,0")
        previous = close
    return "\n".join(lines) + "\n"


def fails(*args, **kwargs) -> str:
    with pytest.raises(ScenarioError) as caught:
        read_klines(*args, **kwargs)
    return str(caught.value)


CLOSES = [100.0, 98.0, 90.0, 95.0]
LOWS = [99.0, 97.0, 85.0, 89.0]


def test_closes_are_the_mark_and_lows_the_last_price():
    crash = read_klines(kline_csv(CLOSES, lows=LOWS), file_name="BTCUSDT-1m-2025-10-10.csv")
    assert crash.mark["BTCUSDT"].tolist() == pytest.approx([1.0, 0.98, 0.90, 0.95])
    assert crash.last["BTCUSDT"].tolist() == pytest.approx([1.0, 0.97, 0.85, 0.89])  # step 0 is the close
    assert (crash.id, crash.step_minutes, crash.n_steps, crash.markets) == ("imported", 1.0, 4, ("BTCUSDT",))
    assert crash.name == "Imported candles: BTCUSDT 1m, 2025-10-10 00:00 to 00:04 UTC"
    assert "Imported real market data" in crash.label and "BTCUSDT-1m-2025-10-10.csv" in crash.label
    assert "last price: the candles' lows" in crash.label
    assert crash.parameters["wick"] == "low"
    assert crash.parameters["high"]["BTCUSDT"][1] == pytest.approx(100 * 1.001 / 100)


def test_mark_price_klines_give_the_mark_path():
    marks = [200.0, 199.0, 185.0, 190.0]  # its own level: multipliers of its own first close
    crash = read_klines(kline_csv(CLOSES, lows=LOWS), mark=kline_csv(marks),
                        file_name="BTCUSDT-1m-2025-10-10.csv", mark_file_name="BTCUSDT-1m-2025-10-10-mark.csv")
    assert crash.mark["BTCUSDT"].tolist() == pytest.approx([1.0, 0.995, 0.925, 0.95])
    assert crash.last["BTCUSDT"].tolist() == pytest.approx([1.0, 0.97, 0.85, 0.89])
    assert "Mark: the mark-price candles' close" in crash.label
    assert "BTCUSDT-1m-2025-10-10-mark.csv" in crash.source


def test_no_header_and_microseconds_read_the_same():
    with_header = read_klines(kline_csv(CLOSES, lows=LOWS))
    bare_micro = read_klines(kline_csv(CLOSES, lows=LOWS, header=False, micro=True).encode())
    assert bare_micro.mark["BTCUSDT"].tolist() == with_header.mark["BTCUSDT"].tolist()
    assert bare_micro.last["BTCUSDT"].tolist() == with_header.last["BTCUSDT"].tolist()
    assert bare_micro.step_minutes == 1.0 and bare_micro.parameters["start_ms"] == START_MS


def test_the_step_is_the_candle_interval():
    crash = read_klines(kline_csv(CLOSES, interval_ms=3_600_000), file_name="ETHUSDT-1h-2025-10.csv")
    assert crash.step_minutes == 60.0 and crash.parameters["interval"] == "1h"
    assert crash.name.endswith("2025-10-10 00:00 to 04:00 UTC")


def test_a_rise_uses_the_up_wicks_unless_told():
    closes, highs = [100.0, 104.0, 112.0, 108.0], [100.5, 105.0, 120.0, 113.0]
    crash = read_klines(kline_csv(closes, highs=highs))
    assert crash.parameters["wick"] == "high"
    assert crash.last["BTCUSDT"].tolist() == pytest.approx([1.0, 1.05, 1.20, 1.13])
    assert read_klines(kline_csv(closes, highs=highs), wick="low").parameters["wick"] == "low"
    assert fails(kline_csv(closes), wick="both").startswith("wick: must be one of auto, low, high")


def test_another_market_carries_an_implied_btc_path():
    crash = read_klines(kline_csv(CLOSES, lows=LOWS), file_name="ETHUSDT-1m-2025-10-10.csv")
    eth = crash.mark["ETHUSDT"]
    assert crash.mark[REFERENCE_MARKET] == pytest.approx(1 + (eth - 1) / 1.3)  # ETH's beta in markets.json
    assert crash.betas == {"ETHUSDT": 1.3, "BTCUSDT": 1.0}
    assert any("scaled by their beta relative to its" in n for n in crash.parameters["notes"])
    scenario = scenario_from_dict({"balance": 1000, "markets": {"ETHUSDT": {"price": 3000, "mmr": 0.005}},
                                   "positions": [{"id": "e", "market": "ETHUSDT", "side": "long", "size": 1,
                                                  "entry": 3000, "leverage": 10, "mode": "cross"}]})
    path = crash_path(crash, scenario, "mark")
    assert path.marks[:, 0] == pytest.approx(3000 * eth)  # the account's ETH follows the file exactly


def test_the_crash_replay_runs_an_imported_path():
    crash = read_klines(kline_csv([100.0, 95.0, 70.0, 75.0], lows=[99.0, 93.0, 60.0, 68.0]))
    scenario = scenario_from_dict(load_story("default"))  # BTC and SOL, 20x: a 30 % drop liquidates
    result = replay(scenario, crash)
    assert result.path.marks.shape == (4, len(scenario.markets))
    assert result.last_path.marks[2, 0] == pytest.approx(scenario.markets["BTCUSDT"].price * 0.6)
    assert any(result.results[label].events for label in result.results)


def test_gaps_are_filled_with_flat_candles_at_the_previous_close():
    crash = read_klines(kline_csv([100.0, 98.0, 97.0, 96.0, 90.0], skip=(2, 3)))
    assert crash.n_steps == 5 and crash.parameters["filled"] == 2
    assert crash.mark["BTCUSDT"].tolist() == pytest.approx([1.0, 0.98, 0.98, 0.98, 0.90])
    assert crash.last["BTCUSDT"][2:4].tolist() == pytest.approx([0.98, 0.98])  # no wick in a gap
    assert any("2 missing candles filled" in n for n in crash.parameters["notes"])


def test_the_market_comes_from_the_file_name_or_the_caller():
    assert read_klines(kline_csv(CLOSES), file_name="SOLUSDT-5m-2025-10-10.csv").markets == ("SOLUSDT", "BTCUSDT")
    assert read_klines(kline_csv(CLOSES), file_name="my-candles.csv", market="XRPUSDT").markets[0] == "XRPUSDT"
    assert any("taken as BTCUSDT" in n for n in read_klines(kline_csv(CLOSES)).parameters["notes"])


def test_a_file_name_cannot_carry_markup_into_the_label():
    crash = read_klines(kline_csv(CLOSES), file_name="C:\\data\\**BTCUSDT-1m-2025-10-10**<img src=x>.csv")
    assert "from --BTCUSDT-1m-2025-10-10---img-src-x-.csv," in crash.label  # no folder, no markup
    assert not {"<", ">", "*", "\\"} & set(crash.label)


def rows(csv_text: str) -> list[str]:
    return csv_text.splitlines()


def swapped(csv_text: str, i: int, j: int) -> str:
    lines = rows(csv_text)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def replaced(csv_text: str, line: int, column: int, value: str) -> str:
    lines = rows(csv_text)
    cells = lines[line].split(",")
    cells[column] = value
    lines[line] = ",".join(cells)
    return "\n".join(lines)


GOOD = kline_csv(CLOSES, lows=LOWS)


@pytest.mark.parametrize("data, message", [
    (swapped(GOOD, 2, 3), "klines.csv row 3 (line 4), column open_time: 1760054460000 goes back in time"),
    ("\n".join(rows(GOOD)[:3] + rows(GOOD)[2:]), "klines.csv row 3 (line 4), column open_time: 1760054460000 duplicates"),
    (replaced(GOOD, 2, 3, "abc"), "klines.csv row 2 (line 3), column low: must be a price > 0, got 'abc'"),
    (replaced(GOOD, 3, 4, "-1"), "klines.csv row 3 (line 4), column close: must be a price > 0, got '-1'"),
    (replaced(GOOD, 1, 4, "nan"), "klines.csv row 1 (line 2), column close: must be a price > 0, got 'nan'"),
    (replaced(GOOD, 2, 0, "1760054460000.5"), "klines.csv row 2 (line 3), column open_time: must be a whole number"),
    (replaced(GOOD, 2, 3, "98.5"), "klines.csv row 2 (line 3), column low: 98.5 must not be above the open and close"),
    (replaced(GOOD, 2, 6, "1760054579999"), "klines.csv row 2 (line 3), column close_time: spans 120,000 ms, row 1 60,000 ms"),
    (replaced(replaced(GOOD, 3, 0, "1760054490000"), 3, 6, "1760054549999"), "klines.csv row 3 (line 4), column open_time: 1760054490000 is not a whole number of intervals"),
    (replaced(GOOD, 3, 0, "1760054520000000"), "klines.csv row 3 (line 4), column open_time: is in µs but row 1 is in ms"),
    # every time of a file past the year 9999 (as µs): refused by the cell, not as 'close_time before open_time'
    ("\n".join(rows(kline_csv(CLOSES, start_ms=10**19))), "klines.csv row 1 (line 2), column open_time: must be a "
     "whole number of ms or µs up to the year 9999, got '10000000000000000000'"),
    ("\n".join(rows(GOOD)[:2]), "klines.csv: has 1 candle row; a path needs at least 2"),
    (HEADER, "klines.csv: has 0 candle rows"),
    ("\n".join(r.rsplit(",", 7)[0] for r in rows(GOOD)[1:]), "klines.csv row 1 (line 1): has 5 columns; a kline row has 12"),
    (GOOD.replace("open_time,open,high", "time,open,high"), "klines.csv line 1: the header must start open_time,open,high"),
    (b"\xff" + GOOD.encode(), "klines.csv: is not UTF-8 text"),
    (GOOD.replace("12.5", "1" * 200_000, 1), "klines.csv: is not a CSV file the lab can read (field larger"),
])
def test_bad_candles_name_the_row_and_column(data, message):
    assert fails(data).startswith(message)


def test_over_the_row_limit_is_refused():
    closes = list(np.linspace(100, 90, MAX_KLINE_ROWS + 1))
    assert fails(kline_csv(closes, header=False)) == "klines.csv: has 20,001 rows; the limit is 20,000 (two weeks of 1m candles)"
    assert read_klines(kline_csv(closes[:MAX_KLINE_ROWS])).n_steps == MAX_KLINE_ROWS
    far = START_MS + 60_000 * MAX_KLINE_ROWS  # two candles, 20,000 intervals apart
    gappy = replaced(replaced(kline_csv([100.0, 99.0]), 2, 0, str(far)), 2, 6, str(far + 59_999))
    assert fails(gappy) == "klines.csv: spans 20,001 candles once its gaps are filled; the limit is 20,000"


def test_a_file_over_5_mb_is_refused_unread():
    assert fails("0" * 5_000_001) == "klines.csv: is 5,000,001 bytes; the limit is 5,000,000 bytes (5 MB)"


def test_the_mark_file_must_cover_the_same_candles():
    shifted = kline_csv(CLOSES, start_ms=START_MS + 60_000)
    assert fails(GOOD, mark=shifted).startswith(
        "markPriceKlines.csv row 1 (line 2), column open_time: is 1760054460000, but klines.csv row 1 is 1760054400000")
    assert fails(GOOD, mark=kline_csv(CLOSES[:3])).startswith("markPriceKlines.csv: has 3 candles, klines.csv 4")
    assert fails(GOOD, mark=kline_csv(CLOSES, interval_ms=300_000)).startswith(
        "markPriceKlines.csv: has 300,000 ms candles, klines.csv 60,000 ms")
