"""The room store (classroom/), against SQLite and a real PostgreSQL server: what a room keeps,
every bad input refused with a message naming the field and nothing stored, one room's data
never reaching another, the join rate limit, expiry and the schema's own upgrade."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from classroom import RoomError, RoomStore, reveal_summary
from classroom import migrations, schema
from classroom.market import ClassMarket, ClassPosition, cascade_document
from margin.presets import load_story
from tests.paths import ROOT


# the store's fixtures (url, clock, store: SQLite and PostgreSQL) are tests/rooms_fixtures.py's


def rows(store: RoomStore, table) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def refused(field: str, call, *args, **kwargs) -> RoomError:
    with pytest.raises(RoomError) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, str(caught.value)
    return caught.value


# ----------------------------------------------------------------------------- a room's life


def test_teacher_pushes_and_students_see_the_version_move(store):
    room = store.open_room()
    ada = store.join(room.code, "Ada", client="a")
    v0 = store.version(room.code)
    store.push_account(room.code, room.teacher_key, load_story("default"))
    store.move_market(room.code, room.teacher_key, shock=-0.12, prices={"SOLUSDT": 150})
    state = store.state(room.code)
    assert state.version == v0[0] + 2 and state.shock == -0.12 and state.prices == {"SOLUSDT": 150.0}
    assert state.scenario["markets"]["BTCUSDT"]["price"] == 100000
    assert store.seat(room.code, ada.token).nickname == "Ada"
    assert [p.nickname for p in store.participants(room.code, room.teacher_key)] == ["Ada"]


def test_the_database_keeps_digests_not_tokens(store):
    room = store.open_room()
    seat = store.join(room.code, "Ada", client="a")
    with store.engine.connect() as connection:
        dump = json.dumps([list(r) for r in connection.execute(select(schema.rooms)).all()]
                          + [list(r) for r in connection.execute(select(schema.participants)).all()])
    assert room.teacher_key not in dump and seat.token not in dump


def test_code_alphabet_and_length(store):
    codes = {store.open_room().code for _ in range(30)}
    assert len(codes) == 30
    assert all(len(c) == 6 and not set(c) & set("0O1IL") for c in codes)


def test_question_answered_and_revealed_with_the_engines_value(store):
    from teach.verdicts import expected
    room = store.open_room()
    a = store.join(room.code, "Ada", client="a")
    b = store.join(room.code, "Bob", client="b")
    asked = store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "cross-exposure"})
    assert asked.value == expected("cross-exposure")
    assert store.state(room.code).question.value is None  # hidden from students until the reveal
    store.answer(room.code, a.token, 90_000)  # the entry price: a typical mistake of this lesson
    store.answer(room.code, b.token, asked.value * 1.005)
    assert store.answers(room.code, room.teacher_key).count == 2
    store.reveal(room.code, room.teacher_key)
    state = store.state(room.code)
    assert state.question.revealed and state.question.value == asked.value
    summary = reveal_summary(store.answers(room.code, room.teacher_key), state.scenario)
    assert summary.close == 1 and summary.values == (90_000.0, asked.value * 1.005)
    assert len(summary.mistakes) == 1 and "entry price" in summary.mistakes[0][0]


def test_typed_question_value_is_the_engines_liquidation_price(store):
    from margin.account import position_liquidation_price
    from margin.scenario import scenario_from_dict
    room = store.open_room()
    story = load_story("default")
    store.push_account(room.code, room.teacher_key, story)
    asked = store.ask(room.code, room.teacher_key, {"kind": "liquidation_price", "position": "btc-long"})
    scenario = scenario_from_dict(story)
    assert asked.value == position_liquidation_price(scenario, 0).liquidation_price
    a = store.join(room.code, "Ada", client="a")
    bankruptcy = position_liquidation_price(scenario, 0).bankruptcy_price
    store.answer(room.code, a.token, bankruptcy)
    store.reveal(room.code, room.teacher_key)
    summary = reveal_summary(store.answers(room.code, room.teacher_key), store.state(room.code).scenario)
    assert "bankruptcy price" in summary.mistakes[0][0]


def test_class_cascade_equals_the_command_line_on_the_same_crowd(store, tmp_path):
    room = store.open_room()
    market = store.set_class_market(room.code, room.teacher_key, {"depth": 2_000_000, "crowd": {"n_traders": 5_000}})
    picks = {"Ada": {"side": "long", "mode": "isolated", "leverage": 25, "notional": 20_000},
             "Bob": {"side": "long", "mode": "cross", "leverage": 10, "notional": 8_000},
             "Cy": {"side": "short", "mode": "isolated", "leverage": 2, "notional": 1_500}}
    for name, position in picks.items():
        store.open_position(room.code, store.join(room.code, name, client=name).token, position)
    result = store.run_cascade(room.code, room.teacher_key, -0.06)
    assert [s["nickname"] for s in result["students"]] == list(picks)
    path = tmp_path / "class.json"
    path.write_text(json.dumps(cascade_document(market, -0.06, [ClassPosition(**p) for p in picks.values()])))
    cli = json.loads(subprocess.run([sys.executable, "-m", "margin", "cascade", str(path)], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout)
    assert [(s["round"], s["price"], s["liquidation_price"]) for s in result["students"]] == \
        [(t["round"], t["price"], t["liquidation_price"]) for t in cli["traders"]]
    assert result["final_price"] == cli["final"]["price"]
    assert result["tipping"]["final_drops"] == cli["tipping"]["final_drops"]
    assert result["tipping"]["runaway_shock"] == cli["tipping"]["runaway_shock"]
    fates = {s["nickname"]: s["round"] for s in result["students"]}
    assert fates["Ada"] is not None and fates["Cy"] is None  # 25x long dies, the 2x short lives


def test_the_class_is_among_the_crowd_its_selling_moves_the_price(store):
    room = store.open_room()
    store.set_class_market(room.code, room.teacher_key, {"depth": 2_000_000, "crowd": {"n_traders": 5_000},
                                                         "wallet": 1e6, "max_leverage": 50})
    calm = store.run_cascade(room.code, room.teacher_key, -0.03)
    for i in range(5):  # five whales at 50x: liquidated by the shock, their selling deepens the fall
        seat = store.join(room.code, f"Whale {i}", client=f"w{i}")
        store.open_position(room.code, seat.token, {"side": "long", "mode": "isolated", "leverage": 50,
                                                    "notional": 400_000})
    heavy = store.run_cascade(room.code, room.teacher_key, -0.03)
    assert all(s["round"] == 1 for s in heavy["students"])
    assert heavy["final_price"] < calm["final_price"] and heavy["traders"] == calm["traders"] == 5_000


# ----------------------------------------------------------------------------- bad input


def test_wrong_and_expired_codes(store, clock):
    room = store.open_room(hours=1)
    refused("code", store.join, "ZZZZZZ" if room.code != "ZZZZZZ" else "YYYYYY", "Ada", client="a")
    refused("code", store.join, "AB0CDE", "Ada", client="a")  # 0 is not in the alphabet
    refused("code", store.join, "", "Ada", client="a")
    clock.now += 3601
    assert "expired" in str(refused("code", store.join, room.code, "Ada", client="a"))
    assert rows(store, schema.participants) == 0


def test_full_and_locked_rooms(store):
    room = store.open_room(capacity=1)
    store.join(room.code, "Ada", client="a")
    assert "full" in str(refused("room", store.join, room.code, "Bob", client="b"))
    other = store.open_room()
    store.lock(other.code, other.teacher_key)
    assert "locked" in str(refused("room", store.join, other.code, "Bob", client="b"))
    assert rows(store, schema.participants) == 1


@pytest.mark.parametrize("nickname, words", [("", "empty"), ("   ", "empty"), ("x" * 25, "at most 24"),
                                              ("<script>", "only"), ("[a](http://x)", "only"), ("**b**", "only"),
                                              ("a\nb", "only"), (None, "text")])
def test_bad_nicknames(store, nickname, words):
    room = store.open_room()
    assert words in str(refused("nickname", store.join, room.code, nickname, client="a"))
    assert rows(store, schema.participants) == 0


def test_taken_nickname(store):
    room = store.open_room()
    store.join(room.code, "Ada", client="a")
    refused("nickname", store.join, room.code, "ada", client="b")


def test_wrong_teacher_key(store):
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    before = store.version(room.code)
    for call, args in [(store.move_market, {"shock": -0.5}), (store.lock, {}), (store.close, {}),
                       (store.set_mode, {"mode": "explore"}), (store.reveal, {})]:
        refused("teacher key", call, room.code, "not-the-key", **args)
    refused("teacher key", store.push_account, room.code, room.teacher_key[:-1] + "x", load_story("default"))
    refused("teacher key", store.results_csv, room.code, "")
    assert store.version(room.code) == before and store.state(room.code).shock == 0.0


@pytest.mark.parametrize("value, words", [(math.nan, "NaN"), (math.inf, "finite"), ("abc", "number"),
                                          (1e300, "≤"), (-5, "above zero"), (None, "number")])
def test_bad_answers(store, value, words):
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    store.ask(room.code, room.teacher_key, {"kind": "liquidation_price", "position": "btc-long"})
    seat = store.join(room.code, "Ada", client="a")
    assert words in str(refused("answer", store.answer, room.code, seat.token, value))
    assert rows(store, schema.responses) == 0


def test_answer_after_the_reveal(store):
    room = store.open_room()
    store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    seat = store.join(room.code, "Ada", client="a")
    store.reveal(room.code, room.teacher_key)
    assert "revealed" in str(refused("answer", store.answer, room.code, seat.token, -10))
    assert rows(store, schema.responses) == 0


@pytest.mark.parametrize("position, field", [
    ({"side": "long", "mode": "cross", "leverage": math.nan, "notional": 100}, "leverage"),
    ({"side": "long", "mode": "cross", "leverage": 500, "notional": 100}, "leverage"),
    ({"side": "long", "mode": "cross", "leverage": 0.5, "notional": 100}, "leverage"),
    ({"side": "long", "mode": "cross", "leverage": 10, "notional": -1}, "notional"),
    ({"side": "long", "mode": "cross", "leverage": 10, "notional": 1e12}, "notional"),
    ({"side": "long", "mode": "cross", "leverage": 10, "notional": math.inf}, "notional"),
    ({"side": "up", "mode": "cross", "leverage": 10, "notional": 100}, "side"),
    ({"side": "long", "mode": "both", "leverage": 10, "notional": 100}, "mode"),
])
def test_bad_positions(store, position, field):
    room = store.open_room()
    seat = store.join(room.code, "Ada", client="a")
    refused(field, store.open_position, room.code, seat.token, position)
    assert rows(store, schema.positions) == 0


def test_bad_teacher_input(store):
    room = store.open_room()
    refused("account", store.move_market, room.code, room.teacher_key, shock=-0.1)
    refused("account.balance", store.push_account, room.code, room.teacher_key, {**load_story("default"), "balance": -1})
    store.push_account(room.code, room.teacher_key, load_story("default"))
    refused("shock", store.move_market, room.code, room.teacher_key, shock=math.nan)
    refused("shock", store.move_market, room.code, room.teacher_key, shock=-2)
    refused("prices", store.move_market, room.code, room.teacher_key, prices={"XYZ": 1})
    refused("prices.BTCUSDT", store.move_market, room.code, room.teacher_key, prices={"BTCUSDT": 0})
    refused("depth", store.set_class_market, room.code, room.teacher_key, {"depth": -1})
    refused("crowd.n_traders", store.set_class_market, room.code, room.teacher_key, {"crowd": {"n_traders": 10**9}})
    refused("shock", store.run_cascade, room.code, room.teacher_key, 0.0)
    refused("question.kind", store.ask, room.code, room.teacher_key, {"kind": "poem"})
    refused("question.lesson", store.ask, room.code, room.teacher_key, {"kind": "lesson", "lesson": "no-such-lesson"})
    assert store.state(room.code).shock == 0.0 and rows(store, schema.questions) == 0


def test_closed_room_refuses_but_keeps_its_results(store):
    room = store.open_room()
    seat = store.join(room.code, "Ada", client="a")
    store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    store.answer(room.code, seat.token, -12.5)
    store.close(room.code, room.teacher_key)
    refused("code", store.answer, room.code, seat.token, -10)
    refused("code", store.join, room.code, "Bob", client="b")
    refused("room", store.move_market, room.code, room.teacher_key, shock=-0.1)
    assert "-12.5" in store.results_csv(room.code, room.teacher_key)


def test_removed_participant(store):
    room = store.open_room()
    seat = store.join(room.code, "Ada", client="a")
    store.remove(room.code, room.teacher_key, seat.participant_id)
    assert "removed" in str(refused("participant", store.seat, room.code, seat.token))


# ----------------------------------------------------------------------------- rooms apart


def test_one_rooms_data_never_reaches_another(store):
    first, second = store.open_room(), store.open_room()
    ada = store.join(first.code, "Ada", client="a")
    store.ask(first.code, first.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    store.ask(second.code, second.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    refused("participant", store.answer, second.code, ada.token, -10)  # a seat in the first room only
    refused("teacher key", store.lock, second.code, first.teacher_key)
    refused("teacher key", store.remove, first.code, second.teacher_key, ada.participant_id)
    refused("participant", store.remove, second.code, second.teacher_key, ada.participant_id)
    store.answer(first.code, ada.token, -10)
    assert store.answers(second.code, second.teacher_key).count == 0
    assert store.participants(second.code, second.teacher_key) == []
    assert "Ada" not in store.results_csv(second.code, second.teacher_key)


# ----------------------------------------------------------------------------- abuse and time


def test_join_attempts_are_rate_limited_in_the_database(store, url, clock):
    room = store.open_room()
    for _ in range(10):
        refused("code", store.join, "ZZZZZZ" if room.code != "ZZZZZZ" else "YYYYYY", "Ada", client="guesser")
    other = RoomStore(url, clock=clock)  # another server process: the count is in the database
    assert "too many" in str(refused("code", other.join, room.code, "Ada", client="guesser"))
    assert other.join(room.code, "Bob", client="someone-else").nickname == "Bob"  # another browser session
    clock.now += 61
    assert other.join(room.code, "Ada", client="guesser").nickname == "Ada"
    other.dispose()


def test_schema_upgrades_itself_from_version_1(url, clock):
    from classroom.store import make_engine
    engine = make_engine(url)
    assert migrations.upgrade(engine, to=1) == 1
    with engine.begin() as connection:
        assert migrations.current_version(connection) == 1
    engine.dispose()
    store = RoomStore(url, clock=clock)
    assert store.schema_version == migrations.LATEST == schema.VERSION == 4
    room = store.open_room()
    seat = store.join(room.code, "Ada", client="a")
    store.open_position(room.code, seat.token, {"side": "long", "mode": "cross", "leverage": 3, "notional": 500})
    store.dispose()


def test_a_newer_schema_is_refused(url, clock):
    store = RoomStore(url, clock=clock)
    with store.engine.begin() as connection:
        connection.execute(schema.schema_version.update().values(version=99))
    store.dispose()
    with pytest.raises(migrations.SchemaError, match="version 99"):
        RoomStore(url, clock=clock)


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = RoomStore(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    store.dispose()


def test_default_url_names_the_data_folder(monkeypatch, tmp_path):
    from classroom.store import default_url
    monkeypatch.delenv("MARGIN_LAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("MARGIN_LAB_DATA_DIR", str(tmp_path / "d"))
    assert default_url() == f"sqlite:///{tmp_path / 'd' / 'rooms.sqlite3'}"
    monkeypatch.setenv("MARGIN_LAB_DATABASE_URL", "postgresql://u@h/db")
    assert default_url() == "postgresql://u@h/db"


def test_a_right_answer_is_never_counted_as_a_mistake(store):
    room = store.open_room()
    store.push_account(room.code, room.teacher_key, load_story("default"))
    asked = store.ask(room.code, room.teacher_key, {"kind": "liquidation_price", "position": "btc-long"})
    for name in ("Ada", "Bob"):
        seat = store.join(room.code, name, client=name)
        store.answer(room.code, seat.token, asked.value)  # the bankruptcy price is within 1 % of it here
    store.reveal(room.code, room.teacher_key)
    summary = reveal_summary(store.answers(room.code, room.teacher_key), store.state(room.code).scenario)
    assert summary.close == 2 and summary.mistakes == ()


def test_the_teacher_drives_a_crash_replay(store):
    from margin.crashes import crash_ids, load_crash
    room = store.open_room()
    refused("account", store.move_replay, room.code, room.teacher_key, crash=crash_ids()[0])
    store.push_account(room.code, room.teacher_key, load_story("default"))
    crash = crash_ids()[0]
    last = load_crash(crash).n_steps - 1
    refused("crash", store.move_replay, room.code, room.teacher_key, crash="1929-10-24")
    refused("step", store.move_replay, room.code, room.teacher_key, crash=crash, step=last + 1)
    refused("step", store.move_replay, room.code, room.teacher_key, crash=crash, step=math.nan)
    refused("teacher key", store.move_replay, room.code, "x", crash=crash)
    assert store.state(room.code).replay is None
    store.move_replay(room.code, room.teacher_key, crash=crash, step=5, playing=True)
    assert _replay(store, room.code) == {"crash": crash, "step": 5, "playing": True}
    store.move_replay(room.code, room.teacher_key, step=6)  # the same crash, still playing
    assert _replay(store, room.code) == {"crash": crash, "step": 6, "playing": True}
    store.move_market(room.code, room.teacher_key, shock=-0.02)  # the lab's controls take over
    assert store.state(room.code).replay is None


def _replay(store: RoomStore, code: str) -> dict:
    return {k: store.state(code).replay[k] for k in ("crash", "step", "playing")}


def test_csv_cells_never_start_a_formula(store):
    room = store.open_room()
    store.show_names(room.code, room.teacher_key, True)
    seat = store.join(room.code, "-A1", client="a")
    store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    store.answer(room.code, seat.token, -3)
    rows_ = list(__import__("csv").reader(store.results_csv(room.code, room.teacher_key).splitlines()))
    assert rows_[1][2] == "'-A1"


@pytest.mark.parametrize("trader, field", [
    ({"side": "long", "leverage": math.nan, "notional": 100}, "traders[0].leverage"),
    ({"side": "up", "leverage": 5, "notional": 100}, "traders[0].side"),
    ({"side": "long", "leverage": 5, "notional": 0}, "traders[0].notional"),
    ({"side": "long", "mode": "cross", "leverage": 5, "notional": 100, "wallet": 10}, "traders[0].wallet"),
])
def test_the_cascade_commands_traders_are_checked(trader, field):
    from margin.cascade import cascade_input_from_dict
    from margin.fields import ScenarioError
    doc = cascade_document(ClassMarket(), -0.05)
    with pytest.raises(ScenarioError) as caught:
        cascade_input_from_dict({**doc, "traders": [trader]})
    assert caught.value.field == field


def test_a_typed_question_names_the_position_as_people_read_it():
    """"BTC long", not its id; the id only where two positions would read alike."""
    from classroom.questions import prepare
    from margin.presets import load_story
    from margin.scenario import scenario_from_dict

    raw = load_story("default")
    asked = prepare({"kind": "liquidation_price", "position": "btc-long"}, scenario_from_dict(raw))
    assert "the BTC long liquidated" in asked.text and "btc-long" not in asked.text
    twin = {**raw["positions"][0], "id": "btc-long-2", "size": 0.1}
    doubled = scenario_from_dict({**raw, "positions": [*raw["positions"], twin]})
    assert "the BTC long (btc-long-2) liquidated" in prepare(
        {"kind": "liquidation_price", "position": "btc-long-2"}, doubled).text
