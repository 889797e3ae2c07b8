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
``ui/lab/model.py``): every step walks on from the last prices, so a liquidation on the way
stays happened until Reset (or a new account); ``"lab.path"`` holds the path's turns for a
shared link. The shock sweep is cached per account state and slider prices.

The page's fragments, caches and what a step redraws: ``ui/lab/session.py``.
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import streamlit as st

from margin.scenario import ScenarioError
from ui.common.text import md
from ui.lab.session import lab_page
from ui.lab.sliders import VARIANTS
from ui.learn.session import account_facts, hidden_notice, lesson_panel, prediction_open
from ui.shell.deep_links import inside_app_frame
from ui.shell.links import page_file
from ui.shell.state import current_scenario, ensure_scenario
from ui.shell.welcome import welcome

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

st.session_state.setdefault("lab.shock", 0.0)
st.session_state.setdefault("lab.view", VARIANTS[0])

st.title("Price lab")
welcome(page_file("learn"))
ensure_scenario()
try:
    scenario = current_scenario()
except ScenarioError as err:
    scenario = None
    st.error(f"This account cannot be shown: {md(err)}. Fix it in the account builder.")
if scenario is not None:  # no st.stop() here: app.py still draws the sidebar after the page
    lesson_panel("lab")
    if prediction_open("lab"):
        hidden_notice("The sliders, the account's liquidation prices and what happens to it")
        account_facts(ensure_scenario())
    else:
        lab_page(scenario)
