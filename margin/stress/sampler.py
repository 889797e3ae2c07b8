"""Drawing the random paths: seeded blocks, drawn in chunks into reused buffers."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from margin.account import price_vector
from margin.fields import ScenarioError
from margin.paths import PricePath
from margin.scenario import Scenario
from margin.stress.spec import BLOCK_PATHS, MIN_LOG_PRICE, StressSpec, check_markets, correlation_factor

BOUND_PAD = 1e-12  # relative widening of :meth:`Sampler.mark_bounds` (rounding is ~1e-16)


def _streams(seed: int, block: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The ``z`` and ``W`` generators of one block of paths."""
    return (np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, 0))),
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, 1))))


def sample_prices(spec: StressSpec, start_prices: Sequence[float] | np.ndarray, first: int = 0,
                  count: int | None = None) -> np.ndarray:
    """Mark prices of paths ``first .. first + count − 1``: shape ``(markets, paths, steps + 1)``
    [quote per base]; column 0 is ``start_prices``, column k the mark k steps later.

    Markets lie on the first axis so that every per-market operation runs over contiguous
    memory.

    >>> spec = StressSpec(markets=("X",), volatility=(0.0,), correlation=((1.0,),), n_steps=3)
    >>> sample_prices(spec, [100.0], count=2).tolist()
    [[[100.0, 100.0, 100.0, 100.0], [100.0, 100.0, 100.0, 100.0]]]
    """
    count = spec.n_paths - first if count is None else count
    return Sampler(spec, start_prices, count).fill(first, count).copy()


class Sampler:
    """Draws chunks of paths into buffers it keeps, so that a long run does not pay for fresh
    memory (page faults) on every chunk. ``buffers`` output arrays are used in turn: a chunk
    stays valid until ``buffers`` more chunks have been drawn. ``workers`` threads may fill
    disjoint path ranges of one chunk at once, each with its own scratch block."""

    def __init__(self, spec: StressSpec, start_prices: Sequence[float] | np.ndarray, max_paths: int,
                 buffers: int = 1, workers: int = 1):
        self.spec = spec
        n_markets, n_steps = len(spec.markets), spec.n_steps
        self.start = np.asarray(start_prices, dtype=float)
        vol = np.asarray(spec.volatility, dtype=float)
        dt = spec.dt_years
        # σ√dt L turns independent unit shocks into correlated log-returns (before the drift).
        self.factor = np.sqrt(dt) * vol[:, None] * correlation_factor(np.array(spec.correlation))
        # Start price and drift −½σ²dt per step (it makes each normal mark a martingale).
        self.scale = (self.start[:, None] * np.exp(-0.5 * (vol**2 * dt)[:, None] * np.arange(n_steps + 1)))[:, None, :]
        self.work = [(np.empty((BLOCK_PATHS, n_markets, n_steps)), np.empty((BLOCK_PATHS, n_steps)))
                     for _ in range(workers)]  # one block each: it stays in cache
        self.outputs = [np.empty((n_markets, max_paths, n_steps + 1)) for _ in range(buffers)]
        self.turn = 0

    def release(self) -> None:
        """Drop the output and work buffers (a run's largest arrays, ~CHUNK_BYTES each)."""
        self.outputs, self.work = [], []

    def next_buffer(self, count: int) -> np.ndarray:
        out = self.outputs[self.turn][:, :count, :]
        self.turn = (self.turn + 1) % len(self.outputs)
        return out

    def fill(self, first: int, count: int) -> np.ndarray:
        """Paths ``first .. first + count − 1`` into the next buffer, on this thread."""
        out = self.next_buffer(count)
        self.fill_range(out, first, first, count)
        return out

    def fill_range(self, out: np.ndarray, out_first: int, first: int, count: int, worker: int = 0) -> None:
        """Paths ``first .. first + count − 1`` into their columns of ``out`` (whose column 0
        is path ``out_first``) as mark prices."""
        self.fill_log_range(out, out_first, first, count, worker)
        target = out[:, first - out_first:first - out_first + count, :]
        self.to_marks(target, out=target)

    def to_marks(self, log: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Mark prices [quote per base] from running log-returns ``log`` ``(markets, paths,
        steps + 1)`` (:meth:`fill_log_range`), into ``out`` (may be ``log`` itself). Every
        operation is elementwise, so any subset of paths gives the bits the whole chunk would."""
        np.maximum(log, MIN_LOG_PRICE, out=out)
        np.exp(out, out=out)
        out *= self.scale
        return out

    def last_marks(self, log: np.ndarray) -> np.ndarray:
        """The marks at the horizon ``(paths, markets)`` [quote per base] of running
        log-returns ``log`` ``(markets, paths, steps + 1)``: the bits of :meth:`to_marks`'s last column."""
        last = np.maximum(log[:, :, -1], MIN_LOG_PRICE)
        np.exp(last, out=last)
        last *= self.scale[:, :, -1]
        return last.T

    def mark_bounds(self, log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds ``(markets, paths)`` [quote per base] on each market's marks after step 0 on
        each path, from the running log-returns ``log`` without exponentiating every step: the
        mark at step k is ``exp(max(c_k, MIN_LOG_PRICE)) × scale_k``, increasing in ``c_k``,
        so it lies between the least ``c`` at the least ``scale`` and the greatest ``c`` at the
        greatest ``scale``, widened by ``BOUND_PAD`` for the rounding of ``exp`` and ``×``."""
        after = log[:, :, 1:]
        low = np.maximum(np.minimum.reduce(after, axis=2), MIN_LOG_PRICE)
        high = np.maximum(np.maximum.reduce(after, axis=2), MIN_LOG_PRICE)
        scale = self.scale[:, 0, 1:]
        np.exp(low, out=low)
        np.exp(high, out=high)
        low *= scale.min(axis=1, initial=np.inf)[:, None] * (1.0 - BOUND_PAD)
        high *= scale.max(axis=1, initial=0.0)[:, None] * (1.0 + BOUND_PAD)
        return low, high

    def fill_log_range(self, out: np.ndarray, out_first: int, first: int, count: int, worker: int = 0) -> None:
        """Paths ``first .. first + count − 1`` into their columns of ``out`` (whose column 0
        is path ``out_first``) as running log-returns before the drift [ln]: column k is the sum
        of the path's first k correlated shocks (:meth:`to_marks` turns them into marks)."""
        spec = self.spec
        n_markets, n_steps = len(spec.markets), spec.n_steps
        target = out[:, first - out_first:first - out_first + count, :]
        target[:, :, 0] = 0.0
        shocks_buffer, scratch_buffer = self.work[worker]
        for block in range(first // BLOCK_PATHS, (first + count - 1) // BLOCK_PATHS + 1):
            base = block * BLOCK_PATHS
            low, high = max(first, base), min(first + count, base + BLOCK_PATHS)
            z_stream, w_stream = _streams(spec.seed, block)
            shocks = shocks_buffer[:high - low]
            # Draw the block's prefix up to the last path wanted: the same numbers as the whole
            # block would give, so neither chunking nor the number of paths changes a path.
            if low == base:
                z_stream.standard_normal(out=shocks)
            else:
                shocks[...] = z_stream.standard_normal((high - base, n_markets, n_steps))[low - base:]
            if spec.model == "student_t":
                w = w_stream.chisquare(spec.dof, (high - base, n_steps))[low - base:]
                shocks *= np.sqrt((spec.dof - 2.0) / w)[:, None, :]
            # Correlate while the block is in cache: log-return of market j = Σ_k factor[j, k] z_k.
            # Every operation here and below is elementwise or a running sum along one path, so a
            # path's numbers do not depend on how many paths share the array.
            scratch = scratch_buffer[:high - low]
            for j in range(n_markets):
                mixed = target[j, low - first:high - first, 1:]
                np.multiply(shocks[:, 0, :], self.factor[j, 0], out=mixed)
                for k in range(1, n_markets):
                    if self.factor[j, k] != 0.0:
                        np.multiply(shocks[:, k, :], self.factor[j, k], out=scratch)
                        mixed += scratch
        np.cumsum(target, axis=-1, out=target)


def sample_path(scenario: Scenario, spec: StressSpec, index: int) -> PricePath:
    """Path ``index`` of the run as a :class:`PricePath` (rows = steps 0 .. n_steps, each with
    its time [h], so a market's funding rate is charged), ready for :func:`margin.simulate.simulate`."""
    check_markets(scenario, spec)
    if not 0 <= index < spec.n_paths:
        raise ScenarioError("path", f"must be in [0, {spec.n_paths - 1}], got {index}")
    marks = sample_prices(spec, price_vector(scenario), index, 1)[:, 0, :].T
    return PricePath(steps=np.arange(spec.n_steps + 1), markets=spec.markets, marks=np.ascontiguousarray(marks),
                     hours=np.arange(spec.n_steps + 1) * spec.step_minutes / 60.0)
