"""A first-time visitor's start on the root page: the two ideas, a picture, the first lesson."""

from __future__ import annotations

from tests.support import whole_app


def test_the_root_page_starts_with_the_two_ideas_and_a_way_to_the_first_lesson():
    at = whole_app().run()
    words = " ".join(m.value for m in at.markdown)
    assert "In **cross margin** every position draws on one shared pool" in words
    assert "In **isolated margin** each position has its own margin" in words
    pictures = [h for h in at.get("html") if "<img" in h.proto.body]
    assert pictures and 'alt="Two accounts side by side' in pictures[0].proto.body, "the picture, with its alt"
    at.button(key="welcome.start").click().run()
    assert at.session_state["learn.current"] == "cross-exposure"
    assert at.session_state["welcome.hidden"] is True


def test_the_start_can_be_hidden_and_stays_hidden():
    at = whole_app().run()
    at.button(key="welcome.hide").click().run()
    assert not [b for b in at.button if b.key == "welcome.start"]
    at.run()
    assert not [b for b in at.button if b.key == "welcome.start"]


def test_presenter_mode_has_no_start_box():
    at = whole_app()
    at.session_state["presenter"] = True
    at.run()
    assert not [b for b in at.button if b.key == "welcome.start"]
