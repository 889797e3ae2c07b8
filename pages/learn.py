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

from pathlib import Path

import streamlit as st

from teach import Lesson, get_lesson, lessons
from ui.common.glossary import terms_line
from ui.learn.session import checked, open_lesson, prediction_box
from ui.common.site import page, page_ids
from ui.shell.deep_links import inside_app_frame

inside_app_frame()  # a first deep link on a fresh server: rerun inside app.py

ROOT = Path(__file__).resolve().parent.parent
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


def toggle_done(lesson_id: str) -> None:
    progress = set(st.session_state["learn.progress"])
    progress.symmetric_difference_update({lesson_id})
    st.session_state["learn.progress"] = progress


def lesson_card(lesson: Lesson) -> None:
    number = IDS.index(lesson.id) + 1
    st.subheader(f"{number}. {lesson.title}", anchor=lesson.id)
    st.markdown(lesson.concept)
    if lesson.terms:
        st.caption(terms_line(lesson.terms))

    with st.container(border=True):
        prediction_box(lesson, where="")
        done = lesson.id in st.session_state["learn.progress"]
        st.button("Done ✓ (undo)" if done else "Mark done", key=f"learn.done.{lesson.id}",
                  icon=":material/task_alt:", on_click=toggle_done, args=(lesson.id,))

    with st.container(border=True):
        target = page(lesson.page)
        name = target.name
        if checked(lesson.id):
            st.markdown(f"**:material/touch_app: Now try it.** {lesson.instruction}")
        else:
            st.markdown(f"**:material/touch_app: Then try it** in the {name}: it opens on this lesson's "
                        f"account, with the question at the top. Its numbers stay hidden until you have checked "
                        f"your prediction.")
        available = lesson.page in page_ids() and (ROOT / target.file).exists()
        if st.button(f"Open in the {name}", icon=target.icon,
                     key=f"learn.open.{lesson.id}", disabled=not available, type="primary",
                     help=(f"Loads this lesson's account into the {name} with its controls at the "
                           "starting point. Your own account is kept: the lesson offers to bring it back."
                           if available else f"The {name} is not available in this build.")):
            open_lesson(lesson)  # in the page's code: st.switch_page cannot run in a callback

    index = IDS.index(lesson.id)
    back, forward = st.columns(2)
    # the titles go under the buttons, where they wrap: inside a button a long one is cut short
    with back:
        if index > 0:
            st.button(f"Previous lesson ({index})", icon=":material/arrow_back:",
                      key="learn.previous", on_click=choose, args=(IDS[index - 1],), width="stretch")
            st.caption(LESSONS[index - 1].title)
    with forward:
        if index + 1 < len(IDS):
            st.button(f"Next lesson ({index + 2})", icon=":material/arrow_forward:",
                      key="learn.next", on_click=choose, args=(IDS[index + 1],), width="stretch")
            st.caption(LESSONS[index + 1].title)


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
