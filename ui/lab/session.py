"""The price lab, the Streamlit side: its caches, its session keys, its fragments and the page
around them.

What a step reruns and redraws (each a fragment; :func:`lab_regions` computes what they show):

- a shock step: the live panel (:func:`live_panel`): the shock slider and its box, and one update
  of the page's live regions (``ui/shell/live_html.py``): the marks under every slider, the text and
  the two charts, changed in place in the browser;
- a market step: that market's fragment: its slider and box (so its twin follows) and one
  update of the live regions;
- the chart radio: the live panel (``st.rerun`` by its key); Reset, "Share this view", an
  account change: the page.

What a step computes (issue 28): every variant walks on and gets its column (the page shows each
way's positions, metrics and events), but only the variant the two charts draw gets its
equity-sharing pools; the shock sweeps are built for it, for "as built" (the shock's marks and
"what is happening") and for "collateral in USDT" where it is shown (its comparison), each held in
the session under one short key (:func:`sweep_key`, from the account's digest computed once per
account change), so a step that changes no variant's state asks no cache. A new session's first
step is the same for every session on one account, sliders, chart and theme: it is computed once
per server (:func:`shared_first_step`) and copied into each. The address is encoded only when
what it holds changes (``ui/shell/links.py``). Server CPU per step:
``tools/bench_step.py`` and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import copy
import hashlib
from html import escape
from typing import Any, Callable

import streamlit as st

from margin.numbers import price
from margin.presets import market_label
from margin.scenario import Scenario, ScenarioError
from margin.variants import USDT_COLLATERAL_LABEL
from margin.walk import Walk, scenario_now
from ui.common.text import md
from ui.lab import charts as lab_charts, marks as lab_marks
from ui.lab.html import LAB_CSS, lab_text_html
from ui.lab.model import (
    LabHistory, lab_variants, move_history, new_history, replay_history, target_prices, walk_state_key, waypoints_from_list,
    waypoints_to_list,
)
from ui.lab.orders import order_lines
from ui.lab.sliders import SHOCK_RANGE, VARIANTS, clamped, market_slider_range, price_format, strip_with_words
from ui.lab.sweep import SweepView, sweep_view
from ui.lab.words import account_warnings, lab_views, step_announcement, what_is_happening
from ui.shell.links import keep_in_url, share_link
from ui.shell.live_html import live_region, live_regions, region_name
from ui.shell.memory import CACHE_TTL
from ui.shell.state import Account, current_account, current_scenario, ensure_scenario
from ui.shell.widgets import bound_widget, current_value, slider_with_input, under_track

# Session keys (plain) and fragment keys of the lab, named once
HISTORY = "lab.history"  # the learner's path and the account three ways along it (LabHistory)
REPLAY = "lab.replay"  # a link's or lesson's path, walked when the next history starts
MARKET_STEP = "lab.market_step"  # set by a market's callback: the market whose step this run is
LIVE = "lab-live"  # the key of the live panel's fragment
ANNOUNCE = "announce"  # the live region that says what a step changed (aria-live polite)
ACCOUNT_DIGEST = "lab.account_digest"  # (the account's key text, its short digest): account_digest
SWEEPS = "lab.sweeps"  # {variant: (sweep key, SweepView)} of the last step: lab_sweeps

MARKET_INPUT_WIDTH = 150  # [px] a market's exact-price box
SHOCK_INPUT_WIDTH = 130  # [px] the shock's exact box
SHOCK_FINE_STEP = 0.1  # [%] the exact box's + and −: on a phone the slider moves about 1 % a pixel


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def cached_start(account_key: str, _scenario: Scenario) -> LabHistory:
    """:func:`new_history` once per account (sessions share it; it is never changed, only
    continued into new objects)."""
    return new_history(_scenario, account_key)


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def cached_sweep(sweep_key: str, label: str, _walk: Walk, _base: tuple[tuple[str, float], ...]) -> SweepView:
    """:func:`sweep_view` of one variant as it stands now, shared between sessions;
    ``sweep_key`` (:func:`sweep_key`) names the account, the variant's state (what is open, the
    wallet) and the sliders' prices in one short text, so the cache hashes one string."""
    return sweep_view(label, scenario_now(_walk), dict(_base))


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def cached_warnings(digest: str, _scenario: Scenario) -> list[str]:
    """:func:`ui.lab.words.account_warnings` once per account (``digest``: :func:`account_digest`):
    it walks the account from its positions' entries."""
    return account_warnings(_scenario)


def account_digest(account_key: str) -> str:
    """A short name of the account [hex] for the lab's cache keys: a digest of its canonical
    text, computed once per account change (held in the session), not hashed on every step."""
    held = st.session_state.get(ACCOUNT_DIGEST)
    if held is None or held[0] is not account_key:
        held = (account_key, hashlib.blake2b(account_key.encode(), digest_size=16).hexdigest())
        st.session_state[ACCOUNT_DIGEST] = held
    return held[1]


def sweep_key(digest: str, walk: Walk, base: tuple[tuple[str, float], ...]) -> str:
    """What one variant's sweep depends on (:func:`ui.lab.model.walk_state_key` and the
    sliders' prices), as one short text: exact (``repr`` of a float gives it back)."""
    text = repr((walk_state_key(digest, walk), base))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def lab_sweeps(digest: str, history: LabHistory, base: tuple[tuple[str, float], ...],
               labels: set[str]) -> dict[str, SweepView]:
    """The shock sweeps of the variants in ``labels`` (those the page shows something of), each
    held in the session under its key, so a step that changes no variant's state asks no cache."""
    held = st.session_state.get(SWEEPS) or {}
    sweeps, kept = {}, {}
    for label in labels:
        walk = history.walks[label]
        key = sweep_key(digest, walk, base)
        known = held.get(label)
        sweep = known[1] if known is not None and known[0] == key else cached_sweep(key, label, walk, base)
        sweeps[label], kept[label] = sweep, (key, sweep)
    st.session_state[SWEEPS] = kept
    return sweeps


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


def sweep_chart(key: str, sweep: SweepView, shock: float, dark: bool) -> str:
    """The shock-range chart for this account, slider prices and variant (``key``:
    :func:`sweep_key`): its fixed parts are built once per session and a shock step only
    redraws the current point. Held per session, so sessions never share it."""
    which = (key, sweep.label, dark)
    held = st.session_state.get("lab.sweep_parts")
    if held is None or held[0] != which:
        held = (which, lab_charts.sweep_html_parts(sweep, dark))
        st.session_state["lab.sweep_parts"] = held
    before, after, here = held[1]
    return before + here(shock) + after


def market_fragment_key(name: str) -> str:
    return f"lab-market-{name}"


def strip_region(name: str) -> str:
    """The live region of the marks under market ``name``'s slider."""
    return region_name("strip", name)


def lab_regions() -> dict[str, str] | None:
    """The HTML of every live region of the lab (``ui/shell/live_html.py``) for the sliders' values
    in the session: the marks under each slider, the text and the two charts. None when the
    account is invalid (the page says why). A session's first step is shared
    (:func:`shared_first_step`)."""
    ensure_scenario()
    try:
        account = current_account()
    except ScenarioError:
        return None
    ranges = {name: market_slider_range(market.price) for name, market in account.scenario.markets.items()}
    slider_prices = {name: float(current_value(f"lab.price.{name}", min_value=low, max_value=high,
                                               step=step, default=account.scenario.markets[name].price))
                     for name, (low, high, step) in ranges.items()}
    shock_percent = float(current_value("lab.shock", min_value=SHOCK_RANGE[0], max_value=SHOCK_RANGE[1],
                                        step=0.5, default=0.0))
    dark = getattr(st.context.theme, "type", None) == "dark"
    if any(name in st.session_state for name in FIRST_STEP_STATE + (REPLAY,)):
        return _step_regions(account, ranges, slider_prices, shock_percent, dark)
    # A new session (no path yet, no link's path waiting): its first step is the same for every
    # session on this account, sliders, chart and theme; computed once, its state copied in.
    step_key = repr((account_digest(account.key), tuple(slider_prices.items()), shock_percent,
                     st.session_state.get("lab.view", VARIANTS[0]), dark))
    regions, state = shared_first_step(
        step_key, lambda: _recorded_step(account, ranges, slider_prices, shock_percent, dark))
    for name, value in state.items():
        st.session_state[name] = copy.copy(value)  # shallow: the objects inside are never changed
    return dict(regions)


# What a step leaves in the session besides the digest (lab_history, lab_sweeps, sweep_chart)
FIRST_STEP_STATE = (HISTORY, "lab.path", SWEEPS, "lab.sweep_parts")


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def shared_first_step(step_key: str, _compute: Callable[[], tuple[dict[str, str], dict[str, Any]]]
                      ) -> tuple[dict[str, str], dict[str, Any]]:
    """A new session's first live regions and the session state that step leaves, once per
    ``step_key`` (the account's digest, the sliders, the chart's variant and the theme): a class
    opening the lab at once computes its first view once (issue 28: 60 first pages). Shared,
    never changed: each session gets copies of the containers."""
    return _compute()


def _recorded_step(account: Account, ranges: dict[str, tuple[float, float, float]], slider_prices: dict[str, float],
                   shock_percent: float, dark: bool) -> tuple[dict[str, str], dict[str, Any]]:
    """:func:`_step_regions` and the session state it left (:data:`FIRST_STEP_STATE`)."""
    regions = _step_regions(account, ranges, slider_prices, shock_percent, dark)
    return regions, {name: copy.copy(st.session_state[name]) for name in FIRST_STEP_STATE}


def _step_regions(account: Account, ranges: dict[str, tuple[float, float, float]], slider_prices: dict[str, float],
                  shock_percent: float, dark: bool) -> dict[str, str]:
    """:func:`lab_regions` for the session's path: walk it on to the sliders' values."""
    scenario = account.scenario
    shock = shock_percent / 100.0
    key = account.key
    base = tuple(slider_prices.items())
    before = st.session_state.get(HISTORY)
    history = move_history(lab_history(scenario, key), slider_prices, shock)
    st.session_state[HISTORY] = history
    st.session_state["lab.path"] = waypoints_to_list(history.waypoints)  # what a shared link carries
    chosen = st.session_state.get("lab.view", VARIANTS[0])
    chosen = chosen if chosen in history.walks else VARIANTS[0]
    # The drawn variant's full views; of the others what the page shows: their columns, the sweep
    # as built (the shock's marks, "what is happening") and the USDT twin's (its comparison).
    views = lab_views(history, drawn=chosen)
    digest = account_digest(key)
    shown = {chosen, VARIANTS[0]} | ({USDT_COLLATERAL_LABEL} & set(history.walks))
    sweeps = lab_sweeps(digest, history, base, shown)
    target = target_prices(scenario, slider_prices, shock)
    built = views["As built"]
    theme = " ml-dark" if dark else ""
    pools = views[chosen].pools
    sweep_words = (f"{lab_charts.sweep_takeaway(sweeps[chosen], shock)} Each point of this chart is the account as it "
                   f"stands now (the positions still open, no trade added or closed) at that shock; the lists above follow your "
                   f"own path, so a liquidation on the way stays happened.")
    orders = order_lines(built.walk, built.positions)  # where each stop sits, as built
    regions = {
        "strip.shock": under_track(strip_with_words(*lab_marks.shock_strip(sweeps["As built"], shock, *SHOCK_RANGE)),
                                   SHOCK_INPUT_WIDTH),
        "text": lab_text_html(views, what_is_happening(views, sweeps, shock, history), dark=dark,
                              lead=lab_marks.map_takeaway(built.positions), orders=[o.text for o in orders]),
        "pictures": (f'<div class="ml-lab ml-pictures{theme}"><div class="ml-charts">'
                     f'<div>{lab_charts.waterfall_html(pools, chosen)}'
                     f'<p class="ml-small">{escape(lab_charts.waterfall_takeaway(pools))}</p></div>'
                     f'<div>{sweep_chart(st.session_state[SWEEPS][chosen][0], sweeps[chosen], shock, dark)}'
                     f'<p class="ml-small">{escape(sweep_words)}</p></div></div></div>'),
    }
    said = step_announcement(before, history, built, slider_prices)
    if said:  # unchanged otherwise: a polite live region speaks when its text changes
        regions[ANNOUNCE] = f"<p>{escape(said)}</p>"
    for name, (low, high, _) in ranges.items():
        marks = strip_with_words(*lab_marks.price_strip(name, low, high, target[name], built.positions, orders))
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
        input_step=SHOCK_FINE_STEP,
        help=f"Every market moves by the shock times its beta ({betas}), on top of its slider.",
    )
    live_region("strip.shock")
    # what a step changed, said by a screen reader after the slider's value (role status: polite)
    st.html(f'<div data-live-region="{ANNOUNCE}" role="status" aria-live="polite" aria-atomic="true" '
            f'class="ml-announce"></div>')
    with updates_slot:
        update_regions(key="lab.live")


def lab_page(scenario: Scenario) -> None:
    """The page around the live panel: the markets' sliders, the buttons and the radio, each
    rerunning only what it changes."""
    for warning in cached_warnings(account_digest(current_account().key), scenario):
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
    ways = lab_variants(scenario)
    if st.session_state.get("lab.view") not in ways:  # "collateral in USDT" chosen on another account
        st.session_state["lab.view"] = VARIANTS[0]
    bound_widget(st.radio, "Show the two charts below for", "lab.view", VARIANTS[0],
                 options=list(ways), horizontal=True, rerun=(LIVE,))
    live_region("pictures")
    updates_slot = st.empty()
    with head[0]:
        live_panel(updates_slot)
