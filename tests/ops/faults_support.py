"""What the fault tests break and mend: a private PostgreSQL cluster stopped and started at will,
a folder made read-only for root too (a tmpfs remounted read-only), and what a page must never
show (a traceback, a driver's name, a database's address)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services_pg import _as_postgres, _free_port, _unavailable

#: words of a traceback, a driver or a server path: none may reach a visitor's page
NEVER_SHOWN = ("Traceback", 'File "/', "sqlalchemy", "psycopg", "OperationalError", "BrokenProcessPool",
               "/work/", "site-packages")


def never_shown(text: str) -> list[str]:
    """The words of :data:`NEVER_SHOWN` that ``text`` holds (empty when it holds none)."""
    return [word for word in NEVER_SHOWN if word in text]


class PgCluster:
    """A throwaway PostgreSQL cluster of a test's own (the shared one cannot be stopped)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            _unavailable("initdb not found under /usr/lib/postgresql")
        self.bin = os.path.dirname(found[-1])
        # in /tmp itself: pytest's tmp_path sits under a folder only root may enter
        folder = Path(tempfile.mkdtemp(prefix="margin-lab-faults-pg-"))
        self.folder, self.data, self.port = folder, folder / "data", _free_port()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        done = subprocess.run(_as_postgres([f"{self.bin}/{tool}", *args]), capture_output=True, text=True)
        if done.returncode != 0:
            _unavailable(f"{tool} failed: {done.stderr[-400:]}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "-t", "60",
                 "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(_as_postgres([f"{self.bin}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


class ReadOnlyFolder:
    """``folder`` on a small tmpfs of its own, which :meth:`lock` remounts read-only (refused to
    root as well, as a read-only disk is) and :meth:`unlock` read-write again."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here to make a folder read-only: {done.stderr.strip()[:200]}")

    def _remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.folder)], check=True, capture_output=True)

    def lock(self) -> None:
        self._remount("ro")

    def unlock(self) -> None:
        self._remount("rw")

    def remove(self) -> None:
        subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)


@contextmanager
def read_only_folder(folder: Path):
    """A :class:`ReadOnlyFolder`, unmounted at the end whatever happens."""
    made = ReadOnlyFolder(folder)
    try:
        yield made
    finally:
        made.remove()


@contextmanager
def pg_cluster():
    """A started :class:`PgCluster`, removed at the end whatever happens."""
    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()
