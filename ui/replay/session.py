"""The crash replay, the Streamlit side: its caches (keyed on the account's canonical JSON text
and the crash: its id, the custom crash's parameters or the imported files' digest), the long
replays and checks that go to a worker, and the page's player, panels and fragment."""

from __future__ import annotations

import streamlit as st

from margin.crashes import CUSTOM_ID, Crash
from margin.fields import ScenarioError
from margin.limits import LONG_CHECK_STEPS, LONG_REPLAY_STEPS
from margin.numbers import money, percent, price
from margin.presets import market_label
from margin.replay import Replay, WickCheck, replay, wick_checks
from margin.scenario import Scenario
from margin.variants import variant_labels
from ui.common.text import md
from ui.replay import charts
from ui.lab.sliders import in_sentence
from ui.lab.words import isolated_short_words
from ui.replay.model import (
    IMPORTED_ID, collateral_takeaway, duration_text, equity_takeaway, event_lines, imported_candles, latest_event, money_takeaway,
    position_steps, replay_checks, splits, timeline_points, wick_sentences,
)
from ui.shell.links import keep_in_url
from ui.shell.long_work import long_result
from ui.shell.memory import CACHE_TTL
from ui.shell.widgets import bound_widget, chart, event_log_button, slider_with_input

TICK_SECONDS = 0.5
SPEEDS = {"Slow": 120, "Normal": 60, "Fast": 20}  # ticks to play the whole crash
IMPORTED = "replay.imported"  # the candles read from an upload (ImportedCandles), kept for the session


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def cached_replay(account_key: str, _scenario: Scenario, crash: tuple, _crash: Crash) -> Replay:
    """:func:`margin.replay.replay` once per account (named by ``account_key``) and crash
    (named by ``crash``, :func:`crash_key`'s key)."""
    return replay(_scenario, _crash)


@st.cache_data(max_entries=32, ttl=CACHE_TTL, show_spinner=False)
def cached_checks(account_key: str, _model: Replay, crash: tuple, market: str) -> dict[str, WickCheck]:
    """Mark-versus-last checks for one market, per variant (named like :func:`cached_replay`)."""
    return wick_checks(_model, market)


def replay_model(account, key: tuple, crash: Crash) -> Replay | None:
    """The replay of ``account`` (``ui.shell.state``'s) along ``crash`` (named by ``key``): here
    and cached up to :data:`~margin.limits.LONG_REPLAY_STEPS` position-steps, past it in a worker
    with a progress bar (None while cancelled or when the server is busy; the page says so)."""
    if position_steps(account.scenario, crash) <= LONG_REPLAY_STEPS:
        return cached_replay(account.key, account.scenario, key, crash)
    outcome = long_result("replay.walk", repr((account.key, key)), replay, account.scenario, crash, keep=1,
                          text=lambda _done, _total: f"Walking the account through {crash.n_steps:,} steps, "
                                                     f"{len(variant_labels(account.scenario))} ways")
    return None if outcome is None else outcome[0]


def market_checks(account, model: Replay, key: tuple, crash: Crash, market: str) -> dict[str, WickCheck] | None:
    """Mark against last in ``market`` for each way (:func:`margin.replay.wick_checks`): here and
    cached up to :data:`~margin.limits.LONG_CHECK_STEPS` position-steps, past it in a worker
    (which walks the replay again rather than receive it: the same numbers, far less to send)."""
    if position_steps(account.scenario, crash) <= LONG_CHECK_STEPS:
        return cached_checks(account.key, model, key, market)
    outcome = long_result("replay.checks", repr((account.key, key, market)), replay_checks, account.scenario, crash,
                          market, total=len(model.results), reports=True, keep=2,
                          text=lambda done, total: f"Checking the mark against the last price in "
                                                   f"{market_label(market)}: {done} of {total} ways done")
    return None if outcome is None else outcome[0]


def crash_title(crash_id: str) -> str:
    if crash_id == CUSTOM_ID:
        return "Custom crash from parameters"
    if crash_id == IMPORTED_ID:
        candles = st.session_state.get(IMPORTED)
        return f"Your candles: {candles.crash.name}" if candles else "Your candles (import a CSV below)"
    from margin.crashes import load_crash
    return load_crash(crash_id).name


def custom_parameters(markets: dict[str, float]) -> dict:
    """The custom crash's controls (plain keys), as keyword arguments of ``custom_crash``."""
    with st.container(border=True):
        st.markdown("**:material/tune: Your crash**")
        left, right = st.columns(2)
        with left:
            drop = slider_with_input("Drop of BTC's mark [%]", "replay.drop", min_value=5.0, max_value=90.0,
                                     step=1.0, default=30.0, format="%.0f", input_label="Drop, exact [%]")
            duration = slider_with_input("Duration of the fall [steps of 5 min]", "replay.duration",
                                         min_value=2.0, max_value=300.0, step=1.0, default=48.0, format="%.0f",
                                         input_label="Steps, exact")
            rebound = slider_with_input("Rebound [% of the drop recovered]", "replay.rebound", min_value=0.0,
                                        max_value=100.0, step=5.0, default=40.0, format="%.0f",
                                        input_label="Rebound, exact [%]")
        with right:
            noise = slider_with_input("Noise [% per step]", "replay.noise", min_value=0.0, max_value=3.0,
                                      step=0.1, default=0.5, format="%.1f", input_label="Noise, exact [%]")
            wick = slider_with_input("Wick of the last price below the mark [%]", "replay.wick", min_value=0.0,
                                     max_value=10.0, step=0.5, default=3.0, format="%.1f",
                                     input_label="Wick, exact [%]")
            seed = bound_widget(st.number_input, "Seed of the noise", "replay.seed", 0, min_value=0,
                                max_value=999_999, step=1)
        betas = {}
        for column, (name, beta) in zip(st.columns(max(len(markets), 1)), markets.items()):
            with column:
                betas[name] = float(bound_widget(
                    st.number_input, f"{market_label(name)} beta to BTC", f"replay.beta.{name}", float(beta),
                    min_value=-5.0, max_value=10.0, step=0.1, format="%.2f",
                    help="The market's mark moves by beta × BTC's move (1 = with BTC)."))
    return {"drop": drop / 100, "duration": int(duration), "rebound": rebound / 100, "noise": noise / 100,
            "wick": wick / 100, "seed": int(seed), "betas": betas}


def candle_upload() -> None:
    """Read real candles (Binance's public data archive layout) into the session's crash."""
    with st.container(border=True):
        st.markdown("**:material/candlestick_chart: Your candles**")
        st.caption("A kline CSV as Binance's public data archive lays it out (open time, open, high, low, close, "
                   "…; with or without a header), and optionally the mark-price klines of the same interval. "
                   "Closes are the mark (the mark file's where given); lows and highs are the last price's wicks. "
                   "At most 20,000 candles, 5 MB a file. Nothing is fetched: the file stays on this server.")
        left, right = st.columns(2)
        with left:
            trades = st.file_uploader("Klines (CSV)", type=["csv"], key="replay.klines", max_upload_size=5)
        with right:
            marks = st.file_uploader("Mark-price klines (CSV, optional)", type=["csv"], key="replay.mark_klines",
                                     max_upload_size=5)
    if trades is None:
        return
    try:
        candles = imported_candles(trades.getvalue(), trades.name, marks.getvalue() if marks else None,
                                   marks.name if marks else None)
    except ScenarioError as err:
        st.error(f"These candles cannot be replayed: {md(str(err))}. Nothing was changed.", icon=":material/error:")
        return
    if st.session_state.get(IMPORTED) is None or st.session_state[IMPORTED].digest != candles.digest:
        st.session_state[IMPORTED] = candles
        st.session_state["replay.step"] = 0
    for note in candles.notes:
        st.caption(f":material/info: {md(note)}")


def play(n_steps: int) -> None:
    if int(st.session_state["replay.step"]) >= n_steps - 1:
        st.session_state["replay.step"] = 0
    st.session_state["replay.playing"] = True


def pause() -> None:
    st.session_state["replay.playing"] = False


def restart() -> None:
    st.session_state["replay.step"] = 0
    st.session_state["replay.playing"] = False


def advance(n: int) -> int:
    """The step to show: where the scrubber is, one tick on while the player runs; at the end
    the player stops (a full rerun, so the Play button comes back)."""
    step = min(max(int(st.session_state["replay.step"]), 0), n - 1)
    if st.session_state["replay.playing"]:
        if step >= n - 1:
            st.session_state["replay.playing"] = False
        else:
            step = min(step + max(1, round(n / SPEEDS.get(st.session_state["replay.speed"], 60))), n - 1)
            if step >= n - 1:
                st.session_state["replay.step"] = step
                st.session_state["replay.playing"] = False
                st.rerun(scope="app")
    st.session_state["replay.step"] = step
    return step


def live_line(model, step: int) -> None:
    """What is happening, where the eye is while it plays: the time and prices, each variant's
    equity and the latest event, right under the step slider."""
    n = model.crash.n_steps
    moves = ", ".join(
        f"{md(market_label(name))} mark {price(model.path.marks[step, j])} USDT "
        f"({percent(model.path.marks[step, j] / model.path.marks[0, j] - 1, signed=True)})"
        for j, name in enumerate(model.path.markets))
    with st.container(border=True, key="replay.live", gap="small"):
        st.markdown(f"**{duration_text(step * model.crash.step_minutes)} into the crash** (step {step} of "
                    f"{n - 1}) · {moves}")
        since = " since the start" if len(model.results) <= 3 else ""  # four abreast: the help says it
        for column, label in zip(st.columns(len(model.results)), model.results):
            equity = model.equity(label)
            with column:
                st.metric(f"Equity, {in_sentence(label)}", money(float(equity[step])), border=False,
                          delta=f"{money(float(equity[step] - equity[0]), signed=True)}{since}"
                          if abs(equity[step] - equity[0]) >= 0.005 else None,
                          help="What the account owns: the cross pool's equity and each open isolated "
                               "position's, each at least 0 [USDT]; the arrow, its change since the start.")
        st.markdown(f":material/bolt: {latest_event(model, step)}")


def story_so_far(model, step: int) -> None:
    """The two charts, the events so far in words, and where the money went at the end."""
    points = timeline_points(model)
    left, right = st.columns(2)
    with left:
        chart(charts.equity_figure(model, step), key="replay.equity")
        st.caption(equity_takeaway(model, step))
        usdt = collateral_takeaway(model, step)
        if usdt:
            st.caption(f":material/currency_exchange: {md(usdt)}")
        short = isolated_short_words(model.variants["As built"])  # as the lab says it
        if short:
            st.caption(f":material/account_balance_wallet: {md(short)}")
    with right:
        chart(charts.timeline_figure(model, points, step), key="replay.timeline")
        st.caption(charts.timeline_takeaway(points, step, step * model.crash.step_minutes / 60))
    st.markdown("**:material/list: What happened so far**")
    lines = event_lines(model, step)
    if lines:
        box = st.container(height=260) if len(lines) > 6 else st.container()
        box.markdown("\n".join(f"{i}. {text}" for i, (_, text) in enumerate(lines, 1)))
    else:
        st.markdown("Nothing has been liquidated yet.")
    if step >= model.crash.n_steps - 1:
        money_split = splits(model)
        chart(charts.money_figure(money_split), key="replay.money")
        st.caption(money_takeaway(money_split))
        rows = [{"variant": label, **e.as_dict()} for label, result in model.results.items() for e in result.events]
        event_log_button(rows, key="replay.events_csv", file_name="crash-replay-events.csv", leading=("variant",))
    else:
        st.caption(":material/savings: Where the money went is shown when the replay reaches the end "
                   "(play it, or drag the step to the end).")


def mark_and_last(model, account, key: tuple, crash, step: int) -> None:
    st.subheader("Mark price and last price")
    markets = list(model.path.markets)
    left, right = st.columns(2)
    with left:
        market = bound_widget(st.selectbox, "Market", "replay.market", markets[0], options=markets,
                              format_func=market_label)
    with right:
        ways = list(model.results)  # margin.variants.variant_labels: the fourth where the wallet holds coins
        if st.session_state.get("replay.view") not in ways:  # a way an earlier account (or a link) had
            st.session_state["replay.view"] = ways[0]
        view = bound_widget(st.radio, "Liquidation prices of", "replay.view", ways[0], options=ways, horizontal=True)
    market = market if market in markets else markets[0]
    view = view if view in model.results else ways[0]
    checks = market_checks(account, model, key, crash, market)
    if checks is None:  # cancelled, or the server is busy: the page has said which
        return
    chart(charts.mark_last_figure(model, market, checks[view], view, step), key="replay.marklast")
    for sentence in wick_sentences(model, market, checks, step):
        st.markdown(f"- {sentence}")


def replay_panel(account, key: tuple, crash) -> None:
    """Everything that moves with the step: a fragment, so playing reruns only this."""
    model = replay_model(account, key, crash)
    if model is None:
        return
    n = model.crash.n_steps
    advance(n)
    slider_with_input("Step of the crash", "replay.step", min_value=0.0, max_value=float(n - 1), step=1.0,
                      default=0.0, format="%.0f", input_label="Step, exact", columns=(5, 1),
                      help=f"One step is {duration_text(model.crash.step_minutes)}. Use the arrow keys on "
                           f"the slider to walk one step at a time.")
    step = int(st.session_state["replay.step"])
    live_line(model, step)
    story_so_far(model, step)
    mark_and_last(model, account, key, crash, step)
    keep_in_url("replay")  # a step or a tick reruns only this fragment: the address follows it


def player(crash, controls) -> None:
    """Play or Pause, Restart and the speed, in the page's row of ``controls`` (columns 1 to 3)."""
    with controls[1]:
        if st.session_state["replay.playing"]:
            st.button("Pause", icon=":material/pause:", key="replay.pause", on_click=pause, width="stretch")
        else:
            st.button("Play", icon=":material/play_arrow:", key="replay.play", on_click=play,
                      args=(crash.n_steps,), type="primary", width="stretch")
    with controls[2]:
        st.button("Restart", icon=":material/restart_alt:", key="replay.restart", on_click=restart, width="stretch")
    with controls[3]:
        bound_widget(st.segmented_control, "Speed", "replay.speed", "Normal", options=list(SPEEDS))
