"""The market cascade, the Streamlit side: the crowd drawn once per market and crowd parameters
(cached, a large one in a worker process), the page's controls bound to its plain keys, and the
live panel (a fragment: every control reruns only it)."""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd
import streamlit as st

from margin.cascade import Crowd, CrowdParams, build_crowd
from margin.fields import ScenarioError
from margin.limits import LONG_CROWD_TRADERS, MAX_PAGE_TRADERS
from margin.numbers import percent, price
from margin.presets import market_label
from margin.scenario import Market, Scenario
from ui.cascade import charts
from ui.cascade.model import (
    IMPACT_LABELS, CascadeView, accounting_lines, cascade_takeaway, cascade_view, fate_words, learner_takeaway,
    leverage_takeaway, market_key, millions, rounds_table, tipping_takeaway,
)
from ui.common.text import md
from ui.shell.links import keep_in_url
from ui.shell.long_work import long_result
from ui.shell.memory import CACHE_TTL
from ui.shell.state import current_account, ensure_scenario
from ui.shell.widgets import bound_widget, chart, slider_with_input

DEFAULTS = {  # every plain key's default (the page sets them once, at its top)
    "cascade.shock": -5.0, "cascade.depth": 5.0, "cascade.impact": "linear", "cascade.traders": 20_000,
    "cascade.leverage_mean": 10.0, "cascade.leverage_max": 100.0, "cascade.long_share": 60,
    "cascade.size_median": 5_000.0, "cascade.cross_share": 50, "cascade.cross_buffer": 50, "cascade.seed": 7,
    "cascade.fund_limited": False, "cascade.fund": 1.0, "cascade.adl": True,
}


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def cached_crowd(market: tuple, _market: Market, params: CrowdParams) -> Crowd:
    """The crowd for one market (named by :func:`market_key`) and crowd parameters (read-only
    arrays, shared by every session)."""
    return build_crowd(_market, params)


def crowd_for(market: Market, params: CrowdParams) -> Crowd | None:
    """The crowd: drawn here and cached up to :data:`~margin.limits.LONG_CROWD_TRADERS` traders,
    past it in a worker with a progress bar (None while cancelled or when the server is busy;
    the page says so)."""
    if params.n_traders <= LONG_CROWD_TRADERS:
        return cached_crowd(market_key(market), market, params)
    outcome = long_result("cascade.crowd", repr((market_key(market), params)), build_crowd, market, params,
                          text=lambda _done, _total: f"Drawing a crowd of {params.n_traders:,} traders")
    return None if outcome is None else outcome[0]


def live_view(scenario: Scenario, market: Market, params: CrowdParams, shock: float, depth: float,
              impact: str, fund: float = math.inf, adl: bool = False) -> CascadeView | None:
    """:func:`cascade_view` on the crowd (:func:`crowd_for`). Not cached itself: a cascade and
    the 50-shock curve take at most a tenth of a second for the largest crowd, far less than
    copying the crowd out of a cache."""
    crowd = crowd_for(market, params)
    return None if crowd is None else cascade_view(scenario, market.name, crowd, shock, depth, impact, fund, adl)


def crowd_controls() -> dict:
    """The crowd's parameters (plain keys), as ``CrowdParams`` fields."""
    with st.expander("The crowd", icon=":material/groups:", expanded=False):
        # Every slider has a number box for exact keyboard entry (two columns: room for both).
        left, right = st.columns(2)
        with left:
            traders = slider_with_input("Traders", "cascade.traders", min_value=1_000, max_value=MAX_PAGE_TRADERS,
                                        step=1_000, default=20_000, format="%d traders", columns=(3, 2),
                                        input_label="Traders, exact")
            leverage_mean = slider_with_input("Mean leverage [x]", "cascade.leverage_mean", min_value=1.0,
                                              max_value=50.0, step=0.5, default=10.0, format="%.1fx",
                                              columns=(3, 2), input_label="Mean leverage, exact [x]")
            leverage_max = slider_with_input("Highest leverage [x]", "cascade.leverage_max", min_value=2.0,
                                             max_value=125.0, step=1.0, default=100.0, format="%.0fx",
                                             columns=(3, 2), input_label="Highest leverage, exact [x]",
                                             help="Also capped by the market's tier at each trader's size.")
            seed = bound_widget(st.number_input, "Seed of the crowd", "cascade.seed", 7, min_value=0,
                                max_value=999_999, step=1)
        with right:
            long_share = slider_with_input("Longs [% of traders]", "cascade.long_share", min_value=0,
                                           max_value=100, step=5, default=60, columns=(3, 2),
                                           input_label="Longs, exact [%]")
            cross_share = slider_with_input("In cross mode [% of traders]", "cascade.cross_share", min_value=0,
                                            max_value=100, step=5, default=50, columns=(3, 2),
                                            input_label="In cross, exact [%]")
            cross_buffer = slider_with_input("Cross wallet buffer [% of margin, on average]", "cascade.cross_buffer",
                                             min_value=0, max_value=300, step=10, default=50, columns=(3, 2),
                                             input_label="Buffer, exact [%]")
            size_median = bound_widget(st.number_input, "Typical position [USDT, median notional]",
                                       "cascade.size_median", 5_000.0, min_value=100.0, max_value=10_000_000.0,
                                       step=500.0, format="%.0f", help="Sizes are lognormal around it: many small, a few large.")
        st.caption("Leverage is lognormal around the mean (spread 0.6 in log terms) and capped; sizes are "
                   "lognormal (spread 1.0). Isolated traders can lose their margin; cross traders also the "
                   "buffer behind it.")
    leverage_mean = min(float(leverage_mean), float(leverage_max))
    return {"n_traders": int(traders), "leverage_mean": leverage_mean, "leverage_max": float(leverage_max),
            "long_share": long_share / 100, "size_median": float(size_median), "cross_share": cross_share / 100,
            "cross_buffer": cross_buffer / 100, "seed": int(seed)}


def waterfall_controls() -> tuple[float, bool]:
    """The insurance fund [USDT] (inf: unlimited) and whether auto-deleveraging follows it."""
    with st.expander("When traders go bankrupt", icon=":material/account_balance:", expanded=False):
        limited = bound_widget(st.toggle, "Limit the insurance fund", "cascade.fund_limited", False,
                               help="Off: the fund pays every loss beyond collateral, however large.")
        left, right = st.columns(2)
        with left:
            fund = bound_widget(st.number_input, "Insurance fund [million USDT]", "cascade.fund", 1.0,
                                min_value=0.0, max_value=1_000_000.0, step=0.5, format="%.2f", disabled=not limited)
        with right:
            adl = bound_widget(st.toggle, "Auto-deleverage once it is empty", "cascade.adl", True,
                               disabled=not limited,
                               help="Off: what the fund cannot pay is socialized (spread over everyone).")
        st.caption("The fund pays losses beyond collateral in the order traders go bankrupt. Once it is empty, "
                   "auto-deleveraging closes the most profitable, most leveraged positions on the other side "
                   "(yours too) at the bankrupt traders' bankruptcy prices, so the winners give up part of "
                   "their profit.")
    return (float(fund) * 1e6 if limited else math.inf), bool(limited and adl)


def market_controls(scenario, disabled: bool) -> tuple[str, float, float, str, dict, float, bool]:
    """The market, the shock, the book, the crowd and the waterfall (plain keys)."""
    markets = list(scenario.markets)
    held = [p.market for p in scenario.positions]
    default_market = held[0] if held else markets[0]
    with st.container(border=True):
        top = st.columns([1, 3], vertical_alignment="bottom")
        with top[0]:
            market_name = bound_widget(st.selectbox, "Market of the crowd", "cascade.market", default_market,
                                       options=markets, format_func=market_label, disabled=disabled)
            market_name = market_name if market_name in markets else default_market
        with top[1]:
            shock = slider_with_input("Initial shock [%]", "cascade.shock", min_value=-30.0, max_value=30.0, step=0.5,
                                      default=-5.0, format="%.1f", input_label="Shock, exact [%]",
                                      help="Down liquidates longs; up liquidates shorts (a squeeze).")
        low = st.columns([3, 2], vertical_alignment="bottom")
        with low[0]:
            depth = slider_with_input("Order book depth [million USDT per 1 % move]", "cascade.depth",
                                      min_value=0.5, max_value=200.0, step=0.5, default=5.0, format="%.1f",
                                      input_label="Depth, exact [M USDT]",
                                      help="How much forced selling moves the price by 1 %.")
        with low[1]:
            impact = bound_widget(st.radio, "Price impact", "cascade.impact", "linear", options=list(IMPACT_LABELS),
                                  format_func=IMPACT_LABELS.get, disabled=disabled)
        params = crowd_controls()
        fund, adl = waterfall_controls()
    return market_name, shock, depth, impact or "linear", params, fund, adl


def headline(view, market_name: str) -> None:
    result, crowd = view.result, view.crowd
    metrics = st.columns(5)
    metrics[0].metric("Initial shock", percent(result.shock, signed=True), border=True)
    metrics[1].metric("Final move", percent(result.final_drop, signed=True), border=True,
                      delta=f"×{result.amplification:.2f} the shock", delta_color="off", delta_arrow="off")
    metrics[2].metric("Rounds", f"{result.active_rounds}", border=True,
                      help="Rounds in which somebody was liquidated (the shock itself is round 1).")
    metrics[3].metric("Liquidated", f"{result.liquidated_count:,}", border=True,
                      delta=percent(result.liquidated_count / crowd.n_traders), delta_color="off", delta_arrow="off",
                      help=f"Traders liquidated, and their share of the {crowd.n_traders:,} in the crowd.")
    metrics[4].metric("Notional [USDT]", f"{result.liquidated_notional / 1e6:,.1f} M", border=True,
                      help="Liquidated notional: size × fill price, summed over every round, in millions of USDT.")
    st.markdown(f":material/insights: {cascade_takeaway(result, crowd.n_traders)}")
    st.markdown(f":material/person: **Your account in the crowd.** {md(learner_takeaway(view, market_name))}")


def pictures(view, market_name: str) -> None:
    result, crowd = view.result, view.crowd
    name = md(market_label(market_name))
    left, right = st.columns(2)
    with left:
        chart(charts.price_rounds_figure(result, market_label(market_name), view.learner_lines), key="cascade.price")
        st.caption(f"From {price(result.start_price)} USDT the shock sends {name} to "
                   f"{price(result.rounds[1].price)} USDT; the forced orders take it to "
                   f"{price(result.final_price)} USDT.")
    with right:
        chart(charts.liquidated_rounds_figure(result), key="cascade.liquidated")
        biggest = max(result.rounds, key=lambda r: r.liquidated_notional)
        st.caption(f"The biggest round: round {biggest.round}, {millions(biggest.liquidated_notional)} "
                   f"({biggest.liquidated_count:,} traders)." if biggest.liquidated_count else
                   "Nobody was liquidated in any round.")
    left, right = st.columns(2)
    with left:
        chart(charts.leverage_rounds_figure(result), key="cascade.leverage")
        st.caption(leverage_takeaway(result, crowd))
    with right:
        chart(charts.tipping_figure(view.curve, result.shock, result.final_drop), key="cascade.tipping")
        st.caption(tipping_takeaway(view.curve))


def tables(view) -> None:
    """The rounds table across the page, the learner's positions and the money under it: room
    for every column of both tables, so no header or value is cut short."""
    result = view.result
    st.markdown("**:material/table_rows: Round by round**")
    st.dataframe(
        pd.DataFrame(rounds_table(result)), hide_index=True, width="stretch", height=240,
        column_config={
            "Round": st.column_config.NumberColumn(pinned=True),  # kept in sight when a phone scrolls the table
            "Price [USDT]": st.column_config.NumberColumn(format="%,.6g"),
            "Change [%]": st.column_config.NumberColumn(format="%+.2f", help="Change from the start price"),
            "Liquidated": st.column_config.NumberColumn(help="Traders liquidated in the round"),
            "Notional [M USDT]": st.column_config.NumberColumn(format="%.2f", help="Liquidated notional"),
        },
    )
    st.caption(f"Round 0 is before the shock; round 1 is the shock itself; the last round liquidated nobody "
               f"new, so the cascade stopped ({result.stopped}).")
    left, right = st.columns(2)
    with left:
        st.markdown("**:material/person: Your positions**")
        if view.learner:
            st.dataframe(pd.DataFrame([{
                "Position": f["label"], "Mode": f["mode"],
                "Fate": fate_words(f),
                "At [USDT]": price(f["price"]) if f["price"] is not None else "—",
            } for f in view.learner]), hide_index=True, width="stretch")
        else:
            st.markdown("No positions.")
    with right:
        st.markdown("**:material/savings: Where the money went**")
        lines = accounting_lines(result) or ["Nobody was liquidated: the insurance fund kept nothing and paid nothing."]
        for line in lines:
            st.markdown(f"- {line}")


@st.fragment
def cascade_panel(hiding: bool, notice: Callable[[], None]) -> None:
    """The controls and, unless ``hiding`` (a lesson waits for the learner's prediction: then
    ``notice()`` says so), the cascade, its rounds and where the money went. A fragment: every
    control reruns only it."""
    ensure_scenario()
    try:
        account = current_account()
    except ScenarioError as err:
        st.error(f"This account cannot be placed in the crowd: {md(str(err))}. Fix it in the account builder.")
        return
    market_name, shock, depth, impact, params, fund, adl = market_controls(account.scenario, hiding)
    if hiding:
        notice()
        return
    view = live_view(account.scenario, account.scenario.markets[market_name], CrowdParams(**params),
                     shock / 100, depth * 1e6, impact, fund, adl)
    if view is None:  # a large crowd cancelled, or the server busy: the panel has said which
        return
    headline(view, market_name)
    pictures(view, market_name)
    tables(view)
    keep_in_url("cascade")  # a control reruns only this fragment: the address follows it
