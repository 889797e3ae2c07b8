"""A classroom room past one server: nginx in front of two app servers that share one database
(``database_url``: CI's PostgreSQL, else a SQLite file of the test's own).

The teacher's Chromium context lands on one server and the student's on the other (each proved
by the X-Margin-Lab-Server header of its pages and of its websocket). The teacher opens a room
on the first server, the student joins it by its code on the second, so the second server read
the room the first one wrote; the teacher pushes an account and moves the shock and the
student's screen follows. The student answers a question; then the student's server is lost:
the student's reload is routed to the teacher's server, the seat token in the address brings
the student back to the room, and the participant, the account, the shock and the answer are
all still there, on both screens and in the store.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from classroom import RoomStore
from margin.presets import load_story
from tests.servers.conftest import open_on
from ui.rooms.model import account_text, room_step, step_words

pytestmark = [pytest.mark.servers, pytest.mark.browser]

STORY = "diversified-alts-crash"  # its markets (DOGE, ETH, SOL, XRP) differ from the default account's
FOLLOW_SECONDS = 5.0  # the student's screen shows the teacher's step within this, through nginx


@pytest.fixture(autouse=True)
def _expect_timeout():
    expect.set_options(timeout=30_000)


def wait_for_handshake(visit, count: int, seconds: float = 30) -> None:
    """Until ``visit`` has seen more than ``count`` websocket handshakes."""
    deadline = time.monotonic() + seconds
    while len(visit.websockets) <= count:
        assert time.monotonic() < deadline, f"no websocket handshake after {count}"
        visit.page.wait_for_timeout(100)


def query(page) -> dict[str, str]:
    return query_of(page.url)


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url.strip()).query).items()}


def metric(page, label: str):
    # the metric whose label is exactly ``label`` (another's label or help may contain it)
    labelled = page.locator('[data-testid="stMetricLabel"]').get_by_text(label, exact=True)
    return page.locator('[data-testid="stMetric"]').filter(has=labelled).locator('[data-testid="stMetricValue"]')


def test_a_room_spans_two_servers_and_a_lost_server_loses_nothing_of_it(browser, farm, database_url):
    a, b = farm.servers
    teacher, student = open_on(browser, farm, a), open_on(browser, farm, b)
    tpage, spage = teacher.page, student.page

    # The teacher opens a room on server A.
    assert teacher.goto(farm.url + "/teach_room") is a
    expect(tpage.get_by_role("heading", name="Teach a room")).to_be_visible()
    tpage.get_by_role("button", name=re.compile("Open a room")).click()
    code_box = tpage.locator(".ml-room-code")
    expect(code_box).to_have_text(re.compile(r"^[A-Z0-9]{4,12}$"))
    code = code_box.inner_text().strip()
    tpage.wait_for_url(re.compile(rf"[?&]room={code}"))
    assert "key" not in query(tpage)  # the console's address holds no key: its teacher link does
    tpage.get_by_role("button", name=re.compile("Teacher link")).click()
    key = query_of(tpage.locator("code").filter(has_text="key=").first.inner_text())["key"]
    tpage.keyboard.press("Escape")

    # The student joins it on server B, by the code and a nickname: B reads the room A wrote.
    assert student.goto(f"{farm.url}/join_room?room={code}") is b
    expect(spage.get_by_label("Room code")).to_have_value(code)
    spage.get_by_label("Nickname (shown to the teacher)").fill("Ada")
    spage.get_by_role("button", name=re.compile("Join the room")).click()
    expect(spage.get_by_role("heading", name=f"Room {code}")).to_be_visible()
    expect(spage.get_by_text("You are Ada.")).to_be_visible()
    spage.wait_for_url(re.compile(r"[?&]seat="))
    seat = query(spage)["seat"]
    expect(metric(tpage, "Students")).to_have_text("1")  # A sees whom B let in

    # The teacher pushes a story's account and moves the shock; the student's screen follows.
    tpage.get_by_role("combobox", name="Account to show the class").click()
    name = load_story(STORY)["name"]
    tpage.get_by_role("option", name=f"Story: {name}").click()
    tpage.get_by_role("button", name=re.compile("Push to the room")).click()
    account = account_text(load_story(STORY))
    at_rest = step_words(room_step(account, 0.0, ()))
    expect(spage.get_by_text(at_rest)).to_be_visible()
    slider = tpage.get_by_role("slider", name=re.compile("Whole-market shock"))
    slider.focus()
    for _ in range(4):  # 4 steps of 0.5 %
        tpage.keyboard.press("ArrowLeft")
        time.sleep(0.15)
    moved = step_words(room_step(account, -0.02, ()))
    assert "-2.0 %" in moved and "DOGE" in moved
    expect(tpage.get_by_text(moved)).to_be_visible()
    shown = time.monotonic()
    expect(spage.get_by_text(moved)).to_be_visible(timeout=FOLLOW_SECONDS * 1000)
    print(f"\nthe student on {b.address} followed {time.monotonic() - shown:.2f} s after the teacher's "
          f"screen on {a.address} showed the step")
    expect(spage.get_by_text(re.compile("Following the teacher"))).to_be_visible()

    # A question: the student answers it on B.
    tpage.get_by_role("tab", name="Ask the class").click()
    tpage.get_by_text("What shock liquidates the cross pool?", exact=True).click()
    tpage.get_by_role("button", name=re.compile("Ask the class")).click()
    expect(spage.get_by_text(re.compile(r"^Question 1\."))).to_be_visible()
    expect(spage.get_by_text(moved)).to_have_count(0)  # the lab is hidden while the question is open
    answer = spage.get_by_label("Your answer [%]")
    answer.fill("-12.5")
    answer.press("Enter")
    expect(answer).to_have_value("-12.50")
    spage.get_by_role("button", name=re.compile("Send my answer")).click()
    expect(spage.get_by_text(re.compile(r"^Sent: -12\.50 %"))).to_be_visible()
    expect(metric(tpage, "Answered")).to_have_text("1")

    # Every page and websocket so far came from each user's own server.
    assert student.websockets and all(s is b for s in student.websocket_servers())
    assert teacher.websockets and all(s is a for s in teacher.websocket_servers())
    assert set(teacher.documents) == {a.address} and set(student.documents) == {b.address}

    # Server B is lost: the student's reload goes to A, and the seat in the address returns the
    # student to the room, with the answer sent before.
    b.stop()
    assert not b.alive
    handshakes = len(student.websockets)
    assert student.goto(spage.url) is a
    assert query(spage)["seat"] == seat
    expect(spage.get_by_role("heading", name=f"Room {code}")).to_be_visible()
    expect(spage.get_by_text("You are Ada.")).to_be_visible()
    expect(spage.get_by_text(re.compile(r"^Question 1\."))).to_be_visible()
    expect(spage.get_by_text(re.compile(r"^Sent: -12\.50 %"))).to_be_visible()
    wait_for_handshake(student, handshakes)
    assert student.websocket_servers()[-1] is a

    # The teacher, on A all along, still has the student, the answer and the shock; the reveal
    # reaches the student on A: the answer and the lab at the shock the room was left at.
    expect(metric(tpage, "Students")).to_have_text("1")
    expect(metric(tpage, "Answered")).to_have_text("1")
    tpage.get_by_role("tab", name="Ask the class").click()
    tpage.get_by_role("button", name=re.compile("Reveal")).click()
    expect(spage.get_by_text(re.compile(r"You said -12\.50 %\."))).to_be_visible()
    expect(spage.get_by_text(moved)).to_be_visible()

    # And the store, read straight from the database both servers used, holds all of it.
    rooms = RoomStore(database_url)
    try:
        people = rooms.participants(code, key)
        assert [(p.nickname, p.removed) for p in people] == [("Ada", False)]
        assert rooms.seat(code, seat).nickname == "Ada"
        state = rooms.state(code)
        assert state.scenario["name"] == name and state.shock == pytest.approx(-0.02)
        answers = rooms.answers(code, key, 1)
        assert answers.values == (pytest.approx(-12.5),) and answers.question.revealed
        assert rooms.my_answer(code, seat) == pytest.approx(-12.5)
    finally:
        rooms.dispose()
    for visit in (teacher, student):
        visit.context.close()
