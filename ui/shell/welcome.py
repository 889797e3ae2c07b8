"""A first-time visitor's start on the root page: two sentences, one picture, the first lesson.

Shown above the price lab until the visitor hides it or starts the first lesson (plain session
key ``"welcome.hidden"``); not in presenter mode, nor while a lesson is on the page.
"""

from __future__ import annotations

import base64
import functools
from html import escape
from pathlib import Path

import streamlit as st

PICTURE = Path(__file__).resolve().parents[2] / "assets" / "images" / "cross-vs-isolated.svg"
HIDDEN = "welcome.hidden"
CROSS = ("In **cross margin** every position draws on one shared pool of money: a winning trade keeps a losing "
         "one open, and one bad trade can drain the pool and close every position with it.")
ISOLATED = ("In **isolated margin** each position has its own margin: when it fails it loses that, and nothing "
            "more.")


ALT = ("Two accounts side by side. Cross: a BTC long's profit and a SOL long's loss share one pool; when "
       "the pool falls below maintenance both positions are closed. Isolated: each position has its own "
       "margin; the SOL long's loss stops at its margin and the BTC long stays open.")
CAPTION = "Cross: a profit props up a loss, and a failure closes both. Isolated: each loss stops at its own margin."


@functools.lru_cache(maxsize=1)
def figure_html() -> str:
    """The welcome picture with its text alternative (``alt``) and caption: st.image sets no alt.
    Built once per process (a read-only asset), not read and encoded on every first page.

    >>> html = figure_html()
    >>> 'alt="Two accounts side by side' in html and "<figcaption" in html
    True
    """
    data = base64.b64encode(PICTURE.read_bytes()).decode("ascii")
    return (f'<figure style="margin:0"><img src="data:image/svg+xml;base64,{data}" alt="{escape(ALT)}" '
            f'style="width:100%;height:auto"><figcaption style="font-size:0.85rem;opacity:0.85;text-align:center">'
            f'{escape(CAPTION)}</figcaption></figure>')


def hide() -> None:
    st.session_state[HIDDEN] = True


def welcome(first_lesson_page: str) -> None:
    """The start box (call at the top of the root page)."""
    if st.session_state.get(HIDDEN) or st.session_state.get("presenter") or st.session_state.get("learn.active"):
        return
    with st.container(border=True, key="welcome"):
        st.markdown("#### :material/waving_hand: New here? Two ways to hold leveraged positions")
        text, picture = st.columns([4, 5], vertical_alignment="center")
        with text:
            st.markdown(CROSS)
            st.markdown(ISOLATED)
            st.caption("Below, one account is shown three ways side by side: as built, all cross and all isolated. "
                       "Drag the sliders and watch which positions survive.")
        with picture:
            st.html(figure_html())
        start, close = st.columns(2)
        with start:
            if st.button("Start the first lesson", icon=":material/school:", type="primary", key="welcome.start",
                         width="stretch", help="Short lessons: each asks you to predict, then shows you."):
                hide()
                st.session_state["learn.current"] = "cross-exposure"
                st.switch_page(first_lesson_page)
        with close:
            st.button("Hide this and explore the lab", icon=":material/close:", key="welcome.hide", width="stretch",
                      on_click=hide)
