"""Market cascade: a crowd of synthetic traders in one market, an initial shock, then rounds of
liquidations, forced orders and price impact until it stops; your account sits in the crowd.

Session keys (plain keys: a lesson or a link sets them, then switches to this page):

- ``"cascade.market"``: the market of the crowd, one of the account's (its price and tiers).
- ``"cascade.shock"``: the initial shock [%], -30 to +30 (down liquidates longs, up shorts).
- ``"cascade.depth"``: the order book's depth [million USDT of forced orders per 1 % move].
- ``"cascade.impact"``: ``"linear"``, ``"sqrt"`` or ``"none"``.
- The crowd: ``"cascade.traders"`` (how many), ``"cascade.leverage_mean"`` and
  ``"cascade.leverage_max"`` [x], ``"cascade.long_share"`` [%], ``"cascade.size_median"``
  [USDT], ``"cascade.cross_share"`` [%], ``"cascade.cross_buffer"`` [% of margin],
  ``"cascade.seed"``.
- The waterfall: ``"cascade.fund_limited"`` (off: the insurance fund pays every loss beyond
  collateral), ``"cascade.fund"`` [million USDT] and ``"cascade.adl"`` (when the fund runs dry,
  auto-deleverage the most profitable opposite positions, the learner's included).

Live: every control reruns only the panel (a fragment); the crowd is drawn once per market and
crowd parameters (cached), a cascade and the 50-shock tipping curve take milliseconds. A crowd
of more than ``margin.limits.LONG_CROWD_TRADERS`` traders is drawn in a worker process with a
progress bar and a Cancel button (``ui/shell/long_work.py``, prefix ``"cascade.crowd"``).
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import streamlit as st

from ui.cascade.model import ASSUMPTIONS
from ui.cascade.session import DEFAULTS, cascade_panel
from ui.learn.session import hidden_notice, lesson_panel, prediction_open
from ui.shell.deep_links import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)

st.title("Market cascade")
st.caption("Liquidations force selling, selling moves the price, the move liquidates the next trader. "
           "Set up a crowd, shock the price, and watch the rounds until it stops. Amounts in USDT.")
st.info("**Stylized model**, not a forecast. Its assumptions:\n\n" + "\n".join(f"- {a}" for a in ASSUMPTIONS),
        icon=":material/science:")
lesson_panel("cascade")
cascade_panel(prediction_open("cascade"),
              lambda: hidden_notice("Where the cascade ends, its rounds, who was liquidated and where the money went"))
