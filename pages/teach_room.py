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

import time

import numpy as np
import pandas as pd
import streamlit as st

from classroom import RoomError, reveal_summary
from classroom.questions import numeric_lessons
from margin.crashes import crash_ids, load_crash
from margin.numbers import money, percent, price
from margin.presets import load_story, market_label, story_ids
from teach.lessons import get_lesson, lesson_scenario
from margin.cascade import TippingCurve
from ui.pictures.charts_cascade import tipping_figure
from ui.pictures.lab_html import LAB_CSS
from ui.pictures.room_charts import class_cascade_figure, qr_png, reveal_figure
from ui.pictures.room_html import ROOM_CSS
from ui.session import presenter
from ui.session.deep_links import inside_app_frame
from ui.session.rooms import replay_screen, set_url, step_screen, store, url_room
from ui.session.state import ensure_scenario
from ui.session.text import md
from ui.views.room import SEAT_PARAM, account_text, fate_row, join_url, who
from classroom.market import survival_table

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

POLL_SECONDS = 2.0
LAST = "room.teach.last"  # (code, teacher key) of this session's room, for a return from another page
PLAY_SECONDS = 1.0  # a playing crash replay moves one step per tick


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


def account_choices() -> dict[str, str]:
    choices = {"builder": "The builder's account (this browser)"}
    choices.update({f"story:{s}": f"Story: {load_story(s).get('name', s)}" for s in story_ids()})
    choices.update({f"lesson:{i}": f"Lesson: {get_lesson(i).title}" for i in numeric_lessons()})
    return choices


def chosen_account(choice: str) -> dict:
    if choice.startswith("story:"):
        return load_story(choice.split(":", 1)[1])
    if choice.startswith("lesson:"):
        return lesson_scenario(get_lesson(choice.split(":", 1)[1]))
    return ensure_scenario()


def reseed_controls(state) -> None:
    """The teacher's sliders show the room's step (after a push they start at no shock)."""
    st.session_state["room.teach.shock"] = state.shock * 100.0
    for name, market in (state.scenario or {}).get("markets", {}).items():
        st.session_state[f"room.teach.price.{name}"] = float(state.prices.get(name, market["price"]))


def drive(code: str, key: str, state) -> None:
    rooms = store()
    choices = account_choices()
    cols = st.columns([3, 1], vertical_alignment="bottom")
    choice = cols[0].selectbox("Account to show the class", list(choices), format_func=choices.get,
                               key="room.teach.account")
    if cols[1].button("Push to the room", icon=":material/cast:", key="room.teach.push", width="stretch"):
        if told(rooms.push_account, code, key, chosen_account(choice)):
            reseed_controls(rooms.state(code, teacher=True))
            st.rerun()
    if state.scenario is None:
        st.info("Push an account: every student's lab then shows it, and follows your shock and prices.")
        return
    if st.session_state.pop("room.teach.reseed", False):  # a lesson's question pushed its account
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
            st.session_state.pop("room.teach.ticked", None)  # the first tick comes a tick after Play
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
    """While the replay plays: a step forward every tick (the whole crash in about a minute),
    stored for every screen; at the end it pauses."""
    rooms = store()
    replay = rooms.state(code, teacher=True).replay
    if replay is None or not replay["playing"]:
        return
    now, before = time.monotonic(), st.session_state.get("room.teach.ticked")
    step = replay["step"]
    if before is not None and now - before >= 0.9 * PLAY_SECONDS:  # a tick, not another rerun of the page
        step = min(step + max(1, (last + 1) // 60), last)
        if not told(rooms.move_replay, code, key, step=step, playing=step < last):
            show_error()
    if before is None or now - before >= 0.9 * PLAY_SECONDS:
        st.session_state["room.teach.ticked"] = now
    st.caption(f"Playing: step {step} of {last}.")


def ask(code: str, key: str, state) -> None:
    rooms = store()
    kinds = {"lesson": "A lesson's question (pushes its account)",
             "liquidation_price": "At what price is a position liquidated?",
             "liquidation_shock": "What shock liquidates the cross pool?"}
    kind = st.radio("Question", list(kinds), format_func=kinds.get, key="room.teach.kind")
    spec: dict = {"kind": kind}
    if kind == "lesson":
        spec["lesson"] = st.selectbox("Lesson", numeric_lessons(), format_func=lambda i: get_lesson(i).title,
                                      key="room.teach.lesson")
    elif kind == "liquidation_price":
        positions = [p["id"] for p in (state.scenario or {}).get("positions", [])]
        if not positions:
            st.info("Push an account with positions first.")
            return
        spec["position"] = st.selectbox("Position", positions, key="room.teach.position")
        spec["which"] = st.radio("Which price", ["liquidation", "bankruptcy"], horizontal=True,
                                 key="room.teach.which")
    if st.button("Ask the class", icon=":material/quiz:", key="room.teach.ask", type="primary"):
        if told(rooms.ask, code, key, spec):
            st.session_state["room.teach.reseed"] = True  # the shock slider is drawn already: next run
            st.rerun()
    q = state.question
    if q is None:
        return
    st.markdown(f"**On screen, question {q.number}:** {md(q.text)}")
    answers = rooms.answers(code, key)
    if not q.revealed:
        st.caption(f"{answers.count} answers so far (the count above updates by itself). The engine's value is "
                   f"kept hidden until you reveal it.")
        if st.button("Reveal", icon=":material/visibility:", key="room.teach.reveal"):
            if told(rooms.reveal, code, key):
                st.rerun()
        return
    reveal_panel(answers, state)
    if st.button("Take the question off the screens", key="room.teach.clear"):
        if told(rooms.clear_question, code, key):
            st.rerun()


def reveal_panel(answers, state) -> None:
    summary = reveal_summary(answers, state.scenario)
    q = summary.question
    n = len(summary.values)
    st.markdown(f"**The engine says {md(price(q.value))} {md(q.unit)}.** {summary.close} of {n} answers are within 1 %.")
    if n:
        fig = reveal_figure(summary)
        st.plotly_chart(presenter.enlarge(fig) if presenter.is_on() else fig, key=f"room.teach.hist.{q.number}",
                        width="stretch")
        st.caption("Each bar counts answers; the dashed line is the engine's value, the grey band ±1 % around it.")
    for words, count in summary.mistakes:
        st.markdown(f"**{count} × a typical mistake.** {md(words)}")


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
        depth = c[2].number_input("Depth: selling that moves the price 1 % [USDT]", 1.0, 1e12, float(market.depth),
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
