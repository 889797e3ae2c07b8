"""Classroom rooms, the Streamlit side: the store (one connection pool per server process; the
rooms themselves live in the database), who is asking (for the join rate limit), the room and
the seat or teacher key in the URL, the lab at a room's step computed once per step, and the
teacher console's two longer panels: a question (ask, then reveal the class's answers against
the engine) and the class market (its limits, the shock, and the cascade's results). Widget
keys of the console are ``room.teach.*``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from html import escape
from typing import Sequence

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from classroom import RoomError, RoomState, RoomStore, StoreUnavailable, client_address, reveal_summary
from classroom.market import survival_table
from classroom.limits import PRESENCE_EVERY, MAX_OPTIONS, MAX_QUESTION_CHARS, MAX_TIMER, MIN_TIMER
from classroom.questions import option_counts, room_lessons
from margin.cascade import TippingCurve
from margin.crashes import load_crash
from margin.limits import MAX_MONEY
from margin.numbers import money, percent, price
from margin.replay import Replay, replay
from margin.scenario import scenario_from_dict
from teach.lessons import get_lesson
from ui.cascade.charts import tipping_figure
from ui.common.text import md
from ui.rooms.charts import choice_figure, class_cascade_figure, reveal_figure
from ui.rooms.html import facts_html, replay_html, step_html
from ui.rooms.model import (
    KEY_PARAM, ROOM_PARAM, SEAT_PARAM, account_text, fate_row, replay_moment, room_step, who,
)
from ui.rooms.words import choice_reveal_words, form_message, moment_note, option_label, option_lines, rounds_words, timer_words
from ui.shell import faults, presenter
from ui.shell.memory import CACHE_TTL

# Session keys shared by this side and the room pages, named once
SEEN = "room.seen"  # (room version, app run) a student's screen last drew
STATE = "room.state"  # the room's state at that version
MINE = "room.mine"  # (this student's answer, their class-market fate) at that version
OWN_SHOCK = "room.own_shock"  # explore mode: the student's own shock [%]
ENDED = "room.ended"  # why this student's seat or room is gone (a RoomError's words)
TOUCHED = "room.touched"  # when this session last told the store the student is here [monotonic s]
RESEED = "room.teach.reseed"  # the teacher's controls follow the room on the next run


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


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def room_replay(account: str, crash_id: str) -> Replay:
    """:func:`margin.replay.replay` of a room's account (canonical JSON text) along a shipped
    crash, once per account and crash."""
    return replay(scenario_from_dict(json.loads(account)), load_crash(crash_id))


@st.cache_data(max_entries=256, ttl=CACHE_TTL, show_spinner=False)
def replay_screen(account: str, crash_id: str, step: int, dark: bool) -> str:
    """The student's screen at a step of the teacher's crash replay, as HTML, once per step (the
    replay itself once per account and crash, by :func:`room_replay`)."""
    return replay_html(replay_moment(room_replay(account, crash_id), step), dark=dark)

# Every [data-closes-at] element in the page counts down to that time [unix s, the store's
# clock], corrected by how far this browser's clock is from the server's; one timer per page.
_COUNTDOWN_JS = """
function tick() {
  const now = Date.now() / 1000 + (window.__marginLabClockOffset || 0);
  for (const el of document.querySelectorAll('[data-closes-at]')) {
    const left = Number(el.getAttribute('data-closes-at')) - now;
    const whole = Math.max(0, Math.ceil(left - 1e-9));
    const text = left > 0 ? `Answers close in ${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`
                          : 'Time is up: answers are closed.';
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle('ml-time-up', left <= 0);
  }
}
export default function (component) {
  const d = component.data || {};
  if (d.now) window.__marginLabClockOffset = d.now - Date.now() / 1000;
  if (!window.__marginLabCountdown) window.__marginLabCountdown = setInterval(tick, 250);
  tick();
}
"""
_countdown = st.components.v2.component("margin_lab.countdown", js=_COUNTDOWN_JS, isolate_styles=False)


def countdown(closes_at: float | None, now: float, *, key: str) -> None:
    """A question's timer: its words as drawn at ``now`` [unix s], then counting down in the
    browser each second (no rerun), saying "Time is up" at zero. Nothing without a timer."""
    if closes_at is None:
        return
    st.html(f'<p class="ml-countdown" role="timer" data-closes-at="{closes_at:.3f}">'
            f'{escape(timer_words(closes_at, now))}</p>')
    _countdown(data={"now": now}, key=key)


def told(call, *args, **kwargs) -> bool:
    """Run a store action; a refusal is shown (its message names the field). True when done."""
    try:
        call(*args, **kwargs)
    except RoomError as err:
        st.session_state["room.teach.error"] = str(err)
        return False
    return True


def show_error() -> None:
    message = st.session_state.pop("room.teach.error", None)
    if message:
        st.error(md(message), icon=":material/error:")


QUESTION_KINDS = {"lesson": "A lesson's question (pushes the lesson's account)",
                  "choice": "Your own question with options",
                  "liquidation_price": "At what price is a position liquidated?",
                  "liquidation_shock": "What shock liquidates the cross pool?"}
TIMER = "room.teach.timer"  # the ask form's timer [s], None: no timer


def question_spec(state) -> dict | None:
    """The ask form: which question, as the store's spec (None when it cannot be asked yet)."""
    kind = st.radio("Question", list(QUESTION_KINDS), format_func=QUESTION_KINDS.get, key="room.teach.kind")
    spec: dict = {"kind": kind}
    if kind == "lesson":
        kinds = {i: get_lesson(i).answer.kind for i in room_lessons()}
        spec["lesson"] = st.selectbox("Lesson", list(kinds), key="room.teach.lesson", format_func=lambda i: (
            f"{get_lesson(i).title} ({'choose an option' if kinds[i] == 'choice' else 'a number'})"))
    elif kind == "choice":
        spec["text"] = st.text_area("Your question", max_chars=MAX_QUESTION_CHARS, key="room.teach.choice_text",
                                    height=80)
        lines = option_lines(st.text_area(f"Options, one a line (2 to {MAX_OPTIONS})", key="room.teach.choice_options",
                                          height=130, placeholder="Cross\nIsolated\nBoth the same"))
        spec["options"] = lines
        spec["right"] = st.radio("The right option", list(range(len(lines))), index=None, key="room.teach.choice_right",
                                 format_func=lambda i: md(option_label(i, lines[i] or "(empty line)")), horizontal=True)
    elif kind == "liquidation_price":
        positions = [p["id"] for p in (state.scenario or {}).get("positions", [])]
        if not positions:
            st.info("Push an account with positions first.")
            return None
        spec["position"] = st.selectbox("Position", positions, key="room.teach.position")
        spec["which"] = st.radio("Which price", ["liquidation", "bankruptcy"], horizontal=True,
                                 key="room.teach.which")
    return spec


def ask(code: str, key: str, state) -> None:
    """Ask a question (with a timer, or none), then the question on screen and its controls."""
    rooms = store()
    spec = question_spec(state)
    st.number_input("Timer [s] (empty: no timer)", min_value=MIN_TIMER, max_value=MAX_TIMER, value=None, step=15.0,
                    key=TIMER, placeholder="no timer", help="Answers close when it reaches zero; you reveal when you choose.")
    if spec is not None and st.button("Ask the class", icon=":material/quiz:", key="room.teach.ask", type="primary"):
        try:
            rooms.ask(code, key, spec, seconds=st.session_state.get(TIMER))
        except RoomError as err:
            st.error(md(form_message(str(err))), icon=":material/error:")
        else:
            st.session_state[RESEED] = True  # the shock slider is drawn already: next run
            st.rerun()
    on_screen(code, key, state)


def on_screen(code: str, key: str, state) -> None:
    """The question on screen: its timer and answers while open; the reveal, its rounds, and
    Ask again once the teacher chooses."""
    rooms = store()
    q = state.question
    if q is None:
        return
    st.markdown(f"**On screen, question {q.number}{f' (round {q.round})' if q.round > 1 else ''}:** {md(q.text)}")
    if not q.revealed:
        countdown(q.closes_at, state.now, key="room.countdown.teach")
        answers = rooms.answers(code, key)
        st.caption(f"{answers.count} answers so far (the class list above updates by itself). The engine's value is "
                   f"kept hidden until you reveal it.")
        if q.kind == "choice" and answers.count:
            with st.expander("Answers so far, without the right one (your screen only)"):
                counts = option_counts(q, answers.values)
                st.plotly_chart(choice_figure(q.options, [(q.round, counts)], None), key="room.teach.sofar",
                                width="stretch")
        cols = st.columns(3)
        if cols[0].button("Reveal", icon=":material/visibility:", key="room.teach.reveal", width="stretch"):
            told(rooms.reveal, code, key) and st.rerun()
        if cols[1].button("Restart the timer", icon=":material/timer:", key="room.teach.retime", width="stretch",
                          help="From the Timer field above (empty: no timer)."):
            told(rooms.set_timer, code, key, st.session_state.get(TIMER)) and st.rerun()
    else:
        compared = rooms.rounds(code, key)
        if compared is not None and len(compared.tallies) > 1:
            rounds_panel(compared, state)
        else:
            reveal_panel(rooms.answers(code, key), state)
        cols = st.columns(3)
        if cols[2].button("Take the question off the screens", key="room.teach.clear", width="stretch"):
            told(rooms.clear_question, code, key) and st.rerun()
    if cols[0 if q.revealed else 2].button(f"Ask again (round {q.round + 1})", icon=":material/forum:",
                                          key="room.teach.reask", width="stretch",
                                          help="After the class has discussed: answers open again, round by round."):
        told(rooms.reask, code, key, seconds=st.session_state.get(TIMER)) and st.rerun()


def chart(fig, key: str) -> None:
    st.plotly_chart(presenter.enlarge(fig) if presenter.is_on() else fig, key=key, width="stretch")


def reveal_panel(answers, state) -> None:
    """One round of a revealed question: the engine's value (or the right option) against the
    class's answers, a chart and its takeaway, and the typical mistakes."""
    summary = reveal_summary(answers, state.scenario)
    q = summary.question
    n = len(summary.values)
    if q.kind == "choice":
        st.markdown(f"**{md(choice_reveal_words(q, summary.counts))}**")
        chart(choice_figure(q.options, [(answers.round, summary.counts)], int(q.value)),
              f"room.teach.choice.{q.number}.{answers.round}")
        st.caption("Each bar counts the students who chose that option; the right one is marked ✓ right and outlined.")
        return
    st.markdown(f"**The engine says {md(price(q.value))} {md(q.unit)}.** {summary.close} of {n} answers are within 1 %.")
    note = moment_note(q, state.scenario, state.shock, state.prices) if not state.closed else ""
    if note:
        st.caption(md(note))
    if n:
        chart(reveal_figure(summary), f"room.teach.hist.{q.number}.{answers.round}")
        st.caption("Each bar counts answers; the dashed line is the engine's value, the grey band ±1 % around it.")
    for words, count in summary.mistakes:
        st.markdown(f"**{count} × a typical mistake.** {md(words)}")


def rounds_panel(compared, state) -> None:
    """A question's rounds side by side (peer instruction) and how many moved to the right answer."""
    q = compared.question
    st.markdown(f"**{md(rounds_words(compared))}**")
    if q.kind == "choice":
        chart(choice_figure(q.options, [(t.round, t.counts) for t in compared.tallies], int(q.value)),
              f"room.teach.rounds.{q.number}")
        st.caption(f"{md(choice_reveal_words(q, compared.tallies[-1].counts))} Bars by round: colour and pattern "
                   "tell the rounds apart; the right option is marked ✓ right and outlined.")
        return
    for column, answers in zip(st.columns(len(compared.answers)), compared.answers):
        with column:
            st.markdown(f"**Round {answers.round}**")
            reveal_panel(answers, state)


def class_market(code: str, key: str, state) -> None:
    rooms = store()
    market = rooms.class_market(code)
    st.caption("Each student opens one BTC position (their page, “Class market”). Set the limits, the book's "
               "depth and the synthetic crowd around the class, then shock the market: the engine's cascade runs "
               "and every student sees whether, when and why they died.")
    with st.form("room.teach.market"):
        c = st.columns(3)
        wallet = c[0].number_input("Each student's wallet [USDT]", 10.0, 1e6, float(market.wallet), step=100.0)
        lev = c[1].number_input("Maximum leverage [x]", 1.0, 100.0, float(market.max_leverage), step=1.0)
        depth = c[2].number_input("Depth: selling that moves the price 1 % [USDT]", 1.0, MAX_MONEY, float(market.depth),
                                  step=1e6, format="%.0f")
        c = st.columns(3)
        traders = c[0].number_input("Crowd [traders]", 1_000, 200_000, int(market.crowd.get("n_traders", 20_000)),
                                    step=1_000)
        mean = c[1].number_input("Crowd's mean leverage [x]", 1.0, 100.0, float(market.crowd.get("leverage_mean", 10)))
        longs = c[2].number_input("Crowd's long share [%]", 0.0, 100.0, float(market.crowd.get("long_share", 0.6)) * 100)
        saved = st.form_submit_button("Save the market")
    if saved:
        told(rooms.set_class_market, code, key, {
            "wallet": wallet, "max_leverage": lev, "depth": depth,
            "crowd": {**market.crowd, "n_traders": traders, "leverage_mean": mean, "long_share": longs / 100.0}})
        st.rerun()
    cols = st.columns([2, 1], vertical_alignment="bottom")
    shock = cols[0].number_input("Shock [%]", -30.0, 30.0, -5.0, step=0.5, key="room.teach.cascade_shock")
    if cols[1].button("Shock the class market", icon=":material/bolt:", key="room.teach.run", type="primary"):
        if told(rooms.run_cascade, code, key, shock / 100.0):
            st.rerun()
    runs = rooms.cascades(code, key)
    if runs:
        cascade_results(runs[-1], state, len(runs))


def cascade_results(result: dict, state, count: int) -> None:
    students = result["students"]
    order = {s["participant_id"]: i + 1 for i, s in enumerate(sorted(students, key=lambda s: s["participant_id"]))}
    dead = sum(s["round"] is not None for s in students)
    st.subheader(f"Run {count}: shock {result['shock'] * 100:+g} %")
    cols = st.columns(4)
    cols[0].metric("Final price [USDT]", price(result["final_price"]), border=True)
    cols[1].metric("Final move", percent(result["final_drop"], signed=True), border=True)
    cols[2].metric("Students liquidated", f"{dead} of {len(students)}", border=True)
    cols[3].metric("Crowd liquidated", f"{result['liquidated_count']:,} of {result['traders']:,}", border=True)
    money_flow = result["accounting"]
    st.markdown(f"Where the money went: the insurance fund kept {md(money(money_flow.get('insurance_fund_kept')))} "
                f"and paid {md(money(money_flow.get('paid_by_insurance_fund')))} of deficits; socialized: "
                f"{md(money(money_flow.get('socialized')))}.")
    fig = class_cascade_figure(result)
    st.plotly_chart(presenter.enlarge(fig) if presenter.is_on() else fig, key="room.teach.cascade", width="stretch")
    amplified = result.get("amplification")
    st.caption(f"The forced selling pushed a {result['shock'] * 100:+g} % shock to "
               f"{percent(result['final_drop'], signed=True)}" + (f" ({amplified:.1f}x)." if amplified else "."))
    tipping = result.get("tipping")
    if tipping:
        curve = TippingCurve(**{k: np.asarray(v) for k, v in tipping.items() if k != "runaway_shock"},
                             runaway_shock=tipping["runaway_shock"])
        fig = tipping_figure(curve, result["shock"], result["final_drop"])
        st.plotly_chart(presenter.enlarge(fig) if presenter.is_on() else fig, key=f"room.teach.tipping.{count}",
                        width="stretch")
        runaway = tipping["runaway_shock"]
        st.caption("Tipping point: " + (f"from a shock of {abs(runaway) * 100:.0f} % on, the forced selling at least "
                                        f"doubles the move, with this crowd and book." if runaway is not None else
                                        "no shock up to 30 % is doubled by the forced selling, with this crowd and book."))
    if students:
        rows = [{"Student": who(s["participant_id"], s["nickname"], order, state.show_names), **fate_row(s)}
                for s in students]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        table = pd.DataFrame(survival_table(students)).rename(columns={
            "leverage": "Leverage", "mode": "Mode", "students": "Students", "survived": "Survived"})
        st.markdown("**Who survived, by leverage and mode**")
        st.dataframe(table, hide_index=True, width="stretch")


def reseed_controls(state) -> None:
    """The teacher's sliders show the room's step (after a push they start at no shock)."""
    st.session_state["room.teach.shock"] = state.shock * 100.0
    for name, market in (state.scenario or {}).get("markets", {}).items():
        st.session_state[f"room.teach.price.{name}"] = float(state.prices.get(name, market["price"]))


def present(code: str, token: str) -> None:
    """Tell the store this student is here (for the teacher's class list), at most every
    ``PRESENCE_EVERY`` seconds from this session (RoomError when the seat is gone)."""
    if time.monotonic() - st.session_state.get(TOUCHED, -PRESENCE_EVERY) >= PRESENCE_EVERY:
        store().touch(code, token)
        st.session_state[TOUCHED] = time.monotonic()


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _room_state(url: str, code: str, version: int) -> RoomState:
    """A student's view of a room at ``version``, read once per process for every student of
    the room (a copy each: ``st.cache_data``). Every change a student sees moves the version."""
    return store().state(code)


def room_state(code: str, version: int) -> RoomState:
    """What the room's student screens show at ``version`` (:meth:`RoomStore.state`), read from
    the database once per room and version, not once per student; its clock fields (``now``,
    ``expired``) are this moment's. A playing replay is read afresh (its ``playing`` moves with
    the clock)."""
    rooms = store()
    state = _room_state(rooms.url, code, version)
    if state.replay is not None and state.replay.get("playing"):
        return rooms.state(code)
    now = rooms.clock()
    return dataclasses.replace(state, now=now, expired=state.expires_at <= now)


def read_room(code: str, token: str, *, touch: bool = True) -> bool:
    """Fetch the room's state, this student's answer and fate when the version moved; False
    (and a message) when the seat is gone, or the database is away before the room was read.
    ``touch``: tell the store the student is here (not when the push hub does it)."""
    rooms = store()
    ctx = get_script_run_ctx()
    try:
        if touch:
            present(code, token)
        version, _ = rooms.version(code)
        seen = st.session_state.get(SEEN)
        if seen is None or seen[0] != version or STATE not in st.session_state:
            if ctx is None or ctx.fragment_ids_this_run:  # a whole run's page has just checked the seat
                rooms.seat(code, token)  # removed, closed or expired: stop here
            state = st.session_state[STATE] = room_state(code, version)
            # asked only when there can be one: each is two queries on every student's page run
            st.session_state[MINE] = (rooms.my_answer(code, token) if state.question is not None else None,
                                      rooms.my_fate(code, token) if state.cascades else None)
    except StoreUnavailable as err:  # the database away: the seat is kept, the next poll tries again,
        faults.show(err, where="room")  # and the last screen stays under the sentence (an answer can be
        return STATE in st.session_state and MINE in st.session_state  # typed, kept and sent once it is back)
    except RoomError as err:
        st.session_state[ENDED] = str(err)
        st.error(md(str(err)), icon=":material/error:")
        if st.button("Join again", icon=":material/login:", key="room.rejoin"):
            set_url(seat=None)
            st.rerun()
        return False
    return True


def screen_html(state) -> str:
    """The student's lab at the room's step (or the account's facts while a question is open)."""
    dark = getattr(st.context.theme, "type", None) == "dark"
    if state.scenario is None:
        return '<p class="ml-small">The teacher has not shown an account yet.</p>'
    if state.question is not None and not state.question.revealed:
        return facts_html(state.scenario, dark=dark)
    if state.replay is not None:
        return replay_screen(account_text(state.scenario), state.replay["crash"], state.replay["step"], dark)
    shock = state.shock
    if state.mode == "explore":
        shock = float(st.session_state.get(OWN_SHOCK, state.shock * 100.0)) / 100.0
    return step_screen(account_text(state.scenario), shock, tuple(sorted(state.prices.items())), dark)
