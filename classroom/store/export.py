"""A room's record for the teacher: the roster as CSV for grading, and the whole room as JSON.

The roster has every student who joined (removed ones too, marked), with the nickname always in
the file (whatever the screens show): one row per student per question per round, an unanswered
one with empty answer cells, then one row per student per class cascade with their fate; a
student who met neither has one row saying they joined. Times are UTC, ISO 8601. A cell a
spreadsheet would read as a formula is quoted with a leading ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, select

from classroom import schema as t
from classroom.questions import is_right
from classroom.store.asking import question_record
from classroom.store.class_market import market_of
from classroom.store.db import Database
from classroom.store.room import room_state_word, teacher_row

FORMAT = "margin-room/1"
COLUMNS = ["room", "student", "nickname", "joined_utc", "removed", "kind", "item", "round", "text", "unit",
           "answer", "engine_value", "error", "right", "side", "mode", "leverage", "notional_usdt", "fate",
           "liquidation_round", "price_usdt"]


def _cell(text: str) -> str:
    """Text for a spreadsheet cell: a leading = + - @ would be read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _utc(seconds: float | None) -> str:
    return "" if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")


def _read(connection: Connection, room: Any) -> dict[str, Any]:
    people = connection.execute(select(t.participants).where(t.participants.c.room_id == room.id)
                                .order_by(t.participants.c.id)).all()
    asked = connection.execute(select(t.questions).where(t.questions.c.room_id == room.id)
                               .order_by(t.questions.c.number)).all()
    given = connection.execute(select(t.responses).join(t.questions, t.questions.c.id == t.responses.c.question_id)
                               .where(t.questions.c.room_id == room.id).order_by(t.responses.c.id)).all()
    runs = connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                              .order_by(t.cascade_runs.c.number)).all()
    return {"people": people, "asked": asked, "given": given, "runs": [json.loads(r.result) for r in runs],
            "market": market_of(connection, room.id).as_dict()}


def _record(db: Database, code: Any, key: Any) -> tuple[Any, dict[str, Any]]:
    def work(connection: Connection) -> tuple[Any, dict[str, Any]]:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        return room, _read(connection, room)
    return db.read(work)


def results_csv(db: Database, code: Any, key: Any) -> str:
    """The roster as CSV text (see the module's words; the columns are :data:`COLUMNS`)."""
    room, found = _record(db, code, key)
    by = {(g.question_id, g.participant_id, g.round): g.value for g in found["given"]}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for n, person in enumerate(found["people"], start=1):
        who = [room.code, f"Student {n}", _cell(person.nickname), _utc(person.joined_at), "yes" if person.removed else ""]
        rows = [*_answer_rows(found["asked"], by, person.id), *_fate_rows(found["runs"], person.id)]
        for row in rows or [["joined"] + [""] * (len(COLUMNS) - 6)]:
            writer.writerow(who + row)
    return out.getvalue()


def _answer_rows(asked: list[Any], by: dict[tuple[int, int, int], float], pid: int) -> list[list[Any]]:
    rows = []
    for q in asked:
        question = question_record(q, show_value=True)
        value = float(question.value or 0.0)
        for round_ in range(1, question.round + 1):
            given = by.get((q.id, pid, round_))
            if question.kind == "choice":
                cells = ["" if given is None else _cell(question.options[int(given)]), _cell(question.options[int(value)]),
                         ""]
            else:
                cells = ["" if given is None else given, value, "" if given is None else given - value]
            right = "" if given is None else ("yes" if is_right(question, given) else "no")
            rows.append(["answer", question.number, round_, _cell(question.text), question.unit, *cells, right]
                        + [""] * 7)
    return rows


def _fate_rows(runs: list[dict[str, Any]], pid: int) -> list[list[Any]]:
    rows = []
    for run in runs:
        mine = next((s for s in run["students"] if s["participant_id"] == pid), None)
        head = ["cascade", run["number"], "", f"shock {run['shock'] * 100:g} %", "", "", "", "", ""]
        if mine is None:
            rows.append(head + ["", "", "", "", "no position", "", ""])
            continue
        p = mine["position"]
        rows.append(head + [p["side"], p["mode"], p["leverage"], p["notional"],
                            "survived" if mine["round"] is None else "liquidated",
                            "" if mine["round"] is None else mine["round"], "" if mine["price"] is None else mine["price"]])
    return rows


def room_record(db: Database, code: Any, key: Any) -> dict[str, Any]:
    """The room's whole record as JSON-ready data (format ``margin-room/1``): the room, its
    students, every question with its answers in every round, the class market, its cascades."""
    room, found = _record(db, code, key)
    answers: dict[int, list[dict[str, Any]]] = {}
    for g in found["given"]:
        answers.setdefault(g.question_id, []).append({"participant_id": g.participant_id, "round": g.round,
                                                      "value": g.value, "answered_at": g.answered_at})
    questions = []
    for q in found["asked"]:
        question = question_record(q, show_value=True)
        questions.append({"number": question.number, "kind": question.kind, "text": question.text,
                          "unit": question.unit, "spec": question.spec, "options": list(question.options),
                          "engine_value": question.value, "asked_at": question.asked_at,
                          "revealed": question.revealed, "rounds": question.round, "closes_at": question.closes_at,
                          "answers": answers.get(q.id, [])})
    return {
        "format": FORMAT, "code": room.code, "opened_at": room.created_at, "expires_at": room.expires_at,
        "capacity": room.capacity, "state": room_state_word(room, db.clock()), "mode": room.mode,
        "show_names": bool(room.show_names), "account": None if room.scenario is None else json.loads(room.scenario),
        "shock": room.shock, "prices": json.loads(room.prices),
        "students": [{"id": p.id, "nickname": p.nickname, "joined_at": p.joined_at, "removed": bool(p.removed),
                      "last_seen": p.last_seen} for p in found["people"]],
        "questions": questions, "class_market": found["market"], "cascades": found["runs"],
    }


def room_json(db: Database, code: Any, key: Any) -> str:
    """:func:`room_record` as JSON text."""
    return json.dumps(room_record(db, code, key), indent=1, ensure_ascii=False)


__all__ = ["COLUMNS", "FORMAT", "results_csv", "room_json", "room_record"]
