"""Teach a room: the teacher's console of a classroom room.

The address holds the room's code only (``?room=<code>``): the teacher key stays in this
browser session (``room.teach.last``), so a projected address bar shows nothing secret. The
teacher's way back in from another browser or after a reload is the *teacher link*
(``?room=<code>&key=<key>``), shown only on request; opening it moves the key into the session
and out of the address. The projector gets its own read-only link (``pages/projector.py``). Open a room, show its code, join link and QR code (large in
presenter mode), push an account and move the market for every student, ask a question and
reveal the class's answers against the engine, run the class market's cascade, and download
the results. A fragment polls the room's activity every two seconds for who joined and how
many answered.

Session keys: ``room.teach.last`` (this session's room and key: the console's only hold on the
key, also for a return from another page), ``room.teach.projector`` (the room's projector token,
when this session made it), ``room.teach.shock`` [%] and ``room.teach.price.<MARKET>`` [USDT] (the teacher's
controls, re-seeded from the room), ``room.teach.*`` (other widgets).
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import pandas as pd
import streamlit as st

from classroom import RoomError, StoreUnavailable
from classroom.limits import PRESENCE_WINDOW
from margin.crashes import crash_ids, load_crash
from margin.limits import MAX_SHOCK_PERCENT
from margin.presets import market_label
from ui.common.text import md
from ui.lab.html import LAB_CSS
from ui.rooms.charts import qr_png
from ui.rooms.html import ROOM_CSS
from ui.rooms.model import SEAT_PARAM, account_choices, account_text, chosen_account, join_url, who
from ui.rooms.projector import projector_url, teacher_url
from ui.rooms.words import class_rows, class_words, my_rooms_rows
from ui.shell.browser_list import browser_list
from ui.rooms.session import (
    RESEED, ask, cascade_results, class_market, reseed_controls, replay_screen, reveal_panel, rounds_panel, set_url, show_error,
    step_screen, store, told, url_room,
)
from ui.shell import faults, presenter
from ui.shell.deep_links import inside_app_frame
from ui.shell.state import ensure_scenario

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

POLL_SECONDS = 2.0
LAST = "room.teach.last"  # (code, teacher key) of this session's room: the key is never in the address
PROJECTOR = "room.teach.projector"  # (code, projector token) this session made
OPENED = "room.teach.opened"  # every (code, teacher key) this session opened or reopened
FORGET = "room.teach.forget_now"  # empty the browser's list of rooms on the next run
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
            st.session_state[LAST] = (room.code, room.teacher_key)
            st.session_state[PROJECTOR] = (room.code, room.projector_token)
            set_url(room=room.code, key=None, **{SEAT_PARAM: None})
            st.rerun()
    my_rooms()
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
                st.session_state[LAST] = (code.strip().upper(), key)
                set_url(room=code.strip().upper(), key=None)
                st.rerun()


def remembered(add: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """The rooms opened from this browser (kept in it, across sessions) and from this session,
    as (code, teacher key) pairs, newest first; ``add`` one (after Forget: the browser's list
    is emptied first)."""
    if add is not None:
        opened = st.session_state.setdefault(OPENED, [])
        if add not in opened:
            opened.insert(0, add)
    kept = browser_list("myRooms", key="room.teach.browser", add=add, clear=st.session_state.pop(FORGET, False))
    pairs = [(str(e[0]), str(e[1])) for e in kept if len(e) >= 2] + st.session_state.get(OPENED, [])
    return list(dict.fromkeys(pairs))


def my_rooms() -> None:
    """My rooms: the rooms opened from this browser (code, when, state, counts), to reopen one."""
    pairs = remembered()
    if not pairs:
        return
    try:
        found = store().my_rooms(pairs)
    except RoomError as err:
        st.error(md(str(err)), icon=":material/error:")
        return
    if not found:
        return
    st.markdown("**My rooms** (opened from this browser; their keys are kept in it)")
    st.dataframe(pd.DataFrame(my_rooms_rows(found)), hide_index=True, width="stretch")
    cols = st.columns([3, 1, 2], vertical_alignment="bottom")
    code = cols[0].selectbox("Room", [r.code for r in found], key="room.teach.mine",
                             format_func={r.code: f"{r.code} ({r.state}, {r.students} students)" for r in found}.get)
    if cols[1].button("Reopen", icon=":material/history:", key="room.teach.reopen_mine", width="stretch"):
        for candidate in [k for c, k in pairs if c == code]:
            try:
                store().check_teacher(code, candidate)
            except RoomError:
                continue
            st.session_state[LAST] = (code, candidate)  # the key stays out of the address
            set_url(room=code, key=None)
            st.rerun()
    if cols[2].button("Forget them on this browser", key="room.teach.forget", width="stretch"):
        st.session_state[OPENED] = []
        st.session_state[FORGET] = True
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
        st.caption(f"Students open this link or scan the code, then type a nickname. Room {status}. This page's "
                   "address holds no key: it is safe on a projector.")
        private_links(code)
    with right:
        st.image(qr_png(link, scale=12 if big else 6), caption="Scan to join", width=360 if big else 170)


def private_links(code: str) -> None:
    """The teacher link (private, shown on request) and the projector view's own link."""
    rooms, (_, key) = store(), st.session_state[LAST]
    here = st.context.url or "http://localhost:8501/teach_room"
    cols = st.columns(2)
    with cols[0].popover("Teacher link (private)", icon=":material/key:", width="stretch"):
        st.caption("Your way back into this console from another browser or after a reload. Keep it to "
                   "yourself: whoever has it runs the room. Do not open this on a projected screen.")
        st.code(teacher_url(here, code, key), language=None, wrap_lines=True)
    with cols[1].popover("Projector view", icon=":material/present_to_all:", width="stretch"):
        made = st.session_state.get(PROJECTOR)
        if made and made[0] == code:
            link = projector_url(here, code, made[1])
            st.caption("Open this on the projector: the room for the class in large type, read-only, no key.")
            st.link_button("Open the projector view", link, icon=":material/open_in_new:")
            st.code(link, language=None, wrap_lines=True)
        else:
            st.caption("A projector link shows the room to the class, read-only. A new one ends the previous one.")
        if st.button("New projector link" if made and made[0] == code else "Make a projector link",
                     key="room.teach.projector_link"):
            try:
                st.session_state[PROJECTOR] = (code, rooms.projector_token(code, key))
            except RoomError as err:
                st.error(md(str(err)), icon=":material/error:")
            else:
                st.rerun()


@st.fragment(run_every=POLL_SECONDS)
def activity(code: str, key: str) -> None:
    """The class now: who joined, who is connected, who answered the question on screen and
    who not yet; nicknames on this console only, folded away (one small query a poll)."""
    rooms = store()
    try:
        listed = rooms.class_list(code, key)
        _, moved = rooms.version(code)
        if st.session_state.get("room.teach.activity", (None,))[0] != moved:
            st.session_state["room.teach.activity"] = (moved, len(rooms.class_positions(code, key)))
    except RoomError as err:
        st.error(md(str(err)), icon=":material/error:")
        return
    asked = listed.number is not None
    cols = st.columns(5)
    cols[0].metric("Students", listed.students, border=True, help="Every student in the room (the removed left out)")
    cols[1].metric("Connected", listed.connected, border=True, help=f"Seen in the last {PRESENCE_WINDOW:g} seconds")
    cols[2].metric("Answered", listed.answered if asked else "—", border=True,
                   help="Answered the question on screen, in its current round")
    cols[3].metric("Not yet", listed.waiting if asked else "—", border=True,
                   help="Have not answered the question on screen yet")
    cols[4].metric("Positions", st.session_state["room.teach.activity"][1], border=True,
                   help="Positions opened in the class market")
    st.caption(class_words(listed))
    if listed.members:
        with st.expander("Who: nicknames (this console only)", icon=":material/group:"):
            rows = sorted(class_rows(listed), key=lambda r: (r["Answered"] == "yes", r["Nickname"].casefold()))
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


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
    # Each control's default is the room's own value, not the widget's minimum: a browser that
    # draws the control afresh (under load, around the activity fragment's reruns) sends its
    # default back as a change, and that once moved the whole class to a -90 % shock.
    shock = state.shock * 100.0

    def moved_shock() -> None:
        if st.session_state["room.teach.shock"] != shock:
            told(rooms.move_market, code, key, shock=st.session_state["room.teach.shock"] / 100.0)

    st.slider("Whole-market shock [%]", -MAX_SHOCK_PERCENT, MAX_SHOCK_PERCENT, value=shock, step=0.5,
              key="room.teach.shock", on_change=moved_shock,
              help="Every market moves by the shock times its beta, on every student's screen.")
    markets = state.scenario["markets"]
    cols = st.columns(min(len(markets), 4))
    for index, (name, market) in enumerate(markets.items()):
        widget = f"room.teach.price.{name}"
        price = float(state.prices.get(name, market["price"]))

        def moved_price(name: str = name, widget: str = widget, price: float = price) -> None:
            if st.session_state[widget] != price:
                told(rooms.move_market, code, key, prices={name: st.session_state[widget]})

        cols[index % len(cols)].number_input(f"{market_label(name)} price [USDT]", min_value=0.0, value=price,
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
            if st.session_state[widget] != state.replay["step"]:
                told(rooms.move_replay, code, key, step=st.session_state[widget], playing=False)

        st.slider("Step of the crash (0 = before it)", 0, last, value=state.replay["step"], key=widget,
                  on_change=scrubbed)
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
    cols = st.columns(2)
    if cols[0].button("Unlock" if state.locked else "Lock (no one new)", icon=":material/lock:",
                      key="room.teach.lock", width="stretch"):
        if told(rooms.lock, code, key, not state.locked):
            st.rerun()
    if cols[1].button("Close the room", icon=":material/door_front:", key="room.teach.close", width="stretch"):
        if told(rooms.close, code, key):
            st.rerun()
    records(code, key)
    if st.button("Leave this console (the room stays open)", icon=":material/logout:", key="room.teach.leave"):
        st.session_state.pop(LAST, None)
        set_url(room=None, key=None)
        st.rerun()


def records(code: str, key: str) -> None:
    """The roster for grading (CSV: every student who joined, one row per student per question
    and round, empty cells for no answer, nicknames always, the class market's fates) and the
    room's whole record (JSON), read when the teacher asks for them."""
    rooms = store()
    st.markdown("**Records** (nicknames are in the files even while your screens show students anonymously)")
    cols = st.columns(2)
    try:
        cols[0].download_button("Roster as CSV", rooms.results_csv(code, key), file_name=f"room-{code}-roster.csv",
                                mime="text/csv", icon=":material/download:", key="room.teach.csv", width="stretch")
        cols[1].download_button("The room's record as JSON", rooms.room_json(code, key),
                                file_name=f"room-{code}.json", mime="application/json", icon=":material/data_object:",
                                key="room.teach.json", width="stretch")
    except RoomError as err:
        st.error(md(str(err)), icon=":material/error:")


def results_only(code: str, key: str, state) -> None:
    """A closed or expired room: its results, read with the teacher key."""
    rooms = store()
    st.info(f"This room is {'closed' if state.closed else 'expired'}: no one can join or answer. Its results:")
    records(code, key)
    number = 1
    while (compared := rooms.rounds(code, key, number)) is not None:
        st.markdown(f"**Question {number}.** {md(compared.question.text)}")
        if len(compared.answers) > 1:
            rounds_panel(compared, state)
        else:
            reveal_panel(compared.answers[0], state)
        number += 1
    runs = rooms.cascades(code, key)
    for index, run in enumerate(runs):
        cascade_results(run, state, index + 1)


def teacher_page() -> None:
    st.html(LAB_CSS)
    st.html(ROOM_CSS)
    st.title("Teach a room")
    code, _, key = url_room()
    if key:  # a teacher link: the key moves into this session and out of the address
        st.session_state[LAST] = ((code or "").strip().upper(), key)
        set_url(key=None)
    last = st.session_state.get(LAST)
    if last and (not code or code.strip().upper() == last[0]):
        code, key = last  # this session's room (also back from another page of the app)
        set_url(room=code)
    else:
        key = None
    if not code or not key:
        if code:
            st.info("This console opens with your teacher link (the console's address holds no key). Open "
                    "the link you kept, or type the room's code and key under “Reopen a room's results”.",
                    icon=":material/key:")
        landing()
        return
    rooms = store()
    try:
        rooms.check_teacher(code, key)
        state = rooms.state(code, teacher=True)
    except StoreUnavailable as err:  # the database away: the key stays in the session, the page tries again
        faults.show(err, where="teacher")
        return
    except RoomError as err:
        st.error(md(str(err)), icon=":material/error:")
        set_url(room=None, key=None)
        st.session_state.pop(LAST, None)
        st.session_state.pop(PROJECTOR, None)
        landing()
        return
    st.session_state[LAST] = (state.code, key)
    remembered(add=(state.code, key))
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
