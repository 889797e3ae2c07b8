"""Margin Lab: the frame. Page config, the account on first visit, navigation, shared chrome.

Run with ``uv run streamlit run app.py``. For the UI benchmark (tools/bench_ui.py) the app
honours one environment variable: ``MARGIN_LAB_SCENARIO=<path>`` loads that scenario file as
every new session's first account instead of the default story.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from margin.scenario import load_scenario, scenario_to_dict
from ui.session.sidebar import sidebar
from ui.session.deep_links import inside_app_frame
from ui.session import links, presenter
from ui.glossary import sidebar_terms
from ui.session.state import SCENARIO_KEY, ensure_scenario, set_scenario

ROOT = Path(__file__).resolve().parent

# (file, title, Material icon, URL path). Each URL path is the file's stem, the one Streamlit's
# legacy pages/ mode infers (see ui/session/deep_links.py). The first page is the default, at "/".
PAGES = (
    ("pages/price_lab.py", "Price lab", ":material/tune:", "price_lab"),
    ("pages/builder.py", "Account builder", ":material/construction:", "builder"),
    ("pages/crash_replay.py", "Crash replay", ":material/replay:", "crash_replay"),
    ("pages/market_cascade.py", "Market cascade", ":material/waterfall_chart:", "market_cascade"),
    ("pages/stress_lab.py", "Stress lab", ":material/science:", "stress_lab"),
    ("pages/learn.py", "Learn", ":material/school:", "learn"),
    ("pages/glossary.py", "Glossary", ":material/menu_book:", "glossary"),
)

inside_app_frame(is_app=True)
st.set_page_config(page_title="Margin Lab", page_icon=":material/balance:", layout="wide")

if SCENARIO_KEY not in st.session_state and os.environ.get("MARGIN_LAB_SCENARIO"):
    set_scenario(scenario_to_dict(load_scenario(os.environ["MARGIN_LAB_SCENARIO"])))
ensure_scenario()

links.restore_from_url()

page = st.navigation([
    st.Page(str(ROOT / path), title=title, icon=icon, url_path=url, default=(path == PAGES[0][0]))
    for path, title, icon, url in PAGES
])

links.open_link_target()
with st.sidebar:
    presenter.presenter_toggle()
presenter.apply()

page.run()
links.sidebar_share_link(page)  # for pages without their own "Share this view"
sidebar_terms(page)  # glossary links for the terms this page uses
sidebar(st.session_state[SCENARIO_KEY])  # after the page, so it shows what the page just changed
