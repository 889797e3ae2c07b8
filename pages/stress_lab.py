"""Stress lab: thousands of random futures for the account from the builder, under a normal and
a fat-tailed model, as built, all cross and all isolated (and "collateral in USDT" where the
wallet holds coins: ``margin.variants.variant_labels``).

Session keys (plain keys: a lesson or a link sets them, then switches to this page):

- ``"stress.vol.<MARKET>"``: annual volatility [%]; ``"stress.corr.<A>.<B>"``: correlation of a
  pair (``A`` before ``B`` in the account's market order). Defaults: ``assets/markets.json``.
- ``"stress.horizon"`` [days] (default 1), ``"stress.step"`` (``"5 minutes"``, ``"15 minutes"``,
  ``"1 hour"`` (default), ``"4 hours"``, ``"1 day"``), ``"stress.dof"``: ν of the Student-t
  (default 3), ``"stress.paths"``: paths per model (default 5,000: about 0.2 s for the default account,
  1–2 s for one whose positions are liquidated on most paths), ``"stress.seed"`` (default 0).
- ``"stress.headline"``: ``"Fat tails"`` or ``"Normal"``, the model of the headline figures;
  ``"stress.variant"``: the variant of the distribution chart.

Internal: ``"stress.run"`` holds the inputs of the last run (set by Run; the first visit runs
the defaults), and ``"stress.shown"`` in the session's store (``ui/shell/memory.py``), the results the
download buttons build their CSV from. A run goes to a worker process (``ui/shell/long_work.py``, prefix ``"stress"``):
``"stress.job"`` is the one going, ``"stress.cancelled"`` the inputs whose run was cancelled
(shown as such until Run is pressed again), ``"stress.results"`` the last few results (bounded,
per session).
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import streamlit as st

from margin.numbers import percent
from margin.presets import market_label
from margin.scenario import ScenarioError
from margin.variants import VARIANT_LABELS, variant_labels
from ui.lab.sliders import in_sentence
from ui.common.text import md
from ui.common.words import join_words, position_labels
from ui.learn.session import hidden_notice, lesson_panel, prediction_open
from ui.shell.deep_links import inside_app_frame
from ui.shell.state import current_account, ensure_scenario
from ui.shell.widgets import bound_widget, slider_with_input
from ui.common.controls import STRESS_DEFAULTS, pairs, stress_defaults, vol_key
from ui.stress.model import PATH_OPTIONS, STEPS, error_text, horizon_text, n_steps, settings, spec_for
from ui.stress.session import market_model_editors, new_seed, results_for, show_results

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

st.session_state.setdefault("stress.headline", "Fat tails")
st.session_state.setdefault("stress.variant", VARIANT_LABELS[0])
for _key, _value in STRESS_DEFAULTS.items():
    st.session_state.setdefault(_key, _value)

st.title("Stress lab")
st.caption("A slider shows one future; a stress test shows thousands. Each path moves every market at "
           "once, with the volatility and correlation below, and walks your account through it under "
           "its own rules: a position liquidated on the way stays closed, even if the price comes back. "
           "Every amount is in USDT.")
raw = ensure_scenario()
try:
    account = current_account()
    scenario = account.scenario
except ScenarioError as err:
    st.error(f"This account cannot be stress-tested: {md(err)}. Fix it in the account builder.")
    st.stop()
if not scenario.positions:
    st.info("This account holds no positions: add some in the account builder.", icon=":material/info:")
    st.stop()
markets = list(scenario.markets)
names = position_labels(scenario)  # "BTC long", never the internal id
ways = variant_labels(scenario)  # as built, all cross, all isolated; collateral in USDT where the wallet holds coins
lesson_panel("stress")
hiding = prediction_open("stress")

with st.container(border=True):
    st.markdown("**:material/ssid_chart: Market model**")
    left, right = st.columns([5, 4], gap="large")
    with left:
        market_model_editors(markets)
    with right:
        slider_with_input("Horizon [days]", "stress.horizon", min_value=1.0, max_value=30.0, step=1.0,
                          default=STRESS_DEFAULTS["stress.horizon"], format="%.0f", input_label="Days")
        first, second = st.columns(2)
        with first:
            bound_widget(st.selectbox, "Step", "stress.step", STRESS_DEFAULTS["stress.step"], options=list(STEPS),
                         help="Prices are checked once per step; a move within one step is a gap.")
        with second:
            bound_widget(st.selectbox, "Paths per model", "stress.paths", STRESS_DEFAULTS["stress.paths"],
                         options=list(PATH_OPTIONS), format_func=lambda n: f"{n:,}")
        slider_with_input("Fat tails: degrees of freedom ν", "stress.dof", min_value=2.1, max_value=50.0,
                          step=0.1, default=STRESS_DEFAULTS["stress.dof"], format="%.1f", input_label="ν",
                          help="Student-t scaled to the same volatility: the smaller ν, the fatter the tails "
                               "(ν = 3 is very fat; from ν = 30 on it is close to normal).")
        seed_column, dice_column = st.columns([3, 2], vertical_alignment="bottom")
        with seed_column:
            bound_widget(st.number_input, "Seed", "stress.seed", STRESS_DEFAULTS["stress.seed"], min_value=0,
                         max_value=2**31 - 1, step=1, help="The same seed gives the same paths and the same numbers.")
        with dice_column:
            st.button("New seed", icon=":material/casino:", key="stress.new_seed", on_click=new_seed,
                      width="stretch")

chosen = settings(st.session_state, markets)
problem = None
try:
    spec_for(scenario, chosen, "normal")
except ScenarioError as err:
    problem = error_text(err)
steps = n_steps(chosen["horizon"], chosen["step"])
run_column, note_column = st.columns([1, 3], vertical_alignment="center")
with run_column:
    clicked = st.button("Run", type="primary", icon=":material/play_arrow:", key="stress.run_button",
                        disabled=problem is not None or hiding, width="stretch",
                        help="Predict first: the run opens once you have checked your prediction." if hiding else None)
with note_column:
    if problem:
        st.error(md(problem), icon=":material/error:")
    else:
        st.caption(f"{chosen['paths']:,} paths × {steps:,} steps of {chosen['step']} "
                   f"({horizon_text(chosen['horizon'])}), for a normal and a fat-tailed model, "
                   f"{len(ways)} ways each ({join_words([in_sentence(w) for w in ways])}).")
if hiding:
    hidden_notice("The odds of liquidation, wipe-out and bankruptcy, and every figure of the runs")
    st.stop()
if clicked or "stress.run" not in st.session_state:
    if problem is None:
        st.session_state["stress.run"] = chosen
        st.session_state.pop("stress.cancelled", None)
ran = st.session_state.get("stress.run")
if ran is None:
    st.stop()
ran = {**ran, "vol": {m: ran["vol"].get(m) for m in markets},
       "corr": {f"{a}|{b}": ran["corr"].get(f"{a}|{b}") for a, b in pairs(markets)}}
for market in markets:  # the account gained a market since that run: use today's inputs for it
    if ran["vol"][market] is None:
        ran["vol"][market] = chosen["vol"][market]
for pair in ran["corr"]:
    if ran["corr"][pair] is None:
        ran["corr"][pair] = chosen["corr"][pair]
if ran != chosen and not problem:
    st.caption(":material/update: The inputs changed since these results: press **Run** to update them.")
try:
    results = results_for(scenario, account.key, ran)
except ScenarioError as err:
    st.error(f"{md(error_text(err))}. Change it above and press Run.", icon=":material/error:")
    st.stop()
if results is not None:
    show_results(*results, ran, names, scenario)

with st.expander("How the stress lab works", icon=":material/help:"):
    st.markdown(
        "- **Paths.** Every step, each market's log-price moves by its volatility × √(step) × a shock, "
        "less ½σ²·step so that the normal model has no drift. The shocks of different markets are "
        "correlated as in the table.\n"
        "- **Normal or fat tails.** The fat-tailed shocks are Student-t with ν degrees of freedom, "
        "scaled to the same variance, with one random scale per step shared by every market: a violent "
        "step hits all markets at once. Both models use the same random numbers (same seed), so the "
        "difference you see is the tails, not luck.\n"
        "- **The rules.** On every path the account is judged at every step exactly as in Crash replay "
        "(the engine's own liquidation, settlement, fees and insurance fund); a liquidated position stays "
        "closed.\n"
        "- **Wipe-out**: the account ends with at most 1 % of its start value (wallet + unrealized PnL "
        "now). **Bankruptcy**: some close fell beyond a bankruptcy price, a loss beyond margin paid by "
        "the insurance fund or by other traders. **Value at risk 99 %**: the loss exceeded on the worst "
        "1 % of paths; **expected shortfall 99 %**: their average loss.\n"
        "- **Command line**: `python -m margin stress SCENARIO --paths 5000 --steps 24 --horizon-days 1 "
        "--model student_t --dof 3 --seed 0`.")
    defaults = stress_defaults(markets)
    st.caption("Volatility and correlation defaults are representative round figures, not live data: "
               + ", ".join(f"{md(market_label(m))} {percent(defaults[vol_key(m)] / 100, digits=0)} a year" for m in markets)
               + ".")
