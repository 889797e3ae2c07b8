"""The rooms' store: every fact a classroom room shares lives in the database, so any number of
server processes can serve one room. :class:`RoomStore` is its one public face, a thin class
whose methods each call the module that owns the thing (as oTree keeps its models behind one
API):

* :mod:`classroom.store.room`: a room's life, its keys, "my rooms", its version;
* :mod:`classroom.store.screen`: the pushed account, market moves, the crash replay, its state;
* :mod:`classroom.store.seats`: joining and the failed-join limits, removal, presence;
* :mod:`classroom.store.asking`: questions, timers, rounds and answers;
* :mod:`classroom.store.class_market`: the class market's positions and cascades;
* :mod:`classroom.store.export`: the roster (CSV) and the room's record (JSON);
* :mod:`classroom.store.db`: transactions, retries, faults as sentences.

Teacher actions take the room's code and the teacher key; student actions the code and the
participant token; projector reads the code and the projector token (or the teacher key). A
wrong one is refused with :class:`classroom.codes.RoomError` (``<field>: <problem>``) and
nothing is stored; so is every database fault (:class:`classroom.codes.StoreUnavailable`).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import Engine

from margin.fields import ScenarioError, number
from classroom.codes import RoomError
from classroom.limits import DEFAULT_CAPACITY, DEFAULT_HOURS, MAX_CAPACITY, MAX_HOURS
from classroom.market import ClassMarket
from classroom.questions import Reveal, reveal_summary
from classroom.records import (
    Answers, ClassCounts, ClassList, OpenedRoom, Participant, Question, RoomState, RoomSummary, RoundComparison, Seat,
)
from classroom.store import asking, class_market, export, room, screen, seats
from classroom.store.db import DATA_DIR_ENV, DATABASE_URL_ENV, Database, default_url, make_engine
from classroom.store.screen import MODES


class RoomStore:
    """The rooms in one database (``url``: see :func:`default_url`). ``clock`` gives the time
    [unix s] every rule reads (tests move it)."""

    def __init__(self, url: str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.url = url or default_url()
        self.clock = clock
        self.db = Database(self.url, clock=lambda: self.clock())

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def schema_version(self) -> int:
        """The database's schema version (opening it if an outage kept it closed so far)."""
        return self.db.schema_version

    def dispose(self) -> None:
        """Close the connections (the data stays)."""
        self.db.dispose()

    # ------------------------------------------------------------------ anyone with the code

    def version(self, code: str) -> tuple[int, int]:
        """``(version, activity)``: the cheap poll; the version moves with a playing replay too."""
        return screen.version(self.db, code)

    def state(self, code: str, *, teacher: bool = False) -> RoomState:
        """What the room's screens show now (the engine's answer once revealed, or to ``teacher``)."""
        return screen.state(self.db, code, teacher=teacher)

    def class_market(self, code: str) -> ClassMarket:
        """The room's class market (the defaults until the teacher sets one)."""
        return class_market.class_market(self.db, code)

    # ------------------------------------------------------------------ the teacher: the room

    def open_room(self, *, hours: Any = DEFAULT_HOURS, capacity: Any = DEFAULT_CAPACITY) -> OpenedRoom:
        """Open a room for ``hours`` [h] and at most ``capacity`` students."""
        try:
            hours = number(hours, "hours", low=0.0, low_open=True, high=MAX_HOURS)
            capacity = int(number(capacity, "capacity", low=1, high=MAX_CAPACITY, integer=True))
        except ScenarioError as err:
            raise RoomError(err.field, err.problem) from None
        return room.open_room(self.db, hours=hours, capacity=capacity)

    def check_teacher(self, code: str, key: str) -> None:
        """Raise :class:`RoomError` unless ``key`` is the room's teacher key (closed rooms too)."""
        self.db.read(lambda c: room.teacher_row(c, code, key, now=self.db.clock(), writing=False))

    def lock(self, code: str, key: str, locked: bool = True) -> None:
        """Lock the room (no one new may join) or unlock it."""
        room.teacher_update(self.db, code, key, locked=bool(locked))

    def close(self, code: str, key: str) -> None:
        """Close the room for good: no joins, answers or positions; results stay readable."""
        room.teacher_update(self.db, code, key, closed=True)

    def show_names(self, code: str, key: str, show: bool) -> None:
        """Show nicknames on the teacher's screens (anonymous by default)."""
        room.teacher_update(self.db, code, key, show_names=bool(show))

    def set_mode(self, code: str, key: str, mode: str) -> None:
        """``"follow"``: every student's lab follows the teacher; ``"explore"``: hands the controls back."""
        if mode not in MODES:
            raise RoomError("mode", f"must be 'follow' or 'explore', got {str(mode)[:20]!r}")
        room.teacher_update(self.db, code, key, mode=mode)

    def projector_token(self, code: str, key: str) -> str:
        """A fresh read-only projector token for the room (the previous one stops working)."""
        return room.new_projector_token(self.db, code, key)

    def my_rooms(self, pairs: Iterable[tuple[str, str]]) -> list[RoomSummary]:
        """The rooms these (code, teacher key) pairs open, newest first: code, opened, state, counts."""
        return room.my_rooms(self.db, pairs)

    def purge(self) -> int:
        """Delete rooms expired more than ``RETENTION_DAYS`` ago; returns how many."""
        return room.purge(self.db)

    # ------------------------------------------------------------------ the teacher: the screen

    def push_account(self, code: str, key: str, account: Mapping[str, Any]) -> None:
        """Put an account (a scenario dict) on every screen, at its own prices and no shock."""
        screen.push_account(self.db, code, key, account)

    def move_market(self, code: str, key: str, *, shock: Any = None, prices: Mapping[str, Any] | None = None) -> None:
        """Move the whole-market ``shock`` [fraction] and/or markets' slider ``prices`` [USDT]."""
        screen.move_market(self.db, code, key, shock=shock, prices=prices)

    def move_replay(self, code: str, key: str, *, crash: Any = None, step: Any = None, playing: bool | None = None,
                    steps_per_second: Any = None) -> dict[str, Any]:
        """Put a crash replay on every screen, at ``step``, playing (by the store's clock) or paused."""
        return screen.move_replay(self.db, code, key, crash=crash, step=step, playing=playing,
                                  steps_per_second=steps_per_second)

    def stop_replay(self, code: str, key: str) -> None:
        """Take the crash replay off the screens."""
        screen.stop_replay(self.db, code, key)

    # ------------------------------------------------------------------ the teacher: the class

    def participants(self, code: str, key: str) -> list[Participant]:
        """Everyone who joined, in order (the removed marked so)."""
        return seats.participants(self.db, code, key)

    def remove(self, code: str, key: str, participant_id: int) -> None:
        """Remove a participant for good from this room (their answers stay in the results)."""
        seats.remove(self.db, code, key, participant_id)

    def class_list(self, code: str, key: str) -> ClassList:
        """The class now by nickname: connected, answered, not yet answered."""
        return seats.class_list(self.db, code, key)

    # ------------------------------------------------------------------ the teacher: questions

    def ask(self, code: str, key: str, question: Mapping[str, Any], *, seconds: Any = None) -> Question:
        """Put a question on every screen (with a timer of ``seconds``, or none)."""
        return asking.ask(self.db, code, key, question, seconds=seconds)

    def set_timer(self, code: str, key: str, seconds: Any) -> Question:
        """(Re)start the timer of the question on screen (None: no timer)."""
        return asking.set_timer(self.db, code, key, seconds)

    def reask(self, code: str, key: str, number_: int | None = None, *, seconds: Any = None) -> Question:
        """Ask a question again as its next round (peer instruction); earlier rounds are kept."""
        return asking.reask(self.db, code, key, number_, seconds=seconds)

    def reveal(self, code: str, key: str) -> None:
        """Reveal the question on screen: answers close, every screen shows the engine's value."""
        asking.reveal(self.db, code, key)

    def clear_question(self, code: str, key: str) -> None:
        """Take the question off the screens (it stays in the results)."""
        room.teacher_update(self.db, code, key, question_id=None)

    def answers(self, code: str, key: str, number_: int | None = None, *, round_: int | None = None) -> Answers | None:
        """The answers to question ``number_`` (default: on screen) in ``round_`` (default: current)."""
        return asking.answers(self.db, code, key, number_, round_=round_)

    def rounds(self, code: str, key: str, number_: int | None = None) -> RoundComparison | None:
        """A question's rounds side by side, with how many moved to the right answer."""
        return asking.rounds(self.db, code, key, number_)

    # ------------------------------------------------------------------ the teacher: class market and records

    def set_class_market(self, code: str, key: str, settings: Mapping[str, Any]) -> ClassMarket:
        """The class market's limits, depth and crowd."""
        return class_market.set_class_market(self.db, code, key, settings)

    def run_cascade(self, code: str, key: str, shock: Any) -> dict[str, Any]:
        """Shock the class market; the cascade is stored as the room's next round and returned."""
        return class_market.run_cascade(self.db, code, key, shock)

    def cascades(self, code: str, key: str) -> list[dict[str, Any]]:
        """Every class cascade of the room, in order."""
        return class_market.cascades(self.db, code, key)

    def class_positions(self, code: str, key: str) -> list[dict[str, Any]]:
        """The students' open positions, with their nicknames."""
        return class_market.class_positions(self.db, code, key)

    def results_csv(self, code: str, key: str) -> str:
        """The roster as CSV: every student, every question and round, the class market's fates."""
        return export.results_csv(self.db, code, key)

    def room_json(self, code: str, key: str) -> str:
        """The room's whole record as JSON text (format ``margin-room/1``)."""
        return export.room_json(self.db, code, key)

    # ------------------------------------------------------------------ the projector (read-only)

    def projector_state(self, code: str, token: str) -> RoomState:
        """The room's public screen, for its projector token (or the teacher key)."""
        self.db.read(lambda c: room.projector_row(c, code, token, now=self.db.clock()))
        return screen.state(self.db, code)

    def projector_counts(self, code: str, token: str) -> ClassCounts:
        """The class as counts (connected, answered, not yet), for the projector."""
        return seats.class_counts(self.db, code, token)

    def projector_rounds(self, code: str, token: str) -> RoundComparison | None:
        """The question on screen round by round, anonymous; its answer once revealed."""
        return asking.public_rounds(self.db, code, token)

    def projector_cascade(self, code: str, token: str) -> dict[str, Any] | None:
        """The latest class cascade without names (None before one), for the projector."""
        return class_market.public_cascade(self.db, code, token)

    # ------------------------------------------------------------------ students

    def join(self, code: Any, nickname: Any, *, session: str | None = None, address: str | None = None,
             client: str | None = None) -> Seat:
        """Join a room with its code and a nickname, from browser ``session`` (``client`` is an
        older name for it) at network ``address`` (:func:`classroom.limits.client_address`)."""
        return seats.join(self.db, code, nickname, session=str(session or client or "unknown"), address=address)

    def seat(self, code: Any, token: Any) -> Seat:
        """The participant a link's token names in this room (RoomError if none, or removed)."""
        return seats.seat(self.db, code, token)

    def touch(self, code: Any, token: Any) -> None:
        """The student is here (presence; a write at most every few seconds)."""
        seats.touch(self.db, code, token)

    def here(self, code: Any, participant_ids: Iterable[int]) -> int:
        """Presence from the push hub: these participants have a stream open (one write a room)."""
        return seats.here(self.db, code, participant_ids)

    def answer(self, code: Any, token: Any, value: Any) -> float:
        """A student's answer (a number, or a choice's index); a second one replaces the first."""
        return asking.answer(self.db, code, token, value)

    def my_answer(self, code: Any, token: Any) -> float | None:
        """The student's answer to the question on screen in its current round, None if none."""
        return asking.my_answer(self.db, code, token)

    def open_position(self, code: Any, token: Any, position: Mapping[str, Any]) -> dict[str, Any]:
        """A student's one position in the class market (a new one replaces it)."""
        return class_market.open_position(self.db, code, token, position)

    def my_position(self, code: Any, token: Any) -> dict[str, Any] | None:
        return class_market.my_position(self.db, code, token)

    def my_fate(self, code: Any, token: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The latest class cascade and this student's fate in it (None before one)."""
        return class_market.my_fate(self.db, code, token)


__all__ = ["Answers", "DATABASE_URL_ENV", "DATA_DIR_ENV", "OpenedRoom", "Participant", "Question", "Reveal",
           "RoomState", "RoomStore", "Seat", "default_url", "make_engine", "reveal_summary"]
