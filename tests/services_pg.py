"""A real PostgreSQL server for the room store's tests.

``pg_server_url``: ``MARGIN_LAB_TEST_DATABASE_URL`` when set; otherwise a private throwaway
cluster (Debian's ``/usr/lib/postgresql/<v>/bin/initdb`` and ``pg_ctl``) in a temporary folder
on a free loopback port, run as the ``postgres`` user when the tests run as root. With neither,
the tests that need it skip with a message, and fail instead when ``CI=true``.
``pg_url`` gives each test a fresh empty database on that server.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

URL_ENV = "MARGIN_LAB_TEST_DATABASE_URL"


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {message}")
    pytest.skip(f"no PostgreSQL server: {message} (set {URL_ENV} or install Debian's postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *command] if runuser else ["su", "postgres", "-c", " ".join(command)]


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg.connect) reads it: ``postgresql+psycopg://h/db`` -> ``postgresql://h/db``.

    >>> libpq_url("postgresql+psycopg://postgres@127.0.0.1:5432/margin_lab_test")
    'postgresql://postgres@127.0.0.1:5432/margin_lab_test'
    """
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


@pytest.fixture(scope="session")
def pg_server_url():
    """A PostgreSQL server URL (``postgresql://…/postgres``) for the whole test session."""
    if os.environ.get(URL_ENV):
        # libpq's form: .ci/run gives SQLAlchemy's (postgresql+psycopg://), which psycopg refuses
        yield libpq_url(os.environ[URL_ENV])
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _unavailable("initdb not found under /usr/lib/postgresql")
    bin_dir = os.path.dirname(found[-1])
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no postgres user to run the cluster")
    folder = tempfile.mkdtemp(prefix="margin-lab-pg-")
    data = os.path.join(folder, "data")
    if os.geteuid() == 0:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    initdb = subprocess.run(_as_postgres([f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres",
                                          "--no-sync", "-E", "UTF8"]), capture_output=True, text=True)
    if initdb.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"initdb failed: {initdb.stderr[-400:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l",
                                         os.path.join(folder, "log"), "-w", "-t", "60", "start"]),
                           capture_output=True, text=True)
    if start.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"pg_ctl start failed: {start.stderr[-400:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server_url):
    """A fresh, empty database on the server (dropped after the test)."""
    import psycopg

    base, _, _ = pg_server_url.rpartition("/")
    name = "room_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
