"""Nothing secret in the proxy's log, and a join limit that stops guessing but never a class,
through the project's nginx (``deploy/farm.py``: Debian's nginx on ``deploy/nginx/nginx.conf`` as
it is, in front of an app server that trusts it, ``MARGIN_LAB_TRUSTED_PROXIES=127.0.0.1,::1``).

* After a lesson whose addresses carried every secret (the teacher link with the key, a
  student's reload with the seat token, the projector's link with its token), nginx's access
  log names the pages but holds no key, token or query string.
* A browser that sends a made-up ``X-Forwarded-For`` with each of 15 wrong codes is throttled
  (after 10), and the made-up address is never counted: nginx replaces the header with the
  address it saw, the only one the app believes.
* After that student's typos, a classmate behind the same address joins at once.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select

from classroom import RoomStore, schema
from classroom.limits import MAX_FAILED_JOINS_PER_SESSION
from deploy.farm import Farm
from margin.presets import load_story

pytestmark = [pytest.mark.servers, pytest.mark.browser]

FORGED = "6.6.6.6"


@pytest.fixture(autouse=True)
def _expect_timeout():
    expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """One app server behind nginx, trusting that nginx (and only it), over a SQLite file."""
    from tests.servers.conftest import need
    from deploy.farm import MIME_TYPES, NGINX
    need(NGINX, "nginx")
    need(str(MIME_TYPES), "nginx")
    folder = tmp_path_factory.mktemp("guarded")
    url = f"sqlite:///{folder / 'rooms.sqlite3'}"
    env = {"MARGIN_LAB_DATABASE_URL": url, "MARGIN_LAB_TRUSTED_PROXIES": "127.0.0.1,::1"}
    with Farm(folder / "farm", servers_count=1, env=env) as farm:
        yield farm, url


def counters(database: str) -> dict[str, int]:
    """The store's failed-join counters: ``{who: failures}``."""
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return {r.who: r.failures for r in connection.execute(select(schema.join_limits)).all()}
    finally:
        engine.dispose()


def join_form(page, code: str, nickname: str) -> None:
    page.get_by_label("Room code").fill(code)
    page.get_by_label("Nickname (shown to the teacher)").fill(nickname)
    page.get_by_role("button", name=re.compile("Join the room")).click()


def test_the_access_log_holds_no_key_or_token_after_a_lesson(browser, guarded):
    farm, database = guarded
    rooms = RoomStore(database)
    room = rooms.open_room()
    rooms.push_account(room.code, room.teacher_key, load_story("default"))
    teacher = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    teacher.goto(f"{farm.url}/teach_room?room={room.code}&key={room.teacher_key}")  # the teacher link
    expect(teacher.get_by_role("tab", name="Drive the lab")).to_be_visible()
    student = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    student.goto(f"{farm.url}/join_room?room={room.code}")
    join_form(student, room.code, "Ada")
    expect(student.get_by_text("You are Ada.")).to_be_visible()
    student.wait_for_url(re.compile(r"[?&]seat="))
    seat = parse_qs(urlsplit(student.url).query)["seat"][0]
    student.reload()  # a document request with the seat token in its address
    expect(student.get_by_text("You are Ada.")).to_be_visible()
    projector = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    projector.goto(f"{farm.url}/projector?room={room.code}&view={room.projector_token}")
    expect(projector.get_by_text("The market now: no shock")).to_be_visible()
    rooms.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    student.get_by_label(re.compile("Your answer")).fill("-7")
    student.get_by_role("button", name=re.compile("Send my answer")).click()
    expect(student.get_by_text(re.compile("^Sent: "))).to_be_visible()
    for page in (teacher, student, projector):
        page.context.close()
    rooms.dispose()

    log = farm.access_log.read_text()
    assert "/teach_room" in log and "/join_room" in log and "/projector" in log, log[-2000:]
    for secret in (room.teacher_key, seat, room.projector_token):
        assert secret not in log
    assert "key=" not in log and "seat=" not in log and "view=" not in log
    assert not [line for line in log.splitlines() if "?" in line], "a query string was logged"


def test_forged_addresses_are_throttled_and_a_classmate_still_joins(browser, guarded):
    farm, database = guarded
    rooms = RoomStore(database)
    room = rooms.open_room()
    rooms.dispose()
    before = counters(database)
    assert not before or all(n == 0 for w, n in before.items() if w.startswith("address:")), before
    wrong = [f"QQQQ{a}{b}" for a in "23" for b in "23456789"][:15]  # 15 codes no room has
    assert room.code not in wrong
    # one student's browser, each request claiming another address
    eve = browser.new_context(viewport={"width": 390, "height": 844},
                              extra_http_headers={"X-Forwarded-For": FORGED}).new_page()
    eve.goto(f"{farm.url}/join_room")
    expect(eve.get_by_label("Room code")).to_be_visible()
    for code in wrong[:MAX_FAILED_JOINS_PER_SESSION]:  # each refused, and counted
        join_form(eve, code, "Eve")
        expect(eve.get_by_text(f"no room has the code {code}", exact=False)).to_be_visible()
    join_form(eve, wrong[MAX_FAILED_JOINS_PER_SESSION], "Eve")
    expect(eve.get_by_text("too many wrong tries from this browser", exact=False)).to_be_visible()
    for code in wrong[MAX_FAILED_JOINS_PER_SESSION + 1:]:  # throttled: not even looked up
        join_form(eve, code, "Eve")
        eve.wait_for_timeout(1500)
        expect(eve.get_by_text("too many wrong tries from this browser", exact=False)).to_be_visible()
        expect(eve.get_by_text(f"no room has the code {code}", exact=False)).to_have_count(0)
    join_form(eve, room.code, "Eve")  # even the right code waits: Eve's own typos
    eve.wait_for_timeout(3000)
    expect(eve.get_by_text("You are Eve.")).to_have_count(0)
    expect(eve.get_by_text("too many wrong tries from this browser", exact=False)).to_be_visible()
    found = counters(database)
    assert not any(FORGED in who for who in found), found  # the made-up address never counted
    assert found.get("address:127.0.0.1") == MAX_FAILED_JOINS_PER_SESSION, found  # the address nginx saw
    assert sorted(n for n in found.values() if n) == [MAX_FAILED_JOINS_PER_SESSION] * 2, found  # Eve: session, address

    # a classmate behind the same address (this machine, through the same nginx) joins at once
    bo = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    bo.goto(f"{farm.url}/join_room?room={room.code}")
    join_form(bo, room.code, "Bo")
    expect(bo.get_by_text("You are Bo.")).to_be_visible()
    rooms = RoomStore(database)
    assert [p.nickname for p in rooms.participants(room.code, room.teacher_key)] == ["Bo"]
    rooms.dispose()
    eve.context.close()
    bo.context.close()
