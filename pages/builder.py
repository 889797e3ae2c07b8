"""Account builder: positions in an editable table, the wallet, venue and story presets, files.

Session keys:

- ``"builder.draft"``: the account being edited (a scenario dict). It becomes the session's
  account (``"scenario"``, see ``ui/shell/state.py``) whenever it validates; while it does not, it is
  kept exactly as typed and the problem is shown in words.
- ``"builder.synced"``: the account revision the draft was last in step with. When the account
  is changed elsewhere (a lesson, a link, an upload), the draft restarts from it.
- ``"builder.version"``: bumps whenever the draft changes other than by typing in its tables
  (presets, buttons, uploads), so the tables restart from the new draft.
- ``"builder.base"``: the draft the tables started from (their edits are applied on top).
- ``"builder.story_text.<version>"``: the story text area; the account's own story (plain text,
  the scenario's ``story`` field). A story still a preset's while the account has changed away
  from that preset is said to be so, with a button to clear it.
- ``"builder.orders.<version>"``: the stop orders table (each position's stop-loss, take-profit, slippage).
- ``"builder.collateral.<version>"``: the collateral table (coins beside the USDT balance).
- ``"builder.story"``, ``"builder.venue"``: the preset pickers; ``"builder.pick"``: the position
  the duplicate and remove buttons act on; ``"builder.upload"``: the file uploader;
  ``"builder.import_files"``, ``"builder.import_paste"``, ``"builder.import"``: an exchange
  export's files, its pasted text and the button that imports them.
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import json

import streamlit as st

from margin.imports import MAX_IMPORT_BYTES
from margin.presets import load_story, load_venue, market_defaults, market_label, story_ids, venue_ids
from ui.builder.collateral import collateral_frame, rows_to_collateral, with_collateral
from ui.builder.model import (
    add_market, add_position, duplicate_position, markets_frame, positions_frame, remove_market, remove_position,
    rows_to_positions, set_market_values, slug, with_positions,
)
from ui.builder.orders import orders_frame, with_orders
from ui.builder.session import (
    act, apply_venue_preset, commit, draft_status, import_exchange, load_story_preset, read_upload, story_warning,
    synced_draft,
)
from ui.learn.session import lesson_waiting
from ui.shell.deep_links import inside_app_frame
from ui.shell.links import share_link
from ui.shell.sidebar import venue_name
from ui.shell.state import ensure_scenario
from ui.shell.reported import exchange_beside_lab

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

base, draft, version = synced_draft()
positions_key, markets_key = f"builder.positions.{version}", f"builder.markets.{version}"

st.title("Account builder")
st.caption("Build the account the price lab shows: a wallet and leveraged positions in one or more "
           "markets. Every change that makes a valid account is used at once.")

# ----------------------------------------------------------------------------- presets

story_col, load_col, venue_col = st.columns([4, 2, 4], vertical_alignment="bottom")
with story_col:
    ids = story_ids()
    st.session_state.setdefault("builder.story", ids[0])
    st.selectbox("Story preset", ids, key="builder.story", format_func=lambda s: load_story(s)["name"],
                 help="Each preset account tells one story about cross and isolated margin.")
with load_col:
    st.button("Load this story", icon=":material/auto_stories:", on_click=load_story_preset,
              key="builder.load", width="stretch")
with venue_col:
    venues = venue_ids()
    current_venue = draft.get("venue")
    st.session_state["builder.venue"] = current_venue if current_venue in venues else None
    summary = load_venue(current_venue)["summary"] if current_venue in venues else "Rules set by the file."
    st.selectbox("Venue preset", venues, key="builder.venue", placeholder="Custom rules",
                 format_func=venue_name, on_change=apply_venue_preset,
                 help=f"Sets the liquidation rules and every market's maintenance tiers. Now: {summary}")
chosen = load_story(st.session_state["builder.story"])
waiting = lesson_waiting()  # a story tells what happens: it waits with the lesson's answer, as in the sidebar
st.caption(f"**{chosen['name']}**, the preset that *Load this story* loads"
           + (": its story is shown once you have checked your prediction on the lesson." if waiting else
              ": " + chosen.get("story", "").replace("$", "\\$")))  # preset text from assets/, not the learner's

# ----------------------------------------------------------------------------- the account

st.subheader("Wallet and positions")
name_col, balance_col = st.columns([3, 2])
with name_col:
    name = st.text_input("Account name", value=str(base.get("name", "")), key=f"builder.name.{version}")
with balance_col:
    balance = st.number_input("Wallet balance [USDT]", value=float(base.get("balance") or 0.0), min_value=0.0,
                              step=100.0, format="%.2f", key=f"builder.balance.{version}",
                              help="Before unrealized PnL. Isolated margins are taken out of it; the rest is the cross wallet.")

market_names = list((base.get("markets") or {}).keys())
# Float columns take decimals as typed (an integer column would store 0.5 as 5); "%,g" shows
# every digit that was stored (a fixed "%.2f" would show 0.0015 BTC as 0.00) with thousands
# separated; a missing value (a cross position's margin) is a blank cell, not "None".
EXACT = "%,g"
edited = st.data_editor(
    positions_frame(base), key=positions_key, num_rows="dynamic", width="stretch", hide_index=True,
    placeholder="",
    column_config={
        "id": st.column_config.TextColumn("Name", help="A short unique name; left blank, one is made up."),
        "market": st.column_config.SelectboxColumn("Market", options=market_names, required=True,
                                                   default=market_names[0] if market_names else None),
        "side": st.column_config.SelectboxColumn("Side", options=["long", "short"], required=True,
                                                 default="long"),
        "size": st.column_config.NumberColumn("Size [coins]", help="Base units, e.g. 0.5 BTC.", format=EXACT),
        "entry": st.column_config.NumberColumn("Entry [USDT]", format=EXACT, help="Entry price."),
        "leverage": st.column_config.NumberColumn("Leverage", format="%g×", default=10.0,
                                                  help="Sets initial margin = size × entry / leverage."),
        "mode": st.column_config.SelectboxColumn("Mode", options=["cross", "isolated"], required=True,
                                                 default="cross", help="Margin mode."),
        "margin": st.column_config.NumberColumn("Margin [USDT]", format=EXACT,
                                                help="Isolated margin, for isolated positions only; blank = size × entry / leverage."),
    },
)
st.caption("Add a row at the bottom of the table, delete rows by selecting them (left edge) and pressing Delete, or use the buttons below. "
           "Cross positions share the cross wallet; an isolated position can lose only its own margin.")
status_slot = st.container()  # the draft's verdict goes here, next to the table
st.markdown("**Stop orders**: each position's stop-loss and take-profit, checked against its liquidation below.")
edited_orders = st.data_editor(
    orders_frame(base), key=f"builder.orders.{version}", num_rows="fixed", width="stretch", hide_index=True,
    disabled=["id"], placeholder="",
    column_config={
        "id": st.column_config.TextColumn("Position", pinned=True),
        "stop_loss": st.column_config.NumberColumn(
            "Stop-loss [USDT]", format=EXACT,
            help="Closes the whole position when the mark reaches it: below the entry for a long, above for a "
                 "short. Blank: none."),
        "take_profit": st.column_config.NumberColumn(
            "Take-profit [USDT]", format=EXACT,
            help="Closes the whole position when the mark reaches it: above the entry for a long, below for a "
                 "short. Blank: none."),
        "stop_slippage": st.column_config.NumberColumn(
            "Stop slippage [%]", format=EXACT, min_value=0.0,
            help="How much worse than the price a stop fills when a crash gaps past it (the lab's own walk "
                 "fills it at its trigger). Blank: 0."),
    },
)
candidate = with_positions(base, with_orders(rows_to_positions(edited.to_dict("records")),
                                             edited_orders.to_dict("records")))
candidate["name"] = name
candidate["balance"] = float(balance)

pick_col, dup_col, remove_col, add_col = st.columns([4, 2, 2, 2], vertical_alignment="bottom")
labels = [f"{i + 1} · {p.get('id')}" for i, p in enumerate(draft.get("positions", []))]
with pick_col:
    picked = st.selectbox("Position", range(len(labels)), format_func=lambda i: labels[i], key="builder.pick",
                          disabled=not labels, placeholder="No positions")
with dup_col:
    st.button("Duplicate", icon=":material/content_copy:", key="builder.duplicate", width="stretch",
              disabled=picked is None, on_click=act, args=(duplicate_position, picked or 0))
with remove_col:
    st.button("Remove", icon=":material/delete:", key="builder.remove", width="stretch",
              disabled=picked is None, on_click=act, args=(remove_position, picked or 0))
with add_col:
    st.button("Add position", icon=":material/add:", key="builder.add", width="stretch",
              on_click=act, args=(add_position,))

# ----------------------------------------------------------------------------- the story

story_key = f"builder.story_text.{version}"
story_note = st.container()  # filled once the whole account is known (positions, wallet, prices)
if waiting:
    story = str(base.get("story") or "")  # kept as it is, not shown
    story_note.caption(":material/hourglass_top: The story of this account waits until you have checked your "
                       "prediction on the lesson.")
else:
    story = st.text_area(
        "Story of this account", value=str(base.get("story") or ""), key=story_key, height=120, max_chars=3000,
        placeholder="What this account shows, in your own words.",
        help="Plain text, shown exactly as typed (in the sidebar too, never as formatting). It is kept in the "
             "account's story field and in the scenario file you download.")

# ----------------------------------------------------------------------------- markets

st.subheader("Markets")
edited_markets = st.data_editor(
    markets_frame(base), key=markets_key, num_rows="fixed", width="stretch", hide_index=True,
    disabled=["market", "tiers"], placeholder="",
    column_config={
        "market": st.column_config.TextColumn("Market", pinned=True),  # in sight when a phone scrolls the table
        "price": st.column_config.NumberColumn("Mark price [USDT]", format=EXACT,
                                               help="The account's current mark price; the price lab starts here."),
        "beta": st.column_config.NumberColumn("Beta [×]", format="%g", width="small",
                                              help="How far it moves in a whole-market shock, relative to BTC."),
        "funding": st.column_config.NumberColumn(
            "Funding [%]", format=EXACT, min_value=-5.0, max_value=5.0, width="small",
            help="The funding rate per funding interval [%]: paid by longs to shorts at every funding time "
                 "when positive (received when negative), on the position's value at the mark; charged along a crash in the crash replay and in the stress lab. "
                 "0.01 is the usual rate of Binance's 8-hour interval."),
        "contract_value": st.column_config.NumberColumn(
            "Inverse [USD]", format=EXACT, min_value=0.0, width="small",
            help="Blank: a linear market, margined and settled in USDT. A number: an inverse (coin-margined) market, "
                 "e.g. BTCUSD, whose contracts are each worth that many USD (1 on Bybit, 100 for Binance COIN-M BTC); "
                 "sizes are then in contracts, margin and PnL in the coin, which a collateral row of that coin holds."),
        "tiers": st.column_config.TextColumn("Maintenance margin rate [%]", help="From the venue preset, by notional tier."),
    },
)
candidate = set_market_values(candidate, edited_markets.to_dict("records"))
if story.strip():
    candidate["story"] = story
else:
    candidate.pop("story", None)
addable = [n for n in market_defaults()["markets"] if n not in (candidate.get("markets") or {})]
add_m, add_b, rem_m, rem_b = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
with add_m:
    new_market = st.selectbox("Market to add", addable, key="builder.new_market", disabled=not addable,
                              format_func=lambda n: f"{market_label(n)} ({n})", placeholder="All markets added")
with add_b:
    st.button("Add market", icon=":material/add_chart:", key="builder.add_market", width="stretch",
              disabled=not new_market, on_click=act, args=(add_market, new_market))
with rem_m:
    old_market = st.selectbox("Market to remove", list(candidate.get("markets") or {}), key="builder.old_market",
                              format_func=lambda n: f"{market_label(n)} ({n})")
with rem_b:
    st.button("Remove market", icon=":material/remove:", key="builder.remove_market", width="stretch",
              disabled=not old_market, on_click=act, args=(remove_market, old_market))

st.subheader("Collateral other than USDT")
st.caption("Coins in the wallet beside the USDT balance. Each counts in the cross pool at its market's price "
           "less its haircut, so it falls when that market falls; a coin an inverse market settles in is that "
           "market's wallet instead (no haircut).")
edited_collateral = st.data_editor(
    collateral_frame(base), key=f"builder.collateral.{version}", num_rows="dynamic", width="stretch",
    hide_index=True, placeholder="",
    column_config={
        "asset": st.column_config.TextColumn("Asset", help="The coin's name, e.g. BTC (not USDT: that is the balance)."),
        "amount": st.column_config.NumberColumn("Amount [coins]", format=EXACT, min_value=0.0),
        "market": st.column_config.SelectboxColumn("Priced by market", options=list(candidate.get("markets") or {}),
                                                   help="The market whose price values it: the sliders and crashes move it."),
        "haircut": st.column_config.NumberColumn("Haircut [%]", format=EXACT, min_value=0.0, max_value=100.0,
                                                 help="The share of its value the venue does not count. Blank: 0."),
    },
)
candidate = with_collateral(candidate, rows_to_collateral(edited_collateral.to_dict("records")))

# ----------------------------------------------------------------------------- files

st.subheader("Save or load a file")
download_col, upload_col = st.columns(2)
with download_col:
    account = ensure_scenario()
    st.download_button("Download this account (JSON)", data=json.dumps(account, indent=2),
                       file_name=f"{slug(str(account.get('name', 'account')))}.json", mime="application/json",
                       icon=":material/download:", key="builder.download", on_click="ignore",
                       help="The account in use (the last valid version of the draft).")
    st.caption("The scenario file format is the one `python -m margin` reads.")
    share_link("builder", key="builder.share")
with upload_col:
    st.file_uploader("Upload a scenario file (JSON, at most 1 MB)", type=["json"], key="builder.upload",
                     max_upload_size=1, on_change=read_upload)

st.subheader("Import your exchange account")
st.caption("What your exchange returns for your positions and balance, as JSON: Binance USDS-M "
           "`positionRisk` and `account`, Bybit v5 `position/list` and `wallet-balance`, OKX v5 "
           "`account/positions` and `account/balance`, or Hyperliquid `clearinghouseState`. Choose the "
           "files or paste the text; nothing is fetched from the network and no API key is asked for. "
           "The account comes in under that venue's preset rules, and what was assumed is said.")
import_files, import_paste = st.columns(2)
with import_files:
    st.file_uploader("Export files (JSON)", type=["json"], accept_multiple_files=True, key="builder.import_files",
                     max_upload_size=MAX_IMPORT_BYTES // 1_000_000 or 1)
with import_paste:
    st.text_area("Or paste them here", key="builder.import_paste", height=120,
                 placeholder='[{"symbol": "BTCUSDT", "positionAmt": "0.01", ...}]  {"assets": [...]}')
st.button("Import the account", icon=":material/upload_file:", key="builder.import", on_click=import_exchange)
exchange_beside_lab(ensure_scenario())

# ----------------------------------------------------------------------------- validate and use

problem = commit(candidate)
if not waiting:
    with story_note:
        story_warning(candidate, story_key)
with status_slot:
    draft_status(candidate, problem, outcomes=not waiting)  # a waiting lesson's answer stays hidden
