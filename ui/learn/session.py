"""The lessons, the Streamlit side: the learn page's list and cards, and a lesson on the page it
opened: predict first, see after.

When a lesson opens a page (``open_lesson``), it stays on that page at the top, in a panel:
the question, the learner's prediction and the Check button; after the check, the verdict, the
explanation and what to try now; a way back to the lesson list; and, since the lesson replaced
the learner's own account, a button that brings that account back.

While the prediction is open (asked, not yet checked) the page must not give the answer away:
:func:`prediction_open` tells a page so, and the page shows the account's facts (what the
learner needs to predict) but none of its computed outcomes, and locks its controls.

Session keys (plain): ``"learn.active"`` the lesson on the page it opened;
``"learn.answer.<id>"`` the prediction; ``"learn.result.<id>"`` the last check
(``{"correct", "expected", "message"}``); ``"learn.undo"`` the account the lesson replaced;
``"learn.current"`` and ``"learn.progress"`` the learn page's lesson and the lessons marked done.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

import streamlit as st

from teach import Lesson, LessonError, check, get_lesson, lesson_scenario, lessons, question_text
from margin.numbers import money
from ui.common.glossary import terms_line
from ui.common.site import page, page_ids
from ui.common.text import md
from ui.learn.facts import facts_html
from ui.learn.holdings import collateral_facts, order_facts

ACTIVE = "learn.active"
UNDO = "learn.undo"
CURRENT = "learn.current"  # the lesson on the learn page
PROGRESS = "learn.progress"  # the ids of the lessons marked done
LESSONS = lessons()
IDS = [lesson.id for lesson in LESSONS]


def answer_key(lesson_id: str) -> str:
    return f"learn.answer.{lesson_id}"


def result_key(lesson_id: str) -> str:
    return f"learn.result.{lesson_id}"


def checked(lesson_id: str) -> bool:
    return st.session_state.get(result_key(lesson_id)) is not None


def active_lesson(page: str) -> Lesson | None:
    """The lesson that opened ``page`` (a page id), if it is still on."""
    lesson_id = st.session_state.get(ACTIVE)
    if not lesson_id:
        return None
    try:
        lesson = get_lesson(lesson_id)
    except LessonError:
        return None
    return lesson if lesson.page == page else None


def waiting_lesson() -> Lesson | None:
    """The active lesson while it waits for the learner's prediction (asked, not yet checked),
    whichever page it opened; None otherwise."""
    lesson_id = st.session_state.get(ACTIVE)
    if not lesson_id:
        return None
    try:
        lesson = get_lesson(lesson_id)
    except LessonError:
        return None
    return None if checked(lesson.id) else lesson


def prediction_open(page: str) -> bool:
    """A lesson waits for the learner's prediction: ``page`` (any page, not only the one the
    lesson opened: the lesson's account is loaded on all of them) hides every computed outcome
    and locks its controls."""
    return waiting_lesson() is not None


def lesson_waiting() -> bool:
    """The active lesson, whichever page it opened, waits for the learner's prediction."""
    return waiting_lesson() is not None


def open_lesson(lesson: Lesson) -> None:
    """Load the lesson's account (keeping the learner's own for undo) and open its page with
    its starting controls; the lesson stays on that page (button callback or page code)."""
    from ui.shell.links import open_page
    from ui.shell.state import ensure_scenario

    own = copy.deepcopy(ensure_scenario())
    if st.session_state.get(ACTIVE) is None or UNDO not in st.session_state:
        st.session_state[UNDO] = own  # the learner's own account, not a previous lesson's
    st.session_state[ACTIVE] = lesson.id
    open_page(lesson.page, scenario=lesson_scenario(lesson), controls=dict(lesson.controls))


def end_lesson(restore: bool) -> None:
    """Leave the lesson; with ``restore``, bring back the account it replaced."""
    from ui.shell.state import set_scenario

    st.session_state.pop(ACTIVE, None)
    own = st.session_state.pop(UNDO, None)
    if restore and own is not None:
        set_scenario(own)


def run_check(lesson_id: str) -> None:
    answer = st.session_state.get(answer_key(lesson_id))
    try:
        result = check(lesson_id, answer)
    except LessonError as err:
        st.session_state[result_key(lesson_id)] = {"correct": False, "expected": None,
                                                   "message": f"This lesson cannot be checked: {err}."}
        return
    if answer is None or (isinstance(answer, str) and answer not in get_lesson(lesson_id).answer.options):
        # no prediction yet: say so, and keep the answer hidden (the check did not happen)
        st.session_state[f"{result_key(lesson_id)}.nudge"] = result.message
        return
    st.session_state.pop(f"{result_key(lesson_id)}.nudge", None)
    st.session_state[result_key(lesson_id)] = {
        "correct": result.correct, "expected": result.expected, "message": result.message}


def _sync_answer(lesson_id: str) -> None:
    st.session_state[answer_key(lesson_id)] = st.session_state[f"{answer_key(lesson_id)}.widget"]


def answer_widget(lesson: Lesson, *, key_suffix: str = "") -> None:
    """The prediction input (a number in the lesson's unit, or one of its options)."""
    plain, widget = answer_key(lesson.id), f"{answer_key(lesson.id)}.widget"
    st.session_state[widget] = st.session_state.get(plain)
    spec = lesson.answer
    disabled = checked(lesson.id)
    if spec.kind == "choice":
        st.radio("Your prediction", list(spec.options), index=None, key=widget, disabled=disabled,
                 on_change=_sync_answer, args=(lesson.id,))
    else:
        st.number_input(f"Your prediction [{spec.unit}]", value=None, step=spec.step, format=spec.format,
                        key=widget, on_change=_sync_answer, args=(lesson.id,), disabled=disabled,
                        placeholder=f"a number in {spec.unit}",
                        help="Type a number and press Enter, then Check. Shocks and drops are negative.")


def retry(lesson_id: str) -> None:
    """Predict again: the answer is hidden again until the next check."""
    st.session_state.pop(result_key(lesson_id), None)
    st.session_state.pop(answer_key(lesson_id), None)


def prediction_box(lesson: Lesson, *, where: str) -> None:
    """The question, the prediction, Check; after the check, the verdict and explanation."""
    try:
        question = question_text(lesson.id)
    except LessonError as err:
        st.warning(f"This lesson is not available: {md(err)}.", icon=":material/block:")
        return
    st.markdown(f"**:material/psychology: Predict first.** {question}")
    answer_widget(lesson)
    result = st.session_state.get(result_key(lesson.id))
    if result is None:
        st.button("Check", icon=":material/fact_check:", key=f"learn.check.{lesson.id}{where}",
                  on_click=run_check, args=(lesson.id,), type="primary")
        nudge = st.session_state.get(f"{result_key(lesson.id)}.nudge")
        if nudge:
            st.info(nudge, icon=":material/edit:")
        return
    verdict, _, why = result["message"].partition("\n\n")
    if result["correct"]:
        st.success(f"**{verdict}**", icon=":material/check_circle:")
    else:
        st.error(f"**{verdict}**", icon=":material/lightbulb:")
    if why:
        st.markdown(why.replace("$", "\\$"))
    if lesson.takeaway:
        st.info(f"**Takeaway.** {lesson.takeaway}", icon=":material/bookmark:")
    st.button("Predict again", icon=":material/replay:", key=f"learn.retry.{lesson.id}{where}",
              on_click=retry, args=(lesson.id,))


def lesson_panel(page: str) -> Lesson | None:
    """The active lesson at the top of ``page``, if one opened it. Returns the lesson. On any
    other page while the lesson waits for its prediction: where the question is, and a way back."""
    lesson = active_lesson(page)
    if lesson is None:
        _waiting_elsewhere(page)
        return None
    from ui.shell.links import page_file

    with st.container(border=True, key="lesson-panel"):
        st.markdown(f"**:material/school: Lesson: {lesson.title}**")
        prediction_box(lesson, where=".panel")
        if checked(lesson.id):
            st.markdown(f"**:material/touch_app: Now try it.** {lesson.instruction}")
        left, right = st.columns(2)
        with left:
            if st.button("Back to the lessons", icon=":material/arrow_back:", key="learn.back"):
                st.switch_page(page_file("learn"))
        with right:
            _end_button()
    return lesson


def _end_button() -> None:
    if UNDO in st.session_state:
        st.button("End the lesson and bring back my account", icon=":material/undo:",
                  key="learn.undo.button", on_click=end_lesson, args=(True,),
                  help="The lesson replaced the account you had; this puts it back.")
    else:
        st.button("End the lesson", icon=":material/close:", key="learn.end",
                  on_click=end_lesson, args=(False,))


def _waiting_elsewhere(page: str) -> None:
    """A lesson opened another page and waits for its prediction: say so, with a way back."""
    lesson = waiting_lesson()
    if lesson is None or lesson.page == page:
        return
    from ui.shell.links import page_file

    target = page_file(lesson.page)
    with st.container(border=True, key="lesson-elsewhere"):
        st.markdown(f"**:material/school: Lesson: {md(lesson.title)}** waits for your prediction in the "
                    f"{md(_page_name(lesson.page))}. This page shows the lesson's account, with its outcomes "
                    "hidden until you have checked.")
        left, right = st.columns(2)
        with left:
            if st.button("Back to the question", icon=":material/arrow_back:", key="learn.back.question"):
                st.switch_page(target)
        with right:
            _end_button()


def _page_name(page_id: str) -> str:
    return page(page_id).name


def hidden_notice(what: str) -> None:
    """What the page shows while a prediction is open, instead of its outcomes."""
    st.info(f":material/visibility_off: **Predict first.** {what} appear once you have checked the "
            "lesson's prediction: seeing them first would give the answer away.", icon=":material/psychology:")


def account_facts(raw: Mapping[str, Any]) -> None:
    """The account as facts the learner can predict from (:mod:`ui.learn.facts`): the wallet,
    the positions and the markets; nothing computed from prices."""
    st.markdown(f"**The account.** Wallet {money(float(raw.get('balance', 0)))}.")
    # tables that become blocks on a phone, none cut at 390 px; the collateral is what the
    # cross pool counts besides the USDT balance
    st.html(facts_html(raw, before=[("Collateral", collateral_facts(raw))], after=[("Stop orders", order_facts(raw))]))


def label(lesson_id: str) -> str:
    number = IDS.index(lesson_id) + 1
    done = lesson_id in st.session_state[PROGRESS]
    title = f"{number}. {get_lesson(lesson_id).title}"
    return f"{title} :material/check_circle:" if done else title


def choose(lesson_id: str) -> None:
    st.session_state[CURRENT] = lesson_id


def chosen_in_list() -> None:
    st.session_state[CURRENT] = st.session_state["learn.list"]


def toggle_done(lesson_id: str) -> None:
    progress = set(st.session_state[PROGRESS])
    progress.symmetric_difference_update({lesson_id})
    st.session_state[PROGRESS] = progress


def lesson_card(lesson: Lesson) -> None:
    number = IDS.index(lesson.id) + 1
    st.subheader(f"{number}. {lesson.title}", anchor=lesson.id)
    st.markdown(lesson.concept)
    if lesson.terms:
        st.caption(terms_line(lesson.terms))

    with st.container(border=True):
        with st.expander("The account this question is about", icon=":material/account_balance_wallet:",
                         expanded=not checked(lesson.id)):
            try:
                account_facts(lesson_scenario(lesson))
            except LessonError as err:
                st.warning(f"This lesson's account cannot be shown: {md(err)}.")
        prediction_box(lesson, where="")
        done = lesson.id in st.session_state[PROGRESS]
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
        available = lesson.page in page_ids() and Path(target.path).exists()
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


__all__ = ["ACTIVE", "CURRENT", "IDS", "LESSONS", "PROGRESS", "UNDO", "account_facts", "active_lesson",
           "answer_widget", "checked", "choose", "chosen_in_list", "end_lesson", "hidden_notice", "label",
           "lesson_card", "lesson_panel", "lesson_waiting", "open_lesson", "waiting_lesson", "prediction_box", "prediction_open",
           "retry", "run_check", "toggle_done"]
