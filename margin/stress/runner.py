"""Walking the account variants along every path, and what the runs show."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np

from margin.account import price_vector
from margin.scenario import Scenario, scenario_to_dict
from margin.scenario_writer import canonical_json
from margin.settle import Event
from margin.stress.sampler import Sampler, sample_prices
from margin.stress.results import VariantStress
from margin.stress.rows import LogRows
from margin.stress.variant import VariantRunner, _Outcome, path_ranges  # noqa: F401 (VariantRunner re-exported)
from margin.stress.spec import (
    BLOCK_PATHS, SAMPLER_THREADS, StressSpec, check_markets, chunk_paths_for,
)
from margin.variants import arrived_scenarios

Progress = Callable[[int, int], None]



@dataclass(frozen=True, slots=True, kw_only=True)
class StressResult:
    """A stress run: the spec, the starting marks and every variant's results."""

    spec: StressSpec
    start_prices: tuple[float, ...]
    variants: Mapping[str, VariantStress]
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"spec": self.spec.as_dict(), "seconds": self.seconds,
                "variants": {label: v.summary() for label, v in self.variants.items()}}


def _variant_key(scenario: Scenario) -> str:
    raw = scenario_to_dict(scenario)
    return canonical_json({k: raw[k] for k in ("balance", "rules", "markets", "positions")})


def run_stress(scenario: Scenario, spec: StressSpec, *,
               variants: Mapping[str, Scenario] | None = None, chunk_paths: int | None = None,
               progress: Progress | None = None, keep_events: bool = False) -> StressResult:
    """Simulate ``spec.n_paths`` paths and walk each account variant along every one.

    ``variants`` defaults to :func:`margin.variants.arrived_scenarios` (as built, all cross,
    all isolated, each as it arrives at today's prices from its positions' entries: a position
    that would have died on the way is not in it, and its variant's ``closed_on_arrival``
    names it); all see the same paths. Chunks of ``chunk_paths`` paths (whole blocks;
    default: about ``CHUNK_BYTES`` per array) bound the memory; ``progress(done, total)`` is
    called after each chunk. Identical variants are walked once.
    """
    check_markets(scenario, spec)
    started = time.perf_counter()
    closed: dict[str, tuple[str, ...]] = {}
    if variants is None:
        variants = arrived_scenarios(scenario)
        closed = {label: tuple(p.id for p in scenario.positions
                               if p.id not in {q.id for q in variant.positions}) for label, variant in variants.items()}
    variants = dict(variants)
    for variant in variants.values():
        check_markets(variant, spec)
    runners, shared = _distinct_runners(variants, spec.step_minutes / 60.0)
    chunk_paths = chunk_paths_for(spec) if chunk_paths is None else chunk_paths
    chunk_paths = max(BLOCK_PATHS, int(chunk_paths) // BLOCK_PATHS * BLOCK_PATHS)
    start_prices = price_vector(scenario)
    outcomes = _walk_every_chunk(spec, start_prices, runners, chunk_paths, progress, keep_events)
    results = {label: _collect(label, runner, outcomes[label], keep_events, closed.get(label, ()))
               for label, runner in runners.items()}
    for label, twin in shared.items():
        results[label] = replace(results[twin], label=label, scenario=variants[label],
                                 closed_on_arrival=closed.get(label, ()))
    ordered = {label: results[label] for label in variants}
    return StressResult(spec=spec, start_prices=tuple(map(float, start_prices)), variants=ordered,
                        seconds=time.perf_counter() - started)


def _distinct_runners(variants: Mapping[str, Scenario],
                      step_hours: float | None = None) -> tuple[dict[str, VariantRunner], dict[str, str]]:
    """A runner per distinct variant, and for each identical one the label walked instead."""
    runners: dict[str, VariantRunner] = {}
    shared: dict[str, str] = {}
    for label, variant in variants.items():
        key = _variant_key(variant)
        twin = next((other for other, runner in runners.items() if _variant_key(runner.scenario) == key), None)
        if twin is None:
            runners[label] = VariantRunner(variant, step_hours)
        else:
            shared[label] = twin
    return runners, shared


def _walk_every_chunk(spec: StressSpec, start_prices: np.ndarray, runners: Mapping[str, VariantRunner],
                      chunk_paths: int, progress: Progress | None, keep_events: bool) -> dict[str, list[_Outcome]]:
    """Every runner along every chunk of paths. The next chunk is drawn by worker threads while
    this one is walked: drawing is numpy work that releases the GIL, walking is mostly Python.
    Two output buffers take turns; the workers split a chunk's paths at a block boundary.

    A chunk is drawn as running log-returns, with each path's horizon marks and bounds on its
    marks (:meth:`Sampler.mark_bounds`); a variant searches only the paths it finds near a breach
    on those bounds, on the log-returns themselves (:class:`margin.stress.rows.LogRows`), and
    makes marks only of the rows it settles (the exponentials were most of the draw)."""
    total = spec.n_paths
    chunks = [(first, min(chunk_paths, total - first)) for first in range(0, total, chunk_paths)]
    sampler = Sampler(spec, start_prices, min(chunk_paths, total), buffers=2, workers=SAMPLER_THREADS)
    outcomes: dict[str, list[_Outcome]] = {label: [] for label in runners}

    def fill(chunk: DrawnChunk, first: int, low: int, count: int, worker: int) -> None:
        """Paths ``low .. low + count − 1`` drawn, then their horizon marks and bounds, on the
        sampler's thread."""
        sampler.fill_log_range(chunk.log, first, low, count, worker)
        part = slice(low - first, low - first + count)
        log = chunk.log[:, part, :]
        chunk.last[part] = sampler.last_marks(log)
        chunk.low[:, part], chunk.high[:, part] = sampler.mark_bounds(log)

    def draw(pool: ThreadPoolExecutor, first: int, count: int) -> tuple[DrawnChunk, list[Any]]:
        log = sampler.next_buffer(count)
        n_markets = log.shape[0]
        chunk = DrawnChunk(sampler=sampler, log=log, last=np.empty((count, n_markets)),
                           low=np.empty((n_markets, count)), high=np.empty((n_markets, count)))
        share = -(-count // (SAMPLER_THREADS * BLOCK_PATHS)) * BLOCK_PATHS
        jobs = [pool.submit(fill, chunk, first, low, min(share, first + count - low), worker)
                for worker, low in enumerate(range(first, first + count, share))]
        return chunk, jobs

    with ThreadPoolExecutor(max_workers=SAMPLER_THREADS, thread_name_prefix="stress-sampler") as pool:
        pending = draw(pool, *chunks[0])
        for k, (first, count) in enumerate(chunks):
            chunk, jobs = pending
            for job in jobs:
                job.result()
            cross = {label: runner.cross_near(chunk.low, chunk.high) for label, runner in runners.items()}
            near = {label: runner.near_paths(chunk.low, chunk.high, cross[label]) for label, runner in runners.items()}
            rows = LogRows(sampler, chunk.log, chunk.low, chunk.high)  # read in place: marks made only where a variant reads them
            if k + 1 < len(chunks):
                pending = draw(pool, *chunks[k + 1])
            for label, runner in runners.items():
                outcomes[label].append(runner.run_near(chunk.last, rows, near[label], first, keep_events, cross[label]))
            if progress is not None:
                progress(first + count, total)
    # Free the two chunk buffers (~2 × CHUNK_BYTES) before the results are concatenated.
    sampler.release()
    return outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawnChunk:
    """A chunk of paths as the sampler left it: running log-returns ``log`` ``(markets, paths,
    steps + 1)``, the marks at the horizon ``last`` ``(paths, markets)`` and bounds ``low``,
    ``high`` ``(markets, paths)`` on every mark after step 0 [quote per base]."""

    sampler: Sampler
    log: np.ndarray
    last: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _collect(label: str, runner: VariantRunner, parts: list[_Outcome], keep_events: bool,
             closed: tuple[str, ...]) -> VariantStress:
    events: dict[int, tuple[Event, ...]] | None = None
    if keep_events:
        events = {}
        for part in parts:
            events.update(part.events)
    return VariantStress(
        label=label, scenario=runner.scenario, start_value=runner.start_value,
        final_value=np.concatenate([p.final_value for p in parts]),
        liquidated=np.concatenate([p.liquidated for p in parts]),
        first_liquidation_step=np.concatenate([p.first_liquidation_step for p in parts]),
        bankrupt=np.concatenate([p.bankrupt for p in parts]),
        events=events, closed_on_arrival=closed,
    )


def path_events(scenario: Scenario, spec: StressSpec, index: int) -> tuple[Event, ...]:
    """The events the stress run finds on path ``index`` for ``scenario`` (as built), by the
    same chunk code as :func:`run_stress` on a one-path chunk."""
    check_markets(scenario, spec)
    prices = sample_prices(spec, price_vector(scenario), index, 1)
    runner = VariantRunner(scenario, spec.step_minutes / 60.0)
    return runner.run(prices, index, keep_events=True).events.get(index, ())

