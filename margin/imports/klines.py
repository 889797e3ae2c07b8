"""Real candles into a crash path: kline CSVs in the layout of Binance's public data archive.

data.binance.vision ships klines as CSV with 12 columns, ``open_time, open, high, low, close,
volume, close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore``,
with a header row in newer futures files and none in older ones and in spot files;
timestamps are milliseconds, or microseconds in spot files from 2025. ``markPriceKlines``
files have the same layout (volume columns 0).

The crash path (:class:`~margin.crashes.Crash`) follows the crash replay's convention:
multipliers of the starting price, step 0 = 1.0, for the **mark** (what liquidation is judged
on) and the **last** price (what the candle shows):

- mark = the mark-price candles' close where a mark file is given, else the candles' close,
  each divided by its own first close;
- last = a wick of the trade candles, divided by the first close: the lows (down-wicks) for a
  file that falls further than it rises, else the highs (``wick`` picks one). Both wicks are
  kept in ``parameters["low"]`` and ``parameters["high"]``. Step 0 is the first candle's
  close, so that candle's own wick is not in the path.
- one step per candle; ``step_minutes`` is the candle interval (``close_time − open_time + 1``,
  the same on every row). A gap of whole intervals is filled with flat candles at the previous
  close (no candle, no trade: the price stands), and the label says how many.
- A market other than BTCUSDT also gets an implied BTCUSDT path, ``1 + (m − 1) / beta``,
  because the replay moves every market the crash does not carry with BTC scaled by its beta:
  the account's other markets then move with this one, scaled by their beta relative to its.

At most :data:`MAX_KLINE_ROWS` rows (20,000: two weeks of 1-minute candles) and
:data:`MAX_KLINE_BYTES` per file.

>>> csv = "\\n".join(f"{1735689600000 + 60000 * i},{p},{p + 1},{p - 2},{p},1,{1735689659999 + 60000 * i}"
...                  for i, p in enumerate([100, 96, 90, 95]))
>>> crash = read_klines(csv, file_name="BTCUSDT-1m-2025-01-01.csv")
>>> crash.step_minutes, [float(m) for m in crash.mark["BTCUSDT"]]
(1.0, [1.0, 0.96, 0.9, 0.95])
>>> [float(m) for m in crash.last["BTCUSDT"]]
[1.0, 0.94, 0.88, 0.93]
>>> print(crash.label)
Imported real market data: BTCUSDT 1m candles from BTCUSDT-1m-2025-01-01.csv, 2025-01-01 00:00 to 00:04 UTC (4 candles). Mark: the candles' close; last price: the candles' lows.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from margin.crashes import MIN_MULTIPLIER, REFERENCE_MARKET, Crash
from margin.imports.documents import MAX_TIME_MS, decode_text
from margin.presets import market_defaults
from margin.scenario import ScenarioError
from margin.limits import MAX_KLINE_ROWS, MAX_KLINE_BYTES  # noqa: F401  (the bounds live in margin.limits)

COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "close_time")
PRICES = ("open", "high", "low", "close")
MICROSECONDS = 10**14  # an open_time above this is in µs (Binance spot files from 2025)
WICKS = ("auto", "low", "high")
IMPORTED_ID = "imported"
INTERVALS = {1_000: "1s", 60_000: "1m", 180_000: "3m", 300_000: "5m", 900_000: "15m", 1_800_000: "30m",
             3_600_000: "1h", 7_200_000: "2h", 14_400_000: "4h", 21_600_000: "6h", 28_800_000: "8h",
             43_200_000: "12h", 86_400_000: "1d", 259_200_000: "3d", 604_800_000: "1w"}
_FILE_SYMBOL = re.compile(r"([A-Z0-9]{2,24})-(?:\d+[smhdwM]|1mo)-")
_MARKET = re.compile(r"[A-Z0-9]{2,24}")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Candles:
    """A kline file's rows: ``open_ms`` [ms since the epoch], ``interval_ms``, prices [quote]."""

    name: str
    open_ms: np.ndarray
    interval_ms: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    lines: np.ndarray  # the file line of each row, for messages


def _cell(name: str, row: int, lines: np.ndarray, column: str) -> str:
    return f"{name} row {row + 1} (line {int(lines[row])}), column {column}"


def _rows(data: str | bytes, name: str) -> tuple[list[list[str]], np.ndarray]:
    """The data rows (header dropped after checking it) and their file line numbers."""
    text = decode_text(data, name, limit=MAX_KLINE_BYTES)
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    try:
        table = list(csv.reader(line for _, line in numbered))
    except csv.Error as err:  # a NUL byte, a field over csv's size limit
        raise ScenarioError(name, f"is not a CSV file the lab can read ({err})") from None
    lines = [n for n, _ in numbered]
    if table and not re.fullmatch(r"\s*\d+\s*", table[0][0] if table[0] else ""):
        found = tuple(c.strip().lower().replace(" ", "_") for c in table[0][:len(COLUMNS)])
        if found != COLUMNS:
            raise ScenarioError(f"{name} line {lines[0]}", (
                f"the header must start {','.join(COLUMNS)} (Binance's kline layout), got {','.join(table[0][:7])[:120]}"))
        table, lines = table[1:], lines[1:]
    if len(table) > MAX_KLINE_ROWS:
        raise ScenarioError(name, f"has {len(table):,} rows; the limit is {MAX_KLINE_ROWS:,} (two weeks of 1m candles)")
    if len(table) < 2:
        raise ScenarioError(name, f"has {len(table)} candle row{'s' if len(table) != 1 else ''}; a path needs at least 2")
    for index, row in enumerate(table):
        if len(row) < len(COLUMNS):
            raise ScenarioError(f"{name} row {index + 1} (line {lines[index]})", (
                f"has {len(row)} column{'s' if len(row) != 1 else ''}; a kline row has 12, the first 7 "
                f"being {', '.join(COLUMNS)}"))
    return table, np.asarray(lines)


def _column(table: list[list[str]], lines: np.ndarray, name: str, column: str) -> np.ndarray:
    raw = pd.Series([row[COLUMNS.index(column)].strip() for row in table], dtype=object)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if column.endswith("_time"):  # past the year 9999 in µs is no time (and would overflow int64)
        bad |= (values != np.floor(values)) | (values > MAX_TIME_MS * 1000)
    if bad.any():
        row = int(np.argmax(bad))
        kind = "a whole number of ms or µs up to the year 9999" if column.endswith("_time") else "a price > 0"
        raise ScenarioError(_cell(name, row, lines, column), f"must be {kind}, got {raw[row][:40]!r}")
    return values


def _check_prices(prices: dict[str, np.ndarray], lines: np.ndarray, name: str) -> None:
    low_bad = prices["low"] > np.minimum(prices["open"], prices["close"])
    high_bad = prices["high"] < np.maximum(prices["open"], prices["close"])
    for column, bad, other in (("low", low_bad, "below"), ("high", high_bad, "above")):
        if bad.any():
            row = int(np.argmax(bad))
            raise ScenarioError(_cell(name, row, lines, column), (
                f"{prices[column][row]:g} must not be {'above' if column == 'low' else 'below'} the open "
                f"and close ({prices['open'][row]:g}, {prices['close'][row]:g}): the wick goes {other} them"))


def _times(open_time: np.ndarray, close_time: np.ndarray, lines: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Open times [ms] and the interval [ms]; µs files are converted."""
    micro = open_time > MICROSECONDS
    if micro.any() and not micro.all():
        row = int(np.argmax(micro != micro[0]))
        raise ScenarioError(_cell(name, row, lines, "open_time"), (
            f"is in {'µs' if micro[row] else 'ms'} but row 1 is in {'µs' if micro[0] else 'ms'}"))
    scale = 1000 if micro[0] else 1
    opens = open_time.astype(np.int64)
    spans = close_time.astype(np.int64) - opens + 1
    if spans[0] <= 0 or spans[0] % scale:
        raise ScenarioError(_cell(name, 0, lines, "close_time"), "must be after open_time (close_time = next open − 1)")
    if (spans != spans[0]).any():
        row = int(np.argmax(spans != spans[0]))
        raise ScenarioError(_cell(name, row, lines, "close_time"), (
            f"spans {spans[row] // scale:,} ms, row 1 {spans[0] // scale:,} ms: one file must hold one interval"))
    steps = np.diff(opens)
    problems = (("duplicates the open_time of the row before", steps == 0),
                ("goes back in time: the rows must be sorted by open_time", steps < 0),
                ("is not a whole number of intervals after the row before", steps % spans[0] != 0))
    for problem, bad in problems:
        if bad.any():
            row = int(np.argmax(bad)) + 1
            raise ScenarioError(_cell(name, row, lines, "open_time"), f"{opens[row]} {problem}")
    return opens // scale, int(spans[0] // scale)


def read_candles(data: str | bytes, name: str) -> Candles:
    """One kline CSV, checked: numbers, OHLC order, one interval, sorted, no duplicates."""
    table, lines = _rows(data, name)
    prices = {column: _column(table, lines, name, column) for column in PRICES}
    _check_prices(prices, lines, name)
    opens, interval = _times(_column(table, lines, name, "open_time"), _column(table, lines, name, "close_time"),
                             lines, name)
    return Candles(name=name, open_ms=opens, interval_ms=interval, lines=lines, **prices)


def fill_gaps(candles: Candles) -> tuple[Candles, int]:
    """Missing candles (whole intervals) as flat candles at the previous close, and how many.

    >>> c = Candles(name="x", open_ms=np.array([0, 60000, 240000]), interval_ms=60000,
    ...             open=np.array([1., 2, 3]), high=np.array([1., 2, 3]), low=np.array([1., 2, 3]),
    ...             close=np.array([1., 2, 3]), lines=np.array([1, 2, 3]))
    >>> filled, n = fill_gaps(c)
    >>> n, filled.close.tolist(), filled.low.tolist()
    (2, [1.0, 2.0, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 2.0, 3.0])
    """
    slots = (candles.open_ms - candles.open_ms[0]) // candles.interval_ms
    size = int(slots[-1]) + 1
    if size == len(slots):
        return candles, 0
    if size > MAX_KLINE_ROWS:
        raise ScenarioError(candles.name, (
            f"spans {size:,} candles once its gaps are filled; the limit is {MAX_KLINE_ROWS:,}"))
    present = np.zeros(size, dtype=bool)
    present[slots] = True
    source = np.zeros(size, dtype=np.int64)
    source[slots] = np.arange(len(slots))
    source = np.maximum.accumulate(np.where(present, source, 0))  # the row at or before each slot
    previous = candles.close[source]
    prices = {c: np.where(present, getattr(candles, c)[source], previous) for c in PRICES}
    opens = candles.open_ms[0] + np.arange(size, dtype=np.int64) * candles.interval_ms
    return Candles(name=candles.name, open_ms=opens, interval_ms=candles.interval_ms,
                   lines=candles.lines[source], **prices), size - len(slots)


def _match_mark(trades: Candles, mark: Candles) -> None:
    if mark.interval_ms != trades.interval_ms:
        raise ScenarioError(mark.name, (f"has {mark.interval_ms:,} ms candles, {trades.name} "
                                        f"{trades.interval_ms:,} ms: both files must have one interval"))
    if len(mark.open_ms) != len(trades.open_ms):
        raise ScenarioError(mark.name, (f"has {len(mark.open_ms):,} candles, {trades.name} {len(trades.open_ms):,}: "
                                        "the two files must cover the same candles"))
    differ = mark.open_ms != trades.open_ms
    if differ.any():
        row = int(np.argmax(differ))
        raise ScenarioError(_cell(mark.name, row, mark.lines, "open_time"), (
            f"is {mark.open_ms[row]}, but {trades.name} row {row + 1} is {trades.open_ms[row]}: "
            "the two files must cover the same candles"))


def clean_file_name(file_name: str) -> str:
    """A user's file name as the crash's label may show it: no folders, at most 80 characters,
    letters, digits, dots and hyphens only (no Markdown or HTML can ride in on it).

    >>> clean_file_name("/home/me/*BTCUSDT*-1m-2025-10-10 <b>.csv")
    '-BTCUSDT--1m-2025-10-10--b-.csv'
    """
    base = re.split(r"[\\/]", str(file_name))[-1]
    return re.sub(r"[^A-Za-z0-9.-]", "-", base)[:80] or "klines.csv"


def _market(market: str | None, file_name: str) -> tuple[str, list[str]]:
    if market is not None:
        if not _MARKET.fullmatch(market):
            raise ScenarioError("market", f"must be a symbol such as BTCUSDT, got {str(market)[:40]!r}")
        return market, []
    found = _FILE_SYMBOL.match(file_name)
    if found:
        return found.group(1), []
    return REFERENCE_MARKET, [f"The market is not in the file name ({file_name}); the candles are taken as "
                              f"{REFERENCE_MARKET}."]


def _wick(wick: str, low: np.ndarray, high: np.ndarray) -> str:
    if wick not in WICKS:
        raise ScenarioError("wick", f"must be one of {', '.join(WICKS)}, got {wick!r}")
    if wick != "auto":
        return wick
    return "low" if 1.0 - low.min() >= high.max() - 1.0 else "high"


def _when(ms: int, date: bool = True) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M" if date else "%H:%M")


def _series(market: str, mark: np.ndarray, last: np.ndarray, low: np.ndarray, high: np.ndarray
            ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float], list[str]]:
    """The crash's series per market, with an implied BTCUSDT when the candles are another market's."""
    series = {"mark": {market: mark}, "last": {market: last}, "low": {market: low}, "high": {market: high}}
    beta = float(market_defaults()["markets"].get(market, {}).get("beta", 1.0))
    betas = {market: beta}
    notes = []
    if market != REFERENCE_MARKET:
        for kind in series:
            series[kind][REFERENCE_MARKET] = np.maximum(1.0 + (series[kind][market] - 1.0) / beta, MIN_MULTIPLIER)
        betas[REFERENCE_MARKET] = 1.0
        notes.append(f"Your account's other markets move with {market}, scaled by their beta relative to its "
                     f"({beta:g}); an implied BTCUSDT path, 1 + ({market} − 1) / {beta:g}, carries them.")
    return series, betas, notes


def _describe(market: str, interval: str, file_names: list[str], start: int, end: int, count: int,
              mark_given: bool, wick: str) -> tuple[str, str, str]:
    """The crash's name, label and shaped-after line: imported real data, its files and range."""
    same_day = _when(start)[:10] == _when(end)[:10]
    span = f"{_when(start)} to {_when(end, date=not same_day)} UTC"
    files = " and ".join(file_names)
    name = f"Imported candles: {market} {interval}, {span}"
    label = (f"Imported real market data: {market} {interval} candles from {files}, {span} ({count:,} candles). "
             f"Mark: the {'mark-price candles' if mark_given else 'candles'}' close; last price: the candles' "
             f"{'lows' if wick == 'low' else 'highs'}.")
    shaped_after = f"Your own {market} candles: {count:,} candles of {interval}, {span}."
    return name, label, shaped_after


def read_klines(trades: str | bytes, *, mark: str | bytes | None = None, file_name: str = "klines.csv",
                mark_file_name: str = "markPriceKlines.csv", market: str | None = None,
                wick: str = "auto") -> Crash:
    """A crash path from a kline CSV (and, optionally, its markPriceKlines CSV).

    ``market`` defaults to the symbol in ``file_name`` (``BTCUSDT-1m-2025-10-10.csv``), else
    BTCUSDT; ``wick`` is ``"auto"``, ``"low"`` or ``"high"`` (see the module). Raises
    :class:`ScenarioError` naming the file, row, line and column of the first problem.
    """
    file_name, mark_file_name = clean_file_name(file_name), clean_file_name(mark_file_name)
    market, notes = _market(market, file_name)
    candles = read_candles(trades, file_name)
    mark_candles = read_candles(mark, mark_file_name) if mark is not None else None
    if mark_candles is not None:
        _match_mark(candles, mark_candles)
        mark_candles, _ = fill_gaps(mark_candles)
    candles, filled = fill_gaps(candles)
    if filled:
        notes.append(f"{filled:,} missing candle{'s' if filled != 1 else ''} filled as flat candles at the "
                     "previous close (no candle, no trade: the price stands).")
    notes.append("The path starts at the first candle's close: that candle's own wick is not in it.")
    start = candles.close[0]
    low, high = candles.low / start, candles.high / start
    low[0] = high[0] = 1.0
    side = _wick(wick, low, high)
    mark_close = (mark_candles if mark_candles is not None else candles).close
    series, betas, market_notes = _series(market, mark_close / mark_close[0], low if side == "low" else high, low, high)
    interval = INTERVALS.get(candles.interval_ms, f"{candles.interval_ms / 60_000:g}min")
    end = int(candles.open_ms[-1]) + candles.interval_ms
    files = [file_name] + ([mark_file_name] if mark is not None else [])
    name, label, shaped_after = _describe(market, interval, files, int(candles.open_ms[0]), end,
                                          len(candles.close), mark is not None, side)
    parameters = {"market": market, "interval": interval, "interval_ms": candles.interval_ms,
                  "start_ms": int(candles.open_ms[0]), "end_ms": end, "candles": len(candles.close),
                  "filled": filled, "wick": side, "files": files, "low": series["low"], "high": series["high"],
                  "notes": notes + market_notes}
    return Crash(id=IMPORTED_ID, name=name, shaped_after=shaped_after,
                 source=f"Your file{'s' if len(files) > 1 else ''} {' and '.join(files)}, read in the kline layout "
                        "of Binance's public data archive (data.binance.vision).",
                 label=label, step_minutes=candles.interval_ms / 60_000, betas=betas,
                 mark=series["mark"], last=series["last"], parameters=parameters)
