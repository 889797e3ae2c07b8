"""Teach a room: the teacher's console of a classroom room.

The address holds the room and the teacher key (``?room=<code>&key=<key>``): keep it private,
it is the only way back in. Open a room, show its code, join link and QR code (large in
presenter mode), push an account and move the market for every student, ask a question and
reveal the class's answers against the engine, run the class market's cascade, and download
the results. A fragment polls the room's activity every two seconds for who joined and how
many answered.

Session keys: ``room.teach.last`` (this session's room and key, so that coming back from another
page returns to the console), ``room.teach.shock`` [%] and ``room.teach.price.<MARKET>`` [USDT] (the teacher's
controls, re-seeded from the room), ``room.teach.*`` (other widgets).
"""

from __future__ import annotations

import streamlit as st

from classroom import RoomError, StoreUnavailable
from margin.crashes import crash_ids, load_crash
from margin.presets import market_label
from ui.common.text import md
from ui.lab.html import LAB_CSS
from ui.rooms.charts import qr_png
from ui.rooms.html import ROOM_CSS
from ui.rooms.model import SEAT_PARAM, account_choices, account_text, chosen_account, join_url, who
from ui.rooms.session import (
    RESEED, ask, cascade_results, class_market, reseed_controls, replay_screen, reveal_panel, set_url, show_error,
    step_screen, store, told, url_room,
)
from ui.shell import faults, presenter
from ui.shell.deep_links import inside_app_frame
from ui.shell.state import ensure_scenario

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

POLL_SECONDS = 2.0
LAST = "room.teach.last"  # (code, teacher key) of this session's room, for a return from another page
PLAY_SECONDS = 1.0  # the console shows a playing replay's step this often [s]


# ----------------------------------------------------------------------------- no room yet


def landing() -> None:
    st.caption("Open a room for a class: students join with a code, your lab drives theirs, and they "
               "answer your questions. No accounts and no personal data; rooms expire on their own.")
    with st.form("room.teach.open"):
        hours = st.number_input("Open for [hours]", min_value=0.5, max_value=48.0, value=4.0, step=0.5)
        capacity = st.number_input("At most [students]", min_value=1, max_value=300, value=60, step=1)
        opened = st.form_submit_button("Open a room", icon=":material/meeting_room:", type="primary")
    if opened:
        try:
            room = store().open_room(hours=hours, capacity=int(capacity))
        except RoomError as err:
            st.error(md(str(err)), icon=":material/error:")
        else:
            set_url(room=room.code, key=room.teacher_key, **{SEAT_PARAM: None})
            st.rerun()
    with st.expander("Reopen a room's results", icon=":material/history:"):
        with st.form("room.teach.reopen", border=False):
            code = st.text_input("Room code", max_chars=12)
            key = st.text_input("Teacher key (from your teacher link)", type="password")
            again = st.form_submit_button("Reopen")
        if again:
            try:
                store().check_teacher(code, key)
            except RoomError as err:
                st.error(md(str(err)), icon=":material/error:")
            else:
                set_url(room=code.strip().upper(), key=key)
                st.rerun()


# ----------------------------------------------------------------------------- the room


def header(code: str, state) -> None:
    link = join_url(st.context.url or "http://localhost:8501/teach_room", code)
    big = presenter.is_on()
    left, right = st.columns([3, 2] if big else [4, 1], vertical_alignment="center")
    with left:
        st.html(f'<p class="ml-room-code" aria-label="Join code">{code}</p>')
        st.code(link, language=None)
        status = "closed" if state.closed else "expired" if state.expired else "locked" if state.locked else "open"
        st.caption(f"Students open this link or scan the code, then type a nickname. Room {status}. Keep this "
                   "page's own address private: it holds your teacher key.")
    with right:
        st.image(qr_png(link, scale=12 if big else 6), caption="Scan to join", width=360 if big else 170)


@st.fragment(run_every=POLL_SECONDS)
def activity(code: str, key: str) -> None:
    """Who is here and how many answered (polled; one small query when nothing changed)."""
    rooms = store()
    _, moved = rooms.version(code)
    if st.session_state.get("room.teach.activity", (None,))[0] != moved:
        people = [p for p in rooms.participants(code, key) if not p.removed]
        answers = rooms.answers(code, key)
        positions = rooms.class_positions(code, key)
        st.session_state["room.teach.activity"] = (moved, len(people), answers, len(positions))
    _, joined, answers, positions = st.session_state["room.teach.activity"]
    cols = st.columns(3)
    cols[0].metric("Students in the room", joined, border=True)
    cols[1].metric("Answers to the question", "—" if answers is None else answers.count, border=True)
    cols[2].metric("Class-market positions", positions, border=True)


def drive(code: str, key: str, state) -> None:
    rooms = store()
    choices = account_choices()
    cols = st.columns([3, 1], vertical_alignment="bottom")
    choice = cols[0].selectbox("Account to show the class", list(choices), format_func=choices.get,
                               key="room.teach.account")
    if cols[1].button("Push to the room", icon=":material/cast:", key="room.teach.push", width="stretch"):
        if told(rooms.push_account, code, key, chosen_account(choice, ensure_scenario())):
            reseed_controls(rooms.state(code, teacher=True))
            st.rerun()
    if state.scenario is None:
        st.info("Push an account: every student's lab then shows it, and follows your shock and prices.")
        return
    if st.session_state.pop(RESEED, False):  # a lesson's question pushed its account
        reseed_controls(state)
    st.session_state.setdefault("room.teach.shock", state.shock * 100.0)

    def moved_shock() -> None:
        told(rooms.move_market, code, key, shock=st.session_state["room.teach.shock"] / 100.0)

    st.slider("Whole-market shock [%]", -90.0, 90.0, step=0.5, key="room.teach.shock", on_change=moved_shock,
              help="Every market moves by the shock times its beta, on every student's screen.")
    markets = state.scenario["markets"]
    cols = st.columns(min(len(markets), 4))
    for index, (name, market) in enumerate(markets.items()):
        widget = f"room.teach.price.{name}"
        st.session_state.setdefault(widget, float(state.prices.get(name, market["price"])))

        def moved_price(name: str = name, widget: str = widget) -> None:
            told(rooms.move_market, code, key, prices={name: st.session_state[widget]})

        cols[index % len(cols)].number_input(f"{market_label(name)} price [USDT]", min_value=0.0,
                                             key=widget, on_change=moved_price, format="%.6g")
    mode = st.segmented_control("Students' controls", ["follow", "explore"], default=state.mode,
                                format_func={"follow": "Follow me", "explore": "Let them explore"}.get,
                                key=f"room.teach.mode.{state.version}")
    if mode and mode != state.mode and told(rooms.set_mode, code, key, mode):
        st.rerun()
    replay_controls(code, key, state)
    dark = getattr(st.context.theme, "type", None) == "dark"
    st.markdown("**What the students see**" + (" (while a question is open they see only the account's facts)"
                                                 if state.question and not state.question.revealed else ""))
    if state.replay is not None:
        st.html(replay_screen(account_text(state.scenario), state.replay["crash"], state.replay["step"], dark))
    else:
        st.html(step_screen(account_text(state.scenario), state.shock, tuple(sorted(state.prices.items())), dark))


def replay_controls(code: str, key: str, state) -> None:
    """A crash replay for the class: pick a crash, then play, pause or scrub; moving the shock or
    a price above takes the class back to the lab."""
    rooms = store()
    with st.expander("Crash replay for the class", icon=":material/replay:", expanded=state.replay is not None):
        names = {c: load_crash(c).name for c in crash_ids()}
        current = state.replay["crash"] if state.replay else crash_ids()[0]
        cols = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
        crash = cols[0].selectbox("Crash", list(names), index=list(names).index(current), format_func=names.get,
                                  key="room.teach.crash")
        playing = bool(state.replay and state.replay["playing"])
        if cols[1].button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
                          key="room.teach.play", width="stretch"):
            if told(rooms.move_replay, code, key, crash=crash, playing=not playing,
                    step=None if state.replay and state.replay["crash"] == crash else 0):
                st.rerun()
        if cols[2].button("Restart", icon=":material/first_page:", key="room.teach.restart", width="stretch"):
            if told(rooms.move_replay, code, key, crash=crash, step=0, playing=False):
                st.rerun()
        if state.replay is not None and cols[3].button("Back to the lab", key="room.teach.stop_replay",
                                                       width="stretch"):
            if told(rooms.stop_replay, code, key):
                st.rerun()
        if state.replay is None:
            st.caption("Play or Restart puts the crash on every student's screen, from the account's own prices.")
            return
        last = load_crash(state.replay["crash"]).n_steps - 1
        widget = f"room.teach.replay_step.{state.replay['crash']}"
        st.session_state[widget] = state.replay["step"]

        def scrubbed() -> None:
            told(rooms.move_replay, code, key, step=st.session_state[widget], playing=False)

        st.slider("Step of the crash (0 = before it)", 0, last, key=widget, on_change=scrubbed)
        if playing:
            player(code, key, last)


@st.fragment(run_every=PLAY_SECONDS)
def player(code: str, key: str, last: int) -> None:
    """While the replay plays: where it stands. The store moves it by its clock (the whole crash
    in about a minute), so closing this tab changes nothing; at the end the console redraws."""
    replay = store().state(code, teacher=True).replay
    if replay is None or not replay["playing"]:
        st.rerun()
    st.caption(f"Playing: step {replay['step']} of {last}.")


def people(code: str, key: str, state) -> None:
    rooms = store()
    everyone = rooms.participants(code, key)
    names = st.toggle("Show nicknames on my screens", value=state.show_names, key=f"room.teach.names.{state.version}")
    if names != state.show_names and told(rooms.show_names, code, key, names):
        st.rerun()
    order = {p.id: i + 1 for i, p in enumerate(everyone)}
    for p in everyone:
        cols = st.columns([4, 1], vertical_alignment="center")
        label = who(p.id, p.nickname, order, state.show_names) + (" (removed)" if p.removed else "")
        cols[0].text(label)
        if not p.removed and cols[1].button("Remove", key=f"room.teach.remove.{p.id}"):
            if told(rooms.remove, code, key, p.id):
                st.rerun()
    cols = st.columns(3)
    if cols[0].button("Unlock" if state.locked else "Lock (no one new)", icon=":material/lock:",
                      key="room.teach.lock", width="stretch"):
        if told(rooms.lock, code, key, not state.locked):
            st.rerun()
    if cols[1].button("Close the room", icon=":material/door_front:", key="room.teach.close", width="stretch"):
        if told(rooms.close, code, key):
            st.rerun()
    cols[2].download_button("Results as CSV", rooms.results_csv(code, key), file_name=f"room-{code}.csv",
                            mime="text/csv", icon=":material/download:", key="room.teach.csv", width="stretch")
    if st.button("Leave this console (the room stays open)", icon=":material/logout:", key="room.teach.leave"):
        st.session_state.pop(LAST, None)
        set_url(room=None, key=None)
        st.rerun()


def results_only(code: str, key: str, state) -> None:
    """A closed or expired room: its results, read with the teacher key."""
    rooms = store()
    st.info(f"This room is {'closed' if state.closed else 'expired'}: no one can join or answer. Its results:")
    st.download_button("Results as CSV", rooms.results_csv(code, key), file_name=f"room-{code}.csv",
                       mime="text/csv", icon=":material/download:", key="room.teach.csv")
    number = 1
    while (answers := rooms.answers(code, key, number)) is not None:
        st.markdown(f"**Question {number}.** {md(answers.question.text)}")
        reveal_panel(answers, state)
        number += 1
    runs = rooms.cascades(code, key)
    for index, run in enumerate(runs):
        cascade_results(run, state, index + 1)


def teacher_page() -> None:
    st.html(LAB_CSS)
    st.html(ROOM_CSS)
    st.title("Teach a room")
    code, _, key = url_room()
    if (not code or not key) and st.session_state.get(LAST):
        code, key = st.session_state[LAST]  # back from another page of the app: the same room
        set_url(room=code, key=key)
    if not code or not key:
        landing()
        return
    rooms = store()
    try:
        rooms.check_teacher(code, key)
        state = rooms.state(code, teacher=True)
    except StoreUnavailable as err:  # the database away: the key stays in the address, the page tries again
        faults.show(err, where="teacher")
        return
    except RoomError as err:
        st.error(md(str(err)), icon=":material/error:")
        set_url(room=None, key=None)
        st.session_state.pop(LAST, None)
        landing()
        return
    st.session_state[LAST] = (state.code, key)
    show_error()
    if state.closed or state.expired:
        results_only(state.code, key, state)
        return
    header(state.code, state)
    activity(state.code, key)
    tabs = st.tabs(["Drive the lab", "Ask the class", "Class market", "People and results"])
    with tabs[0]:
        drive(state.code, key, state)
    with tabs[1]:
        ask(state.code, key, state)
    with tabs[2]:
        class_market(state.code, key, state)
    with tabs[3]:
        people(state.code, key, state)


teacher_page()
