"""The teacher's instruments through the pages (AppTest): a teacher and several students as
separate sessions over one temporary SQLite file: the class list, the question timer, choice
questions, rounds of peer instruction, the roster and the room's record, "my rooms", and the
class market's defaults."""

from __future__ import annotations

import csv
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from classroom import RoomStore
from tests.pages.test_rooms_pages import open_market, param, student, teacher, teacher_key, texts

CHOICE_TEXT = "Which mode can lose the whole wallet?"
OPTIONS = "Cross\nIsolated\nNeither"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MARGIN_LAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("MARGIN_LAB_DATA_DIR", str(tmp_path))
    return tmp_path


def metric(at: AppTest, label: str) -> str:
    return next(m for m in at.metric if m.label == label).value


def html(at: AppTest) -> str:
    return "\n".join(str(e.proto.body) for e in at.get("html"))


def errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


def ask_choice(t: AppTest, text: str = CHOICE_TEXT, options: str = OPTIONS, right: int | None = 0,
               seconds: float | None = None) -> AppTest:
    t.radio(key="room.teach.kind").set_value("choice").run()
    t.text_area(key="room.teach.choice_text").input(text).run()
    t.text_area(key="room.teach.choice_options").input(options).run()
    if right is not None:
        t.radio(key="room.teach.choice_right").set_value(right)
    if seconds is not None:
        t.number_input(key="room.teach.timer").set_value(seconds)
    t.button(key="room.teach.ask").click().run()
    assert not t.exception, t.exception
    return t


def choose(at: AppTest, index: int) -> AppTest:
    at.run()
    radio = next(r for r in at.radio if r.key.startswith("room.answer."))
    radio.set_value(index)
    next(b for b in at.button if b.key.startswith("room.send.")).click().run()
    assert not at.exception, at.exception
    return at


def test_the_class_list_counts_connected_answered_and_not_yet_with_nicknames_on_the_console():
    t = teacher()
    code = param(t, "room")
    ada, bob, cy = student(code, "Ada"), student(code, "Bob"), student(code, "Cy-O'Neil.")
    t.run()
    assert (metric(t, "Students"), metric(t, "Connected"), metric(t, "Answered")) == ("3", "3", "—")
    ask_choice(t)
    choose(ada, 0)
    choose(bob, 2)
    t.run()
    assert (metric(t, "Answered"), metric(t, "Not yet")) == ("2", "1")
    assert "3 students joined, 3 connected now; question 1: 2 answered, 1 not yet." in texts(t)
    (table,) = t.dataframe
    rows = {r["Nickname"]: (r["Connected"], r["Answered"]) for r in table.value.to_dict("records")}
    assert rows == {"Ada": ("yes", "yes"), "Bob": ("yes", "yes"), "Cy-O'Neil.": ("yes", "not yet")}
    assert cy is not None


def test_a_timer_counts_down_on_every_screen_and_closes_answers_at_zero():
    t = teacher()
    code = param(t, "room")
    ada, bob = student(code, "Ada"), student(code, "Bob")
    ask_choice(t, seconds=20)  # long enough for a student's runs on a loaded machine (5 s was not)
    assert "Answers close in 0:" in html(t) and "data-closes-at" in html(t)
    ada.run()
    assert "Answers close in 0:" in html(ada)
    choose(ada, 1)
    assert not errors(ada) and "Sent: B. Isolated" in texts(ada)
    closes_at = RoomStore().state(code).question.closes_at
    time.sleep(max(0.0, closes_at - time.time()) + 0.2)  # past the store's own close time
    choose(bob, 0)
    assert any("time is up: answers to question 1 are closed" in e for e in errors(bob)), errors(bob)
    assert "Time is up: answers are closed." in html(bob.run())
    assert any("time is up" in e for e in errors(bob)), "the refusal stays through the poll's next run"
    store = RoomStore()
    assert store.answers(code, teacher_key(t)).values == (1.0,)  # Bob's late answer was refused
    t.run()
    assert metric(t, "Answered") == "1"
    t.number_input(key="room.teach.timer").set_value(60)
    t.button(key="room.teach.retime").click().run()  # the teacher gives more time
    choose(bob, 0)
    assert not errors(bob) and store.answers(code, teacher_key(t)).values == (1.0, 0.0)
    t.button(key="room.teach.reveal").click().run()
    assert "The right answer is A. Cross: 1 of 2 chose it" in texts(t)


def test_a_choice_question_reveal_counts_each_option_against_the_right_one():
    t = teacher()
    code = param(t, "room")
    picks = {"Ada": 0, "Bob": 1, "Cy": 1, "Di": 2}
    students = {name: student(code, name) for name in picks}
    ask_choice(t)
    for name, pick in picks.items():
        students[name].run()
        assert "right" not in " ".join(o for r in students[name].radio for o in r.options)  # hidden while open
        choose(students[name], pick)
    t.run()
    t.button(key="room.teach.reveal").click().run()
    words = texts(t)
    assert "The right answer is A. Cross: 1 of 4 chose it; the most chosen was B. Isolated (2)." in words
    (chart,) = t.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    (bars,) = spec["data"]
    assert bars["x"] == [1, 2, 1] and bars["y"][0] == "A. Cross ✓ right" and bars["text"] == ["1", "2", "1"]
    ada = students["Ada"].run()
    assert "The right answer is A. Cross. You said A. Cross. That is right." in texts(ada).replace("**", "")
    assert "You said B. Isolated." in texts(students["Bob"].run())


@pytest.mark.parametrize("text, options, right, message", [
    ("Which?", "Cross", 0, "Options: must be a list of 2 to 8 options"),
    ("Which?", "Cross\ncross", 0, "Option 2: repeats the option 'cross'"),
    ("Which?", "Cross\n\nIsolated", 0, "Option 2: must not be empty"),
    ("Which?", "Cross\nIsolated", None, "The right option:"),
    ("   ", "Cross\nIsolated", 1, "Question: must not be empty"),
])
def test_a_bad_choice_question_is_refused_naming_the_field(text, options, right, message):
    t = teacher()
    ask_choice(t, text, options, right)
    assert any(e.startswith(message) for e in errors(t)), errors(t)
    assert RoomStore().state(param(t, "room")).question is None


def test_the_two_choice_lessons_are_answered_by_choice():
    from teach.lessons import get_lesson, lesson_ids
    from teach.verdicts import expected
    t = teacher()
    ada = student(param(t, "room"), "Ada")
    for lesson in [i for i in lesson_ids() if get_lesson(i).answer.kind == "choice"]:
        t.radio(key="room.teach.kind").set_value("lesson").run()
        t.selectbox(key="room.teach.lesson").set_value(lesson).run()
        t.button(key="room.teach.ask").click().run()
        options = get_lesson(lesson).answer.options
        right = options.index(str(expected(lesson)))
        choose(ada, right)
        t.button(key="room.teach.reveal").click().run()
        assert "chose it" in texts(t) and "✓ right" in json.loads(t.get("plotly_chart")[0].proto.spec)["data"][0]["y"][right]
        assert "That is right." in texts(ada.run())


def test_round_two_is_shown_beside_round_one_with_who_moved_to_the_right_answer():
    t = teacher()
    code = param(t, "room")
    students = {name: student(code, name) for name in ("Ada", "Bob", "Cy", "Di")}
    ask_choice(t)
    for name, pick in {"Ada": 0, "Bob": 1, "Cy": 2, "Di": 1}.items():
        choose(students[name], pick)
    t.run()
    t.button(key="room.teach.reask").click().run()  # after the discussion, before any reveal
    assert not t.exception and "question 1 (round 2)" in texts(t).lower()
    ada = students["Ada"].run()
    assert "Question 1 (round 2)." in texts(ada).replace("*", "") and "Sent:" not in texts(ada)  # a fresh round
    for name, pick in {"Ada": 0, "Bob": 0, "Cy": 1}.items():  # Bob moves to the right one, Di is silent
        choose(students[name], pick)
    t.run()
    t.button(key="room.teach.reveal").click().run()
    words = texts(t).replace("*", "")
    assert ("Round 1: 1 of 4 right. Round 2: 2 of 3 right. Of the 3 who answered both rounds, 1 moved to the right "
            "answer, 0 moved away from it, 1 stayed right and 1 stayed wrong.") in words
    (chart,) = t.get("plotly_chart")
    rounds = json.loads(chart.proto.spec)["data"]
    assert [(r["name"], r["x"]) for r in rounds] == [("Round 1", [1, 2, 1]), ("Round 2", [2, 1, 0])]
    assert rounds[0]["marker"]["pattern"]["shape"] != rounds[1]["marker"]["pattern"]["shape"]  # not colour alone
    assert "Question 1 (round 2)." in texts(students["Bob"].run()).replace("*", "")


def test_a_number_question_in_two_rounds_shows_both_histograms_side_by_side():
    from teach.verdicts import expected
    t = teacher()
    code = param(t, "room")
    ada, bob = student(code, "Ada"), student(code, "Bob")
    t.radio(key="room.teach.kind").set_value("lesson").run()
    t.selectbox(key="room.teach.lesson").set_value("one-bad-trade").run()
    t.button(key="room.teach.ask").click().run()
    right = float(expected("one-bad-trade"))
    for at, value in ((ada, right * 2), (bob, right)):
        at.run()
        at.number_input(key="room.answer.1.1").set_value(value)
        at.button(key="room.send.1.1").click().run()
    t.run()
    t.button(key="room.teach.reveal").click().run()
    t.button(key="room.teach.reask").click().run()  # a revealed question asked again
    ada.run()
    ada.number_input(key="room.answer.1.2").set_value(right)
    ada.button(key="room.send.1.2").click().run()
    t.run()
    t.button(key="room.teach.reveal").click().run()
    words = texts(t).replace("*", "")
    assert "Round 1: 1 of 2 right. Round 2: 1 of 1 right." in words and "1 moved to the right answer" in words
    assert len(t.get("plotly_chart")) == 2 and "Round 1" in words and "Round 2" in words


@pytest.fixture
def downloads(monkeypatch):
    """Every file a page hands to a download button in this test: name → text."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    files: dict[str, str] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, (bytes, str)):
            files[filename] = path_or_data.decode() if isinstance(path_or_data, bytes) else path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


def test_the_roster_has_every_student_with_empty_cells_for_non_answers_and_the_record_as_json(downloads):
    t = teacher()
    code = param(t, "room")
    ada, bob, _cy = student(code, "Ada"), student(code, "-Bob"), student(code, "Cy")
    ask_choice(t)
    choose(ada, 0)
    choose(bob, 1)
    t.run()
    roster = list(csv.DictReader(downloads[f"room-{code}-roster.csv"].splitlines()))
    assert [(r["nickname"], r["answer"], r["right"]) for r in roster] == \
        [("Ada", "Cross", "yes"), ("'-Bob", "Isolated", "no"), ("Cy", "", "")]  # names although anonymous on screen
    record = json.loads(downloads[f"room-{code}.json"])
    assert record["format"] == "margin-room/1" and [s["nickname"] for s in record["students"]] == ["Ada", "-Bob", "Cy"]
    assert "Ada" not in [e.value for e in t.get("text")]  # the screen stays anonymous


def test_my_rooms_lists_the_rooms_opened_here_and_reopens_one():
    t = teacher()
    first = param(t, "room")
    student(first, "Ada")
    t.button(key="room.teach.leave").click().run()
    next(b for b in t.button if b.label == "Open a room").click().run()
    second = param(t, "room")
    RoomStore().close(second, teacher_key(t))
    t.query_params.clear()  # a fresh visit to the page: no room in the address or the session
    t.session_state["room.teach.last"] = None
    t.run()
    assert not t.exception, t.exception
    (table,) = t.dataframe
    rows = table.value.to_dict("records")
    assert [(r["Room"], r["State"], r["Students"]) for r in rows] == [(second, "closed", 0), (first, "open", 1)]
    t.selectbox(key="room.teach.mine").set_value(first)
    t.button(key="room.teach.reopen_mine").click().run()
    assert not t.exception and param(t, "room") == first and metric(t, "Students") == "1"


def test_after_a_shock_the_revealed_price_and_the_labs_are_labelled_with_their_moments():
    t = teacher()
    code = param(t, "room")
    ada = student(code, "Ada")
    t.button(key="room.teach.push").click().run()
    t.slider(key="room.teach.shock").set_value(-5.0).run()  # the teacher shocks, then asks
    t.radio(key="room.teach.kind").set_value("liquidation_price").run()
    t.button(key="room.teach.ask").click().run()
    t.button(key="room.teach.reveal").click().run()
    note = "That is at the moment of the question, on the account at its own prices. The lab shows the account now"
    assert note in texts(t) and "a whole-market shock of -5.0 %" in texts(t)
    assert note in texts(ada.run())
    t.slider(key="room.teach.shock").set_value(0.0).run()  # back at the account's own prices: one price, no note
    assert note not in texts(ada.run())


def test_the_position_forms_default_is_valid_at_every_leverage_and_the_fate_is_shown_beside_it():
    t = teacher()
    code = param(t, "room")
    RoomStore().set_class_market(code, teacher_key(t), {"wallet": 800, "max_leverage": 4})
    ada = open_market(student(code, "Ada"))
    assert ada.number_input(key="room.position.leverage").value == 4.0  # 10x is not offered here
    notional = ada.number_input(key="room.position.notional").value
    for leverage in (1.0, 2.5, 4.0):
        ada.number_input(key="room.position.leverage").set_value(leverage)
        next(b for b in ada.button if b.label == "Open my position").click().run()
        assert not ada.error, [e.value for e in ada.error]
    assert notional == 800.0
    t.number_input(key="room.teach.cascade_shock").set_value(-6.0)
    t.button(key="room.teach.run").click().run()
    ada.run()
    fates = [m.value for m in ada.markdown if "Your fate in the class market" in m.value]
    assert len(fates) == 1 and ("Survived" in fates[0] or "Liquidated" in fates[0]), fates


def test_a_typed_question_and_its_options_are_shown_as_text_on_every_screen():
    markup = "**Q** <b>bold</b> [link](http://e.vil) :red[x]"
    t = teacher()
    code = param(t, "room")
    ada = student(code, "Ada")

    def as_text(at: AppTest) -> None:
        shown = [m.value for m in at.markdown] + [c.value for c in at.caption] + \
            [o for r in at.radio for o in r.options]
        assert not [s for s in shown if "[link](http" in s or "**Q**" in s or ":red[" in s], shown
        for chart in at.get("plotly_chart"):
            assert "<b>bold" not in chart.proto.spec and "<i>two" not in chart.proto.spec

    ask_choice(t, text=markup, options=f"{markup}\n<i>two</i>")
    choose(ada, 0)
    assert "e.vil" in " ".join(o for r in ada.radio for o in r.options).replace("\\", "")  # there, as typed
    as_text(ada)
    as_text(t.run())
    t.button(key="room.teach.reveal").click().run()
    for at in (t, ada.run()):
        as_text(at)
    assert "Q" in texts(ada) and "e.vil" in texts(ada)
