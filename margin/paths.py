"""Price paths: mark prices along a path, from columns or from the path CSV.

Header ``step,<MARKET>,<MARKET>,...``, one row per step of mark prices; a market missing from
the header keeps the scenario's price. At most :data:`MAX_PATH_BYTES` of CSV and
:data:`MAX_PATH_ROWS` rows. Optional columns: ``hours`` (time since the start [h],
non-decreasing) and ``funding.<MARKET>`` (that market's funding rate [fraction per interval]
at each row, used at the funding times; needs ``hours``): see :mod:`margin.funding`.

>>> path = parse_path_csv("step,BTC" + chr(10) + "0,100" + chr(10) + "1,95")
>>> path.markets, path.marks[:, 0].tolist()
(('BTC',), [100.0, 95.0])
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from margin.fields import ScenarioError, decode_text, read_bytes, size_words
from margin.scenario import Scenario
from margin.limits import MAX_FUNDING_RATE, MAX_PATH_BYTES, MAX_PATH_ROWS  # noqa: F401  (the bounds live in margin.limits)

HOURS = "hours"
FUNDING_PREFIX = "funding."

@dataclass(frozen=True, slots=True, kw_only=True)
class PricePath:
    """Mark prices along a path: ``marks[t, j]`` [quote per base] of ``markets[j]`` at row t.

    ``steps`` labels each row (the CSV's ``step`` column). ``hours`` [h since the start] gives
    the rows a time (``None``: no time, so no funding); ``funding[m]`` is market m's funding
    rate at each row [fraction per interval] (:mod:`margin.funding`). ``continuous``: the
    price moves in a straight line from one row to the next (the lab's walk), so a stop fills
    at its trigger; otherwise each row is a print the price jumps to (a crash's candles, the
    stress lab's steps, the cascade's rounds, a path file) and a stop passed between two rows
    fills at the later row's price with its slippage (:mod:`margin.orders`).
    """

    steps: np.ndarray
    markets: tuple[str, ...]
    marks: np.ndarray
    hours: np.ndarray | None = None
    funding: Mapping[str, np.ndarray] = field(default_factory=dict)
    continuous: bool = False


def price_path(marks: dict[str, Sequence[float]] | dict[str, np.ndarray],
               steps: Sequence[int] | None = None, *, hours: Sequence[float] | None = None,
               funding: Mapping[str, Sequence[float]] | None = None) -> PricePath:
    """Build a validated path from columns of mark prices, optionally with each row's time
    ``hours`` [h] and funding rate series by market [fraction per interval]."""
    names = tuple(marks)
    if not names:
        raise ScenarioError("path", "needs at least one market column")
    matrix = np.column_stack([np.asarray(marks[n], dtype=float) for n in names])
    n = matrix.shape[0]
    if n == 0:
        raise ScenarioError("path", "has no rows")
    labels = np.arange(n) if steps is None else np.asarray(steps)
    return _checked_path(PricePath(
        steps=labels, markets=names, marks=matrix,
        hours=None if hours is None else np.asarray(hours, dtype=float),
        funding={str(k): np.asarray(v, dtype=float) for k, v in (funding or {}).items()}))


def _checked_path(path: PricePath) -> PricePath:
    bad = ~np.isfinite(path.marks) | (path.marks <= 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        value = path.marks[row, col]
        problem = "must be a finite number" if not np.isfinite(value) else f"must be > 0, got {value:g}"
        raise ScenarioError(f"path[{row}].{path.markets[col]}", problem)
    n = path.marks.shape[0]
    if path.hours is not None:
        hours = np.asarray(path.hours, dtype=float)
        if hours.shape != (n,):
            raise ScenarioError("path.hours", f"needs one time per row ({n:,}), got {hours.size:,}")
        bad_time = ~np.isfinite(hours) | (hours < 0)
        if bad_time.any():
            row = int(np.argmax(bad_time))
            raise ScenarioError(f"path[{row}].hours", f"must be a finite number ≥ 0, got {hours[row]:g}")
        back = np.diff(hours) < 0
        if back.any():
            row = int(np.argmax(back)) + 1
            raise ScenarioError(f"path[{row}].hours", f"must not go back in time ({hours[row]:g} after {hours[row - 1]:g})")
    if path.funding and path.hours is None:
        raise ScenarioError("path", f"{FUNDING_PREFIX}{next(iter(path.funding))} needs an '{HOURS}' column: "
                            "funding is charged by time")
    for name, series in path.funding.items():
        where = f"{FUNDING_PREFIX}{name}"
        rates = np.asarray(series, dtype=float)
        if rates.shape != (n,):
            raise ScenarioError(f"path.{where}", f"needs one rate per row ({n:,}), got {rates.size:,}")
        bad_rate = ~np.isfinite(rates) | (np.abs(rates) > MAX_FUNDING_RATE)
        if bad_rate.any():
            row = int(np.argmax(bad_rate))
            raise ScenarioError(f"path[{row}].{where}",
                                f"must be a rate in [-{MAX_FUNDING_RATE:g}, {MAX_FUNDING_RATE:g}], got {rates[row]:g}")
    return path


def parse_path_csv(text: str) -> PricePath:
    """Parse the path CSV: header ``step,<MARKET>,...``, one row per step of mark prices."""
    if len(text) > MAX_PATH_BYTES:
        raise ScenarioError("path", f"file is {len(text):,} bytes; the limit is {size_words(MAX_PATH_BYTES)}")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip() != "step":
        raise ScenarioError("path", "the header must start with 'step'")
    names = [h.strip() for h in header[1:]]
    if not names:
        raise ScenarioError("path", "needs at least one market column after 'step'")
    if len(set(names)) != len(names):
        raise ScenarioError("path", "has a market column twice")
    try:
        with warnings.catch_warnings():
            # a row longer than the header is an error here, not a warning and a dropped value
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=float, skipinitialspace=True, index_col=False)
    except pd.errors.ParserWarning:
        raise ScenarioError("path", f"every row must have {len(names) + 1} columns, like the header") from None
    except pd.errors.ParserError as err:
        raise ScenarioError("path", f"is not a well-formed CSV ({str(err).splitlines()[0]})") from None
    except ValueError as err:  # pandas reports the offending text
        raise ScenarioError("path", f"has a value that is not a number ({str(err).splitlines()[0]})") from None
    table = frame.to_numpy(dtype=float)
    if table.shape[0] == 0:
        raise ScenarioError("path", "has no rows")
    if table.shape[0] > MAX_PATH_ROWS:
        raise ScenarioError("path", f"has {table.shape[0]:,} rows; the limit is {MAX_PATH_ROWS:,}")
    missing = np.argwhere(np.isnan(table))
    if missing.size:
        row, col = map(int, missing[0])
        raise ScenarioError(f"path[{row}].{(['step'] + names)[col]}", "is empty or not a number")
    steps = table[:, 0]
    labels = steps.astype(np.int64) if np.all(steps == np.round(steps)) else steps
    columns = table[:, 1:]
    price_cols = [k for k, n in enumerate(names) if n != HOURS and not n.startswith(FUNDING_PREFIX)]
    if not price_cols:
        raise ScenarioError("path", "needs at least one market column after 'step'")
    hours = columns[:, names.index(HOURS)] if HOURS in names else None
    funding = {n[len(FUNDING_PREFIX):]: columns[:, k] for k, n in enumerate(names) if n.startswith(FUNDING_PREFIX)}
    return _checked_path(PricePath(steps=labels, markets=tuple(names[k] for k in price_cols),
                                   marks=columns[:, price_cols], hours=hours, funding=funding))


def load_path(source: str | Path) -> PricePath:
    """The path CSV in file ``source`` (at most 200 MB of UTF-8)."""
    return parse_path_csv(decode_text(read_bytes(source, limit=MAX_PATH_BYTES, what="path"), "path",
                                      limit=MAX_PATH_BYTES))


def path_matrix(scenario: Scenario, path: PricePath) -> np.ndarray:
    """Mark prices ``(N, M)`` in the scenario's market order; absent markets keep their price."""
    unknown = [m for m in path.markets if m not in scenario.markets]
    unknown += [f"{FUNDING_PREFIX}{m}" for m in path.funding if m not in scenario.markets]
    if unknown:
        raise ScenarioError("path", f"unknown market {unknown[0]!r} (markets: {', '.join(scenario.markets)})")
    n = path.marks.shape[0]
    matrix = np.empty((n, len(scenario.markets)))
    for j, name in enumerate(scenario.markets):
        if name in path.markets:
            matrix[:, j] = path.marks[:, path.markets.index(name)]
        else:
            matrix[:, j] = scenario.markets[name].price
    return matrix


