"""Margin Lab: the frame. Page config, the account on first visit, navigation, shared chrome.

Run with ``uv run streamlit run app.py``. For the UI benchmark (tools/bench_ui.py) the app
honours one environment variable: ``MARGIN_LAB_SCENARIO=<path>`` loads that scenario file as
every new session's first account instead of the default story.
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import os

import streamlit as st

from ui.learn.session import lesson_waiting
from ui.shell.sidebar import sidebar, sidebar_terms
from ui.shell.deep_links import inside_app_frame
from ui.shell import access, faults, frame, links, memory, presenter
from ui.shell.state import SCENARIO_KEY, ensure_scenario, file_account, set_scenario

faults.install()  # an uncaught error: a sentence and an error id, never a traceback
inside_app_frame(is_app=True)
# The icon is a file of the app's own: a Material icon name makes the browser fetch its picture
# from fonts.gstatic.com, and the page fetches nothing from another host. Given as a data URL,
# read once per server: a file path is read, and stored as a media file for the session, on
# every run (3 ms a run).
st.set_page_config(page_title="Margin Lab", page_icon=frame.FAVICON, layout="wide")

if SCENARIO_KEY not in st.session_state and os.environ.get("MARGIN_LAB_SCENARIO"):
    set_scenario(file_account(os.environ["MARGIN_LAB_SCENARIO"]))
ensure_scenario()
memory.watch_session()  # its end frees its large results and trims the server's memory

links.restore_from_url()

page = st.navigation(frame.navigation_pages())  # built once per server, a copy per run
light = frame.is_light(page)  # a student's room, the projector: no account sidebar, no presenter switch

links.open_link_target()
if light:
    frame.room_sidebar()
else:
    with st.sidebar:
        presenter.presenter_toggle()
presenter.apply(page)
access.apply()  # captions' contrast, a visible focus ring (ui/shell/access.py)

page.run()
if not light:
    links.sidebar_share_link(page)  # for pages without their own "Share this view"
links.keep_in_url(page)  # the address holds this view: a reload or a restart opens it again
if not light:
    sidebar_terms(page)  # glossary links for the terms this page uses
    sidebar(ensure_scenario(), prediction_open=lesson_waiting)  # after the page: what it just changed
memory.freeze_imports()  # once per process, after the first page's imports: cheap full collections
