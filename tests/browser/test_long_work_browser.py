"""A real browser and server: a stress run whose tab is closed stops (its worker goes idle
within the pool's abandon time) instead of running to its bound; no worker outlives its server,
whether the server is stopped or killed with ``kill -9`` while a run is going."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import start_streamlit, stop_streamlit
from tests.paths import ROOT
from tests.processes import descendants, stop_with_descendants
from tests.support import DATA
from ui.common.link_codec import encode
from ui.common.long_runs import ABANDON_SECONDS, CANCEL_GRACE

pytestmark = pytest.mark.browser
LARGEST = {"stress.paths": 20_000, "stress.horizon": 30.0, "stress.step": "1 hour"}


def _account() -> dict:
    """Thirteen positions: 20,000 paths x 720 steps x 13 is just under the work bound (minutes of work)."""
    raw = json.loads((DATA / "twenty-positions.json").read_text())
    raw["positions"] = raw["positions"][:13]
    return raw


def _workers_cpu(server: int) -> float:
    """CPU seconds used so far by the server's worker processes (its spawned children)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == server and b"spawn_main" in command:
            ticks += int(stat[11]) + int(stat[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _used(server: int, seconds: float) -> float:
    before = _workers_cpu(server)
    time.sleep(seconds)
    return _workers_cpu(server) - before


def _start_largest_run(page: Page, url: str) -> None:
    page.goto(url)
    link = encode({"scenario": _account(), "page": "stress", "controls": LARGEST})
    page.goto(f"{url}/?v={link}")
    expect(page.get_by_text("Simulating").first).to_be_visible(timeout=120_000)


def test_a_closed_tab_stops_its_stress_run(page: Page):
    process, url = start_streamlit(ROOT / "app.py")
    try:
        _start_largest_run(page, url)
        assert _used(process.pid, 2.0) > 0.2  # a worker is at it
        page.close()
        time.sleep(ABANDON_SECONDS + CANCEL_GRACE)  # the watch's period and the kill
        # nobody watches it any more: stopped, not run to its end (minutes). A loaded CI machine can
        # be late to notice, so wait up to 45 s for the workers to go quiet rather than a fixed time.
        deadline = time.monotonic() + 45
        while (used := _used(process.pid, 2.0)) >= 0.1 and time.monotonic() < deadline:
            pass
        assert used < 0.1
    finally:
        left = stop_streamlit(process)  # its workers (one new, for the one killed) and helper too
    assert not left, f"processes outlived the stopped server: {left}"


def test_a_server_killed_with_kill_9_during_a_run_leaves_no_worker(page: Page):
    process, url = start_streamlit(ROOT / "app.py")
    try:
        _start_largest_run(page, url)
        assert _used(process.pid, 2.0) > 0.2  # a worker is at it
        assert len(descendants(process.pid)) >= 2  # both workers (and multiprocessing's helper)
        kill_9 = lambda server: (os.kill(server.pid, signal.SIGKILL), server.wait())  # noqa: E731
        left = stop_with_descendants(process, kill_9, seconds=5.0)
        assert not left, f"processes outlived the killed server: {left}"
    finally:
        stop_streamlit(process)  # whatever a failure left
