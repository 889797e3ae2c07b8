"""Predict before you see: while a lesson's prediction is open, neither the learn page nor the
page the lesson opened shows the asked quantity anywhere (every element's text is searched);
after the check, it is there."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from teach import expected, get_lesson, lesson_ids, measure
from margin.numbers import money, price
from tests.support import goto, learn_app, open_lesson
from ui.common.site import page

PAGES_READY = ("lab", "replay", "cascade", "stress")  # every page a lesson opens


def all_text(at: AppTest) -> str:
    """Everything the last run sent, as text: every element's message (markdown, captions,
    metrics, HTML, live regions, widget labels and values) and every table's cells."""
    parts = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        if getattr(node, "type", None) in ("arrow_data_frame", "dataframe"):
            parts.append(node.value.to_string())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def renderings(lesson_id: str) -> list[str]:
    """The ways a page could write the lesson's answer."""
    lesson = get_lesson(lesson_id)
    value = expected(lesson_id)
    if lesson.answer.kind == "choice":
        # the option itself is on the page (it is one of the choices): what must not be is
        # the engine's deciding numbers (the explanation's context)
        context = measure(lesson).context
        deciding = {"mark_liquidates": ("mark_low",), "fat_tail_ratio": ("p_t", "ratio")}[lesson.quantity["kind"]]
        found = [str(context[k]) for k in deciding]
        return [f"{text} times" if k == "ratio" else text for k, text in zip(deciding, found)]
    value = float(value)
    digits = int(lesson.answer.format[2:-1]) if lesson.answer.format.startswith("%.") else 2
    out = {price(value), f"{value:,.{digits}f}", f"{value:.{digits}f}"}
    if abs(value) >= 1:
        out |= {f"{value:,.2f}", f"{value:.2f}", money(value)}
    if lesson.answer.unit == "%":
        out |= {f"{value:.1f} %", f"{value:+.1f} %", f"{value:.2f} %"}
    elif abs(value) >= 1000:
        out.add(f"{value:,.0f}")
    return sorted(o for o in out if o not in ("0.00", "0.00 USDT"))


LESSONS = [i for i in lesson_ids() if get_lesson(i).page in PAGES_READY]


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_the_answer_is_nowhere_until_the_check_then_it_is_there(lesson_id):
    at = open_lesson(learn_app(), lesson_id)
    wanted = renderings(lesson_id)
    assert wanted
    text = all_text(at)
    assert not [w for w in wanted if w in text], "the learn page gives the answer away"
    at.button(key=f"learn.open.{lesson_id}").click().run()
    assert not at.exception
    assert at.session_state["learn.active"] == lesson_id
    goto(at, page(get_lesson(lesson_id).page).file)  # AppTest stays on the page a switch_page opened
    text = all_text(at)
    assert not [w for w in wanted if w in text], f"the {get_lesson(lesson_id).page} page gives the answer away"
    lesson = get_lesson(lesson_id)
    widget = f"learn.answer.{lesson_id}.widget"
    if lesson.answer.kind == "choice":
        at.radio(key=widget).set_value(lesson.answer.options[0]).run()
    else:
        at.number_input(key=widget).set_value(float(expected(lesson_id)) * 1.3 or 1.0).run()
    at.button(key=f"learn.check.{lesson_id}.panel").click().run()
    assert not at.exception
    text = all_text(at)
    assert [w for w in wanted if w in text], "after the check the answer is shown"


def test_the_lab_locks_until_the_prediction_and_opens_after():
    at = open_lesson(learn_app(), "cross-exposure")
    at.button(key="learn.open.cross-exposure").click().run()
    goto(at, page("lab").file)
    assert not [s for s in at.slider if s.key == "lab.shock.slider"]  # no slider to find it by dragging
    assert any("Predict first" in i.value for i in at.info)
    at.number_input(key="learn.answer.cross-exposure.widget").set_value(84_000.0).run()
    at.button(key="learn.check.cross-exposure.panel").click().run()
    assert at.slider(key="lab.shock.slider")  # the lab is open now
    assert "Now try it" in " ".join(m.value for m in at.markdown)
    at.button(key="learn.retry.cross-exposure.panel").click().run()  # predict again: hidden again
    assert not [s for s in at.slider if s.key == "lab.shock.slider"]


def test_a_lesson_offers_the_learners_own_account_back():
    at = learn_app()
    own = dict(at.session_state["scenario"], name="My own account")
    at.session_state["scenario"] = own
    at.session_state["scenario_revision"] = 5
    at.run()
    open_lesson(at, "maintenance-tiers")
    at.button(key="learn.open.maintenance-tiers").click().run()
    goto(at, page("lab").file)
    assert at.session_state["scenario"]["name"] != "My own account"
    at.button(key="learn.undo.button").click().run()
    assert at.session_state["scenario"]["name"] == "My own account"
    assert "learn.active" not in at.session_state


@pytest.mark.parametrize("lesson_id", [i for i in lesson_ids() if get_lesson(i).page in ("replay", "stress", "cascade")])
def test_a_page_offers_no_way_to_the_answer_until_the_check(lesson_id):
    """Not only hidden: the replay has no player, the stress lab runs nothing, the cascade
    shows no result until the prediction is checked."""
    at = open_lesson(learn_app(), lesson_id)
    at.button(key=f"learn.open.{lesson_id}").click().run()
    goto(at, page(get_lesson(lesson_id).page).file)
    keys = {b.key for b in at.button}
    assert "replay.play" not in keys and not at.get("plotly_chart") and not at.table
    if get_lesson(lesson_id).page == "stress":
        assert at.button(key="stress.run_button").disabled
    assert any("Predict first" in i.value for i in at.info)


REACHABLE = [p for p in ("lab", "builder", "replay", "cascade", "stress", "learn", "glossary")]  # rooms: a room's own account


def test_no_lesson_answer_is_on_the_root_page_of_a_first_visit():
    """The root page (the price lab on the default account) gives no lesson's answer away."""
    from tests.support import whole_app
    at = whole_app().run()
    assert not at.exception
    text = all_text(at)
    leaks = {i: [w for w in renderings(i) if w in text] for i in lesson_ids()}
    assert not {i: w for i, w in leaks.items() if w}, "the root page gives a lesson's answer away"


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_before_the_check_the_answer_is_on_no_page_the_learner_can_reach(lesson_id):
    """A lesson open and waiting: every page the learner can switch to (the root page too)
    shows none of the answer's renderings; the lesson's account is loaded on all of them."""
    at = open_lesson(learn_app(), lesson_id)
    at.button(key=f"learn.open.{lesson_id}").click().run()
    assert at.session_state["learn.active"] == lesson_id
    wanted = renderings(lesson_id)
    for page_id in REACHABLE:
        goto(at, page(page_id).file)
        assert not at.exception, page_id
        found = [w for w in wanted if w in all_text(at)]
        assert not found, f"the {page_id} page gives {found} away before the check"


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_check_without_a_prediction_reveals_nothing_and_says_why(lesson_id):
    at = open_lesson(learn_app(), lesson_id)
    at.button(key=f"learn.open.{lesson_id}").click().run()
    goto(at, page(get_lesson(lesson_id).page).file)
    at.button(key=f"learn.check.{lesson_id}.panel").click().run()
    assert not at.exception
    result = f"learn.result.{lesson_id}"
    assert result not in at.session_state or at.session_state[result] is None  # not checked
    text = all_text(at)
    assert not [w for w in renderings(lesson_id) if w in text]
    assert "stays hidden until you" in text and "Predict first" in text
