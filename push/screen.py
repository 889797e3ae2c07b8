"""A room's public screen at one version: what every student in the room sees, as HTML.

It holds nothing of any one student (no answer, no fate, no nickname, no seat): the lab at the
teacher's step (the account as built walked to the room's shock and prices), or the teacher's
crash replay at its step, or, while a question is open, only the account's facts (nothing
computed from prices, which would give the answer away). The room's pages build the same
screens from the same pure functions (``ui.rooms.model``, ``ui.rooms.html``); a
student's own shock in explore mode is drawn by the student's page, on top of this.

:func:`page_shape` names what a student page's widgets depend on (the mode, the question on
screen, its round and timer and whether it is revealed, the class cascades run): when a pushed screen's shape
differs from the one the page drew, the page's component asks for one run of the page.

The models behind a screen are kept in small bounded caches keyed by their inputs (the
account's JSON text, the shock and prices, the crash), so a room's step is computed once per
process however many rooms or theme variants show it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any, Mapping

from classroom import RoomState

NO_ACCOUNT = "The teacher has not shown an account yet."
ENDED = {  # why a stream ended, as the student's screen says it
    "closed": "The teacher has closed this room. Thank you for taking part.",
    "expired": "This room has expired.",
    "removed": "The teacher removed you from this room.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomScreen:
    """A room's public screen at ``version``: its ``html``, its page ``shape``, and ``ended``
    (``"closed"``, ``"expired"`` or None while the room runs)."""

    code: str
    version: int
    shape: str
    html: str
    ended: str | None


def page_shape(state: RoomState) -> str:
    """What a student page's widgets depend on, as a short text: two states with the same
    shape draw the same widgets (only the pushed screen differs).

    >>> from classroom import RoomState
    >>> page_shape(RoomState(code="ABC234", version=3, activity=3, mode="follow", scenario=None, shock=0.0,
    ...     prices={}, question=None, locked=False, closed=False, expired=False, show_names=False,
    ...     expires_at=0.0, cascades=2))
    'follow|q0.0|c2|open'
    """
    q = state.question
    question = "q0.0" if q is None else f"q{q.number}.{int(q.revealed)}.r{q.round}.t{q.closes_at or 0:.0f}"
    end = "closed" if state.closed else "expired" if state.expired else "open"
    return f"{state.mode}|{question}|c{state.cascades}|{end}"


# The views are imported where they are used: the stream's server and the page's component import
# this module when serve_app.py loads, before Streamlit's runtime exists, and the views declare
# st.cache_data functions, which would then each log that no runtime was found.


@lru_cache(maxsize=64)
def _step(account: str, shock: float, prices: tuple[tuple[str, float], ...]) -> Any:
    from ui.rooms.model import room_step
    return room_step(account, shock, prices)


@lru_cache(maxsize=4)
def _replay(account: str, crash_id: str) -> Any:
    from margin.crashes import load_crash
    from margin.replay import replay
    from margin.scenario import scenario_from_dict
    return replay(scenario_from_dict(json.loads(account)), load_crash(crash_id))


def screen_html(state: RoomState, *, dark: bool = False) -> str:
    """The room's public screen as HTML (every value escaped by the builders it calls)."""
    from ui.rooms.html import facts_html, replay_html, step_html
    from ui.rooms.model import account_text, replay_moment
    if state.scenario is None:
        return f'<p class="ml-small">{escape(NO_ACCOUNT)}</p>'
    if state.question is not None and not state.question.revealed:
        return facts_html(state.scenario, dark=dark)
    account = account_text(state.scenario)
    if state.replay is not None:
        model = _replay(account, str(state.replay["crash"]))
        return replay_html(replay_moment(model, int(state.replay["step"])), dark=dark)
    return step_html(_step(account, float(state.shock), tuple(sorted(state.prices.items()))), dark=dark)


def ended_html(reason: str) -> str:
    """The last thing a stream shows: why it ended, in a sentence."""
    return f'<p class="ml-small" data-room-ended="{escape(reason)}">{escape(ENDED.get(reason, ENDED["closed"]))}</p>'


def room_screen(state: RoomState, *, dark: bool = False) -> RoomScreen:
    """The room's screen at ``state.version`` (no HTML worth computing once it has ended)."""
    ended = "closed" if state.closed else "expired" if state.expired else None
    html = ended_html(ended) if ended else screen_html(state, dark=dark)
    return RoomScreen(code=state.code, version=state.version, shape=page_shape(state), html=html, ended=ended)


def event_fields(screen: RoomScreen) -> Mapping[str, object]:
    """The screen as its stream event carries it (``v``, ``shape``, ``html``)."""
    return {"v": screen.version, "shape": screen.shape, "html": screen.html}


__all__ = ["ENDED", "NO_ACCOUNT", "RoomScreen", "ended_html", "event_fields", "page_shape", "room_screen",
           "screen_html"]
