"""The learn page, the glossary and presenter mode through the whole app (AppTest).

AppTest quirk: when the entry script sits next to a ``pages/`` folder, a page whose URL path
equals its file name (``/builder``, ``/learn``, ``/glossary``) is run on its own, without
app.py (the pre-``st.navigation`` folder convention wins). So these tests start the app from a
one-line entry script in a temporary folder that runs app.py itself (:func:`app`), and switch
pages by their path relative to it (:func:`goto`): every page then runs inside app.py's frame,
presenter mode and link handling included, as in the browser.
"""

from __future__ import annotations

import json


import pytest
from streamlit.testing.v1 import AppTest

from teach import expected, get_lesson, lesson_ids, lesson_scenario
from tests.support import ROOT, goto, in_frame, learn_app, open_lesson, whole_app
from ui.common.glossary import entries, lookup
from ui.common.site import PAGES as SITE_PAGES

PAGES = {p.id: p.file for p in SITE_PAGES}
PAGE_TERMS = {p.id: p.terms for p in SITE_PAGES if p.terms}

PAGE_FILES = [path for path in PAGES.values() if (ROOT / path).exists()]


def answer(at: AppTest, lesson_id: str, value) -> AppTest:
    """Predict ``value`` and check it (after "Predict again" if an earlier check is shown)."""
    if at.session_state[f"learn.result.{lesson_id}"] if f"learn.result.{lesson_id}" in at.session_state else None:
        at.button(key=f"learn.retry.{lesson_id}").click().run()
    widget = f"learn.answer.{lesson_id}.widget"
    if get_lesson(lesson_id).answer.kind == "choice":
        at.radio(key=widget).set_value(value).run()
    else:
        at.number_input(key=widget).set_value(value).run()
    at.button(key=f"learn.check.{lesson_id}").click().run()
    assert not at.exception
    return at


def wrong_answer(lesson_id: str):
    lesson = get_lesson(lesson_id)
    right = expected(lesson_id)
    if lesson.answer.kind == "choice":
        return next(o for o in lesson.answer.options if o != right)
    return right * 1.5 if right else 1000.0


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_every_lesson_accepts_the_right_answer_and_explains_a_wrong_one(lesson_id):
    at = open_lesson(learn_app(), lesson_id)
    lesson = get_lesson(lesson_id)
    right = expected(lesson_id)

    answer(at, lesson_id, wrong_answer(lesson_id))
    assert not at.success
    verdict = at.error[0].value.replace("**", "")  # the verdict is in bold, the why follows it
    if lesson.answer.kind == "choice":
        assert verdict.startswith(f"You chose “{wrong_answer(lesson_id)}”; the engine says “{right}”")
    else:
        assert verdict.startswith(f"You said {lesson.answer.describe(wrong_answer(lesson_id))}; "
                                  f"the engine says {lesson.answer.describe(right)}.")
    why = next(m.value for m in at.markdown if m.value.startswith(lesson.explanation[:12].replace("$", "\\$"))
               or len(m.value) > 150)
    assert len(why) > 150  # the why, with the numbers, not just the verdict

    answer(at, lesson_id, right)
    assert not at.error
    assert at.success[0].value.startswith("**Right")
    assert lesson.takeaway in at.info[0].value


def test_progress_is_kept_in_the_session():
    at = learn_app()
    assert f"0 of {len(lesson_ids())} lessons done" in at.get("progress")[0].proto.text
    at.button(key="learn.done.cross-exposure").click().run()
    at.button(key="learn.next").click().run()
    assert at.session_state["learn.current"] == "capital-efficiency"
    at.button(key="learn.done.capital-efficiency").click().run()
    assert at.session_state["learn.progress"] == {"cross-exposure", "capital-efficiency"}
    assert f"2 of {len(lesson_ids())} lessons done" in at.get("progress")[0].proto.text
    goto(at, "pages/glossary.py")
    goto(at, "pages/learn.py")  # survives a page change
    assert f"2 of {len(lesson_ids())} lessons done" in at.get("progress")[0].proto.text
    assert at.session_state["learn.current"] == "capital-efficiency"
    at.button(key="learn.done.capital-efficiency").click().run()  # undo
    assert at.session_state["learn.progress"] == {"cross-exposure"}


@pytest.mark.parametrize("lesson_id", [i for i in lesson_ids() if (ROOT / PAGES[get_lesson(i).page]).exists()])
def test_open_in_page_loads_the_account_and_the_starting_controls(lesson_id):
    lesson = get_lesson(lesson_id)
    at = open_lesson(learn_app(), lesson_id)
    at.button(key=f"learn.open.{lesson_id}").click().run()
    assert not at.exception
    assert at.session_state["scenario"] == lesson_scenario(lesson_id)
    for key, value in lesson.controls.items():
        assert at.session_state[key] == value
    assert at.title[0].value != "Learn"  # now on the lesson's page
    if lesson.page == "lab":
        for name, market in lesson_scenario(lesson_id)["markets"].items():
            assert at.session_state[f"lab.price.{name}"] == market["price"]


def test_glossary_terms_are_linked_from_the_lessons():
    at = learn_app()
    captions = " ".join(c.value for c in at.caption)
    assert "[cross margin](/glossary#cross-margin)" in captions
    assert "[maintenance margin](/glossary#maintenance-margin)" in captions


@pytest.mark.parametrize("page_id", sorted(PAGE_TERMS))
def test_every_page_links_its_terms_to_the_glossary(page_id):
    for name in PAGE_TERMS[page_id]:
        lookup(name)  # no dead link
    if not (ROOT / PAGES[page_id]).exists():
        pytest.skip(f"{PAGES[page_id]} is not in this build")
    at = goto(whole_app().run(), PAGES[page_id])
    line = next(c.value for c in at.sidebar.caption if "Terms on this page" in c.value)
    first = PAGE_TERMS[page_id][0]
    assert f"[{first}](/glossary#{lookup(first)['anchor']})" in line


def test_glossary_lists_every_term_and_searches():
    at = goto(whole_app().run(), "pages/glossary.py")
    assert not at.exception and in_frame(at)
    headers = [h.value for h in at.subheader]
    assert headers == [e["term"] for e in entries()]
    for needed in ("Cross margin", "Isolated margin", "Wallet balance", "Equity", "Unrealized PnL",
                   "Maintenance margin", "Margin ratio", "Initial margin", "Leverage", "Liquidation price",
                   "Bankruptcy price", "Mark price", "Last price", "Maintenance tiers / risk limits",
                   "Insurance fund", "Socialized loss / auto-deleveraging", "Liquidation cascade",
                   "Fat tails", "VaR", "Expected shortfall"):
        assert needed in headers
    assert len(at.get("latex")) >= 10  # formulas where useful
    at.text_input(key="glossary.search").input("ADL").run()
    assert [h.value for h in at.subheader] == ["Socialized loss / auto-deleveraging"]
    at.text_input(key="glossary.search").input("no such thing").run()
    assert not at.subheader and "No term matches" in at.info[0].value


def test_glossary_anchors_names_and_links_are_unique_and_resolve():
    """Every anchor once; every name and alias leads to one entry only (an alias shared by two
    entries would send a link to whichever comes first); every related term and every term a
    page or a lesson links exists."""
    anchors = [e["anchor"] for e in entries()]
    assert len(anchors) == len(set(anchors))
    owner: dict[str, str] = {}
    for entry in entries():
        for name in {entry["term"], *entry["term"].split(" / "), *entry.get("aliases", ())}:
            key = " ".join(name.lower().split())
            assert owner.setdefault(key, entry["term"]) == entry["term"], (name, owner[key], entry["term"])
        for related in entry.get("related", ()):
            lookup(related)
    for names in PAGE_TERMS.values():
        for name in names:
            lookup(name)
    for lesson_id in lesson_ids():
        for name in get_lesson(lesson_id).terms:
            lookup(name)
    # the words the pages use for a position and its account have entries of their own
    for name, anchor in (("long", "long"), ("short", "short"), ("perp", "perpetual-future"),
                         ("perpetual future", "perpetual-future"), ("wipe-out", "wipe-out"),
                         ("wiped out", "wipe-out"), ("beta", "beta")):
        assert lookup(name)["anchor"] == anchor, name


# ----------------------------------------------------------------------------- presenter mode


@pytest.mark.parametrize("page", PAGE_FILES)
def test_presenter_mode_renders_every_page(page):
    at = whole_app()
    at.session_state["presenter"] = True
    goto(at.run(), page)
    assert not at.exception, at.exception
    assert in_frame(at, page)
    assert at.button(key="presenter.exit").label == "Exit presenter mode"
    styles = " ".join(h.proto.body for h in at.get("html"))
    assert "font-size: 21px" in styles and 'data-testid="stSidebar"' in styles
    for figure in (json.loads(c.proto.spec) for c in at.get("plotly_chart")):
        # Plotly sizes text in pixels: presenter mode must enlarge every chart's own fonts
        assert figure["layout"]["font"]["size"] >= 18, figure["layout"]["title"]["text"]


def test_presenter_mode_from_the_url_and_back():
    at = whole_app()
    at.query_params["present"] = "1"
    at.run()
    assert at.session_state["presenter"] is True
    assert any("font-size: 21px" in h.proto.body for h in at.get("html"))
    at.button(key="presenter.exit").click().run()
    assert at.session_state["presenter"] is False
    assert "present" not in at.query_params
    assert not any("font-size: 21px" in h.proto.body for h in at.get("html"))
    assert not [b for b in at.button if b.key == "presenter.exit"]


def test_presenter_toggle_in_the_sidebar():
    at = whole_app().run()
    toggle = at.toggle(key="presenter.widget")
    assert toggle.value is False
    toggle.set_value(True).run()
    assert at.session_state["presenter"] is True
    assert at.button(key="presenter.exit")


def test_presenter_mode_keeps_a_way_to_every_page():
    """The sidebar (and its navigation) is hidden in presenter mode: a row at the top of the
    page lists every page, shows where we are, and picking one goes there, still presenting."""
    at = whole_app()
    at.session_state["presenter"] = True
    at.run()
    switcher = at.button_group(key="presenter.page")
    assert switcher.options == ["Price lab", "Builder", "Crash replay", "Cascade", "Stress lab", "Learn", "Glossary"]
    assert [o.content_icon for o in switcher.proto.options] == [p.icon for p in SITE_PAGES if p.in_switcher]  # in order
    assert at.session_state["presenter.page"] == "lab"
    for page_id, title in (("replay", "Crash replay"), ("builder", "Account builder"), ("glossary", "Glossary")):
        at.button_group(key="presenter.page").set_value(page_id).run()
        assert not at.exception, at.exception
        assert at.title[0].value == title
        assert at.session_state["presenter.page"] == page_id  # the row shows where we are now
        assert at.session_state["presenter"] is True and in_frame(at)
