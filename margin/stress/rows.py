"""A chunk's paths as the stress walk reads them: the marks [quote per base] given
(:class:`MarkRows`), or found from the running log-returns only where they are read
(:class:`LogRows`), bit for bit :meth:`margin.stress.sampler.Sampler.to_marks`'s.

Most of a run's near paths are searched for an isolated position's threshold and then
settled at a row or two: :meth:`LogRows.beyond` compares the log-returns with the threshold's
log at each step, and turns into a mark only a log-return within ``EDGE_PAD`` of it, so the
search's rows are those of comparing every mark, without an exponential per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from margin.stress.spec import MIN_LOG_PRICE

#: [ln] a log-return this close to a threshold's log is judged on its mark: far above the
#: rounding of ``log``, ``exp`` and ``×`` (~1e-15 for the log-returns a run can reach).
EDGE_PAD = 1e-9


class PathMarks:
    """One path's marks ``values`` ``(rows, markets)`` [quote per base], given."""

    __slots__ = ("values", "n_rows")

    def __init__(self, values: np.ndarray):
        self.values = values
        self.n_rows = values.shape[0]

    def row(self, at: int) -> np.ndarray:
        """The marks at row ``at`` ``(markets,)``."""
        return self.values[at]

    def all(self) -> np.ndarray:
        """Every row's marks ``(rows, markets)``."""
        return self.values


class LogPath(PathMarks):
    """One path's marks from its running log-returns ``log`` ``(markets, rows)`` and the
    sampler's ``scale`` ``(markets, rows)``: a row at a time, or all at once when asked."""

    __slots__ = ("log", "scale", "made")

    def __init__(self, log: np.ndarray, scale: np.ndarray):
        self.log, self.scale = log, scale
        self.n_rows = log.shape[1]
        self.made: np.ndarray | None = None  # every row's marks, once asked for

    def row(self, at: int) -> np.ndarray:
        return np.exp(np.maximum(self.log[:, at], MIN_LOG_PRICE)) * self.scale[:, at]

    def all(self) -> np.ndarray:
        if self.made is None:
            self.made = (np.exp(np.maximum(self.log, MIN_LOG_PRICE)) * self.scale).T
        return self.made


class MarkRows:
    """A chunk's marks, given: ``prices`` ``(markets, paths, rows)`` [quote per base], with
    bounds ``low``, ``high`` ``(markets, paths)`` on each path's marks after step 0, if known."""

    def __init__(self, prices: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None):
        self.prices, self.low, self.high = prices, low, high
        self.n_rows = prices.shape[2]

    def reaches(self, col: int, threshold: float, long: bool, paths: np.ndarray) -> np.ndarray:
        """Which of ``paths`` may have market ``col``'s mark at or beyond ``threshold`` (at or
        below it, ``long``) after step 0, by their bounds: the others cannot (all, unknown)."""
        if self.low is None or self.high is None:
            return np.ones(paths.shape[0], dtype=bool)
        return self.low[col][paths] <= threshold if long else self.high[col][paths] >= threshold

    def marks(self, paths: np.ndarray) -> np.ndarray:
        """The marks ``(markets, len(paths), rows)`` of the chunk's paths ``paths`` (indices)."""
        return self.prices[:, paths, :]

    def beyond(self, col: int, threshold: float, long: bool, paths: np.ndarray) -> np.ndarray:
        """Whether market ``col``'s mark is at or below ``threshold`` (``long``), else at or
        above it, at each row of each of ``paths`` ``(len(paths), rows)``."""
        column = self.prices[col][paths]
        return column <= threshold if long else column >= threshold

    def path(self, n: int) -> PathMarks:
        return PathMarks(self.prices[:, n, :].T)


class LogRows(MarkRows):
    """A chunk's paths as running log-returns ``log`` ``(markets, paths, rows)``
    (:meth:`margin.stress.sampler.Sampler.fill_log_range`), read in place: marks are made
    only of the paths, rows or log-returns near a threshold asked for."""

    def __init__(self, sampler: Any, log: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None):
        self.sampler, self.log, self.low, self.high = sampler, log, low, high
        self.scale = sampler.scale[:, 0, :]
        self.n_rows = log.shape[2]

    def marks(self, paths: np.ndarray) -> np.ndarray:
        rows = self.log[:, paths, :]  # a copy: the chunk's log-returns stay for the other variants
        return self.sampler.to_marks(rows, out=rows)

    def beyond(self, col: int, threshold: float, long: bool, paths: np.ndarray) -> np.ndarray:
        """As :meth:`MarkRows.beyond`, from the log-returns: the mark at row k is
        ``exp(max(c, MIN_LOG_PRICE)) × scale_k``, increasing in ``c``, so a ``c`` more than
        ``EDGE_PAD`` below ``log(threshold / scale_k)`` has its mark below the threshold, one
        more than ``EDGE_PAD`` above has it above; only those between are exponentiated."""
        scale = self.scale[col]
        with np.errstate(divide="ignore", invalid="ignore"):
            edge = np.log(threshold / scale) if threshold > 0 else None
        if edge is None or not (np.isfinite(edge).all() and edge.min() - EDGE_PAD > MIN_LOG_PRICE):
            column = self.marks(paths)[col]  # a threshold at the ends of what a mark can be
            return column <= threshold if long else column >= threshold
        c = self.log[col][paths]
        low, high = edge - EDGE_PAD, edge + EDGE_PAD
        sure, maybe = (c < low, c <= high) if long else (c > high, c >= low)
        if np.count_nonzero(maybe) != np.count_nonzero(sure):  # some log-return in the band (rare)
            band = np.flatnonzero(sure != maybe)
            p, k = np.divmod(band, c.shape[1])
            mark = np.exp(np.maximum(c[p, k], MIN_LOG_PRICE)) * scale[k]
            sure[p, k] = mark <= threshold if long else mark >= threshold
        return sure

    def path(self, n: int) -> PathMarks:
        return LogPath(self.log[:, n, :], self.scale)


__all__ = ["EDGE_PAD", "LogPath", "LogRows", "MarkRows", "PathMarks"]
