"""Classroom rooms: a teacher drives the market, the class predicts, the class is the market.

Shared state lives only in the database (SQLAlchemy 2; SQLite in WAL mode by default, in
``$MARGIN_LAB_DATA_DIR/rooms.sqlite3``, default ``data/`` in the repository; PostgreSQL when
``MARGIN_LAB_DATABASE_URL`` names one), so any number of server processes can serve one room.
No Streamlit here. The public API, all on :class:`RoomStore` (``RoomStore(url=None)``):

* teacher (code + teacher key): ``open_room(hours, capacity) -> OpenedRoom(code, teacher_key)``,
  ``check_teacher``, ``participants``, ``remove``, ``lock``, ``close``, ``show_names``,
  ``push_account(scenario dict)``, ``move_market(shock=, prices=)``, ``move_replay(crash=, step=,
  playing=)``, ``stop_replay``, ``set_mode("follow"|"explore")``,
  ``ask(question spec)``, ``answers``, ``reveal``, ``clear_question``, ``set_class_market``,
  ``run_cascade(shock)``, ``cascades``, ``class_positions``, ``results_csv``;
* student (code + participant token): ``join(code, nickname, client=) -> Seat(token)``, ``seat``,
  ``answer(value)``, ``my_answer``, ``open_position({side, mode, leverage, notional})``,
  ``my_position``, ``my_fate``;
* anyone: ``version(code) -> (version, activity)`` (the cheap poll), ``state(code) -> RoomState``.

Every refusal is a :class:`RoomError` (a ``ValueError``; ``str(err)`` is ``<field>: <problem>``)
and stores nothing. The schema upgrades itself on open (:mod:`classroom.schema`).
"""

from classroom.codes import RoomError
from classroom.store import (
    Answers, OpenedRoom, Participant, Question, Reveal, RoomState, RoomStore, Seat, default_url, reveal_summary,
)

__all__ = ["Answers", "OpenedRoom", "Participant", "Question", "Reveal", "RoomError", "RoomState", "RoomStore",
           "Seat", "default_url", "reveal_summary"]
