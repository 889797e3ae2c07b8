"""The projector and the teacher key in real browsers (Chromium, one server over a temporary
SQLite file): the projected console's address and text hold no key; a projector view at
1280×720 follows a lesson (arrival, a question with its countdown, the reveal, the class
market's cascade), nothing overflowing, a screenshot of each phase; and at 390 px a class keeps
seeing a crash replay move after the teacher's tab closed.

Screenshots go to ``$MARGIN_LAB_SHOTS`` when set (the folder is made), else to the test's own
temporary folder."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from classroom import RoomStore
from margin.numbers import price
from margin.presets import load_story
from tests.conftest import room_with_story, sqlite_room_server

pytestmark = pytest.mark.browser

LESSON = {"kind": "lesson", "lesson": "one-bad-trade"}
CHOICE = {"kind": "choice", "text": "Which mode lets one losing position take the whole wallet?",
          "options": ["Cross", "Isolated", "Neither"], "right": 0}
NO_OVERFLOW_JS = "document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(autouse=True)
def _timeouts():
    expect.set_options(timeout=30_000)
    yield


@pytest.fixture(scope="module")
def room_server(tmp_path_factory):
    with sqlite_room_server(tmp_path_factory, "projector") as served:
        yield served


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("MARGIN_LAB_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def page_text(page) -> str:
    return page.evaluate("document.body.innerText")


def test_the_projected_consoles_address_and_text_hold_no_key(browser, room_server, shots):
    url, _ = room_server
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.goto(f"{url}/teach_room")
    page.get_by_role("button", name=re.compile("Open a room")).click()
    code = page.locator(".ml-room-code").inner_text().strip()
    expect(page.get_by_role("tab", name="Drive the lab")).to_be_visible()
    page.wait_for_timeout(1500)  # the address settles
    projected_url, projected_text = page.url, page_text(page)
    page.screenshot(path=str(shots / "console-1280x720.png"))
    # the teacher opens the private link on their own screen, reads the key, closes it
    page.get_by_role("button", name=re.compile("Teacher link")).click()
    link = page.locator("code").filter(has_text="key=").first.inner_text()
    key = re.search(r"key=([A-Za-z0-9_-]+)", link).group(1)
    page.keyboard.press("Escape")
    assert f"room={code}" in projected_url
    assert key not in projected_url and "key=" not in projected_url
    assert key not in projected_text and len(key) >= 32
    expect(page.locator("code").filter(has_text="key=")).to_have_count(0)  # closed again: gone from the page
    assert key not in page_text(page) and key not in page.url
    # and the link works in another browser, which also keeps the key out of its address
    other = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    other.goto(link)
    expect(other.get_by_role("tab", name="Drive the lab")).to_be_visible()
    other.wait_for_timeout(1000)
    assert key not in other.url and f"room={code}" in other.url
    other.context.close()
    page.context.close()


def test_a_projector_follows_a_lesson_at_1280x720(browser, room_server, shots):
    url, database = room_server
    rooms = RoomStore(database)
    room = rooms.open_room()
    rooms.set_class_market(room.code, room.teacher_key, {"crowd": {"n_traders": 2_000}})
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.goto(f"{url}/projector?room={room.code}&view={room.projector_token}")

    # arrival: the code, the QR, who has joined (counted as they come)
    expect(page.get_by_label("Join code")).to_have_text(room.code)
    expect(page.get_by_text("0 students have joined")).to_be_visible()
    seats = [rooms.join(room.code, n, session=f"s-{n}", address="192.0.2.1") for n in ("Ada", "Bob", "Cy")]
    expect(page.get_by_text("3 students have joined")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Scan to join|.*"))).to_be_visible()
    page.screenshot(path=str(shots / "projector-1-arrival.png"))
    assert page.evaluate(NO_OVERFLOW_JS)

    # the lab the class sees
    rooms.push_account(room.code, room.teacher_key, load_story("default"))
    expect(page.get_by_text("The market now: no shock")).to_be_visible()

    # a question with its countdown; the answer nowhere
    asked = rooms.ask(room.code, room.teacher_key, LESSON, seconds=90)
    clock = page.get_by_role("timer")
    expect(clock).to_have_text(re.compile(r"^1:[0-3]\d left$"))
    first = clock.inner_text()
    expect(clock).not_to_have_text(first, timeout=5_000)  # it counts down by itself
    rooms.answer(room.code, seats[0].token, -12.0)
    rooms.answer(room.code, seats[1].token, round(asked.value, 2))
    expect(page.get_by_text(re.compile(r"^2 of 3 answered\.?$"))).to_be_visible()
    words = page_text(page)
    assert price(asked.value) not in words and "The engine says" not in words
    page.screenshot(path=str(shots / "projector-2-question.png"))
    assert page.evaluate(NO_OVERFLOW_JS)

    # the reveal: the engine's value against the class's answers
    rooms.reveal(room.code, room.teacher_key)
    expect(page.get_by_text(f"The engine says {price(asked.value)} %.")).to_be_visible()
    expect(page.get_by_text("1 of 2 answers are within 1 %.")).to_be_visible()
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()  # the histogram
    page.wait_for_timeout(3000)  # three more runs of the view: the chart stays drawn
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    page.screenshot(path=str(shots / "projector-3-reveal.png"))
    assert page.evaluate(NO_OVERFLOW_JS)

    # a choice question asked twice (peer instruction): both rounds side by side
    rooms.ask(room.code, room.teacher_key, CHOICE)
    for seat, pick in zip(seats, (1, 1, 0)):
        rooms.answer(room.code, seat.token, pick)
    rooms.reveal(room.code, room.teacher_key)
    expect(page.get_by_text("The right answer: A. Cross.")).to_be_visible()
    rooms.reask(room.code, room.teacher_key)
    for seat, pick in zip(seats, (0, 1, 0)):
        rooms.answer(room.code, seat.token, pick)
    rooms.reveal(room.code, room.teacher_key)
    expect(page.get_by_text("From round 1 to 2: 1 moved to the right answer", exact=False)).to_be_visible()
    expect(page.get_by_text("2 of 3 chose it.")).to_be_visible()
    page.screenshot(path=str(shots / "projector-3b-rounds.png"))
    assert page.evaluate(NO_OVERFLOW_JS)

    # the class market's cascade, no names
    rooms.clear_question(room.code, room.teacher_key)
    for seat, leverage in zip(seats, (25, 10, 3)):
        rooms.open_position(room.code, seat.token, {"side": "long", "mode": "isolated", "leverage": leverage,
                                                    "notional": 2_000})
    rooms.run_cascade(room.code, room.teacher_key, -0.08)
    expect(page.get_by_text("The class market: a shock of -8 %")).to_be_visible()
    expect(page.get_by_text(re.compile(r"of 3 students liquidated"))).to_be_visible()
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()  # the price by round
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / "projector-4-cascade.png"))
    assert page.evaluate(NO_OVERFLOW_JS)
    words = page_text(page)
    assert not any(n in words for n in ("Ada", "Bob", "Cy")) and room.teacher_key not in words
    assert room.teacher_key not in page.url
    page.context.close()
    rooms.dispose()


def test_at_390_px_the_class_sees_the_replay_move_after_the_teachers_tab_closes(browser, room_server, shots):
    url, database = room_server
    rooms, room = room_with_story(database)
    seats = [rooms.join(room.code, n, session=f"s-{n}", address="192.0.2.1") for n in ("Ada", "Bob")]
    phone = {"viewport": {"width": 390, "height": 844}}
    teacher = browser.new_context(**phone).new_page()
    teacher.goto(f"{url}/teach_room?room={room.code}&key={room.teacher_key}")
    students = [browser.new_context(**phone).new_page() for _ in seats]
    for page, seat in zip(students, seats):
        page.goto(f"{url}/join_room?room={room.code}&seat={seat.token}")
        expect(page.get_by_text("The market now: no shock")).to_be_visible()
    teacher.get_by_text("Crash replay for the class").click()
    teacher.get_by_role("button", name=re.compile("^(play_arrow)?Play$")).click()
    expect(teacher.get_by_text(re.compile(r"Playing: step \d+ of \d+"))).to_be_visible()
    for page in students:
        expect(page.get_by_role("heading", name=re.compile("^Crash replay:"))).to_be_visible()
    teacher.context.close()  # mid-replay: the teacher's tab is gone
    closed_at = time.monotonic()
    elapsed = [page.locator('[data-section="Crash replay"] p').nth(1) for page in students]
    before = [e.inner_text() for e in elapsed]
    for e, was in zip(elapsed, before):
        expect(e).not_to_have_text(was, timeout=15_000)  # the store plays it by its clock
    print(f"\nthe class's replay moved on {time.monotonic() - closed_at:.1f} s after the teacher's tab closed: "
          f"{before[0]!r} -> {elapsed[0].inner_text()!r}")
    for page in students:
        assert page.evaluate(NO_OVERFLOW_JS)
    students[0].screenshot(path=str(shots / "student-390-replay-after-teacher-left.png"))
    for page in students:
        page.context.close()
    rooms.dispose()


@pytest.fixture(scope="module")
def pushed_server(tmp_path_factory):
    with sqlite_room_server(tmp_path_factory, "pushed-projector", "serve_app.py") as served:
        yield served


def test_served_by_serve_app_the_projectors_lab_is_pushed(browser, pushed_server):
    url, database = pushed_server
    rooms, room = room_with_story(database)
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.goto(f"{url}/projector?room={room.code}&view={room.projector_token}")
    screen = page.locator('[data-live-region="projector.screen"]')
    expect(screen).to_contain_text("The market now: no shock")
    expect(screen).to_have_attribute("data-room-version", re.compile(r"^\d+$"))  # drawn by the stream
    rooms.move_market(room.code, room.teacher_key, shock=-0.03)
    moved = time.monotonic()
    expect(screen).to_contain_text("a whole-market shock of -3.0 %", timeout=5_000)
    print(f"\nthe projector showed the step {time.monotonic() - moved:.2f} s after the store took it")
    rooms.ask(room.code, room.teacher_key, LESSON, seconds=60)  # the question view, then the lab again
    expect(page.get_by_role("timer")).to_be_visible()
    rooms.clear_question(room.code, room.teacher_key)
    rooms.move_market(room.code, room.teacher_key, shock=-0.05)
    expect(screen).to_contain_text("a whole-market shock of -5.0 %", timeout=5_000)
    assert room.teacher_key not in page.url and room.teacher_key not in page_text(page)
    page.context.close()
    rooms.dispose()
