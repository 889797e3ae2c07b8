"""Glossary: every term the app and its lessons use, with a plain definition, a formula where
one helps, and an anchor (``/glossary#maintenance-margin``) that ``ui.common.glossary.term()`` links to.

Session keys (plain keys):

- ``"glossary.search"``: the search box's text; a ``?term=<words>`` URL parameter fills it.
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import streamlit as st

from ui.common.glossary import entries, lookup, search
from ui.shell.deep_links import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

st.session_state.setdefault("glossary.search", "")
if st.query_params.get("term"):
    st.session_state["glossary.search"] = str(st.query_params["term"]).replace("-", " ")

st.title("Glossary")
st.caption(f"{len(entries())} terms of margin trading as Margin Lab uses them. Amounts are in USDT "
           "(linear contracts); rates are fractions or percents.")
query = st.text_input("Search the glossary", key="glossary.search", placeholder="e.g. bankruptcy, tiers, ADL",
                      icon=":material/search:", help="Matches names, other names and definitions.")
found = search(query)
if query.strip():
    st.caption(f"{len(found)} of {len(entries())} terms match “{query.strip()}”.")
if not found:
    st.info("No term matches. Try a shorter word, e.g. “margin” or “price”.", icon=":material/search_off:")

for entry in found:
    with st.container(border=True):
        st.subheader(entry["term"], anchor=entry["anchor"])
        if entry.get("aliases"):
            st.caption("Also: " + ", ".join(entry["aliases"]))
        st.markdown(entry["definition"].replace("$", "\\$"))
        if entry.get("formula"):
            st.latex(entry["formula"])
        if entry.get("example"):
            st.markdown(f":material/lightbulb: *Example.* {entry['example']}".replace("$", "\\$"))
        related = [lookup(name) for name in entry.get("related", ())]
        if related:
            st.caption("Related: " + " · ".join(f"[{r['term']}](#{r['anchor']})" for r in related))
