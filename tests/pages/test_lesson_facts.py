"""A lesson's account facts on the learn page (AppTest): one HTML table per kind, positions by
name, every value labelled per cell so a phone can stack the row as "column: value" lines
(at 390 px the two st.dataframe tables were cut)."""

from __future__ import annotations

import re

import pytest

from margin.presets import position_labels
from margin.scenario import scenario_from_dict
from teach import lesson_ids, lesson_scenario
from tests.support import learn_app, open_lesson


@pytest.mark.parametrize("lesson_id", lesson_ids()[:3])
def test_a_lessons_facts_are_a_labelled_table_not_a_dataframe(lesson_id):
    at = open_lesson(learn_app(), lesson_id)
    assert not at.exception
    assert not at.get("arrow_data_frame")  # no grid that cuts its columns on a phone
    facts = [h.proto.body for h in at.get("html") if 'class="ml-facts ' in h.proto.body]
    assert facts, "the account's facts are shown"
    body = facts[0]
    raw = lesson_scenario(lesson_id)
    for name in position_labels(scenario_from_dict(raw)).values():
        assert f'<td data-label="Position">{name}</td>' in body
    assert "@container (max-width:" in body and "content:attr(data-label)" in body
    cells = re.findall(r"<td [^>]*>", body)
    assert cells and all('data-label="' in c for c in cells)
