"""No worker outlives its server (ui.common.long_runs): a server killed with ``kill -9`` while
both its workers run leaves no process behind within seconds, by the parent-death signal and,
on its own, by the worker's watch of its parent; and a worker started while a page's script
thread ran is not killed when that thread ends (the signal follows the thread that started
the process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.paths import ROOT
from tests.processes import alive, descendants, gone_within
from ui.common.lifeline import PARENT_WATCH_SECONDS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A stand-in for an app server: the pool made in a short-lived thread (the first page's script run,
# which waits until its workers are up, as a page watches its run's progress), a ten-minute run
# submitted in each slot from another, the workers' pids printed once both threads have ended.
SERVER = """
import json, threading, time
from ui.common.long_runs import LongRuns

made = {}

def script_run(work):
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

def first_page():
    runs = made["runs"] = LongRuns(workers=2)
    deadline = time.monotonic() + 120
    while not all(runs.pids):  # each worker has run its initializer
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)

def second_page():
    made["jobs"] = [made["runs"].submit(f"k{i}", time.sleep, 600) for i in range(2)]

if __name__ == "__main__":  # a worker imports this file too, as its parent's main module
    script_run(first_page)
    script_run(second_page)
    print(json.dumps([made["runs"].pids[job.slot] for job in made["jobs"]]), flush=True)
    time.sleep(600)
"""

# Only the fallback: a busy process that watches its parent, as a worker does, without the signal.
WATCH_ONLY = """
import multiprocessing as mp, os, threading, time
from ui.common import lifeline

def child(parent, ready):
    threading.Thread(target=lifeline.watch_parent, args=(parent,), daemon=True).start()
    ready.set()
    time.sleep(600)

if __name__ == "__main__":
    context = mp.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=child, args=(os.getpid(), ready))
    process.start()
    # up and watching: a child whose parent dies while it boots dies of its broken pipe anyway
    assert ready.wait(120), "the child did not start"
    print(f"[{process.pid}]", flush=True)
    time.sleep(600)
"""


def start(script: str, folder) -> tuple[subprocess.Popen, list[int]]:
    """Run ``script`` (from a file: a spawned child imports its parent's main module) until it
    prints the pids it started."""
    path = folder / "stand_in.py"
    path.write_text(script)
    process = subprocess.Popen([sys.executable, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = process.stdout.readline()
    assert line, f"the stand-in server exited ({process.wait()})"
    return process, json.loads(line)


def kill_all(process: subprocess.Popen, pids: set[int]) -> None:
    """Whatever a failed test left, stopped."""
    for pid in {process.pid, *pids}:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def test_a_killed_server_leaves_no_worker_and_a_finished_script_thread_kills_none(tmp_path):
    server, workers = start(SERVER, tmp_path)
    below = descendants(server.pid)
    try:
        assert set(workers) <= below and len(set(workers)) == 2
        time.sleep(1.0)
        assert all(alive(pid) for pid in workers), "a worker died with the script thread that started it"
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        assert gone_within(below, 5.0) == set(), "processes outlived the server"
    finally:
        kill_all(server, below)


# Streamlit's script runner leaves sys.modules["__main__"] a module whose file is app.py.
STREAMLIT_MAIN = """
import json, os, sys, time, types

main = types.ModuleType("__main__")
main.__file__ = sys.argv[1]  # a page that leaves a mark in every process that runs it
sys.modules["__main__"] = main
from ui.common.long_runs import LongRuns

runs = LongRuns(workers=1)
while not runs.pids[0]:
    time.sleep(0.05)
print(json.dumps([runs.pids[0]]), flush=True)
runs.close()
"""


def test_a_worker_does_not_run_the_servers_app_file(tmp_path):
    page = tmp_path / "app_page.py"
    page.write_text(f"import os\nopen(os.path.join({str(tmp_path)!r}, f'ran-in-{{os.getpid()}}'), 'w').close()\n")
    script = tmp_path / "server.py"
    script.write_text(STREAMLIT_MAIN)
    result = subprocess.run([sys.executable, str(script), str(page)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    worker = json.loads(result.stdout)[0]
    assert not (tmp_path / f"ran-in-{worker}").exists(), "the worker ran the app's file before its own work"


def test_the_parent_watch_alone_ends_an_orphan(tmp_path):
    server, watcher = start(WATCH_ONLY, tmp_path)
    try:
        assert alive(watcher[0])
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        assert gone_within(set(watcher), PARENT_WATCH_SECONDS + 3.0) == set()
    finally:
        kill_all(server, set(watcher))
