"""The processes a test starts, read from /proc (Linux): whether one still runs, what runs
below it, and a wait for some to end. A test that starts a server checks with these that
nothing it started outlives it."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import IO, Callable


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command's name (state, parent, ...); None once
    the process has gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running: its /proc entry is there and it is not a zombie (a dead child no one reaped)."""
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``: its children, theirs, and so on."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        fields = stat(int(entry)) if entry.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def gone_within(pids: set[int], seconds: float) -> set[int]:
    """The pids still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}


def commands(pids: set[int]) -> list[str]:
    """What each pid runs (the start of its command line), for a failure's message."""
    out = []
    for pid in sorted(pids):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = "gone"
        out.append(f"{pid}: {command[:120]}")
    return out


def stop_with_descendants(process, stop: Callable[[object], None], seconds: float = 10.0) -> list[str]:
    """Stop ``process`` (a ``subprocess.Popen``) with ``stop``, then wait up to ``seconds`` for
    every process that ran below it to end as well. Any still running then is killed, so a test
    leaves nothing behind whatever happened, and returned (its command) for the test to fail on."""
    below = descendants(process.pid)
    stop(process)
    left = gone_within(below, seconds)
    described = commands(left)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return described


class ServerLog:
    """A server's stderr read as it comes. A test server's pipe left unread fills at 64 KB and
    the server then blocks in its next log line (a fault logged every second does that in
    20 s), so every server a test starts gets one (``tests/conftest.py:start_streamlit``)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self.lines.append(line.decode(errors="replace"))

    def closed(self, seconds: float = 10.0) -> "ServerLog":
        """Wait (at most ``seconds``) for the server to close its end: every line is read."""
        self._thread.join(seconds)
        return self

    @property
    def text(self) -> str:
        return "".join(self.lines)
