"""Classroom rooms through the pages (AppTest): several sessions, one teacher and students,
over one temporary SQLite file, as several browsers over one server (or several servers)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from classroom import RoomStore
from classroom.market import ClassPosition, cascade_document
from margin.cli.commands import cascade_report
from margin.numbers import price
from teach.verdicts import expected
from tests.lab_reading import parse, region
from tests.support import app_file
from tests.paths import ROOT


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MARGIN_LAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("MARGIN_LAB_DATA_DIR", str(tmp_path))
    return tmp_path


def param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def teacher_key(at: AppTest) -> str:
    """The teacher key of the console's room: kept in its session, never in the address."""
    assert "key" not in at.query_params
    return at.session_state["room.teach.last"][1]


def teacher() -> AppTest:
    at = app_file(60)
    at.run()
    at.switch_page("pages/teach_room.py").run()
    next(b for b in at.button if b.label == "Open a room").click().run()
    assert not at.exception, at.exception
    return at


def student(code: str, nickname: str) -> AppTest:
    at = app_file(60)
    at.query_params["room"] = code
    at.run()
    at.switch_page("pages/join_room.py").run()
    at.text_input(key="room.join.nickname").input(nickname)
    next(b for b in at.button if b.label == "Join the room").click().run()
    assert not at.exception, at.exception
    assert "seat" in at.query_params, [e.value for e in at.error]
    return at


def test_a_refused_join_says_why_under_the_form_and_keeps_what_was_typed():
    """The join is tried before the page draws anything; a refusal draws the form back with
    the store's words, the nickname as typed, and no seat in the address."""
    code = param(teacher(), "room")
    student(code, "Ada")
    at = app_file(60)
    at.query_params["room"] = code
    at.run()
    at.switch_page("pages/join_room.py").run()
    at.text_input(key="room.join.nickname").input("ＡＤＡ")  # fullwidth, another case: the same name
    next(b for b in at.button if b.label == "Join the room").click().run()
    assert not at.exception, at.exception
    assert any("is taken in this room" in e.value for e in at.error), [e.value for e in at.error]
    assert at.text_input(key="room.join.nickname").value == "ＡＤＡ" and "seat" not in at.query_params
    at.text_input(key="room.join.code").input("ZZZZZZ")
    at.text_input(key="room.join.nickname").input("Bea")
    next(b for b in at.button if b.label == "Join the room").click().run()
    assert any("no room has the code" in e.value for e in at.error), [e.value for e in at.error]


def open_market(at: AppTest) -> AppTest:
    """The student opens the class market's expander: its form is drawn only then."""
    assert not any(b.label == "Open my position" for b in at.button)  # a first screen draws no form
    at.session_state["room.position.open"] = True
    return at.run()


def screen(at: AppTest) -> str:
    return parse(region(at, "room.screen")).text()


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]).replace("\\", "")


def test_teacher_pushes_an_account_and_a_shock_and_both_students_see_it():
    t = teacher()
    code = param(t, "room")
    ada, bob = student(code, "Ada"), student(code, "Bob")
    assert "The teacher has not shown an account yet" in region(ada, "room.screen")
    t.button(key="room.teach.push").click().run()
    t.slider(key="room.teach.shock").set_value(-12.0).run()
    assert not t.exception
    for at in (ada, bob):
        at.run()  # the poll
        words = screen(at)
        assert "a whole-market shock of -12.0 %" in words and "BTC 88,000.00 USDT" in words
        assert "liquidated" in words  # the default story's pool does not survive -12 %
    assert "Students" in [m.label for m in t.metric]
    assert next(m for m in t.metric if m.label == "Students").value == "2"


def test_a_question_is_answered_hidden_then_revealed_with_the_engines_value():
    t = teacher()
    code = param(t, "room")
    ada, bob = student(code, "Ada"), student(code, "Bob")
    t.radio(key="room.teach.kind").set_value("lesson").run()
    t.selectbox(key="room.teach.lesson").set_value("cross-exposure").run()
    t.button(key="room.teach.ask").click().run()
    value = expected("cross-exposure")
    for at, answer in ((ada, 90_000.0), (bob, value)):  # Ada answers the BTC long's entry price
        at.run()
        assert "data-metric" not in region(at, "room.screen")  # nothing computed while it is open
        assert "stays hidden" in screen(at)
        at.number_input(key="room.answer.1.1").set_value(answer)
        at.button(key="room.send.1.1").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    t.run()
    assert "2 answers so far" in texts(t)
    t.button(key="room.teach.reveal").click().run()
    words = texts(t)
    assert f"The engine says {price(value)} USDT per BTC" in words and "1 of 2 answers are within 1 %" in words
    assert "entry price" in words  # Ada's typical mistake, in the lesson's own words
    assert len(t.get("plotly_chart")) == 1
    bob.run()
    assert f"The engine says {price(value)} USDT per BTC" in texts(bob) and "within 1 %" in texts(bob)
    assert "data-metric" in region(ada.run(), "room.screen")  # after the reveal the lab is back


def test_class_cascade_of_three_students_equals_the_command_line():
    t = teacher()
    code = param(t, "room")
    picks = {"Ada": ("long", "isolated", 25.0, 20_000.0), "Bob": ("long", "cross", 10.0, 8_000.0),
             "Cy": ("short", "isolated", 2.0, 1_500.0)}
    sessions = {}
    for name, (side, mode, leverage, notional) in picks.items():
        at = open_market(student(code, name))
        at.radio(key="room.position.side").set_value(side)
        at.radio(key="room.position.mode").set_value(mode)
        at.number_input(key="room.position.leverage").set_value(leverage)
        at.number_input(key="room.position.notional").set_value(notional)
        next(b for b in at.button if b.label == "Open my position").click().run()
        assert not at.error, [e.value for e in at.error]
        sessions[name] = at
    t.number_input(key="room.teach.cascade_shock").set_value(-6.0)
    t.button(key="room.teach.run").click().run()
    assert not t.exception and "Students liquidated" in [m.label for m in t.metric]
    assert "Tipping point: from a shock of" in texts(t) and len(t.get("plotly_chart")) == 2
    market = RoomStore().class_market(code)
    positions = [ClassPosition(side=side, mode=mode, leverage=leverage, notional=notional)
                 for side, mode, leverage, notional in picks.values()]
    cli = cascade_report(cascade_document(market, -0.06, positions))["traders"]
    for name, fate in zip(picks, cli):
        words = texts(sessions[name].run())
        if fate["round"] is None:
            assert "Survived" in words, words
        else:
            assert f"Liquidated in round {fate['round']} at {price(fate['price'])} USDT" in words, words
    assert "Survived" in texts(sessions["Cy"]) and "Liquidated in round" in texts(sessions["Ada"])


def test_the_store_survives_a_restart_and_a_reload_returns_to_the_room(data_dir):
    script = """
import json
from classroom import RoomStore
from margin.presets import load_story
s = RoomStore()
r = s.open_room()
a = s.join(r.code, "Ada", client="x")
s.ask(r.code, r.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
s.answer(r.code, a.token, -7.5)
s.open_position(r.code, a.token, {"side": "long", "mode": "cross", "leverage": 5, "notional": 2000})
print(json.dumps({"code": r.code, "key": r.teacher_key, "seat": a.token}))
"""
    first = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    room = json.loads(first.stdout.strip().splitlines()[-1])  # that server process has ended
    rooms = RoomStore()
    assert rooms.answers(room["code"], room["key"]).values == (-7.5,)
    assert rooms.class_positions(room["code"], room["key"])[0]["notional"] == 2000
    at = app_file(60)
    at.query_params["room"] = room["code"]
    at.query_params["seat"] = room["seat"]
    at.run()
    at.switch_page("pages/join_room.py").run()
    assert not at.exception
    words = texts(at)
    assert "You are **Ada**." in [m.value for m in at.markdown] and "Sent: -7.50 %" in words, words
    assert at.title[0].value == f"Room {room['code']}"


def test_a_wrong_link_says_why_and_offers_the_join_form():
    t = teacher()
    at = app_file(60)
    at.query_params["room"] = param(t, "room")
    at.query_params["seat"] = "not-a-seat"
    at.run()
    at.switch_page("pages/join_room.py").run()
    assert "no seat in this room" in at.error[0].value
    assert at.text_input(key="room.join.nickname") is not None


def test_bad_nickname_and_wrong_code_on_the_join_form():
    t = teacher()
    code = param(t, "room")
    at = app_file(60)
    at.query_params["room"] = code
    at.run()
    at.switch_page("pages/join_room.py").run()
    at.text_input(key="room.join.nickname").input("<img src=x>")
    next(b for b in at.button if b.label == "Join the room").click().run()
    assert "nickname" in at.error[0].value and "seat" not in at.query_params
    at.text_input(key="room.join.code").input("QQQQQQ" if code != "QQQQQQ" else "RRRRRR")
    at.text_input(key="room.join.nickname").input("Ada")
    next(b for b in at.button if b.label == "Join the room").click().run()
    assert "no room has the code" in at.error[0].value


def test_a_wrong_teacher_key_opens_nothing():
    t = teacher()
    at = app_file(60)
    at.query_params["room"] = param(t, "room")
    at.query_params["key"] = "guess"
    at.run()
    at.switch_page("pages/teach_room.py").run()
    assert "teacher key" in at.error[0].value
    assert not [b for b in at.button if b.label == "Push to the room"]


def test_the_teacher_plays_and_scrubs_a_crash_replay_and_students_follow():
    from margin.crashes import crash_ids, load_crash
    from margin.numbers import money
    from margin.presets import load_story
    from margin.replay import replay
    from margin.scenario import scenario_from_dict
    from ui.rooms.model import replay_moment
    t = teacher()
    code = param(t, "room")
    ada = student(code, "Ada")
    t.button(key="room.teach.push").click().run()
    t.button(key="room.teach.play").click().run()
    crash = crash_ids()[0]
    playing = RoomStore().state(code).replay  # from step 0, moved by the store's clock since
    assert (playing["crash"], playing["playing"], playing["last"]) == (crash, True, load_crash(crash).n_steps - 1)
    t.button(key="room.teach.play").click().run()  # pause
    t.slider(key=f"room.teach.replay_step.{crash}").set_value(40).run()
    paused = RoomStore().state(code).replay
    assert not t.exception and (paused["crash"], paused["step"], paused["playing"]) == (crash, 40, False)
    moment = replay_moment(replay(scenario_from_dict(load_story("default")), load_crash(crash)), 40)
    words = screen(ada.run())
    assert f"Crash replay: {moment.crash}" in words and f"{moment.elapsed} in:" in words
    assert f"equity {money(moment.equity[0][1])}" in words
    t.button(key="room.teach.stop_replay").click().run()
    assert "The market now: no shock" in screen(ada.run())


def test_let_them_explore_hands_each_student_the_shock_and_follow_me_takes_it_back():
    t = teacher()
    code = param(t, "room")
    ada = student(code, "Ada")
    t.button(key="room.teach.push").click().run()
    t.slider(key="room.teach.shock").set_value(-4.0).run()
    state = RoomStore().state(code)
    next(w for w in t.segmented_control if w.key.startswith("room.teach.mode.")).set_value("explore").run()
    assert not t.exception and RoomStore().state(code).mode == "explore"
    ada.run()
    assert "Explore" in texts(ada)
    ada.slider(key="room.own_shock").set_value(-20.0).run()
    assert "a whole-market shock of -20.0 %" in screen(ada)
    next(w for w in t.segmented_control if w.key.startswith("room.teach.mode.")).set_value("follow").run()
    ada.run()
    assert "Following the teacher" in texts(ada) and "a whole-market shock of -4.0 %" in screen(ada)
    assert state.shock == -0.04


def test_students_are_anonymous_on_the_teachers_screens_unless_the_teacher_chooses():
    t = teacher()
    code = param(t, "room")
    student(code, "Ada-B.")
    t.run()
    shown = [e.value for e in t.get("text")]
    assert "Student 1" in shown and "Ada-B." not in shown
    t.toggle(key=next(w.key for w in t.toggle if w.key.startswith("room.teach.names."))).set_value(True).run()
    t.run()
    assert "Ada-B." in [e.value for e in t.get("text")]  # as text, never Markdown


def test_coming_back_from_another_page_returns_to_the_room():
    t = teacher()
    code = param(t, "room")
    ada = student(code, "Ada")
    for at, page, title in ((t, "pages/teach_room.py", "Teach a room"), (ada, "pages/join_room.py", f"Room {code}")):
        at.switch_page("pages/price_lab.py").run()
        at.query_params.clear()  # as the browser's page switch does (AppTest keeps them)
        at.switch_page(page).run()
        assert not at.exception and at.title[0].value == title and param(at, "room") == code
    assert t.button(key="room.teach.push") is not None


def test_a_console_control_drawn_afresh_sends_the_rooms_value_not_its_minimum():
    """A browser that draws a control afresh (under load, around the console's polling fragment)
    sends the control's default back as if the teacher had moved it: once, the slider's
    minimum, which moved every student to a -90 % shock with nobody touching anything. Each
    control's default is the room's own value, so that echo moves nothing."""
    t = teacher()
    code = param(t, "room")
    t.button(key="room.teach.push").click().run()
    t.slider(key="room.teach.shock").set_value(-12.0).run()
    before = RoomStore().state(code)
    assert before.shock == pytest.approx(-0.12)
    controls = [t.slider(key="room.teach.shock")] + [n for n in t.number_input if (n.key or "").startswith("room.teach.price.")]
    assert len(controls) >= 3  # the shock and the default story's two prices
    for control in controls:
        default = control.proto.default
        control.set_value(default[0] if hasattr(default, "__len__") else default).run()
        assert not t.exception, t.exception
        after = RoomStore().state(code)
        assert (after.shock, after.prices) == (before.shock, before.prices), control.label
