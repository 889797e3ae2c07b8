"""Price lab: drag prices and watch one account as built, all cross and all isolated, live.

Session keys (plain keys: a lesson or a link sets them, then switches to this page):

- ``"lab.shock"``: whole-market shock [%], -90 to +90. The target price of every market is its
  slider price × (1 + beta × shock / 100), never below 1 % of the slider price.
- ``"lab.price.<MARKET>"``: the market's slider price [USDT], 20 % to 180 % of the account's own
  price (e.g. ``"lab.price.SOLUSDT"``).
- ``"lab.view"``: the variant the two charts at the bottom show: ``"As built"``,
  ``"All cross"`` or ``"All isolated"``.
- ``"lab.anchor"``: the account prices the sliders were last set against. When the account's
  price of a market changes, that market's slider restarts at the new price. To load a new
  account *and* its slider prices in one go, set both and pop ``"lab.anchor"``.

Path semantics: the account follows the learner's own path (``"lab.history"``, see
``ui/views/lab.py``): every step walks on from the last prices, so a liquidation on the way
stays happened until Reset (or a new account); ``"lab.path"`` holds the path's turns for a
shared link. The shock sweep is cached per account state and slider prices.

What a step reruns and redraws (each a fragment; ``lab_regions`` computes what they show):

- a shock step: the live panel (``live_panel``): the shock slider and its box, and one update
  of the page's live regions (``ui/pictures/live_html.py``): the marks under every slider, the text and
  the two charts, changed in place in the browser;
- a market step: that market's fragment: its slider and box (so its twin follows) and one
  update of the live regions;
- the chart radio: the live panel (``st.rerun`` by its key); Reset, "Share this view", an
  account change: the page.
"""

from __future__ import annotations

import math
from html import escape

import streamlit as st

from margin.scenario import Scenario, ScenarioError
from ui.pictures import lab_charts, lab_marks
from margin.numbers import price
from ui.pictures.lab_html import LAB_CSS, lab_text_html
from ui.session.links import keep_in_url, page_file, share_link
from ui.session.welcome import welcome
from ui.pictures.live_html import live_region, live_regions, region_name
from ui.views.lab import (
    LabHistory, Waypoint, cached_start, cached_sweep, move_history, replay_history, target_prices, walk_state_key, waypoints_from_list, waypoints_to_list,
)
from ui.views.lab_words import account_warnings, lab_views, what_is_happening
from margin.presets import market_label
from ui.session.text import md
from ui.session.state import current_account, current_scenario, ensure_scenario
from ui.session.widgets import bound_widget, current_value, slider_with_input, under_track
from ui.session.deep_links import inside_app_frame
from ui.session.lesson_panel import account_facts, hidden_notice, lesson_panel, prediction_open

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

VARIANTS = ("As built", "All cross", "All isolated")
SHOCK_RANGE = (-90.0, 90.0)  # [%]

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


HISTORY = "lab.history"  # the learner's path and the account three ways along it (LabHistory)
REPLAY = "lab.replay"  # a link's or lesson's path, walked when the next history starts


def reset_prices(prices: dict[str, float]) -> None:
    """Back to the account's own prices with a fresh path: what the path closed opens again."""
    for name, value in prices.items():
        st.session_state[f"lab.price.{name}"] = value
    st.session_state["lab.shock"] = 0.0
    st.session_state.pop(HISTORY, None)


def lab_history(scenario: Scenario, key: str) -> LabHistory:
    """The session's path for this account; a new one (walked from the positions' entries to
    today's prices, then along a link's path if one waits) when the account changed."""
    history = st.session_state.get(HISTORY)
    if history is None or history.account_key != key:
        history = cached_start(key, scenario)
        replay = st.session_state.pop(REPLAY, None)
        if replay:
            history = replay_history(history, [clamped(scenario, point) for point in waypoints_from_list(replay)])
    return history


def clamped(scenario: Scenario, point: Waypoint) -> Waypoint:
    """A link's turn within the sliders' ranges (a market the account lacks is dropped)."""
    prices = []
    for name, market in scenario.markets.items():
        low, high, _ = market_slider_range(market.price)
        value = point.price_map().get(name, market.price)
        prices.append((name, min(max(float(value), low), high)))
    shock = min(max(point.shock, SHOCK_RANGE[0] / 100.0), SHOCK_RANGE[1] / 100.0)
    return Waypoint(shock=shock, prices=tuple(prices))


def market_slider_range(market_price: float) -> tuple[float, float, float]:
    """A market slider's ``(low, high, step)``: 20 % to 180 % of its price, round steps [USDT]."""
    step = price_step(market_price)
    digits = max(0, -int(round(math.log10(step))))
    low = round(round(market_price * 0.2 / step) * step, digits)
    high = round(round(market_price * 1.8 / step) * step, digits)
    return low, high, step


def strip_with_words(strip: str, words: str) -> str:
    """A slider's strip of marks and, under it, the same marks in words."""
    return (strip + '<div style="font-size:0.8rem;opacity:0.8;margin:2px 8px 0 8px;line-height:1.35">'
            f"{escape(words)}</div>")


def sweep_chart(key: tuple, base: tuple, sweep, shock: float, dark: bool) -> str:
    """The shock-range chart for this account, slider prices and variant: its fixed parts are
    built once per session and a shock step only redraws the current point. Held per session,
    so sessions never share it."""
    which = (key, base, sweep.label, dark)
    held = st.session_state.get("lab.sweep_parts")
    if held is None or held[0] != which:
        held = (which, lab_charts.sweep_html_parts(sweep, dark))
        st.session_state["lab.sweep_parts"] = held
    before, after, here = held[1]
    return before + here(shock) + after


MARKET_INPUT_WIDTH = 150  # [px] a market's exact-price box
SHOCK_INPUT_WIDTH = 130  # [px] the shock's exact box
LIVE = "lab-live"  # the key of the live panel's fragment
MARKET_STEP = "lab.market_step"  # set by a market's callback: the market whose step this run is


def market_fragment_key(name: str) -> str:
    return f"lab-market-{name}"


def strip_region(name: str) -> str:
    """The live region of the marks under market ``name``'s slider."""
    return region_name("strip", name)


def lab_regions() -> dict[str, str] | None:
    """The HTML of every live region of the lab (``ui/pictures/live_html.py``) for the sliders' values
    in the session: the marks under each slider, the text and the two charts. None when the
    account is invalid (the page says why)."""
    ensure_scenario()
    try:
        account = current_account()
    except ScenarioError:
        return None
    scenario = account.scenario
    ranges = {name: market_slider_range(market.price) for name, market in scenario.markets.items()}
    slider_prices = {name: float(current_value(f"lab.price.{name}", min_value=low, max_value=high,
                                               step=step, default=scenario.markets[name].price))
                     for name, (low, high, step) in ranges.items()}
    shock_percent = float(current_value("lab.shock", min_value=SHOCK_RANGE[0], max_value=SHOCK_RANGE[1],
                                        step=0.5, default=0.0))
    shock = shock_percent / 100.0
    key = account.key
    base = tuple(slider_prices.items())
    history = move_history(lab_history(scenario, key), slider_prices, shock)
    st.session_state[HISTORY] = history
    st.session_state["lab.path"] = waypoints_to_list(history.waypoints)  # what a shared link carries
    views = lab_views(history)
    sweeps = {label: cached_sweep(walk_state_key(key, walk), label, walk, base)
              for label, walk in history.walks.items()}
    target = target_prices(scenario, slider_prices, shock)
    built = views["As built"]
    chosen = st.session_state.get("lab.view", VARIANTS[0])
    chosen = chosen if chosen in views else VARIANTS[0]

    dark = getattr(st.context.theme, "type", None) == "dark"
    theme = " ml-dark" if dark else ""
    pools = views[chosen].pools
    sweep_words = (f"{lab_charts.sweep_takeaway(sweeps[chosen], shock)} Each point of this chart is the account as it "
                   f"stands now (what is still open) held unchanged at that shock; the lists above follow your "
                   f"own path, so a liquidation on the way stays happened.")
    regions = {
        "strip.shock": under_track(strip_with_words(*lab_marks.shock_strip(sweeps["As built"], shock, *SHOCK_RANGE)),
                                   SHOCK_INPUT_WIDTH),
        "text": lab_text_html(views, what_is_happening(views, sweeps, shock, history), dark=dark,
                              lead=lab_marks.map_takeaway(built.positions)),
        "pictures": (f'<div class="ml-lab ml-pictures{theme}"><div class="ml-charts">'
                     f'<div>{lab_charts.waterfall_html(pools, chosen)}'
                     f'<p class="ml-small">{escape(lab_charts.waterfall_takeaway(pools))}</p></div>'
                     f'<div>{sweep_chart(walk_state_key(key, history.walks[chosen]), base, sweeps[chosen], shock, dark)}'
                     f'<p class="ml-small">{escape(sweep_words)}</p></div></div></div>'),
    }
    for name, (low, high, _) in ranges.items():
        marks = strip_with_words(*lab_marks.price_strip(name, low, high, target[name], built.positions))
        regions[strip_region(name)] = under_track(marks, MARKET_INPUT_WIDTH)
    return regions


def update_regions(key: str) -> None:
    """Send the lab's live regions as they are now (one component, hidden; key ``key``)."""
    regions = lab_regions()
    if regions is not None:
        live_regions(regions, key=key)
        keep_in_url("lab")  # a step reruns only a fragment: the address follows it (a reload keeps it)


def mark_market_step(name: str) -> None:
    st.session_state[MARKET_STEP] = name


def market_slider(name: str, market_price: float) -> None:
    """One market's slider and its exact-price box, as a fragment of their own. A step reruns
    only this fragment: the pair (so its twin follows) and, since the step is this market's,
    one update of the lab's live regions. No other control is sent again."""
    low, high, step = market_slider_range(market_price)
    slider_with_input(
        f"{md(market_label(name))} price [USDT]", f"lab.price.{name}",
        min_value=low, max_value=high, step=step,
        default=market_price, format=price_format(step), input_width=MARKET_INPUT_WIDTH,
        input_label=f"{md(market_label(name))} exact [USDT]",
        help=f"The account's own price is {price(market_price)} USDT. Marks under the "
             f"slider: ● after the shock, ✕ liquidation, ◆ bankruptcy, ▼ closed on the way.",
        on_change=mark_market_step, on_change_args=(name,),
    )
    if st.session_state.get(MARKET_STEP) == name:
        del st.session_state[MARKET_STEP]
        update_regions(key=f"lab.live.{name}")


@st.fragment(key=LIVE)
def live_panel(updates_slot) -> None:
    """The shock slider (drawn here, in the page's top-left cell) and one update of the lab's
    live regions into ``updates_slot``. A shock step reruns only this; the chart radio reruns
    it by its key."""
    try:
        scenario = current_scenario()
    except ScenarioError:
        return  # the page says what is wrong
    betas = ", ".join(f"{md(market_label(n))} ×{m.beta:g}" for n, m in scenario.markets.items())
    slider_with_input(
        "Whole-market shock [%]", "lab.shock", min_value=SHOCK_RANGE[0], max_value=SHOCK_RANGE[1],
        step=0.5, default=0.0, format="%.1f", input_label="Shock, exact [%]", input_width=SHOCK_INPUT_WIDTH,
        help=f"Every market moves by the shock times its beta ({betas}), on top of its slider.",
    )
    live_region("strip.shock")
    with updates_slot:
        update_regions(key="lab.live")


def lab_page() -> None:
    """The page around the live panel: the markets' sliders, the buttons and the radio, each
    rerunning only what it changes."""
    ensure_scenario()
    try:
        scenario = current_scenario()
    except ScenarioError as err:
        st.error(f"This account cannot be shown: {md(err)}. Fix it in the account builder.")
        return
    lesson_panel("lab")
    if prediction_open("lab"):
        hidden_notice("The sliders, the account's liquidation prices and what happens to it")
        account_facts(ensure_scenario())
        return
    for warning in account_warnings(scenario):
        st.warning(md(warning), icon=":material/warning:")
    st.caption("Drag the whole market or one market's price. The account walks there step by step from "
               "its own prices; every number below is in USDT.")
    st.html(LAB_CSS)  # the style of the lab's text, sent once per page run (not per slider step)
    sync_anchor(scenario)
    with st.container(border=True):
        head = st.columns([8, 2, 3], vertical_alignment="top")
        with head[1]:
            st.button("Reset", icon=":material/restart_alt:", key="lab.reset",
                      help="Back to the account's own prices, no shock, and a fresh path: what your "
                           "moves liquidated opens again.",
                      on_click=reset_prices, args=(scenario.prices,), width="stretch")
        with head[2]:
            # Opening it reruns the app, so the link holds the sliders as they are then.
            share_link("lab", key="lab.share", lazy=True)
        columns = st.columns(2)
        for index, (name, market) in enumerate(scenario.markets.items()):
            with columns[index % 2]:
                st.fragment(market_slider, key=market_fragment_key(name))(name, market.price)
                live_region(strip_region(name))
    live_region("text")
    st.subheader("Equity sharing and the whole shock range")
    bound_widget(st.radio, "Show the two charts below for", "lab.view", VARIANTS[0],
                 options=list(VARIANTS), horizontal=True, rerun=(LIVE,))
    live_region("pictures")
    updates_slot = st.empty()
    with head[0]:
        live_panel(updates_slot)


st.title("Price lab")
welcome(page_file("learn"))
lab_page()
