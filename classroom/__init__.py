"""Classroom rooms: a teacher drives the market, the class predicts, the class is the market.

Shared state lives only in the database (SQLAlchemy 2; SQLite in WAL mode by default, in
``$MARGIN_LAB_DATA_DIR/rooms.sqlite3``, default ``data/`` in the repository; PostgreSQL when
``MARGIN_LAB_DATABASE_URL`` names one), so any number of server processes can serve one room.
No Streamlit here. The public API, all on :class:`RoomStore` (``RoomStore(url=None)``):

* teacher (code + teacher key): ``open_room(hours, capacity) -> OpenedRoom(code, teacher_key,
  projector_token)``, ``check_teacher``, ``projector_token`` (a fresh one), ``my_rooms(pairs)``,
  ``participants``, ``class_list``, ``remove``, ``lock``, ``close``, ``show_names``,
  ``push_account(scenario dict)``, ``move_market(shock=, prices=)``, ``move_replay(crash=, step=,
  playing=, steps_per_second=)``, ``stop_replay``, ``set_mode("follow"|"explore")``,
  ``ask(question spec, seconds=)``, ``set_timer``, ``reask``, ``answers``, ``rounds``,
  ``reveal``, ``clear_question``, ``set_class_market``, ``run_cascade(shock)``, ``cascades``,
  ``class_positions``, ``results_csv`` (the roster), ``room_json``;
* projector (code + projector token, read-only): ``projector_state``, ``projector_counts``,
  ``projector_rounds``;
* student (code + participant token): ``join(code, nickname, session=, address=) -> Seat(token)``,
  ``seat``, ``touch``, ``answer(value)``, ``my_answer``, ``open_position({side, mode, leverage,
  notional})``, ``my_position``, ``my_fate``;
* anyone: ``version(code) -> (version, activity)`` (the cheap poll), ``state(code) -> RoomState``.

Every refusal is a :class:`RoomError` (a ``ValueError``; ``str(err)`` is ``<field>: <problem>``)
and stores nothing; a database that is unreachable or busy, or a SQLite file gone, is a
:class:`StoreUnavailable` (a ``RoomError``) whose sentence a student can read. The schema
upgrades itself on open, under a lock (:mod:`classroom.migrations`). Bounds and the join rate
limit, with ``MARGIN_LAB_TRUSTED_PROXIES``: :mod:`classroom.limits`. Backup and restore:
``python -m classroom`` (:mod:`classroom.__main__`).
"""

from classroom.codes import RoomError, StoreGone, StoreUnavailable
from classroom.limits import client_address
from classroom.questions import Reveal, compare_rounds, reveal_summary
from classroom.records import (
    Answers, ClassCounts, ClassList, ClassMember, OpenedRoom, Participant, Question, RoomState, RoomSummary,
    RoundComparison, RoundMove, RoundTally, Seat,
)
from classroom.store import RoomStore, default_url

__all__ = ["Answers", "ClassCounts", "ClassList", "ClassMember", "OpenedRoom", "Participant", "Question", "Reveal",
           "RoomError", "RoomState", "RoomStore", "RoomSummary", "RoundComparison", "RoundMove", "RoundTally", "Seat",
           "StoreGone", "StoreUnavailable", "client_address", "compare_rounds", "default_url", "reveal_summary"]
