"""The room's rules that many people obey at once, raced by real threads on SQLite and on a
real PostgreSQL: seats, one nickname, one answer per seat, question numbers and the limit on
wrong codes hold however the calls interleave, and nobody meets a raw database error."""

from __future__ import annotations

from sqlalchemy import select

from classroom import schema
from tests.store.conftest import race, sorted_out

LESSON = {"kind": "lesson", "lesson": "one-bad-trade"}  # answered in %, any value from -100 to 1000


def test_100_joins_into_a_60_seat_room_seat_exactly_60(store):
    room = store.open_room(capacity=60)
    ok, refused, other = sorted_out(race(100, lambda i: store.join(room.code, f"Student {i}", client=f"s{i}")))
    assert other == []
    assert len(ok) == 60 and len(store.participants(room.code, room.teacher_key)) == 60
    assert len(refused) == 40 and all(err.field == "room" and "full" in str(err) for err in refused)


def test_20_joins_under_one_name_in_its_case_and_width_variants_seat_one(store):
    room = store.open_room()
    names = ["Ada", "ada", "ADA", "aDa", "Ａｄａ", "ａｄａ", "ＡＤＡ", " Ada ", "AdA", "adA"]
    ok, refused, other = sorted_out(race(20, lambda i: store.join(room.code, names[i % len(names)], client=f"s{i}")))
    assert other == []
    assert len(ok) == 1 and len(store.participants(room.code, room.teacher_key)) == 1
    assert len(refused) == 19 and all(err.field == "nickname" and "taken" in str(err) for err in refused)


def test_20_answers_from_one_seat_keep_one_and_raise_nothing(store):
    room = store.open_room()
    seat = store.join(room.code, "Ada", client="a")
    store.ask(room.code, room.teacher_key, LESSON)
    results = race(20, lambda i: store.answer(room.code, seat.token, -float(i + 1)))
    ok, refused, other = sorted_out(results)
    assert other == [] and refused == [] and len(ok) == 20
    answers = store.answers(room.code, room.teacher_key)
    assert answers.count == 1 and answers.values[0] in ok
    assert store.my_answer(room.code, seat.token) == answers.values[0]


def test_50_wrong_codes_from_one_session_let_no_more_than_the_limit_through(store):
    from classroom.limits import MAX_FAILED_JOINS_PER_SESSION
    room = store.open_room()
    wrong = "ZZZZZZ" if room.code != "ZZZZZZ" else "YYYYYY"
    ok, refused, other = sorted_out(race(50, lambda i: store.join(wrong, "Ada", client="one-session")))
    assert other == [] and ok == [] and len(refused) == 50
    looked_up = [err for err in refused if "no room has the code" in str(err)]
    assert 1 <= len(looked_up) <= MAX_FAILED_JOINS_PER_SESSION
    assert all("too many" in str(err) for err in refused if err not in looked_up)


def test_10_questions_at_once_are_numbered_1_to_10(store):
    room = store.open_room()
    ok, refused, other = sorted_out(race(10, lambda i: store.ask(room.code, room.teacher_key, LESSON)))
    assert other == [] and refused == []
    assert sorted(q.number for q in ok) == list(range(1, 11))
    with store.engine.connect() as connection:
        numbers = connection.execute(select(schema.questions.c.number)).scalars().all()
        assert sorted(numbers) == list(range(1, 11))
    assert store.state(room.code).question.number in range(1, 11)
