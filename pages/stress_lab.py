"""Stress lab: thousands of random futures for the account from the builder, under a normal and
a fat-tailed model, as built, all cross and all isolated.

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

import json
import secrets

import pandas as pd
import streamlit as st

from margin.scenario import ScenarioError
from margin.stress import summary_frame
from ui.stress import charts
from margin.numbers import percent
from ui.common.glossary import term
from margin.presets import market_label
from ui.shell.memory import session_store
from ui.common.text import md
from ui.shell.long_work import long_result
from ui.common.words import position_labels
from ui.learn.session import hidden_notice, lesson_panel, prediction_open
from ui.shell.state import current_account, ensure_scenario
from ui.stress.model import (
    DEFAULTS, PATH_OPTIONS, STEPS, corr_key, default_state, error_text, horizon_text, n_steps, pairs,
    settings, spec_for, step_text, stress_models, vol_key,
)
from ui.shell.widgets import bound_widget, chart, slider_with_input
from ui.shell.deep_links import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

VARIANTS = ("As built", "All cross", "All isolated")
CACHE_ENTRIES = 4

st.session_state.setdefault("stress.headline", "Fat tails")
st.session_state.setdefault("stress.variant", VARIANTS[0])
for _key, _value in DEFAULTS.items():
    st.session_state.setdefault(_key, _value)


def reset_market_model(markets: list[str]) -> None:
    defaults = default_state(markets)
    for key, value in defaults.items():
        if key.startswith(("stress.vol.", "stress.corr.")):
            st.session_state[key] = value


def new_seed() -> None:
    st.session_state["stress.seed"] = secrets.randbelow(1_000_000)


def market_model_editors(markets: list[str]) -> None:
    """Volatility per market and correlation per pair, in two small tables bound to plain keys.

    Each editor's key carries the values it shows, so an edit (or a reset, or a lesson) gives a
    fresh editor on the new values rather than replaying old edits over them."""
    defaults = default_state(markets)
    for key, value in defaults.items():
        if key.startswith(("stress.vol.", "stress.corr.")):
            st.session_state.setdefault(key, value)
    vols = pd.DataFrame({"Market": [market_label(m) for m in markets],
                         "Annual volatility [%]": [st.session_state[vol_key(m)] for m in markets]})
    edited = st.data_editor(
        vols, key=f"stress.vol_editor.{json.dumps(vols.iloc[:, 1].tolist())}", hide_index=True,
        width="stretch", disabled=["Market"], num_rows="fixed",
        column_config={"Annual volatility [%]": st.column_config.NumberColumn(
            min_value=0.0, max_value=1000.0, step=1.0, format="%.0f %%",
            help="Standard deviation of a year's log-return, in percent (BTC is about 55 %).")})
    for market, value in zip(markets, edited["Annual volatility [%]"].tolist()):
        st.session_state[vol_key(market)] = value
    couples = pairs(markets)
    if couples:
        table = pd.DataFrame({"Market": [market_label(a) for a, _ in couples],
                              "with": [market_label(b) for _, b in couples],
                              "Correlation": [st.session_state[corr_key(a, b)] for a, b in couples]})
        edited = st.data_editor(
            table, key=f"stress.corr_editor.{json.dumps(table['Correlation'].tolist())}", hide_index=True,
            width="stretch", disabled=["Market", "with"], num_rows="fixed",
            column_config={"Correlation": st.column_config.NumberColumn(
                min_value=-1.0, max_value=1.0, step=0.05, format="%.2f",
                help="Correlation of the two markets' returns, from -1 to 1.")})
        for (a, b), value in zip(couples, edited["Correlation"].tolist()):
            st.session_state[corr_key(a, b)] = value
    else:
        st.caption("One market: no correlation to set.")
    st.button("Reset to the defaults", icon=":material/restart_alt:", key="stress.reset",
              on_click=reset_market_model, args=(markets,))


def results_for(scenario, scenario_json: str, chosen: dict):
    """Both models' runs for these inputs and the seconds they took: from the session's last
    few, or run now in a worker process with a progress bar and a Cancel button
    (``ui/shell/long_work.py``); None when cancelled or when the server is busy (it says so)."""
    key = json.dumps([scenario_json, chosen], sort_keys=True)
    specs = {model: spec_for(scenario, chosen, model) for model in ("normal", "student_t")}
    total = sum(spec.n_paths for spec in specs.values())

    def text(done: int, total: int) -> str:
        return f"Simulating {done:,} of {total:,} paths (the normal model, then fat tails, ν = {chosen['dof']:g})"

    outcome = long_result("stress", key, stress_models, scenario, specs, total=total, reports=True, text=text,
                          keep=CACHE_ENTRIES)
    if outcome is None:
        return None
    runs, seconds = outcome
    return runs["normal"], runs["student_t"], seconds


def headline_metrics(main, other, main_name: str, other_name: str, names: dict[str, str]) -> None:
    """One column per variant: its wipe-out probability under the headline model against the other."""
    for column, label in zip(st.columns(3), VARIANTS):
        stress, versus = main.variants[label], other.variants[label]
        with column:
            difference = stress.wipeout_probability - versus.wipeout_probability
            same = abs(difference) < 0.5 / stress.n_paths
            st.metric(f"Wipe-out, {label.lower()}", charts.probability_text(stress.wipeout_probability),
                      delta=f"same as {other_name}" if same else
                      f"{difference * 100:+.2g} pp against {other_name} "
                      f"({charts.probability_text(versus.wipeout_probability)})",
                      delta_color="off" if same else "inverse", border=True,
                      help=f"Share of paths ({main_name} model) on which the account ends with at most 1 % of "
                           f"its start value. pp = percentage points.")
            st.markdown(f"A position bankrupt on **{charts.probability_text(stress.bankruptcy_probability)}** "
                        f"of paths, a position liquidated on "
                        f"**{charts.probability_text(stress.any_liquidation_probability)}**")
            apart = charts.bankruptcy_against_wipeout(stress)
            if apart:
                st.caption(apart)
            arrival = charts.closed_on_arrival_note(stress, names)
            if arrival:
                st.caption(f":material/warning: {md(arrival)}")


def downloads(normal, fat, dof: float) -> None:
    """The summary and every path, as CSV files, built when a button is pressed. What they are
    built from sits in the session's store, so a closed tab's buttons hold no results."""
    spec = normal.spec
    shown = session_store()
    shown[SHOWN] = (normal, fat, dof)
    left, right = st.columns(2)
    with left:
        st.download_button("Download the results (CSV)", lambda: shown_csv(shown, summary_csv),
                           file_name=f"stress-seed{spec.seed}.csv", mime="text/csv", icon=":material/download:",
                           key="stress.download", width="stretch")
    with right:
        st.download_button("Download every path (CSV)", lambda: shown_csv(shown, paths_csv),
                           file_name=f"stress-paths-seed{spec.seed}.csv", mime="text/csv",
                           icon=":material/table:", key="stress.download_paths", width="stretch")


SHOWN = "stress.shown"  # the session store's (normal, fat tails, dof) the download buttons are for


def summary_csv(normal, fat, dof: float) -> str:
    return summary_frame({"normal": normal, f"student_t(dof={dof:g})": fat}).to_csv(index=False)


def paths_csv(normal, fat, dof: float) -> str:
    return charts.paths_frame(normal, fat).to_csv(index=False)


def shown_csv(shown: dict, build) -> bytes:
    """``build``'s CSV of the results on screen; a line saying so once the session has ended."""
    if SHOWN not in shown:
        return b"The results were dropped when the connection closed: press Run again.\n"
    return build(*shown[SHOWN]).encode("utf-8")


def show_results(normal, fat, seconds: float, chosen: dict, names: dict[str, str]) -> None:
    """The stress test's figures, tables, distribution and downloads, fat tails against normal."""
    spec = normal.spec
    dof = chosen["dof"]
    horizon = horizon_text(spec.horizon_days)
    st.caption(f":material/casino: Seed **{spec.seed}** · {spec.n_paths:,} paths per model × {spec.n_steps:,} "
               f"steps of {step_text(spec.step_minutes)} over {horizon}; both models draw the same random "
               f"numbers · computed in {seconds:.2f} s")
    st.info(charts.fat_tails_takeaway(normal.variants["As built"], fat.variants["As built"], dof),
            icon=":material/insights:")

    headline = bound_widget(st.segmented_control, "Headline figures from", "stress.headline", "Fat tails",
                            options=["Fat tails", "Normal"])
    st.caption(f":material/help: {charts.WHICH_IS_WHICH} ({term('wipe-out', 'wipe-out')} · "
               f"{term('bankruptcy price', 'bankruptcy price')} in the glossary)")
    main, other = (fat, normal) if headline != "Normal" else (normal, fat)
    main_name, other_name = ("fat tails", "normal") if main is fat else ("normal", "fat tails")
    headline_metrics(main, other, main_name, other_name, names)

    chart(charts.probability_figure(normal, fat, dof, horizon), key="stress.probabilities")
    st.caption(charts.probability_takeaway(main))

    st.subheader("Each account, normal against fat tails")
    error = charts.margin_of_error(0.05, spec.n_paths)
    st.caption(f"With {spec.n_paths:,} paths a probability near 5 % is known to about ±{error * 100:.1f} "
               f"percentage points (95 %). Losses are from the start value; a negative loss is a gain.")
    for column, label in zip(st.columns(3), VARIANTS):
        with column:
            st.markdown(f"**{label}**")
            # st.table draws its cells as Markdown: the names in them are escaped
            labels = [md(names.get(pid, pid)) for pid in normal.variants[label].position_ids]
            closed = [md(names.get(pid, pid)) for pid in normal.variants[label].closed_on_arrival]
            st.table(charts.variant_table(normal.variants[label], fat.variants[label], dof, labels, closed))

    st.subheader("Where the account ends up")
    variant = bound_widget(st.segmented_control, "Account", "stress.variant", VARIANTS[0], options=list(VARIANTS))
    variant = variant if variant in VARIANTS else VARIANTS[0]
    chart(charts.final_value_figure(normal.variants[variant], fat.variants[variant], dof, horizon),
          key="stress.distribution")
    st.caption(charts.distribution_takeaway(normal.variants[variant], fat.variants[variant], dof))

    downloads(normal, fat, dof)

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
lesson_panel("stress")
hiding = prediction_open("stress")

with st.container(border=True):
    st.markdown("**:material/ssid_chart: Market model**")
    left, right = st.columns([5, 4], gap="large")
    with left:
        market_model_editors(markets)
    with right:
        slider_with_input("Horizon [days]", "stress.horizon", min_value=1.0, max_value=30.0, step=1.0,
                          default=DEFAULTS["stress.horizon"], format="%.0f", input_label="Days")
        first, second = st.columns(2)
        with first:
            bound_widget(st.selectbox, "Step", "stress.step", DEFAULTS["stress.step"], options=list(STEPS),
                         help="Prices are checked once per step; a move within one step is a gap.")
        with second:
            bound_widget(st.selectbox, "Paths per model", "stress.paths", DEFAULTS["stress.paths"],
                         options=list(PATH_OPTIONS), format_func=lambda n: f"{n:,}")
        slider_with_input("Fat tails: degrees of freedom ν", "stress.dof", min_value=2.1, max_value=50.0,
                          step=0.1, default=DEFAULTS["stress.dof"], format="%.1f", input_label="ν",
                          help="Student-t scaled to the same volatility: the smaller ν, the fatter the tails "
                               "(ν = 3 is very fat; from ν = 30 on it is close to normal).")
        seed_column, dice_column = st.columns([3, 2], vertical_alignment="bottom")
        with seed_column:
            bound_widget(st.number_input, "Seed", "stress.seed", DEFAULTS["stress.seed"], min_value=0,
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
                   f"three ways each (as built, all cross, all isolated).")
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
    show_results(*results, ran, names)

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
    defaults = default_state(markets)
    st.caption("Volatility and correlation defaults are representative round figures, not live data: "
               + ", ".join(f"{md(market_label(m))} {percent(defaults[vol_key(m)] / 100, digits=0)} a year" for m in markets)
               + ".")
