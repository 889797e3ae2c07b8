"""Classroom rooms, the Streamlit side: the store (one connection pool per server process; the
rooms themselves live in the database), who is asking (for the join rate limit), the room and
the seat or teacher key in the URL, and the lab at a room's step computed once per step.
"""

from __future__ import annotations

from typing import Sequence

import streamlit as st

from classroom import RoomStore, client_address
from ui.session.memory import CACHE_TTL
from ui.pictures.room_html import replay_html, step_html
from ui.views.room import KEY_PARAM, ROOM_PARAM, SEAT_PARAM, replay_moment, room_step


@st.cache_resource(max_entries=4, show_spinner=False)  # one per store URL: a connection pool
def _store(url: str | None) -> RoomStore:
    return RoomStore(url)


def store() -> RoomStore:
    """The room store of this process (a connection pool: it holds no room's state)."""
    from classroom.store import default_url
    return _store(default_url())


def client_id() -> str:
    """The network address a join comes from: ``X-Forwarded-For`` believed only as far as the
    proxies in ``MARGIN_LAB_TRUSTED_PROXIES`` wrote it (:func:`classroom.limits.client_address`);
    Streamlit reports a loopback peer as None."""
    headers = getattr(st.context, "headers", None) or {}
    return client_address(getattr(st.context, "ip_address", None) or "127.0.0.1", headers.get("X-Forwarded-For"))


def session_id() -> str:
    """This browser session (a tab), for the failed-join limit that refuses only its own typos."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "unknown"


def url_room() -> tuple[str | None, str | None, str | None]:
    """``(code, seat token, teacher key)`` from the address (each None when absent)."""
    params = st.query_params
    return params.get(ROOM_PARAM), params.get(SEAT_PARAM), params.get(KEY_PARAM)


def set_url(**params: str | None) -> None:
    """Put the room's parameters in the address (a reload then returns to the room); None drops one."""
    for name, value in params.items():
        if value is None:
            st.query_params.pop(name, None)
        else:
            st.query_params[name] = value


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def step_screen(account: str, shock: float, prices: Sequence[tuple[str, float]], dark: bool) -> str:
    """The student's lab at a room's step as HTML, computed once per step for every student of
    every room showing it (a result keyed by its inputs, not shared state)."""
    return step_html(room_step(account, shock, tuple(prices)), dark=dark)


@st.cache_data(max_entries=256, ttl=CACHE_TTL, show_spinner=False)
def replay_screen(account: str, crash_id: str, step: int, dark: bool) -> str:
    """The student's screen at a step of the teacher's crash replay, as HTML, once per step (the
    replay itself once per account and crash, by the replay page's own cache)."""
    from margin.crashes import load_crash
    from margin.scenario import scenario_from_dict
    from ui.views.replay import cached_replay
    import json
    model = cached_replay(account, scenario_from_dict(json.loads(account)), (crash_id,), load_crash(crash_id))
    return replay_html(replay_moment(model, step), dark=dark)


__all__ = ["replay_screen", "step_screen", "client_id", "session_id", "set_url", "store", "url_room"]
