"""What the room store hands back: frozen records, read once from the database, holding no
connection. Times are [unix s] by the store's clock; a question's values are in its ``unit``
(a choice question's are option indexes, 0 for the first option)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedRoom:
    """A new room: its join ``code``, the ``teacher_key`` (shown once, kept in the teacher's
    browser), the read-only ``projector_token`` and when it expires [unix s]."""

    code: str
    teacher_key: str
    expires_at: float
    projector_token: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Seat:
    """A participant: the ``token`` (kept in the student's link) is only returned by join."""

    code: str
    participant_id: int
    nickname: str
    token: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A question. ``value`` [unit] is the engine's answer (a choice question's: the right
    option's index), None on a student's screen until revealed. ``round`` is the round being
    answered (2 after a re-ask); ``closes_at`` [unix s] ends the answers (None: no timer)."""

    number: int
    spec: Mapping[str, Any]
    text: str
    unit: str
    revealed: bool
    value: float | None
    kind: str = "number"  # or "choice"
    options: tuple[str, ...] = ()
    round: int = 1
    closes_at: float | None = None
    asked_at: float = 0.0

    def closed(self, now: float) -> bool:
        """Whether answers are closed at ``now`` [unix s] (revealed, or its timer ran out)."""
        return self.revealed or (self.closes_at is not None and now >= self.closes_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomState:
    """What every screen in the room shows, at ``version``: the pushed account (scenario dict,
    None before the first push), the ``shock`` [fraction], the slider ``prices`` [USDT], the
    ``mode`` ("follow" or "explore"), the question on screen and, while a crash replay is on
    screen, ``replay`` = {"crash", "step", "playing", "last", "steps_per_second"}, its step
    computed from the store's clock at ``now`` [unix s]."""

    code: str
    version: int
    activity: int
    mode: str
    scenario: Mapping[str, Any] | None
    shock: float
    prices: Mapping[str, float]
    question: Question | None
    locked: bool
    closed: bool
    expired: bool
    show_names: bool
    expires_at: float
    cascades: int
    replay: Mapping[str, Any] | None = None
    now: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    id: int
    nickname: str
    joined_at: float
    removed: bool
    last_seen: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Answers:
    """The answers to one question in one ``round`` [its unit], in the order given, with who
    gave them."""

    question: Question
    values: tuple[float, ...]
    participant_ids: tuple[int, ...]
    round: int = 1

    @property
    def count(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassMember:
    """One student on the teacher's class list: seen within the presence window
    (``connected``) and whether they answered the question on screen in its current round."""

    participant_id: int
    nickname: str
    connected: bool
    answered: bool
    last_seen: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassList:
    """The class now (removed students left out), for the question ``number`` and ``round`` on
    screen (None: no question)."""

    number: int | None
    round: int | None
    members: tuple[ClassMember, ...]

    @property
    def students(self) -> int:
        return len(self.members)

    @property
    def connected(self) -> int:
        return sum(m.connected for m in self.members)

    @property
    def answered(self) -> int:
        return sum(m.answered for m in self.members)

    @property
    def waiting(self) -> int:
        """Students who have not answered the question on screen yet."""
        return self.students - self.answered if self.number is not None else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassCounts:
    """The class list without names (what a projector may show)."""

    students: int
    connected: int
    answered: int
    waiting: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomSummary:
    """One of "my rooms": ``state`` is "open", "locked", "closed" or "expired"."""

    code: str
    opened_at: float
    expires_at: float
    state: str
    students: int
    questions: int
    answers: int
    cascades: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundTally:
    """One round of a question: how many ``answered``, how many ``right`` (a choice: the right
    option; a number: within 1 %, :func:`classroom.questions.is_close`) and, for a choice
    question, how many chose each option (``counts``, in the options' order)."""

    round: int
    answered: int
    right: int
    counts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundMove:
    """Between two rounds, the students who answered both: how many moved to the right answer,
    moved away from it, or stayed right or wrong."""

    from_round: int
    to_round: int
    to_right: int
    to_wrong: int
    stayed_right: int
    stayed_wrong: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundComparison:
    """A question's rounds side by side (peer instruction), with the moves between them."""

    question: Question
    tallies: tuple[RoundTally, ...]
    moves: tuple[RoundMove, ...]
    answers: tuple[Answers, ...] = ()


__all__ = ["Answers", "ClassCounts", "ClassList", "ClassMember", "OpenedRoom", "Participant", "Question",
           "RoomState", "RoomSummary", "RoundComparison", "RoundMove", "RoundTally", "Seat"]
