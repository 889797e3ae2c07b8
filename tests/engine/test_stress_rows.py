"""The stress walk's rows read from the log-returns (margin.stress.rows) give the bits of
comparing and reading every mark the sampler would make: at a threshold equal to a mark (a
tie), with the band around a threshold's log wide enough that most comparisons go through it,
and at thresholds beyond what a mark can be."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import margin.stress.rows as rows_module
from margin.stress import StressSpec
from margin.stress.rows import LogRows, MarkRows
from margin.stress.sampler import Sampler


def _chunk(seed: int, n_paths: int = 40, n_steps: int = 120, vol: float = 2.0):
    spec = StressSpec(markets=("X", "Y"), volatility=(vol, vol), correlation=((1.0, 0.5), (0.5, 1.0)),
                      n_steps=n_steps, n_paths=n_paths, horizon_days=5, seed=seed)
    sampler = Sampler(spec, [60_000.0, 3_000.0], n_paths)
    log = sampler.next_buffer(n_paths)
    sampler.fill_log_range(log, 0, 0, n_paths)
    marks = sampler.to_marks(log.copy(), out=np.empty_like(log))
    low, high = sampler.mark_bounds(log)
    return sampler, log, marks, low, high


def _thresholds(marks: np.ndarray, rng: np.random.Generator) -> list[float]:
    """Marks themselves (ties), points between them, and ends no mark reaches."""
    column = marks[0].ravel()
    picked = [float(v) for v in rng.choice(column, 6)]
    return picked + [float(np.nextafter(v, np.inf)) for v in picked[:3]] + [1e-300, 1e300, float(column.mean())]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), wide=st.booleans())
def test_beyond_from_log_returns_is_comparing_every_mark(seed, wide):
    sampler, log, marks, low, high = _chunk(seed)
    rng = np.random.default_rng(seed)
    paths = np.sort(rng.choice(log.shape[1], 25, replace=False))
    given_rows, log_rows = MarkRows(marks, low, high), LogRows(sampler, log, low, high)
    pad = rows_module.EDGE_PAD
    rows_module.EDGE_PAD = 0.3 if wide else pad  # wide: most log-returns fall in the band
    try:
        for col in (0, 1):
            for threshold in _thresholds(marks[col:], rng):
                for long in (True, False):
                    want = given_rows.beyond(col, threshold, long, paths)
                    got = log_rows.beyond(col, threshold, long, paths)
                    assert np.array_equal(got, want), (col, threshold, long)
                    reach = log_rows.reaches(col, threshold, long, paths)
                    assert not want[~reach][:, 1:].any()  # a path its bounds rule out has no hit
    finally:
        rows_module.EDGE_PAD = pad


def test_a_paths_marks_read_a_row_at_a_time_are_the_samplers():
    sampler, log, marks, low, high = _chunk(3)
    log_rows = LogRows(sampler, log, low, high)
    for n in (0, 7, 39):
        path = log_rows.path(n)
        assert path.n_rows == marks.shape[2]
        for at in (0, 1, 60, marks.shape[2] - 1):
            assert path.row(at).tobytes() == marks[:, n, at].tobytes()
        assert np.ascontiguousarray(path.all()).tobytes() == np.ascontiguousarray(marks[:, n, :].T).tobytes()
    picked = np.array([2, 5, 30])
    assert log_rows.marks(picked).tobytes() == marks[:, picked, :].tobytes()
    assert log[:, 0, 0].tolist() == [0.0, 0.0]  # read in place, the log-returns stay


@pytest.mark.parametrize("long", [True, False])
def test_ties_in_the_band_are_judged_on_the_mark(long):
    """A threshold equal to a mark is a hit (at or beyond); its log-return is always in the band."""
    sampler, log, marks, low, high = _chunk(11)
    log_rows = LogRows(sampler, log, low, high)
    paths = np.arange(log.shape[1])
    threshold = float(marks[0, 4, 50])
    got = log_rows.beyond(0, threshold, long, paths)
    assert got[4, 50]
    assert np.array_equal(got, marks[0] <= threshold if long else marks[0] >= threshold)
