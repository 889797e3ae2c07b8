"""Faults under a real server and Chromium (issue 26.1, 26.2): PostgreSQL stopped and started,
the SQLite folder read-only, the SQLite file deleted, a stress worker killed, the server killed
mid-answer. Each time: no traceback on the page, a sentence, and recovery by itself or a clear
stop; nothing the page showed as sent is missing from the store."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from classroom import RoomStore
from margin.presets import load_story
from tests.browser.test_long_work_browser import _start_largest_run
from tests.conftest import ROOT, _free_port, start_streamlit, stop_streamlit
from tests.ops.faults_support import never_shown, pg_cluster, read_only_folder
from tests.processes import descendants

pytestmark = pytest.mark.browser
WAIT = 60_000  # [ms] a loaded 2-core machine: a restart, a pool's retry, the page's retry every 5 s


def classroom(url: str):
    """A room on ``url`` with the default account, a lesson's question open, and Ada seated."""
    rooms = RoomStore(url)
    room = rooms.open_room()
    rooms.push_account(room.code, room.teacher_key, load_story("default"))
    rooms.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "cross-exposure"})
    seat = rooms.join(room.code, "Ada", client="test")
    rooms.dispose()
    return room, seat


def student(browser: Browser, base: str, room, seat) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{base}/join_room?room={room.code}&seat={seat.token}")
    expect(page.get_by_role("heading", name=f"Room {room.code}")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Question 1.")).to_be_visible()
    return page


def type_answer(page: Page, value: str) -> None:
    box = page.get_by_role("spinbutton", name=re.compile("Your answer"))
    box.fill(value)
    box.press("Enter")
    expect(page.get_by_text("Typed, not sent yet")).to_be_visible()


def clean(page: Page) -> None:
    body = page.locator("body").inner_text()
    assert not never_shown(body), never_shown(body)


def test_postgresql_stopped_and_started(browser: Browser):
    with pg_cluster() as cluster:
        room, seat = classroom(cluster.url)
        process, base = start_streamlit(ROOT / "app.py", env={"MARGIN_LAB_DATABASE_URL": cluster.url})
        log = process.log  # the server's stderr, read as it comes (start_streamlit)
        try:
            page = student(browser, base, room, seat)
            cluster.stop()
            expect(page.get_by_text("not reachable").first).to_be_visible(timeout=WAIT)  # the poll
            clean(page)
            shown_id = re.search(r"error ([0-9a-f]{8})", page.locator("body").inner_text()).group(1)
            assert f"error {shown_id}" in log.text and "OperationalError" in log.text  # the full error, by its id
            reload = student_during_outage(browser, base, room, seat)
            type_answer(page, "91000")
            page.get_by_role("button", name="Send my answer").click()
            expect(page.get_by_text("Not sent yet: your answer 91,000.00").first).to_be_visible(timeout=WAIT)
            expect(page.get_by_text("Sent: 91,000.00")).to_have_count(0)
            clean(page)
            cluster.start()
            expect(page.get_by_text("Sent: 91,000.00")).to_be_visible(timeout=WAIT)  # re-sent by itself
            expect(reload.get_by_role("heading", name=f"Room {room.code}")).to_be_visible(timeout=WAIT)
            rooms = RoomStore(cluster.url)
            assert rooms.my_answer(room.code, seat.token) == 91_000.0
            rooms.dispose()
        finally:
            stop_streamlit(process)


def student_during_outage(browser: Browser, base: str, room, seat) -> Page:
    """A reload while the database is away: a sentence, the seat kept in the address."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{base}/join_room?room={room.code}&seat={seat.token}")
    expect(page.get_by_text("not reachable").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(re.compile(r"Trying again every \d+ s"))).to_be_visible()
    assert f"seat={seat.token}" in page.url
    clean(page)
    return page


def test_a_read_only_sqlite_folder_is_a_sentence_then_works_once_writable(browser: Browser, tmp_path):
    with read_only_folder(tmp_path / "data") as folder:
        folder.lock()
        process, base = start_streamlit(ROOT / "app.py", env={"MARGIN_LAB_DATA_DIR": str(folder.folder),
                                                              "MARGIN_LAB_DATABASE_URL": ""})
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{base}/teach_room")
            page.get_by_role("button", name="Open a room").click()
            expect(page.get_by_text("not reachable").first).to_be_visible(timeout=WAIT)
            clean(page)
            folder.unlock()
            page.get_by_role("button", name="Open a room").click()
            # the room opened: its console's address holds its code, never the teacher key
            expect(page).to_have_url(re.compile(r"room=[A-Z0-9]+"), timeout=WAIT)
            assert "key=" not in page.url
            clean(page)
            assert (folder.folder / "rooms.sqlite3").exists()
        finally:
            stop_streamlit(process)


def test_the_sqlite_file_deleted_stops_in_words_and_writes_nothing(browser: Browser, tmp_path):
    data = tmp_path / "data"
    room, seat = classroom(f"sqlite:///{data / 'rooms.sqlite3'}")
    process, base = start_streamlit(ROOT / "app.py", env={"MARGIN_LAB_DATA_DIR": str(data),
                                                          "MARGIN_LAB_DATABASE_URL": ""})
    try:
        page = student(browser, base, room, seat)
        for file in data.glob("rooms.sqlite3*"):
            file.unlink()
        expect(page.get_by_text("has gone or been replaced").first).to_be_visible(timeout=WAIT)
        clean(page)
        newcomer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        newcomer.goto(f"{base}/join_room?room={room.code}")
        newcomer.get_by_label("Nickname (shown to the teacher)").fill("Bob")
        newcomer.get_by_role("button", name="Join the room").click()
        expect(newcomer.get_by_text("has gone or been replaced").first).to_be_visible(timeout=WAIT)
        assert "seat=" not in newcomer.url  # not shown as joined
        clean(newcomer)
        assert not list(data.glob("rooms.sqlite3*"))  # nothing written into a new, empty file
    finally:
        stop_streamlit(process)


def test_a_killed_stress_worker_is_a_sentence_and_the_pool_goes_on(page: Page):
    process, url = start_streamlit(ROOT / "app.py")
    log = process.log  # the server's stderr, read as it comes (start_streamlit)
    try:
        _start_largest_run(page, url)
        workers = spawned(process.pid)
        assert workers, "no worker process found"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        expect(page.get_by_text("The worker process doing this long run stopped")).to_be_visible(timeout=WAIT)
        shown_id = re.search(r"error ([0-9a-f]{8})", page.get_by_text("The worker process").inner_text()).group(1)
        assert f"error {shown_id}" in log.text and "BrokenProcessPool" in log.text
        expect(page.get_by_role("button", name="Start it again")).to_be_visible()
        clean(page)
        page.wait_for_timeout(3000)
        assert spawned(process.pid), "the pool did not start new workers"
    finally:
        left = stop_streamlit(process)
    assert not left, left


def spawned(server: int) -> list[int]:
    """The server's worker processes (multiprocessing's spawned children)."""
    found = []
    for pid in descendants(server):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def test_a_server_killed_mid_answer_loses_nothing_shown_as_sent(browser: Browser, tmp_path):
    data = tmp_path / "data"
    database = f"sqlite:///{data / 'rooms.sqlite3'}"
    room, seat = classroom(database)
    env = {"MARGIN_LAB_DATA_DIR": str(data), "MARGIN_LAB_DATABASE_URL": ""}
    port = _free_port()
    process, base = start_streamlit(ROOT / "app.py", port=port, env=env)
    try:
        page = student(browser, base, room, seat)
        type_answer(page, "91000")
        page.get_by_role("button", name="Send my answer").click()
        os.kill(process.pid, signal.SIGKILL)  # mid-answer: the click's run may or may not have stored it
        process.wait()
        stop_streamlit(process)  # its workers, if any
        process, _ = start_streamlit(ROOT / "app.py", port=port, env=env)
        # the page reconnects by itself to the new server, which reads the room from the store
        rooms = RoomStore(database)
        stored = rooms.my_answer(room.code, seat.token)  # final: the server that could store it is dead
        rooms.dispose()
        # until the new server's first run arrives, the browser still shows the old page as it was
        # before the click ("Typed, not sent yet"): wait for what the store says, then check the other
        if stored == 91_000.0:
            expect(page.get_by_text("Sent: 91,000.00")).to_be_visible(timeout=WAIT)
            expect(page.get_by_text("Typed, not sent yet")).to_have_count(0)
        else:
            assert stored is None, stored
            expect(page.get_by_text("Typed, not sent yet")).to_be_visible(timeout=WAIT)
            expect(page.get_by_text("Sent: 91,000.00")).to_have_count(0)
        expect(page.get_by_role("heading", name=f"Room {room.code}")).to_be_visible()
        clean(page)
    finally:
        stop_streamlit(process)


FAILING = '''
import streamlit as st
from ui.shell import faults

faults.install()
st.title("A page that fails")


@st.fragment
def panel():
    if st.button("Fail in a fragment"):
        raise RuntimeError("fragment cannot reach db.internal:5432")


panel()
if st.button("Fail the page"):
    raise RuntimeError("page cannot reach db.internal:5432 from /srv/secret.py")
'''


def test_an_uncaught_error_on_a_real_server_is_one_sentence_with_the_logs_id(page: Page, tmp_path):
    script = tmp_path / "failing.py"
    script.write_text(FAILING)
    process, url = start_streamlit(script, env={"PYTHONPATH": str(ROOT)})
    log = process.log  # the server's stderr, read as it comes (start_streamlit)
    try:
        page.goto(url)
        expect(page.get_by_role("heading", name="A page that fails")).to_be_visible(timeout=WAIT)
        for button, where in (("Fail in a fragment", "fragment"), ("Fail the page", "page")):
            page.get_by_role("button", name=button).click()
            sentence = page.get_by_text("Something went wrong on the server")
            expect(sentence).to_have_count(1)
            error_id = re.search(r"error ([0-9a-f]{8})", sentence.inner_text()).group(1)
            expect(page.get_by_text("This app has encountered an error")).to_have_count(0)  # ours alone
            clean(page)
            assert "db.internal" not in page.locator("body").inner_text()
            page.wait_for_timeout(500)
            assert f"error {error_id}" in log.text and f"{where} cannot reach db.internal" in log.text
    finally:
        stop_streamlit(process)
