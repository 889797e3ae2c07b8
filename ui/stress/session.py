"""The stress lab, the Streamlit side: the market model's editors bound to the plain keys, a run
in the server's worker pool (``ui/shell/long_work.py``, prefix ``"stress"``) and the results
with their downloads."""

from __future__ import annotations

import json
import secrets

import pandas as pd
import streamlit as st

from margin.presets import market_label
from margin.scenario import Scenario
from ui.common.glossary import term
from ui.common.text import md
from ui.lab.collateral import held_as_usdt
from ui.lab.sliders import in_sentence
from ui.lab.words import isolated_short_words
from ui.stress import charts
from ui.stress.charts import paths_csv, shown_csv, summary_csv
from ui.common.controls import corr_key, pairs, stress_defaults, vol_key
from ui.stress.model import horizon_text, spec_for, step_text, stress_models
from ui.shell.long_work import long_result
from ui.shell.memory import session_store
from ui.shell.widgets import bound_widget, chart


CACHE_ENTRIES = 4  # results kept per session
SHOWN = "stress.shown"  # the session store's (normal, fat tails, dof) the download buttons are for


def reset_market_model(markets: list[str]) -> None:
    defaults = stress_defaults(markets)
    for key, value in defaults.items():
        if key.startswith(("stress.vol.", "stress.corr.")):
            st.session_state[key] = value


def new_seed() -> None:
    st.session_state["stress.seed"] = secrets.randbelow(1_000_000)


def market_model_editors(markets: list[str]) -> None:
    """Volatility per market and correlation per pair, in two small tables bound to plain keys.

    Each editor's key carries the values it shows, so an edit (or a reset, or a lesson) gives a
    fresh editor on the new values rather than replaying old edits over them."""
    defaults = stress_defaults(markets)
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


def ways_columns(ways: list[str]) -> list:
    """One container per way of the account: side by side up to three, two by two for four (four
    abreast the tables and the words under the metrics would be squeezed); stacked on a phone."""
    if len(ways) <= 3:
        return list(st.columns(len(ways)))
    return [column for _ in range(0, len(ways), 2) for column in st.columns(2)][:len(ways)]


def headline_metrics(main, other, main_name: str, other_name: str, names: dict[str, str]) -> None:
    """One column per variant: its wipe-out probability under the headline model against the other."""
    ways = list(main.variants)  # margin.variants.variant_labels: the fourth where the wallet holds coins
    for column, label in zip(ways_columns(ways), ways):
        stress, versus = main.variants[label], other.variants[label]
        with column:
            difference = stress.wipeout_probability - versus.wipeout_probability
            same = abs(difference) < 0.5 / stress.n_paths
            st.metric(f"Wipe-out, {in_sentence(label)}", charts.probability_text(stress.wipeout_probability),
                      delta=f"same as {other_name}" if same else
                      f"{difference * 100:+.2g} points vs {other_name} "
                      f"({charts.probability_text(versus.wipeout_probability)})",
                      delta_color="off" if same else "inverse", border=True,
                      help=f"Share of paths ({main_name} model) on which the account ends with at most 1 % of "
                           f"its start value. Points: the difference of two percentages (0.22 % against 0.06 % is 0.16 points).")
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
        st.download_button("Download the results (CSV)", lambda: shown_csv(shown.get(SHOWN), summary_csv),
                           file_name=f"stress-seed{spec.seed}.csv", mime="text/csv", icon=":material/download:",
                           key="stress.download", width="stretch")
    with right:
        st.download_button("Download every path (CSV)", lambda: shown_csv(shown.get(SHOWN), paths_csv),
                           file_name=f"stress-paths-seed{spec.seed}.csv", mime="text/csv",
                           icon=":material/table:", key="stress.download_paths", width="stretch")


def show_results(normal, fat, seconds: float, chosen: dict, names: dict[str, str], scenario: Scenario) -> None:
    """The stress test's figures, tables, distribution and downloads, fat tails against normal,
    for ``scenario`` (the account as built, before the walk to today's prices)."""
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
    usdt = charts.collateral_takeaway(main, held_as_usdt(scenario))
    if usdt:
        st.caption(f":material/currency_exchange: {md(usdt)} ({main_name.capitalize()} model.)")
    short = isolated_short_words(scenario)  # as the lab says it: why "all isolated" dies at once
    if short:
        st.caption(f":material/account_balance_wallet: {md(short)}")

    st.subheader("Each account, normal against fat tails")
    error = charts.margin_of_error(0.05, spec.n_paths)
    st.caption(f"With {spec.n_paths:,} paths a probability near 5 % is known to about ±{error * 100:.1f} "
               f"percentage points (95 %). Losses are from the start value; a negative loss is a gain.")
    ways = list(normal.variants)  # margin.variants.variant_labels
    for column, label in zip(ways_columns(ways), ways):
        with column:
            st.markdown(f"**{label}**")
            # st.table draws its cells as Markdown: the names in them are escaped
            labels = [md(names.get(pid, pid)) for pid in normal.variants[label].position_ids]
            closed = [md(names.get(pid, pid)) for pid in normal.variants[label].closed_on_arrival]
            st.table(charts.variant_table(normal.variants[label], fat.variants[label], dof, labels, closed))

    st.subheader("Where the account ends up")
    if st.session_state.get("stress.variant") not in ways:  # a way an earlier account (or a link) had
        st.session_state["stress.variant"] = ways[0]
    variant = bound_widget(st.segmented_control, "Account", "stress.variant", ways[0], options=ways)
    variant = variant if variant in ways else ways[0]
    chart(charts.final_value_figure(normal.variants[variant], fat.variants[variant], dof, horizon),
          key="stress.distribution")
    st.caption(charts.distribution_takeaway(normal.variants[variant], fat.variants[variant], dof))

    downloads(normal, fat, dof)
