"""Projector view: a classroom room on the big screen, read-only.

Opened by its own link from the teacher's console, ``/projector?room=<code>&view=<projector
token>``: never the teacher key (a key in its address is dropped, and the key given as the
token is refused). Large type at 1280×720, nothing of the console's controls: the join code and
its QR while students arrive, then the lab the class sees, the open question with its countdown
and how many answered (never its answer), the reveal, every round side by side, and the class
market's cascade (``ui/rooms/projector.py`` decides what and draws it).

It follows the room with one fragment that runs every second: one small query (the room's
version and activity), and the room's public screen, counts, rounds and cascade read again only
when one of them moved or every few seconds (presence fades with time, and a new projector
link ends an old one). One projector per room: its cost does not grow with the class. Served by
``serve_app.py``, the lab and the crash replay come by the room's event stream as on a
student's page (``push/component.py``, a ticket for no seat): each step at once, and not sent
again with each run of the fragment.

Session keys: ``projector.seen`` (what was read, and at which version, activity and moment),
``projector.cascade_mark`` (the cascade count and version when a new cascade came: see
``ui.rooms.projector.focus``).
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import time

import streamlit as st

from classroom import RoomError, reveal_summary
from classroom.market import survival_table
from ui.common.text import md
from ui.lab.html import LAB_CSS
from ui.rooms.charts import class_cascade_figure, qr_png, reveal_figure
from ui.rooms.html import ROOM_CSS
from ui.rooms.model import KEY_PARAM, ROOM_PARAM, join_url
from ui.rooms.projector import (
    PROJECTOR_CSS, VIEW_PARAM, arrival_html, cascade_html, choice_bars_html, ended_html, focus, question_html,
    reveal_head_html, rounds_html, status_bar, survival_html,
)
from ui.rooms.session import screen_html, set_url, store
from push.component import pushed, room_stream
from ui.shell import presenter
from ui.shell.deep_links import inside_app_frame
from ui.shell.live_html import live_region

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

TICK_SECONDS = 1.0  # the countdown's step, and how often the view asks whether the room moved [s]
REFRESH_SECONDS = 5.0  # everything is read again at least this often [s]
SEEN = "projector.seen"
MARK = "projector.cascade_mark"
SCREEN = "projector.screen"  # the live region the room's pushed screen fills (serve_app.py)
NO_SEAT = 0  # the stream ticket's participant: no student's (their ids start at 1)


def read(code: str, token: str):
    """``(state, counts, rounds, cascade)``: read again when the room's version or activity
    moved, or every :data:`REFRESH_SECONDS`; else what this view read last."""
    rooms = store()
    version, activity = rooms.version(code)
    stamp = (version, activity, int(time.time() // REFRESH_SECONDS))
    seen = st.session_state.get(SEEN)
    if seen is None or seen[0] != stamp:
        state = rooms.projector_state(code, token)
        counts = rooms.projector_counts(code, token)
        shown = state.question is not None and state.question.revealed
        rounds = rooms.projector_rounds(code, token) if shown else None
        cascade = rooms.projector_cascade(code, token) if state.cascades else None
        st.session_state[SEEN] = seen = (stamp, (state, counts, rounds, cascade))
    return seen[1]


def figure(fig, key: str) -> None:
    st.plotly_chart(presenter.enlarge(fig, 1.3), key=key, width="stretch", config={"displayModeBar": False})


def draw_reveal(state, rounds) -> None:
    """The engine's value (or the right option) against the class's answers, every round."""
    latest = rounds.answers[-1]
    summary = reveal_summary(latest, state.scenario)
    q = summary.question
    head = reveal_head_html(q, latest.count, summary.close, summary.mistakes)
    if len(rounds.answers) > 1:
        left, right = st.columns([3, 2])
        left.html(head)
        right.html(rounds_html(rounds))
        cols = st.columns(len(rounds.answers))
        for col, answers in zip(cols, rounds.answers):
            with col:
                st.html(f'<p class="ml-proj" style="margin:0"><b>Round {answers.round}</b></p>')
                each = reveal_summary(answers, state.scenario)
                if q.kind == "choice":
                    st.html(choice_bars_html(q, each.counts))
                elif answers.count:
                    figure(reveal_figure(each), f"projector.hist.{q.number}.{answers.round}")
        return
    left, right = st.columns([2, 3], vertical_alignment="center")
    left.html(head)
    with right:
        if q.kind == "choice":
            st.html(choice_bars_html(q, summary.counts))
        elif latest.count:
            figure(reveal_figure(summary), f"projector.hist.{q.number}")
            st.caption("Each bar counts answers; the dashed line is the engine's value, the grey band ±1 % around it.")


def draw(code: str, state, counts, rounds, cascade) -> None:
    mark = st.session_state.get(MARK)
    if mark is None or mark[0] != state.cascades:
        mark = st.session_state[MARK] = (state.cascades, state.version)
    what = focus(state, mark)
    if what == "ended":
        st.html(ended_html(state))
        return
    if what == "arrival":
        link = join_url(st.context.url or "http://localhost:8501/projector", state.code)
        left, right = st.columns([3, 2], vertical_alignment="center")
        left.html(arrival_html(state.code, link, counts))
        right.image(qr_png(link, scale=10), caption="Scan to join", width=380)
        return
    q = state.question
    st.html(status_bar(state.code, counts, question_open=q is not None and not q.revealed))
    if what == "question" and q.revealed and rounds is not None:
        draw_reveal(state, rounds)
    elif what == "question":
        left, right = st.columns([3, 2]) if state.scenario is not None and q.kind != "choice" else (st.container(), None)
        left.html(question_html(q, counts, time.time()))
        if right is not None:
            right.html(screen_html(state))  # the account's facts only while it is open
    elif what == "cascade" and cascade is not None:
        left, right = st.columns([1, 1])
        left.html(cascade_html(cascade) + survival_html(survival_table(cascade["students"])))
        with right:
            figure(class_cascade_figure(cascade), f"projector.cascade.{state.cascades}")
    else:
        lab(state)


def lab(state) -> None:
    """The lab (or the crash replay) the class sees: pushed by the room's event stream where the
    app is served by serve_app.py, each step at once and not sent again with every run of the
    view; else drawn with the run."""
    if not pushed():
        st.html(screen_html(state))
        return
    live_region(SCREEN)
    room_stream(state, NO_SEAT, region=SCREEN, override=None, dark=getattr(st.context.theme, "type", None) == "dark")


@st.fragment(run_every=TICK_SECONDS)
def follow(code: str, token: str) -> None:
    """Every second: the room as the class sees it now."""
    try:
        draw(code, *read(code, token))
    except RoomError as err:
        st.error(md(str(err)), icon=":material/error:")


def projector_page() -> None:
    for sheet in (LAB_CSS, ROOM_CSS, PROJECTOR_CSS):
        st.html(sheet)
    if st.query_params.get(KEY_PARAM):
        set_url(**{KEY_PARAM: None})  # a teacher key never stays in a projector's address
    code, token = st.query_params.get(ROOM_PARAM), st.query_params.get(VIEW_PARAM)
    if not code or not token:
        st.title("Projector view")
        st.info("Open this page with the projector link from the teacher's console (Teach a room, "
                "“Projector view”). It shows the room to the class and controls nothing.")
        return
    rooms = store()
    try:
        try:
            rooms.check_teacher(code, token)
        except RoomError:
            pass  # not the teacher key: the projector token is checked below
        else:
            set_url(**{VIEW_PARAM: None})
            raise RoomError("view", "this is the teacher key, which must never be on a projector: open the "
                                    "projector link from your console instead")
        rooms.projector_state(code, token)
    except RoomError as err:
        st.title("Projector view")
        st.error(md(str(err)), icon=":material/error:")
        return
    # large type, no sidebar or toolbar: presenter mode's sheet (without its page switcher)
    st.html(presenter.css(getattr(st.context.theme, "type", None) == "dark"))
    follow(code, token)


projector_page()
