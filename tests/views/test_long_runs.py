"""Long runs in worker processes (ui.common.long_runs): the same numbers as a run in this
process, at most so many at once (one more is refused: the page says the server is busy), a
cancel that stops a run within a chunk (or kills a worker that reports nothing), and a run
whose page stopped watching it cancelled rather than run to its bound."""

from __future__ import annotations

import time

import numpy as np
import pytest

from margin.cascade import CrowdParams, build_crowd
from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.stress import run_stress, stress_spec
from ui.common.long_runs import Cancelled, LongRuns
from ui.stress.model import stress_models


@pytest.fixture(scope="module")
def runs():
    pool = LongRuns(workers=1, abandon_after=2.0, grace=0.5)
    yield pool
    pool.close()


def _until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


def _watch(job, seconds: float) -> None:
    """What a page does while it waits: look at the job and say it still watches."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not job.future.done():
        job.seen()
        time.sleep(0.1)


def test_a_worker_gives_the_numbers_of_a_run_here(runs):
    scenario = scenario_from_dict(load_story("default"))
    spec = stress_spec(scenario, n_paths=1_000, n_steps=24, seed=3)
    job = runs.submit("k", stress_models, scenario, {"normal": spec}, total=1_000, reports=True)
    _watch(job, 120)
    there = job.result()["normal"]
    here = run_stress(scenario, spec)
    assert job.done == job.total == 1_000
    for label in here.variants:
        assert np.array_equal(there.variants[label].final_value, here.variants[label].final_value)
    _until(lambda: runs.running == 0, 5)


def test_any_engine_function_runs_there_with_the_same_result(runs):
    market = scenario_from_dict(load_story("default")).markets["BTCUSDT"]
    params = CrowdParams(n_traders=5_000, seed=2)
    job = runs.submit("crowd", build_crowd, market, params)
    _watch(job, 120)
    there, here = job.result(), build_crowd(market, params)
    assert there.n_traders == here.n_traders == 5_000
    assert np.array_equal(there.liquidation_price, here.liquidation_price) and np.array_equal(there.side, here.side)


def test_one_run_more_than_the_slots_is_refused_and_a_cancel_frees_its_slot(runs):
    scenario = scenario_from_dict(load_story("default"))
    big = stress_spec(scenario, n_paths=200_000, n_steps=288, seed=1)  # about a minute of work
    job = runs.submit("big", stress_models, scenario, {"normal": big}, total=200_000, reports=True)
    assert job is not None and runs.running == 1
    assert runs.submit("another", stress_models, scenario, {"normal": big}, total=1, reports=True) is None  # busy
    _until(lambda: (job.seen(), job.done > 0)[1])  # the worker has started
    pid = runs.pids[job.slot]
    job.cancel()
    with pytest.raises(Cancelled):
        job.future.result(timeout=60)  # the worker stopped at its next report: not killed
    assert not job.abandoned and runs.pids[job.slot] == pid
    _until(lambda: runs.running == 0, 5)
    again = runs.submit("again", stress_models, scenario, {"normal": stress_spec(scenario, n_paths=100, n_steps=4)},
                        total=100, reports=True)
    _watch(again, 60)
    assert again.result()["normal"].spec.n_paths == 100


def test_a_cancelled_run_that_reports_nothing_has_its_worker_killed_and_replaced(runs):
    job = runs.submit("sleep", time.sleep, 600)  # reports nothing, for ten minutes
    _until(lambda: runs.pids[job.slot] != 0)
    _watch(job, 1.0)  # it is running
    pid = runs.pids[job.slot]
    started = time.monotonic()
    job.cancel()
    with pytest.raises(Cancelled):
        job.result()
    assert time.monotonic() - started < 0.5 + 2.0  # the grace, and the watch's period
    _until(lambda: runs.running == 0, 10)
    market = scenario_from_dict(load_story("default")).markets["BTCUSDT"]
    after = runs.submit("after", build_crowd, market, CrowdParams(n_traders=1_000, seed=1))  # a new worker
    _watch(after, 120)
    assert after.result().n_traders == 1_000 and runs.pids[after.slot] not in (0, pid)


def test_a_run_nobody_watches_is_cancelled_not_run_to_its_bound(runs):
    job = runs.submit("left", time.sleep, 600)  # its tab closed: nobody calls job.seen()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        job.result()
    waited = time.monotonic() - started
    assert job.abandoned and 2.0 <= waited < 2.0 + 0.5 + 2.0  # abandon_after, then the grace and the watch
    _until(lambda: runs.running == 0, 10)


def test_a_run_its_page_watches_is_not_cancelled(runs):
    job = runs.submit("watched", time.sleep, 6)
    _watch(job, 30)  # longer than abandon_after: still going because the page keeps looking
    assert job.result() is None and not job.abandoned and job.cancelled_at is None
