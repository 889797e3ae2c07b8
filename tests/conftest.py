"""Shared fixtures: the project root, a clean Streamlit cache per test, and a live app server
driven by Playwright through Debian's Chromium for the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

from deploy.farm import stop_process
from tests.processes import ServerLog, stop_with_descendants

# No Hypothesis deadline: a property is about results, not time (speed is measured by the
# benchmarks), and one example past 200 ms on a loaded machine is not a failure of the engine.
settings.register_profile("margin-lab", deadline=None)
settings.load_profile("margin-lab")

pytest_plugins = [
    "tests.services_pg",  # the PostgreSQL server for the room store
    "tests.rooms_fixtures",  # the room store on SQLite and PostgreSQL: url, clock, store
]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MARGIN_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """st.cache_data leaks between AppTest instances in one run: start every test clean."""
    try:
        import streamlit as st
    except ImportError:  # engine-only environments
        yield
        return
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_streamlit(script: Path, port: int | None = None, extra_args: list[str] | None = None,
                    env: dict[str, str] | None = None):
    """Start ``streamlit run script`` on loopback (``env``: extra environment variables);
    returns (process, base URL) once healthy."""
    port = port or _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        *(extra_args or []),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    process.log = ServerLog(process.stderr)  # read as it comes: an unread pipe blocks the server
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {process.log.closed().text[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not become healthy within 60 s")


def step_slider(page, thumb, box, steps: int, wanted: str, key: str = "ArrowLeft") -> None:
    """Press ``key`` ``steps`` times on slider ``thumb`` at a held key's pace; on a loaded
    machine Streamlit's page can drop the last step of a burst, so step on, as a learner would,
    until the number ``box`` says ``wanted``."""
    from playwright.sync_api import expect
    thumb.focus()
    for _ in range(steps):
        page.keyboard.press(key)
        page.wait_for_timeout(33)
    for _ in range(10):
        page.wait_for_timeout(1500)
        if box.input_value() == wanted:
            break
        thumb.focus()
        page.keyboard.press(key)
    expect(box).to_have_value(wanted)


@contextmanager
def sqlite_room_server(tmp_path_factory, name: str, script: str = "app.py"):
    """A server of ``script`` (``app.py`` or ``serve_app.py``) whose room store is a fresh
    SQLite file in a folder of its own (``name``): yields (its base URL, the store's database
    URL, for the test's own :class:`classroom.RoomStore`), and stops it at exit. The room
    browser tests' one server set-up."""
    data = tmp_path_factory.mktemp(name)
    database = f"sqlite:///{data / 'rooms.sqlite3'}"
    process, url = start_streamlit(ROOT / script, env={"MARGIN_LAB_DATA_DIR": str(data),
                                                       "MARGIN_LAB_DATABASE_URL": database})
    try:
        yield url, database
    finally:
        stop_streamlit(process)


def room_with_story(database: str, story: str = "default"):
    """A new room in the store at ``database`` with the preset account ``story`` pushed: the
    store (the test disposes of it) and the room (its code and teacher key)."""
    from classroom import RoomStore
    from margin.presets import load_story

    rooms = RoomStore(database)
    room = rooms.open_room()
    rooms.push_account(room.code, room.teacher_key, load_story(story))
    return rooms, room


def stop_streamlit(process) -> list[str]:
    """Stop a server started by :func:`start_streamlit`: terminate, and kill it if it has not
    exited within 10 s (a loaded machine can be slow to shut its worker pool down); then its
    worker processes, should any outlive it. Returns those (a test of workers fails on them)."""
    return stop_with_descendants(process, lambda server: stop_process(server, seconds=10))


@pytest.fixture(scope="session")
def app_url():
    """The Margin Lab app served on a free loopback port for the whole session."""
    process, url = start_streamlit(ROOT / "app.py")
    yield url
    stop_streamlit(process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium (Playwright cannot download browsers here)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(autouse=True)
def _playwright_timeouts(request):
    """30 s for every expect of a browser test, whether it takes a page, a context or a browser
    (a test on contexts alone kept Playwright's 5 s and failed on a busy machine)."""
    if {"page", "context", "browser"} & set(request.fixturenames):
        from playwright.sync_api import expect
        expect.set_options(timeout=30_000)
    yield


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


# A label or value cut short: an element that ends its text with an ellipsis because it does not
# fit, or a table (a Glide grid, drawn on a canvas) that has to scroll sideways to show a column.
CUT_SHORT_JS = """() => {
  const out = [];
  for (const e of document.querySelectorAll('[data-testid="stMain"] *')) {
    const style = getComputedStyle(e);
    if (style.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1 && e.innerText.trim())
      out.push('text cut: ' + e.innerText.trim().slice(0, 80));
  }
  for (const grid of document.querySelectorAll('[data-testid="stMain"] .dvn-scroller'))
    if (grid.scrollWidth > grid.clientWidth + 1)
      out.push('table scrolls sideways: ' + grid.scrollWidth + ' px of content in ' + grid.clientWidth + ' px');
  return out;
}"""


def cut_short(page) -> list[str]:
    """What the page shows cut short (see CUT_SHORT_JS); empty when everything fits."""
    return page.evaluate(CUT_SHORT_JS)
