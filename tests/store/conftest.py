"""Helpers of the room store's race tests. The store's fixtures (``url``, ``clock``, ``store``:
SQLite and a real PostgreSQL, a clock the test moves) are shared with the store and push hub
tests in ``tests/engine``: :mod:`tests.rooms_fixtures`."""

from __future__ import annotations

import threading
from typing import Any, Callable

from classroom import RoomError


def race(n: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(0) … call(n - 1)`` in ``n`` real threads released at once; each result is the
    call's return value or the exception it raised (never swallowed: the caller looks at them)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except BaseException as err:  # noqa: BLE001 - kept for the test to inspect
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a racing call never returned"
    return results


def sorted_out(results: list[Any]) -> tuple[list[Any], list[RoomError], list[BaseException]]:
    """``results`` split into successes, refusals (:class:`RoomError`) and anything else."""
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, RoomError)]
    other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, RoomError)]
    return ok, refused, other
