"""Join a room: a student's screen in a classroom room.

The address holds the room and the student's seat (``?room=<code>&seat=<token>``), so a reload
or a lost connection comes back to the same place; a join link holds the code alone
(``?room=<code>``). A fragment polls the room's version every second (one small query) and
redraws the lab only when the teacher has changed something; while a question is open it shows
the account's facts and hides every number computed from prices.

Session keys: ``room.last`` (this session's code and seat, so that coming back from another page
returns to the room), ``room.seen`` (the version and run last drawn), ``room.state`` (the room's state
at that version), ``room.mine`` (this student's answer and fate at it), ``room.own_shock``
(explore mode's own shock [%]), ``room.answer.<n>``, ``room.join.*`` and ``room.position.*``
(widgets).
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import hashlib
import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from classroom import RoomError, Seat, StoreUnavailable
from classroom.questions import is_close, is_right
from margin.limits import MAX_SHOCK_PERCENT
from margin.numbers import money, price
from push.component import pushed, room_stream
from ui.common.text import md
from ui.lab.html import LAB_CSS
from ui.rooms.html import ROOM_CSS
from ui.rooms.model import KEY_PARAM, SEAT_PARAM, default_notional, fate_row, fate_words
from ui.rooms.session import (
    ENDED, MINE, OWN_SHOCK, SEEN, STATE, client_id, countdown, read_room, session_id, screen_html, set_url, store, url_room,
)
from ui.rooms.words import answer_text, moment_note, option_label
from ui.shell import faults
from ui.shell.deep_links import inside_app_frame
from ui.shell.links import RUN_KEY
from ui.shell.live_html import live_region, live_regions

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

POLL_SECONDS = 1.0
RESEND_SECONDS = 15.0
SCREEN = "room.screen"  # the live region of the student's lab
LAST = "room.last"  # (code, seat token) of this session's seat, for a return from another page
TOAST = "room.toast"  # news to show as a toast on the page's next full run
TOLD = "room.told"  # the last news told, so each is told once
REFUSED = "room.refused"  # (question, round, the store's words) of this student's last refused answer
FATE_DRAWN = "room.fate_drawn"  # how many class cascades the room had when the position form last showed a fate
JOIN_CODE, JOIN_NICKNAME, JOIN_SUBMIT = "room.join.code", "room.join.nickname", "room.join.submit"  # the join form
POSITION_OPEN = "room.position.open"  # the class market's expander, open (its form drawn) or not
PENDING = "room.pending"  # (question, round, answer) sent but not yet in the store: tried again each run


def join_form(code: str | None) -> None:
    """The code and a nickname, and the button that sends them (read by :func:`joined`)."""
    st.caption("Type the code on the board and a nickname. No account, no real name needed.")
    with st.form("room.join", border=True):
        st.text_input("Room code", value=code or "", max_chars=12, key=JOIN_CODE, placeholder="e.g. 7KQ4MZ")
        st.text_input("Nickname (shown to the teacher)", max_chars=24, key=JOIN_NICKNAME)
        st.form_submit_button("Join the room", icon=":material/login:", type="primary", key=JOIN_SUBMIT)


def joined(code: str | None, error: str | None = None) -> Seat | None:
    """The seat of a join sent in this run, before anything is drawn: on success the seat goes
    into the address and the room is drawn in this same run, without the join screen (a class
    of 300 joining at once is 300 page runs and 2,000 element messages fewer; docs/push.md).
    Otherwise the join screen: its title, why the link or the join did not work, the form."""
    refused = None
    if st.session_state.get(JOIN_SUBMIT):  # the form's values, sent with the press, are in the state
        try:
            seat = store().join(st.session_state.get(JOIN_CODE, code or ""), st.session_state.get(JOIN_NICKNAME, ""),
                                session=session_id(), address=client_id())
        except RoomError as err:
            refused = str(err)
        else:
            set_url(room=seat.code, seat=seat.token, key=None)
            st.session_state.pop(SEEN, None)
            return seat
    st.title("Join a room")
    if error:
        st.error(md(error), icon=":material/error:")
    join_form(code)
    if refused:
        st.error(md(refused), icon=":material/error:")
    return None


def question_box(code: str, token: str) -> None:
    """The question on screen: its countdown, the answer (a number or one of the options) until
    the reveal or the timer's end, then the engine's answer against the student's."""
    state = st.session_state[STATE]
    q = state.question
    if q is None:
        return
    my_answer, _ = st.session_state[MINE]
    with st.container(border=True, key="room.question"):
        st.markdown(f"**Question {q.number}{f' (round {q.round})' if q.round > 1 else ''}.** {md(q.text)}")
        if q.revealed:
            said = "You did not answer." if my_answer is None else f"You said {answer_text(q, my_answer)}."
            if q.kind == "choice":
                st.markdown(f"**The right answer is {md(option_label(int(q.value), q.options[int(q.value)]))}.** "
                            f"{md(said)}" + (" That is right." if my_answer is not None and is_right(q, my_answer) else ""))
                return
            close = my_answer is not None and is_close(my_answer, q.value, q.unit)
            st.markdown(f"**The engine says {md(price(q.value))} {md(q.unit)}.** {md(said)}"
                        + (" That is within 1 %." if close else ""))
            note = moment_note(q, state.scenario, state.shock, state.prices)
            if note:
                st.caption(md(note))
            return
        countdown(q.closes_at, state.now, key="room.countdown.student")
        widget = f"room.answer.{q.number}.{q.round}"
        if q.kind == "choice":
            st.radio("Your answer", list(range(len(q.options))), key=widget,
                     index=None if my_answer is None else int(my_answer),
                     format_func=lambda i: md(option_label(i, q.options[i])))
        else:
            st.number_input(f"Your answer [{q.unit}]", value=None, key=widget,
                            format="%.4f" if q.unit.startswith("USDT per") else "%.2f")
        st.button("Send my answer", icon=":material/send:", key=f"room.send.{q.number}.{q.round}", type="primary",
                  on_click=keep_answer, args=(q.number, q.round))  # kept before the run: it may fail before this line
        sent = send_pending(code, token, q.number, q.round, q.unit)
        my_answer = my_answer if sent is None else sent
        refused = st.session_state.get(REFUSED)
        if refused and refused[:2] == (q.number, q.round):
            st.error(md(refused[2]), icon=":material/error:")
        typed = st.session_state.get(widget)
        if typed is not None and typed != my_answer and PENDING not in st.session_state:
            # typed and not in the store (not sent, or lost with a server that stopped): said
            st.caption("Typed, not sent yet: press *Send my answer*.")
        if my_answer is not None:
            st.caption(f"Sent: {md(answer_text(q, my_answer))}. You can change it until the teacher reveals the "
                       "answer" + (" or the time is up." if q.closes_at is not None else "."))


def keep_answer(number: int, round_: int) -> None:
    """Send's callback: the typed answer kept in the page until the store has it."""
    st.session_state[PENDING] = (number, round_, st.session_state.get(f"room.answer.{number}.{round_}"))


def send_pending(code: str, token: str, number: int, round_: int, unit: str) -> float | None:
    """Send this page's kept answer to question ``number`` in round ``round_``; the answer as
    stored once it is in the store. While the database is away the answer stays kept (and said
    so), and each run sends it again; a refusal (time up, answers closed, not a number) is kept
    on the page until the next answer (the poll's next run must not wipe it) and the answer dropped."""
    pending = st.session_state.get(PENDING)
    if pending is None or pending[:2] != (number, round_):
        return None
    try:
        sent = store().answer(code, token, pending[2])
    except StoreUnavailable as err:
        kept_note(pending[2], unit)
        faults.show(err, where="answer")
        return None
    except RoomError as err:
        st.session_state.pop(PENDING, None)
        st.session_state[REFUSED] = (number, round_, str(err))
        return None
    st.session_state.pop(PENDING, None)
    st.session_state.pop(REFUSED, None)
    st.session_state[MINE] = (sent, st.session_state[MINE][1])
    return sent


def say_kept() -> None:
    """The kept answer, said, on a run that cannot reach the room (the database away)."""
    if st.session_state.get(PENDING) is not None:
        kept_note(st.session_state[PENDING][2])


def kept_note(value: object, unit: str = "") -> None:
    """The answer not yet in the store, said as such: never shown as sent."""
    shown = price(value) if isinstance(value, (int, float)) else md(value if value is not None else "(empty)")
    st.warning(f"Not sent yet: your answer {shown} {md(unit)} is kept in this page and will be sent as soon as "
               "the classroom database answers again.", icon=":material/schedule_send:")


@st.fragment(run_every=POLL_SECONDS)
def follow(code: str, token: str) -> None:
    """Every second: the room's version; on a change, what it shows now."""
    draw_room(code, token)


@st.fragment
def follow_pushed(code: str, token: str, participant_id: int) -> None:
    """The same, run only when the pushed screen asks (push/component.py): the room's screen
    itself comes through its event stream, redrawn in the browser."""
    draw_room(code, token, participant_id)


def draw_room(code: str, token: str, participant_id: int | None = None) -> None:
    """The room's controls and this student's part; the screen by push when ``participant_id``
    is given, else sent with this run."""
    if not read_room(code, token, touch=participant_id is None):  # pushed: the open stream says here
        if st.session_state.get(ENDED):  # the room (or the seat) ended: say so wherever the student looks
            news("This room has ended for you: the message is at the top of the page.")
        say_kept()
        return
    state = st.session_state[STATE]
    if state.mode == "explore":
        st.caption(":material/explore: Explore: the teacher has handed you the shock.")
        st.slider("Your own whole-market shock [%]", -MAX_SHOCK_PERCENT, MAX_SHOCK_PERCENT, step=0.5, key=OWN_SHOCK,
                  value=float(st.session_state.get(OWN_SHOCK, state.shock * 100.0)))  # never the minimum by default
    else:
        st.session_state.pop(OWN_SHOCK, None)
        st.caption(":material/cast_for_education: Following the teacher: your lab moves when theirs does.")
    question_box(code, token)
    _, fate = st.session_state[MINE]
    if fate is not None:
        result, mine = fate
        st.markdown(f"**Class market, shock {result['shock'] * 100:+g} %:** {md(fate_words(mine))}")
        if st.session_state.get(FATE_DRAWN) != state.cascades:  # a new run: also beside the position form
            news(f"Class market, run {state.cascades}: {fate_row(mine)['Fate']}. Your fate is under your position.",
                 redraw=True)
    if participant_id is not None:
        room_stream(state, participant_id, region=SCREEN, override=screen_html(state) if state.mode == "explore" else None,
                    dark=getattr(st.context.theme, "type", None) == "dark")
        st.session_state[SEEN] = (state.version, st.session_state.get(RUN_KEY))
        return
    html = screen_html(state)
    # sent when it changed, after a full run of the page, and every RESEND_SECONDS in case a
    # browser missed it (the component changes nothing in the page when the HTML is the same)
    stamp = (hashlib.sha256(html.encode()).hexdigest(), st.session_state.get(RUN_KEY), int(time.time() // RESEND_SECONDS))
    if st.session_state.get("room.sent") != stamp:  # only what changed goes to the browser
        st.session_state["room.sent"] = stamp
        live_regions({SCREEN: html}, key="room.live")
    st.session_state[SEEN] = (state.version, st.session_state.get(RUN_KEY))


def news(message: str | None, *, redraw: bool = False) -> None:
    """A change a student on a phone must not miss (their fate in the class market, the room's
    end), told once as a toast on top of wherever they are scrolled; ``redraw``: in a fragment's
    run, the whole page runs once more so that the part near the bottom (the position form)
    shows it too."""
    if not message or st.session_state.get(TOLD) == message:
        return
    st.session_state[TOLD] = message
    ctx = get_script_run_ctx()
    if redraw and ctx is not None and ctx.fragment_ids_this_run:
        st.session_state[TOAST] = message
        st.rerun(scope="app")
    st.toast(md(message), icon=":material/campaign:")


@st.fragment
def position_form(code: str, token: str) -> None:
    """The student's one position in the class market, within the teacher's limits. A fragment
    of its own: its submit reruns only the form, not the whole page beside the polling fragment.
    Drawn only once the student opens it (the expander runs the fragment when opened): a first
    screen reads no market and draws no form (docs/push.md)."""
    with st.expander("Class market: open your position", icon=":material/candlestick_chart:", key=POSITION_OPEN,
                     on_change="rerun") as box:
        if box.open:
            open_position(code, token)
    fate = (st.session_state.get(MINE) or (None, None))[1]
    if fate is not None:  # the latest class cascade, also here, near the bottom of what the student just did
        result, mine = fate
        with st.container(border=True, key="room.fate"):
            st.markdown(f"**Your fate in the class market (shock {result['shock'] * 100:+g} %):** {md(fate_words(mine))}")
        state = st.session_state.get(STATE)
        st.session_state[FATE_DRAWN] = None if state is None else state.cascades


def open_position(code: str, token: str) -> None:
    """The position form, inside the opened expander, and what the store said to it."""
    rooms = store()
    market = rooms.class_market(code)
    st.caption(f"One BTC position each, entered at the market's price. Your wallet: {market.wallet:,.0f} USDT; "
               f"leverage up to {market.max_leverage:g}x. Cross: the whole wallet stands behind it; isolated: "
               "only its margin (notional ÷ leverage).")
    with st.form("room.position", border=False):
        side = st.radio("Side", ["long", "short"], horizontal=True, key="room.position.side")
        mode = st.radio("Margin mode", ["cross", "isolated"], horizontal=True, key="room.position.mode")
        leverage = st.number_input("Leverage [x]", min_value=1.0, max_value=float(market.max_leverage),
                                   value=min(10.0, float(market.max_leverage)), step=1.0,
                                   key="room.position.leverage")
        notional = st.number_input("Notional [USDT] (at most your wallet × leverage)", min_value=0.0,
                                   value=default_notional(market), step=100.0, key="room.position.notional")
        opened = st.form_submit_button("Open my position", icon=":material/add_circle:")
    if opened:
        try:
            done = rooms.open_position(code, token, {"side": side, "mode": mode, "leverage": leverage,
                                                     "notional": notional})
        except RoomError as err:
            st.error(md(str(err)), icon=":material/error:")
        else:
            st.success(f"Open: {done['leverage']:g}x {done['side']}, {money(done['notional'])}, {done['mode']}.")


def room_page() -> None:
    toast = st.session_state.pop(TOAST, None)
    if toast:
        st.toast(md(toast), icon=":material/campaign:")
    code, token, _ = url_room()
    if st.query_params.get(KEY_PARAM):
        set_url(key=None)  # a teacher key never stays on a student's page
    if not code and st.session_state.get(LAST):
        code, token = st.session_state[LAST]  # back from another page of the app: the same seat
        set_url(room=code, seat=token)
    if not code or not token:
        seat = joined(code)
    else:
        try:
            seat = store().seat(code, token)
        except StoreUnavailable as err:  # the database away: the seat stays in the address, the page tries again
            st.title("Join a room")
            faults.show(err, where="seat")
            say_kept()
            return
        except RoomError as err:
            set_url(**{SEAT_PARAM: None})
            st.session_state.pop(LAST, None)
            seat = joined(code, str(err))
    if seat is None:
        return
    st.html(LAB_CSS + ROOM_CSS)  # the room's styles in one element, with the room (the join form needs none)
    token = seat.token or token
    st.session_state[LAST] = (seat.code, token)
    st.title(f"Room {seat.code}")
    st.markdown(f"You are **{md(seat.nickname)}**.")
    top = st.container()
    live_region(SCREEN)  # in the page before the fragment's component fills it (as the lab does)
    with top:
        if pushed():
            follow_pushed(seat.code, token, seat.participant_id)  # presence: the open stream (push/hub.py)
        else:
            follow(seat.code, token)
    position_form(seat.code, token)


room_page()
