"""Pushed rooms in Chromium (``streamlit run serve_app.py`` over a temporary SQLite file): two
student pages (a laptop and a 390-pixel phone, two browser contexts) and the teacher's steps
written to the store by this test's process. Each step is redrawn by the page's component from
the event stream, with no script run (no websocket message from Streamlit at all); a question
shows its facts at once and its answer box after one page run; a closed room says so."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import room_with_story, sqlite_room_server

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def pushed_server(tmp_path_factory):
    with sqlite_room_server(tmp_path_factory, "pushed-rooms", "serve_app.py") as served:
        yield served


def student_page(browser, url: str, room, seat, width: int):
    """A student's page in a context of its own; ``frames`` counts what Streamlit's websocket
    brought it (a script run is dozens of messages; a pushed step none)."""
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    frames = {"count": 0}

    def watch(ws) -> None:
        if ws.url.endswith("/_stcore/stream"):
            ws.on("framereceived", lambda _payload: frames.__setitem__("count", frames["count"] + 1))
    page.on("websocket", watch)
    page.goto(f"{url}/join_room?room={room.code}&seat={seat.token}")
    expect(page.get_by_role("heading", name=f"Room {room.code}")).to_be_visible()
    expect(page.get_by_text("The market now: no shock")).to_be_visible()
    return page, frames


def test_a_pushed_step_is_redrawn_without_a_script_run(browser, pushed_server):
    url, database = pushed_server
    rooms, room = room_with_story(database)
    laptop_seat, phone_seat = (rooms.join(room.code, name, client="test") for name in ("Ada", "Grace"))
    laptop, laptop_frames = student_page(browser, url, room, laptop_seat, 1280)
    phone, phone_frames = student_page(browser, url, room, phone_seat, 390)
    time.sleep(2.0)  # the first runs' last messages
    laptop_frames["count"] = phone_frames["count"] = 0
    for k in range(1, 4):
        rooms.move_market(room.code, room.teacher_key, shock=-0.01 * k)
        written = time.monotonic()
        for page in (laptop, phone):
            expect(page.get_by_text(f"The market now: a whole-market shock of -{k}.0 %")).to_be_visible(timeout=5_000)
        print(f"step {k}: on both screens {time.monotonic() - written:.2f} s after the write")
    assert laptop_frames["count"] == 0 and phone_frames["count"] == 0, "a pushed step ran the page's script"
    region = laptop.locator('[data-live-region="room.screen"]')
    assert region.get_attribute("data-room-version") == str(rooms.state(room.code).version)

    rooms.ask(room.code, room.teacher_key, {"kind": "liquidation_shock"})
    for page in (laptop, phone):
        expect(page.get_by_text("stays hidden until the teacher reveals")).to_be_visible(timeout=5_000)
        expect(page.get_by_role("button", name="Send my answer")).to_be_visible()  # one page run, asked by the stream
    assert laptop_frames["count"] > 0
    box = phone.get_by_label(re.compile(r"^Your answer"))
    box.fill("-12.5")
    box.press("Enter")
    phone.get_by_role("button", name="Send my answer").click()
    expect(phone.get_by_text(re.compile(r"^Sent: -12\.50"))).to_be_visible()
    assert rooms.answers(room.code, room.teacher_key).values == (-12.5,)

    rooms.close(room.code, room.teacher_key)
    for page in (laptop, phone):
        expect(page.get_by_text("The teacher has closed this room.")).to_be_visible(timeout=5_000)
        expect(page.get_by_text(re.compile(r"is closed"))).to_be_visible()
    rooms.dispose()
