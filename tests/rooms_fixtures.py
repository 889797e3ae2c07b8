"""The room store's fixtures, shared by every test of it (``tests/store``, the store and push
hub tests in ``tests/engine``): each test runs on SQLite and on a real PostgreSQL
(:mod:`tests.services_pg`), with a clock the test moves. Registered in ``tests/conftest.py``."""

from __future__ import annotations

import pytest

from classroom import RoomStore


class Clock:
    """A clock [unix s] the test moves by hand (``clock.now += 61``)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """The store's database: a fresh SQLite file, then the private PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rooms.sqlite3'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(url, clock):
    s = RoomStore(url, clock=clock)
    yield s
    s.dispose()
