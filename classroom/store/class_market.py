"""The class market in a room: the teacher's limits, each student's one position (a new one
replaces it, under the unique ``(room, participant)``), and the class cascades, numbered under
the room's lock. The cascade itself is :func:`classroom.market.run_class_cascade`, run outside
any transaction (it takes a moment) and stored after."""

from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import Connection, func, select

from margin.fields import ScenarioError, number
from classroom import schema as t
from classroom.codes import RoomError
from classroom.limits import MAX_CASCADE_SHOCK
from classroom.market import (
    ClassMarket, check_class_market, check_position, class_market_from_dict, position_from_dict, run_class_cascade,
)
from classroom.store.db import Database
from classroom.store.room import bump, projector_row, room_row, teacher_row
from classroom.store.seats import seat_row, upsert


def market_of(connection: Connection, room_id: int) -> ClassMarket:
    """The room's class market (the defaults until the teacher sets one)."""
    row = connection.execute(select(t.class_markets.c.spec).where(t.class_markets.c.room_id == room_id)).first()
    return ClassMarket() if row is None else class_market_from_dict(json.loads(row.spec))


def set_class_market(db: Database, code: Any, key: Any, settings: Mapping[str, Any]) -> ClassMarket:
    """The class market's limits, depth and crowd (see :class:`classroom.market.ClassMarket`)."""
    market = check_class_market(settings)

    def work(connection: Connection) -> None:
        room = teacher_row(connection, code, key, now=db.clock())
        bump(connection, room.id, db.clock(), seen=True)
        connection.execute(upsert(connection, t.class_markets).values(room_id=room.id, spec=json.dumps(market.as_dict()))
                           .on_conflict_do_update(index_elements=["room_id"], set_={"spec": json.dumps(market.as_dict())}))
    db.write(work)
    return market


def class_market(db: Database, code: Any) -> ClassMarket:
    """The room's class market (anyone with the code)."""
    return db.read(lambda c: market_of(c, room_row(c, code, now=db.clock()).id))


def open_position(db: Database, code: Any, token: Any, position: Mapping[str, Any]) -> dict[str, Any]:
    """A student's one position in the class market (a new one replaces it), within the
    teacher's limits (:func:`classroom.market.check_position`)."""
    def work(connection: Connection) -> dict[str, Any]:
        now = db.clock()
        room, seat = seat_row(connection, code, token, now=now, lock=True)
        checked = check_position(position, market_of(connection, room.id))
        values = {"side": checked.side, "mode": checked.mode, "leverage": checked.leverage,
                  "notional": checked.notional}
        bump(connection, room.id, now, seen=False)
        connection.execute(upsert(connection, t.positions).values(room_id=room.id, participant_id=seat.id,
                                                                  opened_at=now, **values)
                           .on_conflict_do_update(index_elements=["room_id", "participant_id"],
                                                  set_={**values, "opened_at": now}))
        return values
    return db.write(work)


def my_position(db: Database, code: Any, token: Any) -> dict[str, Any] | None:
    def work(connection: Connection) -> Any:
        room, seat = seat_row(connection, code, token, now=db.clock())
        return connection.execute(select(t.positions).where(t.positions.c.room_id == room.id,
                                                            t.positions.c.participant_id == seat.id)).first()
    row = db.read(work)
    return None if row is None else {"side": row.side, "mode": row.mode, "leverage": row.leverage,
                                     "notional": row.notional}


def my_fate(db: Database, code: Any, token: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The latest class cascade and this student's fate in it, None before the first one (or
    when the student had no position then)."""
    def work(connection: Connection) -> tuple[int, Any]:
        room, seat = seat_row(connection, code, token, now=db.clock())
        return seat.id, connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                                           .order_by(t.cascade_runs.c.number.desc()).limit(1)).first()
    seat_id, row = db.read(work)
    if row is None:
        return None
    result = json.loads(row.result)
    mine = next((s for s in result["students"] if s["participant_id"] == seat_id), None)
    return None if mine is None else (result, mine)


def _positions(connection: Connection, room_id: int, *, present_only: bool) -> list[Any]:
    query = select(t.positions, t.participants.c.nickname).join(
        t.participants, t.participants.c.id == t.positions.c.participant_id).where(t.positions.c.room_id == room_id)
    if present_only:
        query = query.where(t.participants.c.removed.is_(False))
    return list(connection.execute(query.order_by(t.positions.c.id)).all())


def run_cascade(db: Database, code: Any, key: Any, shock: Any) -> dict[str, Any]:
    """Shock the class market by ``shock`` [fraction, -0.3 to 0.3]: the engine's cascade with
    every student's position riding it; stored as the room's next round, and returned."""
    try:
        shock = number(shock, "shock", low=-MAX_CASCADE_SHOCK, high=MAX_CASCADE_SHOCK)
    except ScenarioError as err:
        raise RoomError(err.field, err.problem) from None
    if shock == 0:
        raise RoomError("shock", "must move the price: 0 % starts no cascade")

    def read(connection: Connection) -> tuple[ClassMarket, list[Any]]:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        return market_of(connection, room.id), _positions(connection, room.id, present_only=True)
    market, rows = db.read(read)
    result = run_class_cascade(market, shock, [(r.participant_id, r.nickname, position_from_dict(r._mapping))
                                               for r in rows])
    result["market"] = market.as_dict()

    def work(connection: Connection) -> dict[str, Any]:
        room = teacher_row(connection, code, key, now=db.clock())
        bump(connection, room.id, db.clock(), seen=True)
        result["number"] = 1 + int(connection.execute(select(func.coalesce(func.max(t.cascade_runs.c.number), 0))
                                                      .where(t.cascade_runs.c.room_id == room.id)).scalar_one())
        connection.execute(t.cascade_runs.insert().values(room_id=room.id, number=result["number"], shock=shock,
                                                          result=json.dumps(result), ran_at=db.clock()))
        return result
    return db.write(work)


def cascades(db: Database, code: Any, key: Any) -> list[dict[str, Any]]:
    """Every class cascade of the room, in order (see :func:`classroom.market.run_class_cascade`)."""
    def work(connection: Connection) -> list[Any]:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        return list(connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                                       .order_by(t.cascade_runs.c.number)).all())
    return [json.loads(r.result) for r in db.read(work)]


def public_cascade(db: Database, code: Any, token: Any) -> dict[str, Any] | None:
    """The room's latest class cascade for the projector (its projector token or the teacher
    key): prices, rounds, counts and each student's fate without a nickname or an id; None
    before the first."""
    def work(connection: Connection) -> Any:
        room = projector_row(connection, code, token, now=db.clock())
        return connection.execute(select(t.cascade_runs.c.result).where(t.cascade_runs.c.room_id == room.id)
                                  .order_by(t.cascade_runs.c.number.desc()).limit(1)).first()
    row = db.read(work)
    if row is None:
        return None
    result = json.loads(row.result)
    result["students"] = [{k: v for k, v in s.items() if k not in ("nickname", "participant_id")}
                          for s in result.get("students", [])]
    return result


def class_positions(db: Database, code: Any, key: Any) -> list[dict[str, Any]]:
    """The students' open positions: ``{"participant_id", "nickname", "side", "mode", "leverage", "notional"}``."""
    def work(connection: Connection) -> list[Any]:
        room = teacher_row(connection, code, key, now=db.clock(), writing=False)
        return _positions(connection, room.id, present_only=False)
    return [{"participant_id": r.participant_id, "nickname": r.nickname, "side": r.side, "mode": r.mode,
             "leverage": r.leverage, "notional": r.notional} for r in db.read(work)]


__all__ = ["cascades", "class_market", "class_positions", "market_of", "my_fate", "my_position", "open_position",
           "public_cascade", "run_cascade", "set_class_market"]
