"""Learn: guided lessons. Each opens a page on a preset account, asks the learner to act and
predict, then checks the prediction against the engine and explains the difference.

Session keys (plain keys):

- ``"learn.current"``: id of the lesson on screen (``assets/lessons.json``).
- ``"learn.progress"``: set of the ids of the lessons marked done.
- ``"learn.answer.<id>"``: the learner's prediction for a lesson (a number in the lesson's unit,
  or the text of an option); its widget is ``"learn.answer.<id>.widget"``.
- ``"learn.result.<id>"``: the last check, ``{"correct", "expected", "message"}``.

The checks (``margin.lessons.check``) are pure; this page only reads widgets and shows them.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from margin.lessons import Lesson, LessonError, check, get_lesson, lessons, question_text
from ui.glossary import terms_line
from ui.links import PAGES, open_page
from ui.frame import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

ROOT = Path(__file__).resolve().parent.parent
PAGE_NAMES = {"lab": "Price lab", "builder": "Account builder", "replay": "Crash replay",
              "cascade": "Market cascade", "stress": "Stress lab"}
PAGE_ICONS = {"lab": ":material/tune:", "builder": ":material/construction:", "replay": ":material/replay:",
              "cascade": ":material/waterfall_chart:", "stress": ":material/science:"}

LESSONS = lessons()
IDS = [lesson.id for lesson in LESSONS]
st.session_state.setdefault("learn.current", IDS[0])
st.session_state.setdefault("learn.progress", set())
if st.session_state["learn.current"] not in IDS:
    st.session_state["learn.current"] = IDS[0]


def label(lesson_id: str) -> str:
    number = IDS.index(lesson_id) + 1
    done = lesson_id in st.session_state["learn.progress"]
    title = f"{number}. {get_lesson(lesson_id).title}"
    return f"{title} :material/check_circle:" if done else title


def choose(lesson_id: str) -> None:
    st.session_state["learn.current"] = lesson_id


def chosen_in_list() -> None:
    st.session_state["learn.current"] = st.session_state["learn.list"]


def sync_answer(lesson_id: str) -> None:
    st.session_state[f"learn.answer.{lesson_id}"] = st.session_state[f"learn.answer.{lesson_id}.widget"]


def run_check(lesson_id: str) -> None:
    answer = st.session_state.get(f"learn.answer.{lesson_id}")
    try:
        result = check(lesson_id, answer)
    except LessonError as err:  # an engine the lesson needs is missing
        st.session_state[f"learn.result.{lesson_id}"] = {"correct": False, "expected": None,
                                                          "message": f"This lesson cannot be checked: {err}."}
        return
    st.session_state[f"learn.result.{lesson_id}"] = {
        "correct": result.correct, "expected": result.expected, "message": result.message}


def toggle_done(lesson_id: str) -> None:
    progress = set(st.session_state["learn.progress"])
    progress.symmetric_difference_update({lesson_id})
    st.session_state["learn.progress"] = progress


def answer_widget(lesson: Lesson) -> None:
    plain, widget = f"learn.answer.{lesson.id}", f"learn.answer.{lesson.id}.widget"
    st.session_state[widget] = st.session_state.get(plain)
    spec = lesson.answer
    if spec.kind == "choice":
        st.radio("Your prediction", list(spec.options), index=None, key=widget,
                 on_change=sync_answer, args=(lesson.id,))
    else:
        st.number_input(f"Your prediction [{spec.unit}]", value=None, step=spec.step, format=spec.format,
                        key=widget, on_change=sync_answer, args=(lesson.id,),
                        placeholder=f"a number in {spec.unit}",
                        help="Type a number and press Enter, then Check. Shocks and drops are negative.")


def lesson_card(lesson: Lesson) -> None:
    number = IDS.index(lesson.id) + 1
    st.subheader(f"{number}. {lesson.title}", anchor=lesson.id)
    st.markdown(lesson.concept)
    if lesson.terms:
        st.caption(terms_line(lesson.terms))

    with st.container(border=True):
        st.markdown(f"**:material/touch_app: Try it.** {lesson.instruction}")
        page_file = PAGES.get(lesson.page)
        available = page_file is not None and (ROOT / page_file).exists()
        name = PAGE_NAMES.get(lesson.page, lesson.page)
        if st.button(f"Open in the {name.lower()}", icon=PAGE_ICONS.get(lesson.page, ":material/open_in_new:"),
                     key=f"learn.open.{lesson.id}", disabled=not available, type="primary",
                     help=(f"Loads this lesson's account into the {name.lower()} with its controls at the "
                           "starting point. Your current account is replaced." if available
                           else f"The {name.lower()} is not available in this build.")):
            open_page(lesson.page, scenario=lesson_scenario_dict(lesson), controls=dict(lesson.controls))

    with st.container(border=True):
        try:
            question = question_text(lesson.id)
        except LessonError as err:
            st.warning(f"This lesson is not available: {err}.", icon=":material/block:")
            return
        st.markdown(f"**:material/psychology: Predict first.** {question}")
        answer_widget(lesson)
        left, right = st.columns(2)
        with left:
            st.button("Check", icon=":material/fact_check:", key=f"learn.check.{lesson.id}",
                      on_click=run_check, args=(lesson.id,), width="stretch")
        with right:
            done = lesson.id in st.session_state["learn.progress"]
            st.button("Done ✓ (undo)" if done else "Mark done", key=f"learn.done.{lesson.id}",
                      icon=":material/task_alt:", on_click=toggle_done, args=(lesson.id,), width="stretch")
        result = st.session_state.get(f"learn.result.{lesson.id}")
        if result:
            verdict, _, why = result["message"].partition("\n\n")
            text = f"**{verdict}**\n\n{why}" if why else result["message"]
            if result["correct"]:
                st.success(text, icon=":material/check_circle:")
            else:
                st.error(text, icon=":material/lightbulb:")
            if lesson.takeaway:
                st.info(f"**Takeaway.** {lesson.takeaway}", icon=":material/bookmark:")

    index = IDS.index(lesson.id)
    back, forward = st.columns(2)
    with back:
        if index > 0:
            st.button(f"Previous: {LESSONS[index - 1].title}", icon=":material/arrow_back:",
                      key="learn.previous", on_click=choose, args=(IDS[index - 1],), width="stretch")
    with forward:
        if index + 1 < len(IDS):
            st.button(f"Next: {LESSONS[index + 1].title}", icon=":material/arrow_forward:",
                      key="learn.next", on_click=choose, args=(IDS[index + 1],), width="stretch")


def lesson_scenario_dict(lesson: Lesson) -> dict:
    from margin.lessons import lesson_scenario
    return lesson_scenario(lesson)


st.title("Learn")
st.caption("Ten short lessons. Each one loads an account, asks you to predict what will happen, "
           "then checks your answer against the engine and explains the difference.")
done = len(set(IDS) & st.session_state["learn.progress"])
st.progress(done / len(IDS), text=f"{done} of {len(IDS)} lessons done")

listing, card = st.columns([1, 2.4], gap="large")
with listing:
    st.session_state["learn.list"] = st.session_state["learn.current"]
    labels = {lesson_id: label(lesson_id) for lesson_id in IDS}  # computed now: AppTest calls it later
    st.radio("Lessons", IDS, key="learn.list", format_func=labels.__getitem__, on_change=chosen_in_list,
             help="Pick a lesson; a check mark follows the ones you have done.")
with card:
    lesson_card(get_lesson(st.session_state["learn.current"]))
