"""The teacher's instruments' data, on SQLite and a real PostgreSQL: a question's timer, choice
questions, rounds of peer instruction, the class list (presence), the roster and the room's
record, "my rooms", the projector's read-only token, a removed student kept out, and a crash
replay that plays by the store's clock when nobody drives it."""

from __future__ import annotations

import csv
import json

import pytest

from classroom import RoomError, reveal_summary
from classroom.limits import PRESENCE_EVERY, PRESENCE_WINDOW
from margin.presets import load_story

LESSON = {"kind": "lesson", "lesson": "one-bad-trade"}  # answered in %
CHOICE = {"kind": "choice", "text": "Which mode risks the whole wallet?", "options": ["Cross", "Isolated", "Neither"],
          "right": 0}


def refused(field: str, call, *args, **kwargs) -> RoomError:
    with pytest.raises(RoomError) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, str(caught.value)
    return caught.value


def seated(store, room, *names):
    return [store.join(room.code, name, session=f"session-{name}", address="192.0.2.1") for name in names]


# ----------------------------------------------------------------------------- the timer


def test_a_timer_closes_answers_at_zero_by_the_stores_clock(store, clock):
    room = store.open_room()
    ada, bob = seated(store, room, "Ada", "Bob")
    asked = store.ask(room.code, room.teacher_key, LESSON, seconds=30)
    assert asked.closes_at == clock.now + 30 and store.state(room.code).question.closes_at == clock.now + 30
    clock.now += 29.9
    assert store.answer(room.code, ada.token, -7) == -7.0
    clock.now += 0.1
    assert "time is up" in str(refused("answer", store.answer, room.code, bob.token, -7))
    assert "time is up" in str(refused("answer", store.answer, room.code, ada.token, -8))  # no change after zero
    assert store.answers(room.code, room.teacher_key).values == (-7.0,)
    store.set_timer(room.code, room.teacher_key, 20)  # the teacher gives more time
    assert store.answer(room.code, bob.token, -6) == -6.0
    store.set_timer(room.code, room.teacher_key, None)  # and takes the timer off
    clock.now += 3600
    assert store.answer(room.code, bob.token, -5) == -5.0


@pytest.mark.parametrize("seconds", [0, 4, 3601, float("nan"), "soon", -10])
def test_bad_timers_are_refused(store, seconds):
    room = store.open_room()
    refused("seconds", store.ask, room.code, room.teacher_key, LESSON, seconds=seconds)
    assert store.state(room.code).question is None


# ----------------------------------------------------------------------------- choices


def test_a_typed_choice_question_counts_each_option_against_the_right_one(store):
    room = store.open_room()
    a, b, c, d = seated(store, room, "Ada", "Bob", "Cy", "Di")
    asked = store.ask(room.code, room.teacher_key, CHOICE)
    assert asked.kind == "choice" and asked.options == ("Cross", "Isolated", "Neither") and asked.value == 0
    on_screen = store.state(room.code).question
    assert on_screen.options == asked.options and on_screen.value is None  # the right one hidden until the reveal
    store.answer(room.code, a.token, 0)
    store.answer(room.code, b.token, "Isolated")  # an option's text reads as its index
    store.answer(room.code, c.token, 1)
    store.answer(room.code, d.token, 2)
    refused("answer", store.answer, room.code, d.token, 3)
    refused("answer", store.answer, room.code, d.token, "Both")
    refused("answer", store.answer, room.code, d.token, 0.5)
    assert store.my_answer(room.code, d.token) == 2.0
    store.reveal(room.code, room.teacher_key)
    assert store.state(room.code).question.value == 0
    summary = reveal_summary(store.answers(room.code, room.teacher_key), None)
    assert summary.counts == (1, 2, 1) and summary.close == 1 and summary.mistakes == ()


def test_the_two_choice_lessons_can_be_asked(store):
    from teach.lessons import get_lesson, lesson_ids
    from teach.verdicts import expected
    choice_lessons = [i for i in lesson_ids() if get_lesson(i).answer.kind == "choice"]
    assert len(choice_lessons) == 2
    room = store.open_room()
    (ada,) = seated(store, room, "Ada")
    for lesson_id in choice_lessons:
        asked = store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": lesson_id})
        options = get_lesson(lesson_id).answer.options
        assert asked.kind == "choice" and asked.options == options
        assert options[int(asked.value)] == expected(lesson_id)
        assert store.answer(room.code, ada.token, len(options) - 1) == len(options) - 1


@pytest.mark.parametrize("spec, field", [
    ({**CHOICE, "options": ["Only one"]}, "question.options"),
    ({**CHOICE, "options": "Cross, Isolated"}, "question.options"),
    ({**CHOICE, "options": [f"Option {i}" for i in range(9)]}, "question.options"),
    ({**CHOICE, "options": ["Cross", "cross"]}, "question.options[1]"),
    ({**CHOICE, "options": ["Cross", ""]}, "question.options[1]"),
    ({**CHOICE, "options": ["Cross", 5]}, "question.options[1]"),
    ({**CHOICE, "right": 3}, "question.right"),
    ({**CHOICE, "right": None}, "question.right"),
    ({**CHOICE, "text": "   "}, "question.text"),
    ({**CHOICE, "text": "x" * 501}, "question.text"),
])
def test_bad_choice_questions_are_refused_naming_the_field(store, spec, field):
    room = store.open_room()
    refused(field, store.ask, room.code, room.teacher_key, spec)
    assert store.state(room.code).question is None


# ----------------------------------------------------------------------------- rounds


def test_round_two_beside_round_one_and_who_moved_to_the_right_answer(store):
    room = store.open_room()
    a, b, c, d = seated(store, room, "Ada", "Bob", "Cy", "Di")
    store.ask(room.code, room.teacher_key, CHOICE, seconds=60)
    for seat, pick in ((a, 0), (b, 1), (c, 2), (d, 1)):
        store.answer(room.code, seat.token, pick)
    again = store.reask(room.code, room.teacher_key, seconds=60)
    assert again.round == 2 and not again.revealed and store.state(room.code).question.round == 2
    assert store.my_answer(room.code, a.token) is None  # a fresh round
    for seat, pick in ((a, 0), (b, 0), (c, 1)):  # Ada stays right, Bob moves to it, Cy stays wrong, Di is silent
        store.answer(room.code, seat.token, pick)
    compared = store.rounds(room.code, room.teacher_key)
    assert [(r.round, r.answered, r.right, r.counts) for r in compared.tallies] == \
        [(1, 4, 1, (1, 2, 1)), (2, 3, 2, (2, 1, 0))]
    (move,) = compared.moves
    assert (move.to_right, move.to_wrong, move.stayed_right, move.stayed_wrong) == (1, 0, 1, 1)
    assert store.answers(room.code, room.teacher_key, round_=1).values == (0.0, 1.0, 2.0, 1.0)  # kept
    assert store.answers(room.code, room.teacher_key, 1).round == 2


def test_a_number_question_in_rounds_counts_close_answers_as_right(store):
    from teach.verdicts import expected
    room = store.open_room()
    a, b = seated(store, room, "Ada", "Bob")
    store.ask(room.code, room.teacher_key, LESSON)
    right = float(expected("one-bad-trade"))
    store.answer(room.code, a.token, right * 2)
    store.answer(room.code, b.token, right)
    store.reveal(room.code, room.teacher_key)
    refused("answer", store.answer, room.code, a.token, right)
    store.reask(room.code, room.teacher_key, 1)  # a revealed question can be asked again
    store.answer(room.code, a.token, right * 1.005)
    compared = store.rounds(room.code, room.teacher_key, 1)
    assert [(r.answered, r.right, r.counts) for r in compared.tallies] == [(2, 1, ()), (1, 1, ())]
    assert compared.moves[0].to_right == 1


# ----------------------------------------------------------------------------- the class now


def test_the_class_list_says_who_is_connected_and_who_has_answered(store, clock):
    room = store.open_room()
    ada, bob, cy = seated(store, room, "Ada", "Bob", "Cy")
    now = store.class_list(room.code, room.teacher_key)
    assert (now.students, now.connected, now.answered, now.waiting, now.number) == (3, 3, 0, 0, None)
    store.ask(room.code, room.teacher_key, LESSON)
    store.answer(room.code, ada.token, -3)
    clock.now += PRESENCE_WINDOW + 1  # everyone has gone quiet
    store.touch(room.code, bob.token)
    listed = store.class_list(room.code, room.teacher_key)
    assert {m.nickname: (m.connected, m.answered) for m in listed.members} == \
        {"Ada": (False, True), "Bob": (True, False), "Cy": (False, False)}
    assert (listed.connected, listed.answered, listed.waiting) == (1, 1, 2)
    counts = store.projector_counts(room.code, room.projector_token)
    assert (counts.students, counts.connected, counts.answered, counts.waiting) == (3, 1, 1, 2)
    store.remove(room.code, room.teacher_key, cy.participant_id)
    assert store.class_list(room.code, room.teacher_key).students == 2


def test_presence_is_written_at_most_every_few_seconds(store, clock):
    room = store.open_room()
    (ada,) = seated(store, room, "Ada")
    clock.now += PRESENCE_WINDOW + 1
    before = store.version(room.code)[1]
    store.touch(room.code, ada.token)  # back after a gap: seen, and the teacher's list moves
    assert store.version(room.code)[1] == before + 1
    seen = store.participants(room.code, room.teacher_key)[0].last_seen
    assert seen == clock.now
    clock.now += PRESENCE_EVERY / 2
    store.touch(room.code, ada.token)  # too soon: nothing written
    assert store.participants(room.code, room.teacher_key)[0].last_seen == seen
    clock.now += PRESENCE_EVERY
    store.touch(room.code, ada.token)  # still connected: written, no activity bump
    assert store.participants(room.code, room.teacher_key)[0].last_seen == clock.now
    assert store.version(room.code)[1] == before + 1


def test_the_push_hubs_presence_marks_a_rooms_open_streams_in_one_write(store, clock):
    room = store.open_room()
    ada, bob, cy = seated(store, room, "Ada", "Bob", "Cy")
    other = store.open_room()
    (dee,) = seated(store, other, "Dee")
    clock.now += PRESENCE_WINDOW + 1
    before = store.version(room.code)[1]
    store.remove(room.code, room.teacher_key, cy.participant_id)
    # Ada and Bob have streams open; Cy was removed, Dee is in another room: neither is marked
    assert store.here(room.code, [ada.participant_id, bob.participant_id, cy.participant_id,
                                  dee.participant_id]) == 2
    listed = store.class_list(room.code, room.teacher_key)
    assert {m.nickname: m.connected for m in listed.members} == {"Ada": True, "Bob": True}
    assert store.version(room.code)[1] == before + 2  # the removal, then back after a gap: the list moves
    assert not any(m.connected for m in store.class_list(other.code, other.teacher_key).members)
    clock.now += PRESENCE_EVERY
    store.here(room.code, [ada.participant_id])  # still here: written, no activity bump
    assert store.version(room.code)[1] == before + 2
    store.close(room.code, room.teacher_key)
    assert store.here(room.code, [ada.participant_id]) == 0 and store.here("ZZZZZZ", [1]) == 0 and store.here(room.code, []) == 0


# ----------------------------------------------------------------------------- the roster and the record


def test_the_roster_has_every_student_every_question_and_round_and_the_fates(store):
    room = store.open_room()
    store.set_class_market(room.code, room.teacher_key, {"crowd": {"n_traders": 2_000}})
    ada, bob, cy, di = seated(store, room, "Ada", "-Bob", "Cy", "Di")
    store.ask(room.code, room.teacher_key, LESSON)
    store.answer(room.code, ada.token, -6.89)
    store.ask(room.code, room.teacher_key, CHOICE)
    store.answer(room.code, bob.token, 1)
    store.reask(room.code, room.teacher_key)
    store.answer(room.code, bob.token, 0)
    store.open_position(room.code, ada.token, {"side": "long", "mode": "isolated", "leverage": 50, "notional": 20_000})
    store.open_position(room.code, cy.token, {"side": "short", "mode": "cross", "leverage": 2, "notional": 500})
    store.run_cascade(room.code, room.teacher_key, -0.05)
    store.remove(room.code, room.teacher_key, di.participant_id)
    rows = list(csv.DictReader(store.results_csv(room.code, room.teacher_key).splitlines()))
    assert {r["nickname"] for r in rows} == {"Ada", "'-Bob", "Cy", "Di"}  # names even while anonymous on screen
    for name in ("Ada", "'-Bob", "Cy", "Di"):
        mine = [r for r in rows if r["nickname"] == name]
        assert [(r["kind"], r["item"], r["round"]) for r in mine] == \
            [("answer", "1", "1"), ("answer", "2", "1"), ("answer", "2", "2"), ("cascade", "1", "")]
    by = {(r["nickname"], r["item"], r["round"]): r for r in rows if r["kind"] == "answer"}
    assert by[("Ada", "1", "1")]["answer"] == "-6.89" and by[("Ada", "1", "1")]["right"] == "yes"
    assert by[("Cy", "1", "1")]["answer"] == "" and by[("Cy", "1", "1")]["right"] == ""  # not answered: empty
    assert (by[("'-Bob", "2", "1")]["answer"], by[("'-Bob", "2", "2")]["answer"]) == ("Isolated", "Cross")
    assert by[("'-Bob", "2", "2")]["engine_value"] == "Cross" and by[("'-Bob", "2", "2")]["right"] == "yes"
    fates = {r["nickname"]: r["fate"] for r in rows if r["kind"] == "cascade"}
    assert fates["Ada"] == "liquidated" and fates["Cy"] == "survived" and fates["'-Bob"] == "no position"
    assert {r["removed"] for r in rows if r["nickname"] == "Di"} == {"yes"}
    record = json.loads(store.room_json(room.code, room.teacher_key))
    assert record["format"] == "margin-room/1" and [s["nickname"] for s in record["students"]] == \
        ["Ada", "-Bob", "Cy", "Di"]
    assert [(a["round"], a["value"]) for a in record["questions"][1]["answers"]] == [(1, 1.0), (2, 0.0)]
    assert len(record["cascades"]) == 1 and record["class_market"]["crowd"]["n_traders"] == 2_000


def test_a_student_who_met_nothing_is_still_on_the_roster(store):
    room = store.open_room()
    seated(store, room, "Ada")
    (row,) = list(csv.DictReader(store.results_csv(room.code, room.teacher_key).splitlines()))
    assert (row["nickname"], row["kind"]) == ("Ada", "joined")


# ----------------------------------------------------------------------------- my rooms, the projector


def test_my_rooms_lists_the_rooms_these_keys_open(store, clock):
    first = store.open_room(hours=1)
    clock.now += 10
    second = store.open_room()
    clock.now += 10
    third = store.open_room()
    seated(store, second, "Ada", "Bob")
    store.ask(second.code, second.teacher_key, LESSON)
    store.close(third.code, third.teacher_key)
    clock.now += 3600
    pairs = [(first.code, first.teacher_key), (second.code.lower(), second.teacher_key),
             (third.code, third.teacher_key), (third.code, second.teacher_key), ("not a code", "x"), ("ZZZZZZ", "y"), None, ("A",), 5]
    found = store.my_rooms(pairs)
    assert [(r.code, r.state, r.students, r.questions) for r in found] == \
        [(third.code, "closed", 0, 0), (second.code, "open", 2, 1), (first.code, "expired", 0, 0)]
    assert found[1].opened_at == found[2].opened_at + 10
    assert store.my_rooms([(second.code, first.teacher_key)]) == [] and store.my_rooms([]) == []


def test_the_projector_token_reads_the_public_screen_and_changes_nothing(store):
    room = store.open_room()
    (ada,) = seated(store, room, "Ada")
    store.ask(room.code, room.teacher_key, CHOICE)
    store.answer(room.code, ada.token, 1)
    shown = store.projector_state(room.code, room.projector_token)
    assert shown.question.text == CHOICE["text"] and shown.question.value is None
    assert store.projector_rounds(room.code, room.projector_token).tallies[0].counts == (0, 1, 0)
    assert store.projector_rounds(room.code, room.projector_token).answers[0].participant_ids == ()
    for call, args in [(store.lock, ()), (store.close, ()), (store.reveal, ()), (store.participants, ()),
                       (store.results_csv, ()), (store.class_list, ()), (store.move_market, ())]:
        refused("teacher key", call, room.code, room.projector_token, *args)
    refused("projector token", store.projector_state, room.code, "not-the-token")
    refused("projector token", store.projector_counts, room.code, ada.token)
    store.reveal(room.code, room.teacher_key)
    assert store.projector_state(room.code, room.projector_token).question.value == 0
    fresh = store.projector_token(room.code, room.teacher_key)  # a new one; the old stops working
    refused("projector token", store.projector_state, room.code, room.projector_token)
    assert store.projector_state(room.code, fresh).code == room.code


def test_a_removed_student_stays_out(store):
    room = store.open_room()
    ada = store.join(room.code, "Ada", session="tab-1", address="192.0.2.1")
    store.remove(room.code, room.teacher_key, ada.participant_id)
    assert "removed" in str(refused("participant", store.seat, room.code, ada.token))
    assert "removed" in str(refused("nickname", store.join, room.code, "ＡＤＡ", session="tab-2", address="192.0.2.9"))
    assert "removed" in str(refused("room", store.join, room.code, "Ada Again", session="tab-1", address="192.0.2.1"))
    assert store.join(room.code, "Bob", session="tab-3", address="192.0.2.1").nickname == "Bob"


# ----------------------------------------------------------------------------- the replay without the teacher


def test_a_playing_replay_moves_by_the_clock_when_no_one_drives_it(store, clock):
    from margin.crashes import crash_ids, load_crash
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    crash = crash_ids()[0]
    last = load_crash(crash).n_steps - 1
    played = store.move_replay(room.code, room.teacher_key, crash=crash, step=0, playing=True, steps_per_second=2)
    assert played["playing"] and played["last"] == last
    v0 = store.version(room.code)[0]
    clock.now += 10  # the teacher's tab is closed: nobody writes
    replay = store.state(room.code).replay
    assert (replay["step"], replay["playing"]) == (20, True)
    assert store.version(room.code)[0] == v0 + 20  # every step reaches the screens' poll
    seen = [store.version(room.code)[0]]
    clock.now += 0.75
    store.show_names(room.code, room.teacher_key, True)  # a change while playing: the version still only grows
    seen.append(store.version(room.code)[0])
    clock.now += 0.5
    seen.append(store.version(room.code)[0])
    assert seen[0] < seen[1] < seen[2] and store.state(room.code).replay["step"] == 22
    paused = store.move_replay(room.code, room.teacher_key, playing=False)  # pausing keeps the step reached
    assert (paused["step"], paused["playing"]) == (22, False)
    clock.now += 100
    assert store.state(room.code).replay["step"] == 22
    store.move_replay(room.code, room.teacher_key, playing=True)
    clock.now += 10 * last
    assert (store.state(room.code).replay["step"], store.state(room.code).replay["playing"]) == (last, False)
    refused("steps_per_second", store.move_replay, room.code, room.teacher_key, steps_per_second=0)
