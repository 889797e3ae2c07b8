"""Accessibility rules the pages share: every slider has a number-input twin for exact,
keyboard entry (issue: learning mode and the classroom)."""

from __future__ import annotations


import pytest
from tests.support import PAGE_FILES, app_file



@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_every_slider_has_a_number_input_twin(page_file):
    at = app_file(60)
    at.switch_page(page_file).run()
    assert not at.exception
    inputs = {n.key for n in at.number_input}
    for slider in at.slider:
        assert slider.key and slider.key.endswith(".slider"), f"{slider.label!r} is not a slider_with_input"
        assert slider.key.removesuffix(".slider") + ".input" in inputs, f"{slider.label!r} has no number box"


def test_custom_crash_sliders_have_twins_too():
    at = app_file(60)
    at.session_state["replay.crash"] = "custom"
    at.switch_page("pages/crash_replay.py").run()
    assert not at.exception
    inputs = {n.key for n in at.number_input}
    labels = [s.label for s in at.slider]
    assert any("Drop" in label for label in labels)  # the custom controls are on screen
    for slider in at.slider:
        assert slider.key.removesuffix(".slider") + ".input" in inputs, slider.label
