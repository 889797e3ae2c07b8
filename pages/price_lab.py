"""Price lab: drag prices and watch one account as built, all cross and all isolated, live.

Session keys (plain keys: a lesson or a link sets them, then switches to this page):

- ``"lab.shock"``: whole-market shock [%], -90 to +90. The target price of every market is its
  slider price × (1 + beta × shock / 100), floored at 0.1 % of the slider price.
- ``"lab.price.<MARKET>"``: the market's slider price [USDT], 20 % to 180 % of the account's own
  price (e.g. ``"lab.price.SOLUSDT"``).
- ``"lab.view"``: the variant the two charts at the bottom show: ``"As built"``,
  ``"All cross"`` or ``"All isolated"``.
- ``"lab.anchor"``: the account prices the sliders were last set against. When the account's
  price of a market changes, that market's slider restarts at the new price. To load a new
  account *and* its slider prices in one go, set both and pop ``"lab.anchor"``.

Path semantics: the account walks a straight path of equal steps from its own prices to the
targets through the engine's ``simulate`` (see ``ui/lab_model.py``), so liquidations on the way
happen and stay happened. Everything the sliders drive is one fragment: a slider step reruns
only this panel, and the shock sweep is cached per account and slider prices.
"""

from __future__ import annotations

import math

import streamlit as st

from margin.scenario import Scenario, ScenarioError
from ui import charts_lab as charts
from ui.format import money, percent, price
from ui.lab_model import (
    PositionView, VariantView, account_warnings, cached_sweeps, cached_views, market_label,
    scenario_key, target_prices, what_is_happening,
)
from ui.state import current_scenario, ensure_scenario
from ui.widgets import bound_widget, slider_with_input
from ui.frame import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

try:
    from ui.links import share_link
except ImportError:  # the shared-links module is optional
    share_link = None

VARIANTS = ("As built", "All cross", "All isolated")
VARIANT_NOTES = {
    "As built": "The account as you built it.",
    "All cross": "Every position shares one wallet.",
    "All isolated": "Each position stands on its own margin.",
}
STATUS_BADGES = {
    "healthy": ":blue[:material/check_circle: healthy]",
    "at risk": ":orange[:material/warning: at risk]",
    "liquidated": ":red[:material/cancel: liquidated]",
    "bankrupt": ":violet[:material/dangerous: bankrupt]",
}
CHART_CONFIG = {"displaylogo": False}

st.session_state.setdefault("lab.shock", 0.0)
st.session_state.setdefault("lab.view", VARIANTS[0])


def price_step(value: float) -> float:
    """A round slider step of about 0.1 % of ``value`` [USDT]."""
    return 10.0 ** math.floor(math.log10(value / 1000.0))


def price_format(step: float) -> str:
    return f"%.{max(0, -int(round(math.log10(step))))}f"


def sync_anchor(scenario: Scenario) -> None:
    """Restart a market's slider at the account's price when that price changes."""
    anchor = {name: market.price for name, market in scenario.markets.items()}
    previous = st.session_state.get("lab.anchor")
    if previous is not None:
        for name, value in anchor.items():
            if previous.get(name) != value:
                st.session_state[f"lab.price.{name}"] = value
    st.session_state["lab.anchor"] = anchor


def reset_prices(prices: dict[str, float]) -> None:
    for name, value in prices.items():
        st.session_state[f"lab.price.{name}"] = value
    st.session_state["lab.shock"] = 0.0


def position_line(p: PositionView) -> str:
    head = f"- **{p.label}** · {p.mode} · {STATUS_BADGES[p.status]}"
    if p.size <= 0:
        detail = f"closed at {price(p.closed_at)} USDT ({money(p.realized_pnl, signed=True)} realized)"
    elif p.distance is None:
        detail = (f"PnL {money(p.unrealized_pnl, signed=True)}; no {market_label(p.market)} price "
                  f"alone liquidates it")
    else:
        detail = (f"PnL {money(p.unrealized_pnl, signed=True)}; liquidated "
                  f"{percent(abs(p.distance))} {'lower' if p.distance < 0 else 'higher'}, at "
                  f"{price(p.liquidation_price)} USDT")
    if p.partly_closed:
        detail += "; partly liquidated on the way"
    return f"{head}  \n  {detail}"


def variant_metrics(view: VariantView) -> None:
    st.markdown(f"##### {view.label}")
    st.caption(VARIANT_NOTES[view.label])
    # No delta: a change "since the start" mixes price moves with liquidations, and a loss
    # beyond margin paid by the insurance fund would read as a gain for the trader.
    st.metric("Equity", money(view.total_equity), border=True,
              help="Cross pool equity plus the equity of every open isolated position [USDT]. "
                   "A liquidated isolated position counts 0: its loss stops at its margin, and any "
                   "loss beyond that is the insurance fund's.")
    st.metric("Cross pool equity", money(view.cross_equity), border=True,
              help="The shared pool: cross wallet plus the PnL of the open cross positions [USDT]. "
                   "Isolated margins are walled off from it.")
    st.metric("Maintenance margin", money(view.total_maintenance), border=True,
              help="What the open positions must keep; a pool whose equity falls to it is liquidated [USDT].")


@st.fragment
def lab_panel() -> None:
    raw = ensure_scenario()
    try:
        scenario = current_scenario()
    except ScenarioError as err:
        st.error(f"This account cannot be shown: {err}. Fix it in the account builder.")
        return
    sync_anchor(scenario)
    own_prices = scenario.prices

    ranges: dict[str, tuple[float, float]] = {}
    slots: dict[str, tuple] = {}
    with st.container(border=True):
        head = st.columns([8, 2, 3] if share_link is not None else [5, 1], vertical_alignment="bottom")
        with head[0]:
            betas = ", ".join(f"{market_label(n)} ×{m.beta:g}" for n, m in scenario.markets.items())
            slider_with_input(
                "Whole-market shock [%]", "lab.shock", min_value=-90.0, max_value=90.0, step=0.5,
                default=0.0, format="%.1f", input_label="Shock, exact [%]", columns=(3, 1),
                help=f"Every market moves by the shock times its beta ({betas}), on top of its slider.",
            )
        with head[1]:
            st.button("Reset", icon=":material/restart_alt:", key="lab.reset", help="Back to the account's own prices, no shock.",
                      on_click=reset_prices, args=(own_prices,), width="stretch")
        if share_link is not None:
            with head[2]:
                share_link("lab", key="lab.share")  # in the fragment, so the link follows the sliders
        with st.columns([8, 5] if share_link is not None else [5, 1])[0]:
            slots["shock"] = (st.columns([3, 1])[0].empty(), st.empty())
        columns = st.columns(2)
        for index, (name, market) in enumerate(scenario.markets.items()):
            step = price_step(market.price)
            digits = max(0, -int(round(math.log10(step))))
            low = round(round(market.price * 0.2 / step) * step, digits)
            high = round(round(market.price * 1.8 / step) * step, digits)
            ranges[name] = (low, high)
            with columns[index % 2]:
                slider_with_input(
                    f"{market_label(name)} price [USDT]", f"lab.price.{name}",
                    min_value=low, max_value=high, step=step,
                    default=market.price, format=price_format(step), columns=(3, 2),
                    input_label=f"{market_label(name)} exact [USDT]",
                    help=f"The account's own price is {price(market.price)} USDT. Marks under the "
                         f"slider: ● after the shock, ✕ liquidation, ◆ bankruptcy, ▼ closed on the way.",
                )
                slots[name] = (st.columns([3, 2])[0].empty(), st.empty())

    slider_prices = {name: float(st.session_state[f"lab.price.{name}"]) for name in scenario.markets}
    shock = float(st.session_state["lab.shock"]) / 100.0
    key = scenario_key(raw)
    base = tuple(slider_prices.items())
    views = cached_views(key, base, shock)
    sweeps = cached_sweeps(key, base)
    target = target_prices(scenario, slider_prices, shock)
    built = views["As built"]

    strip, words = charts.shock_strip(sweeps["As built"], shock, -90.0, 90.0)
    slots["shock"][0].html(strip)
    slots["shock"][1].caption(words)
    for name, (low, high) in ranges.items():
        strip, words = charts.price_strip(name, low, high, target[name], built.positions)
        slots[name][0].html(strip)
        slots[name][1].caption(words)
    st.caption(charts.map_takeaway(built.positions))

    with st.container(border=True):
        st.markdown("**:material/lightbulb: What is happening**")
        st.markdown("\n".join(f"- {line}" for line in what_is_happening(views, sweeps, shock)))

    st.subheader("The same account three ways")
    for column, view in zip(st.columns(3), views.values()):
        with column:
            variant_metrics(view)
    for column, view in zip(st.columns(3), views.values()):
        with column:
            st.html(charts.gauge_html(view.risk_ratio, view.risk_pool))
            st.caption(charts.gauge_takeaway(view.risk_ratio, view.risk_pool))
    for column, view in zip(st.columns(3), views.values()):
        with column:
            st.markdown(f"**Positions, {view.label.lower()}**")
            box = st.container(height=460) if len(view.positions) > 6 else st.container()
            box.markdown("\n".join(position_line(p) for p in view.positions) or "No positions.")
    for column, view in zip(st.columns(3), views.values()):
        with column:
            st.markdown(f"**What happened on the way, {view.label.lower()}**")
            if view.events:
                box = st.container(height=320) if len(view.events) > 5 else st.container()
                box.markdown("\n".join(f"{i}. {text}" for i, text in enumerate(view.events, 1)))
            else:
                st.markdown("Nothing was liquidated on the way.")

    st.subheader("Equity sharing and the whole shock range")
    chosen = bound_widget(st.radio, "Show the two charts below for", "lab.view", VARIANTS[0],
                          options=list(VARIANTS), horizontal=True)
    chosen = chosen if chosen in views else VARIANTS[0]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.waterfall_figure(views[chosen].pools, chosen), key="lab.waterfall",
                        width="stretch", config=CHART_CONFIG)
        st.caption(charts.waterfall_takeaway(views[chosen].pools))
    with right:
        st.plotly_chart(charts.shock_sweep_figure(sweeps[chosen], shock), key="lab.sweep",
                        width="stretch", config=CHART_CONFIG)
        st.caption(charts.sweep_takeaway(sweeps[chosen], shock))
    st.caption("Each point of the shock chart is the account held unchanged at that shock; the lists "
               "above walk a straight path from the account's own prices to the sliders' prices, so "
               "a liquidation on the way stays happened.")


st.title("Price lab")
try:
    for warning in account_warnings(current_scenario()):
        st.warning(warning, icon=":material/warning:")
except ScenarioError:
    pass  # the panel says what is wrong
st.caption("Drag the whole market or one market's price. The account walks there step by step from "
           "its own prices; every number below is in USDT.")
lab_panel()
