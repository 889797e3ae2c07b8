"""The student page when its process serves the rooms' event streams (AppTest, the page told so
as ``serve_app.py``'s hub would tell it): it mounts the listening component with a signed
ticket for its stream, never the seat token, sends no screen itself, and hands over the
student's own screen in explore mode only; its runs leave presence to the stream's hub."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

import push.server
from classroom import RoomStore
from classroom import schema as t
from margin.presets import load_story
from push.screen import page_shape
from push.server import ticket_key
from push.ticket import StreamTicket, read_ticket
from tests.support import app_file


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("MARGIN_LAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("MARGIN_LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(push.server, "_HUB", [object()])  # this process serves the streams
    rooms = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    yield rooms
    rooms.dispose()


def student_page(code: str, token: str):
    at = app_file(60)
    at.query_params["room"] = code
    at.query_params["seat"] = token
    at.run()
    at.switch_page("pages/join_room.py").run()
    assert not at.exception, at.exception
    return at


def listener(at) -> dict:
    found = [c for c in at.get("bidi_component") if c.proto.component_name == "margin_lab.room_stream"]
    assert len(found) == 1, "the page mounts one listening component"
    return json.loads(found[0].proto.json)


def test_the_page_listens_with_a_ticket_and_sends_no_screen_itself(store):
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    seat = store.join(room.code, "Ada", client="test")
    at = student_page(room.code, seat.token)
    data = listener(at)
    assert seat.token not in data["url"] and room.teacher_key not in data["url"]
    assert urlsplit(data["url"]).path == "/api/room-stream"
    state = store.state(room.code)
    ticket = parse_qs(urlsplit(data["url"]).query)["t"][0]
    assert read_ticket(ticket, key=ticket_key(), now=time.time()) == StreamTicket(
        code=room.code, participant_id=seat.participant_id, expires_at=int(state.expires_at))
    assert (data["shape"], data["version"], data["override"]) == (page_shape(state), state.version, None)
    assert not [c for c in at.get("bidi_component") if c.proto.component_name == "margin_lab.live_regions"]


def test_explore_mode_hands_the_component_the_students_own_screen(store):
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    store.move_market(room.code, room.teacher_key, shock=-0.03)
    store.set_mode(room.code, room.teacher_key, "explore")
    seat = store.join(room.code, "Ada", client="test")
    at = student_page(room.code, seat.token)
    assert "a whole-market shock of -3.0 %" in listener(at)["override"]
    at.slider(key="room.own_shock").set_value(-10.0).run()
    assert "a whole-market shock of -10.0 %" in listener(at)["override"]


def test_a_pushed_page_run_leaves_presence_to_the_stream(store):
    """The open stream is the presence (push/hub.py): the page's own run writes none, however
    long ago the student was last seen (it used to touch the store, and a 14 s fragment too)."""
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    seat = store.join(room.code, "Ada", client="test")
    with store.engine.begin() as connection:
        connection.execute(update(t.participants).values(last_seen=1.0))  # seen long ago
    at = student_page(room.code, seat.token)
    assert listener(at)["version"] == store.state(room.code).version
    assert store.participants(room.code, room.teacher_key)[0].last_seen == 1.0
