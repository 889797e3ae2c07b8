"""The projector view and the teacher key's safety, through the pages (AppTest), over one
temporary SQLite file: the console's address never holds the key, the teacher link brings it
back into a session, and the projector view opens with its own token, refuses a wrong one in
words, never shows the key, and never shows a question's answer before the reveal."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from streamlit.testing.v1 import AppTest

from classroom import RoomStore
from margin.numbers import price
from margin.presets import load_story
from tests.lab_reading import html_bodies
from tests.support import app_file
from ui.common.link_codec import decode

PROJECTOR = "pages/projector.py"
LESSON = {"kind": "lesson", "lesson": "one-bad-trade"}
CHOICE = {"kind": "choice", "text": "Which mode risks the whole <b>wallet</b>?", "options": ["Cross", "Isolated"],
          "right": 0}


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MARGIN_LAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("MARGIN_LAB_DATA_DIR", str(tmp_path))
    return tmp_path


def params(at: AppTest) -> dict[str, str]:
    """The page's address parameters; the view kept for a reload (``v``) read as JSON text."""
    found = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    if "v" in found:
        found["v"] = json.dumps(decode(found["v"]))
    return found


def address(at: AppTest) -> str:
    return "&".join(f"{k}={v}" for k, v in params(at).items())


def everything(at: AppTest) -> str:
    """Every text the page shows, HTML blocks (as their text, tags dropped), code boxes and
    messages included."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [c.value for c in at.code] + [t.value for t in at.title]
    return "\n".join(parts + [unescape(re.sub(r"<[^>]+>", "", body)) for body in html_bodies(at)])


def page(path: str, **query: str) -> AppTest:
    at = app_file(60)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def projector(code: str, token: str, **more: str) -> AppTest:
    return page(PROJECTOR, room=code, view=token, **more)


# ----------------------------------------------------------------------------- the console's address


def test_an_opened_console_keeps_the_key_out_of_its_address_and_in_the_session():
    t = page("pages/teach_room.py")
    next(b for b in t.button if b.label == "Open a room").click().run()
    assert not t.exception, t.exception
    code, key = t.session_state["room.teach.last"]
    assert params(t)["room"] == code and "key" not in params(t) and key not in address(t)  # no key in the address
    assert [b for b in t.button if b.label == "Push to the room"]  # the console works from the session
    # the key is on the page only inside the teacher link's popover, never in the captions
    assert key not in "\n".join(c.value for c in t.caption) and key not in "\n".join(html_bodies(t))
    assert any(key in c.value and "key=" in c.value for c in t.code)
    projector_link = next(c.value for c in t.code if "/projector?" in c.value)
    assert key not in projector_link and f"room={code}" in projector_link


def test_a_teacher_link_opens_the_console_and_leaves_the_address_at_once():
    room = RoomStore().open_room()
    t = page("pages/teach_room.py", room=room.code, key=room.teacher_key)
    assert params(t)["room"] == room.code and "key" not in params(t) and room.teacher_key not in address(t)
    assert [b for b in t.button if b.label == "Push to the room"]
    t.run()  # a rerun keeps the console (the key is in the session)
    assert [b for b in t.button if b.label == "Push to the room"] and "key" not in params(t)


def test_the_consoles_address_alone_opens_nothing():
    room = RoomStore().open_room()
    at = page("pages/teach_room.py", room=room.code)  # a projected address copied into another browser
    assert not [b for b in at.button if b.label == "Push to the room"]
    assert "opens with your teacher link" in everything(at)


# ----------------------------------------------------------------------------- the projector view


def test_the_projector_opens_with_its_token_and_shows_the_code_and_who_arrived():
    store = RoomStore()
    room = store.open_room()
    store.join(room.code, "Ada", session="s-ada", address="192.0.2.1")
    at = projector(room.code, room.projector_token)
    words = everything(at)
    assert room.code in words and "1 student has joined" in words
    assert at.get("imgs") or at.get("image")  # the QR code
    assert room.teacher_key not in words and "Ada" not in words  # no key, no name


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_a_wrong_projector_token_is_refused_in_words(token):
    room = RoomStore().open_room()
    at = projector(room.code, token)
    words = everything(at)
    if token:
        assert "projector token" in at.error[0].value and "does not open" in at.error[0].value
    else:
        assert "projector link from the teacher's console" in words
    assert room.code not in "\n".join(html_bodies(at))  # nothing of the room


def test_an_old_projector_token_stops_when_the_teacher_makes_a_new_one():
    store = RoomStore()
    room = store.open_room()
    store.projector_token(room.code, room.teacher_key)
    assert "does not open" in projector(room.code, room.projector_token).error[0].value


def test_the_projector_refuses_the_teacher_key_and_drops_a_key_from_its_address():
    room = RoomStore().open_room()
    at = projector(room.code, room.teacher_key)
    assert "teacher key" in at.error[0].value and room.teacher_key not in everything(at)
    assert "view" not in params(at)
    at = projector(room.code, room.projector_token, key=room.teacher_key)
    assert "key" not in params(at) and room.teacher_key not in everything(at)


def test_the_projector_never_shows_the_answer_before_the_reveal():
    store = RoomStore()
    room = store.open_room()
    ada, bob = (store.join(room.code, n, session=f"s-{n}", address="192.0.2.1") for n in ("Ada", "Bob"))
    asked = store.ask(room.code, room.teacher_key, LESSON, seconds=90)
    store.answer(room.code, ada.token, -12.0)  # 1 point or more away: not close
    store.answer(room.code, bob.token, round(asked.value, 2))
    at = projector(room.code, room.projector_token)
    words = everything(at)
    assert asked.text in words and "1 of 2" not in words and "2 of 2 answered" in words
    assert ":" in words and "left" in words  # the countdown
    assert price(asked.value) not in words and "The engine says" not in words and not at.get("plotly_chart")
    store.reveal(room.code, room.teacher_key)
    words = everything(at.run())
    assert f"The engine says {price(asked.value)} %" in words and "1 of 2 answers are within 1 %" in words
    assert len(at.get("plotly_chart")) == 1 and "Ada" not in words


def test_a_choice_question_shows_its_options_then_the_counts_and_rounds_side_by_side():
    store = RoomStore()
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    a, b, c = (store.join(room.code, n, session=f"s-{n}", address="192.0.2.1") for n in ("Ada", "Bob", "Cy"))
    store.ask(room.code, room.teacher_key, CHOICE)
    for seat, pick in ((a, 0), (b, 1), (c, 1)):
        store.answer(room.code, seat.token, pick)
    at = projector(room.code, room.projector_token)
    words = everything(at)
    bodies = "\n".join(html_bodies(at))
    assert "&lt;b&gt;wallet&lt;/b&gt;" in bodies and "<b>wallet</b>" not in bodies  # a teacher's text, as text
    assert "right answer" not in words and "Isolated" in words
    store.reveal(room.code, room.teacher_key)
    words = everything(at.run())
    assert "The right answer: A. Cross" in words and "1 of 3 chose it" in words and "✓ right answer" in words
    store.reask(room.code, room.teacher_key)
    for seat in (a, b, c):
        store.answer(room.code, seat.token, 0)
    store.reveal(room.code, room.teacher_key)
    words = everything(at.run())
    assert "Round 1" in words and "Round 2" in words and "3 of 3 chose it" in words
    assert "2 moved to the right answer" in words


def test_the_projector_shows_the_class_cascade_without_names_until_the_lab_moves():
    store = RoomStore()
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    store.set_class_market(room.code, room.teacher_key, {"crowd": {"n_traders": 2_000}})
    ada = store.join(room.code, "Ada", session="s-ada", address="192.0.2.1")
    store.open_position(room.code, ada.token, {"side": "long", "mode": "isolated", "leverage": 25, "notional": 20_000})
    at = projector(room.code, room.projector_token)
    assert "The room's account" in everything(at)  # the lab the class sees
    store.run_cascade(room.code, room.teacher_key, -0.06)
    words = everything(at.run())
    assert "The class market: a shock of -6 %" in words and "students liquidated" in words and "Ada" not in words
    assert len(at.get("plotly_chart")) == 1
    store.move_market(room.code, room.teacher_key, shock=-0.02)
    words = everything(at.run())
    assert "The class market" not in words and "a whole-market shock of -2.0 %" in words


def test_a_closed_room_says_so_on_the_projector():
    store = RoomStore()
    room = store.open_room()
    at = projector(room.code, room.projector_token)
    store.close(room.code, room.teacher_key)
    assert f"Room {room.code} is closed" in everything(at.run())


@pytest.mark.parametrize("code, token", [
    ("<img src=x onerror=alert(1)>", "x"), ("ABC234", "t" * 20_000), ("Ａ２３４５６", "\u202e\u0000"),
    ("abc234", "**bold** [link](javascript:alert(1))"),
])
def test_hostile_projector_links_are_refused_in_words(code, token):
    RoomStore().open_room()
    at = projector(code, token)
    assert at.error and not at.exception
    message = at.error[0].value.replace("\\", "")  # md() escapes Markdown
    assert message.split(":")[0] in ("code", "projector token", "view"), message
    assert "<img" not in "\n".join(html_bodies(at)) and "javascript:" not in message
