"""What a session holds once it ends (ui/shell/memory.py): every page's long results live in
the session's store, not in session_state, and a session's end empties the store and trims."""

from __future__ import annotations

import time

from tests.support import open_page, session_store
from ui.shell import memory


def test_the_stress_results_are_in_the_session_store_not_in_session_state():
    at = open_page("pages/stress_lab.py", **{"stress.paths": 500})
    assert "stress.results" not in at.session_state  # a closed tab's state keeps no results
    assert len(session_store(at)["stress.results"]) == 1
    assert session_store(at)["stress.shown"][0].spec.n_paths == 500  # what the downloads build from


def test_a_session_end_empties_its_store_and_trims_the_server_after_a_short_delay():
    store = {"stress.results": {"key": object()}}
    before = memory.trimmer().trims
    memory._session_ended(store)
    assert store == {}
    deadline = time.monotonic() + memory.TRIM_DELAY + 10
    while memory.trimmer().trims == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert memory.trimmer().trims == before + 1


def test_the_allocator_is_tuned_on_glibc():
    assert memory.tune_allocator() is (memory._LIBC is not None)


def test_the_first_whole_run_freezes_what_is_alive_once(monkeypatch):
    import gc
    import threading

    from tests.support import app_file

    frozen: list[int] = []
    monkeypatch.setattr(memory, "_FROZEN", threading.Event())  # as in a fresh process
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(len(gc.get_objects()) + gc.get_freeze_count()))
    at = app_file().run()
    assert not at.exception
    assert len(frozen) == 1 and frozen[0] > 50_000  # the imports: a full collection skips them after
    at.run()
    app_file().run()  # another session, later runs: never again
    assert len(frozen) == 1
