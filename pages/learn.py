"""Learn: guided lessons. Each opens a page on a preset account, asks the learner to act and
predict, then checks the prediction against the engine and explains the difference.

Session keys (plain keys):

- ``"learn.current"``: id of the lesson on screen (``assets/lessons.json``).
- ``"learn.progress"``: set of the ids of the lessons marked done.
- ``"learn.answer.<id>"``, ``"learn.result.<id>"``, ``"learn.active"``: the prediction, the last
  check and the lesson on the page it opened (see ``ui/learn/session.py``, which draws the
  prediction here and on that page).

The checks (``teach.check``) are pure; this page only reads widgets and shows them.
Each lesson asks for a prediction first; the page it opens hides the answer until the check.
"""

from __future__ import annotations

import ui.common.first_import  # noqa: F401  (first of all: see its doc)

import streamlit as st

from teach import get_lesson
from ui.learn.session import CURRENT, IDS, PROGRESS, chosen_in_list, label, lesson_card
from ui.shell.deep_links import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

st.session_state.setdefault(CURRENT, IDS[0])
st.session_state.setdefault(PROGRESS, set())
if st.session_state[CURRENT] not in IDS:
    st.session_state[CURRENT] = IDS[0]

st.title("Learn")
st.caption(f"{len(IDS)} short lessons. Each one loads an account, asks you to predict what will happen, "
           "then checks your answer against the engine and explains the difference.")
done = len(set(IDS) & st.session_state[PROGRESS])
st.progress(done / len(IDS), text=f"{done} of {len(IDS)} lessons done")

listing, card = st.columns([1, 2.4], gap="large")
with listing:
    st.session_state["learn.list"] = st.session_state[CURRENT]
    labels = {lesson_id: label(lesson_id) for lesson_id in IDS}  # computed now: AppTest calls it later
    st.radio("Lessons", IDS, key="learn.list", format_func=labels.__getitem__, on_change=chosen_in_list,
             help="Pick a lesson; a check mark follows the ones you have done.")
with card:
    lesson_card(get_lesson(st.session_state[CURRENT]))
