"""Crash replay: the account as built, all cross and all isolated, walked through a crash.

Session keys (plain keys: a lesson or a link sets them, then switches to this page):

- ``"replay.crash"``: ``"2020-03-12"``, ``"2021-05-19"``, ``"2022-11-ftx"``, ``"2025-10-10"``
  (shaped after documented events), ``"custom"`` or ``"imported"`` (candles from a CSV).
- ``"replay.step"``: the step shown (0 = the start); the scrubber and the player move it.
- ``"replay.playing"``: True while the player runs (a fragment with ``run_every`` advances
  ``"replay.step"``); ``"replay.speed"``: ``"Slow"``, ``"Normal"`` or ``"Fast"``.
- ``"replay.market"``: the market of the mark-versus-last chart; ``"replay.view"``: the
  variant whose liquidation prices it draws (``"As built"``, ``"All cross"``, ``"All isolated"``, and
  ``"Collateral in USDT"`` where the wallet holds coins: ``margin.variants.variant_labels``).
- Custom crash: ``"replay.drop"`` [%], ``"replay.duration"`` [steps of 5 minutes],
  ``"replay.rebound"`` [% of the drop], ``"replay.noise"`` [% per step], ``"replay.wick"`` [%],
  ``"replay.seed"``, ``"replay.beta.<MARKET>"`` (beta to BTC).
- ``"replay.imported"``: the candles read from an upload (``ui/replay/model.py``'s
  :class:`ImportedCandles`), kept for the session.

Each way of the account starts where it arrives at today's prices from its positions' entries
(what closed on the way is listed first). The simulations (one per way) run once per account and crash
(cached); playing only moves the step. A long replay (more steps × positions than
``margin.limits.LONG_REPLAY_STEPS``, and for its mark-against-last check ``LONG_CHECK_STEPS``)
runs in a worker process with a progress bar and a Cancel button (``ui/shell/long_work.py``,
prefixes ``"replay.walk"`` and ``"replay.checks"``).
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import streamlit as st

from margin.crashes import CUSTOM_ID, crash_ids
from margin.fields import ScenarioError
from margin.variants import USDT_COLLATERAL_LABEL, VARIANT_LABELS, variant_labels
from ui.common.text import md
from ui.learn.session import account_facts, hidden_notice, lesson_panel, prediction_open
from ui.replay.model import IMPORTED_ID, crash_key, duration_text, replay_summary
from ui.replay.session import (
    IMPORTED, TICK_SECONDS, candle_upload, crash_title, custom_parameters, player, replay_model, replay_panel,
)
from ui.shell.deep_links import inside_app_frame
from ui.shell.state import current_account, ensure_scenario
from ui.shell.widgets import bound_widget

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

st.session_state.setdefault("replay.crash", "2020-03-12")
st.session_state.setdefault("replay.step", 0)
st.session_state.setdefault("replay.playing", False)
st.session_state.setdefault("replay.speed", "Normal")
st.session_state.setdefault("replay.view", VARIANT_LABELS[0])

st.title("Crash replay")
ensure_scenario()
try:
    account = current_account()
except ScenarioError as err:
    st.error(f"This account cannot be replayed: {md(str(err))}. Fix it in the account builder.")
    st.stop()
fourth = (" and, since your wallet holds coins, a fourth: with that collateral held as the USDT it is worth today, "
          "the same money that does not fall with the market"
          if USDT_COLLATERAL_LABEL in variant_labels(account.scenario) else "")
st.caption(f"Walk your account through a crash, step by step: as you built it, with every position in cross, "
           f"with every position isolated{fourth}. Every amount is in USDT.")
lesson_panel("replay")
hiding = prediction_open("replay")

options = crash_ids() + [CUSTOM_ID, IMPORTED_ID]
controls = st.columns([4, 1.3, 1.4, 2.6], vertical_alignment="bottom")
with controls[0]:
    crash_id = bound_widget(st.selectbox, "Crash", "replay.crash", options[0], options=options,
                            format_func=crash_title, disabled=hiding)
crash_id = crash_id if crash_id in options else options[0]
custom = {}
if crash_id == CUSTOM_ID:
    custom = custom_parameters({n: m.beta for n, m in account.scenario.markets.items()})
if crash_id == IMPORTED_ID:
    candle_upload()
    if st.session_state.get(IMPORTED) is None:
        st.info("Import a kline CSV above to replay your account through it.", icon=":material/upload_file:")
        st.stop()
try:
    key, crash = crash_key(crash_id, custom, st.session_state.get(IMPORTED))
    model = replay_model(account, key, crash)
except ScenarioError as err:
    st.error(f"This crash cannot be built: {md(str(err))}.")
    st.stop()
if model is None:  # a long replay cancelled, or the server busy: the page has said which
    st.stop()

if st.session_state.get("replay.loaded") not in (None, key):
    st.session_state["replay.step"] = 0  # a new crash starts from its beginning
    st.session_state["replay.playing"] = False
st.session_state["replay.loaded"] = key

st.caption(f":material/info: *{md(crash.label)}*")
with st.expander(f"About this crash: {md(crash.name)}", icon=":material/history_edu:"):
    st.markdown(md(crash.shaped_after))
    depth = "" if hiding else f" {replay_summary(model)}"  # how deep the marks go would answer a lesson
    st.caption(f"Source: {md(crash.source.rstrip('.'))}. One step = {duration_text(crash.step_minutes)}; "
               f"{duration_text(crash.step_minutes * (crash.n_steps - 1))} in all.{depth}")
if hiding:
    hidden_notice("The player, the equity, the events and what the mark and the last price did")
    account_facts(ensure_scenario())
    st.stop()
player(crash, controls)
st.fragment(run_every=TICK_SECONDS if st.session_state["replay.playing"] else None)(replay_panel)(
    account, key, crash)
