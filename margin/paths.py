"""Price paths: mark prices along a path, from columns or from the path CSV.

Header ``step,<MARKET>,<MARKET>,...``, one row per step of mark prices; a market missing from
the header keeps the scenario's price. At most :data:`MAX_PATH_BYTES` of CSV and
:data:`MAX_PATH_ROWS` rows.

>>> path = parse_path_csv("step,BTC" + chr(10) + "0,100" + chr(10) + "1,95")
>>> path.markets, path.marks[:, 0].tolist()
(('BTC',), [100.0, 95.0])
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from margin.fields import ScenarioError, decode_text, read_bytes, size_words
from margin.scenario import Scenario
from margin.limits import MAX_PATH_BYTES, MAX_PATH_ROWS  # noqa: F401  (the bounds live in margin.limits)


@dataclass(frozen=True, slots=True, kw_only=True)
class PricePath:
    """Mark prices along a path: ``marks[t, j]`` [quote per base] of ``markets[j]`` at row t.

    ``steps`` labels each row (the CSV's ``step`` column).
    """

    steps: np.ndarray
    markets: tuple[str, ...]
    marks: np.ndarray


def price_path(marks: dict[str, Sequence[float]] | dict[str, np.ndarray],
               steps: Sequence[int] | None = None) -> PricePath:
    """Build a validated path from columns of mark prices."""
    names = tuple(marks)
    if not names:
        raise ScenarioError("path", "needs at least one market column")
    matrix = np.column_stack([np.asarray(marks[n], dtype=float) for n in names])
    n = matrix.shape[0]
    if n == 0:
        raise ScenarioError("path", "has no rows")
    labels = np.arange(n) if steps is None else np.asarray(steps)
    return _checked_path(PricePath(steps=labels, markets=names, marks=matrix))


def _checked_path(path: PricePath) -> PricePath:
    bad = ~np.isfinite(path.marks) | (path.marks <= 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        value = path.marks[row, col]
        problem = "must be a finite number" if not np.isfinite(value) else f"must be > 0, got {value:g}"
        raise ScenarioError(f"path[{row}].{path.markets[col]}", problem)
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
    return _checked_path(PricePath(steps=labels, markets=tuple(names), marks=table[:, 1:]))


def load_path(source: str | Path) -> PricePath:
    """The path CSV in file ``source`` (at most 200 MB of UTF-8)."""
    return parse_path_csv(decode_text(read_bytes(source, limit=MAX_PATH_BYTES, what="path"), "path",
                                      limit=MAX_PATH_BYTES))


def path_matrix(scenario: Scenario, path: PricePath) -> np.ndarray:
    """Mark prices ``(N, M)`` in the scenario's market order; absent markets keep their price."""
    unknown = [m for m in path.markets if m not in scenario.markets]
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


