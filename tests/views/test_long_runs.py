"""Stress runs in worker processes (ui.views.long_runs): the same numbers as a run in this
process, at most so many at once (one more is refused: the page says the server is busy), and
a cancel that stops a run within a chunk."""

from __future__ import annotations

import time

import numpy as np
import pytest

from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.stress import run_stress, stress_spec
from ui.views.long_runs import Cancelled, LongRuns


@pytest.fixture(scope="module")
def runs():
    pool = LongRuns(workers=1)
    yield pool
    pool.close()


def test_a_worker_gives_the_numbers_of_a_run_here(runs):
    scenario = scenario_from_dict(load_story("default"))
    spec = stress_spec(scenario, n_paths=1_000, n_steps=24, seed=3)
    job = runs.submit("k", scenario, {"normal": spec})
    there = job.future.result(timeout=120)["normal"]
    here = run_stress(scenario, spec)
    assert job.done_paths == job.total == 1_000
    for label in here.variants:
        assert np.array_equal(there.variants[label].final_value, here.variants[label].final_value)
    assert runs.running == 0


def test_one_run_more_than_the_slots_is_refused_and_a_cancel_frees_its_slot(runs):
    scenario = scenario_from_dict(load_story("default"))
    big = stress_spec(scenario, n_paths=200_000, n_steps=288, seed=1)  # about a minute of work
    job = runs.submit("big", scenario, {"normal": big})
    assert job is not None and runs.running == 1
    assert runs.submit("another", scenario, {"normal": big}) is None  # the server is busy
    deadline = time.monotonic() + 60
    while job.done_paths == 0 and time.monotonic() < deadline:  # the worker has started
        time.sleep(0.1)
    job.cancel()
    with pytest.raises(Cancelled):
        job.future.result(timeout=60)
    deadline = time.monotonic() + 5
    while runs.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs.running == 0
    assert runs.submit("again", scenario, {"normal": stress_spec(scenario, n_paths=100, n_steps=4)}) is not None
