"""Lessons (teach/ + assets/lessons.json): every check accepts the engine's answer,
explains a wrong one with the numbers, and its answer agrees with the engine called directly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from margin.account import evaluate, position_liquidation_price
from teach import (
    apply_patch, check, expected, get_lesson, lesson_ids, lesson_scenario, lessons, liquidation_shock,
    measure, question_text,
)
from margin.presets import story_ids
from margin.scenario import scenario_from_dict
from margin.sweep import shock_prices
from ui.common.glossary import lookup
from ui.common.link_codec import control_spec
from ui.common.site import page_ids

CONCEPTS = {  # the ten concepts, each taught by at least one lesson
    "cross-exposure", "capital-efficiency", "one-bad-trade", "isolated-contains", "liq-vs-bankruptcy",
    "maintenance-tiers", "mark-vs-last", "insurance-fund", "cascade-contagion", "stress-fat-tails",
}


def test_every_concept_has_a_lesson():
    assert CONCEPTS <= set(lesson_ids())
    assert len(lesson_ids()) == len(set(lesson_ids()))


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_lesson_data_holds_together(lesson_id):
    lesson = get_lesson(lesson_id)
    assert lesson.page in page_ids() and lesson.page not in ("learn", "glossary")
    assert lesson.story is None or lesson.story in story_ids()
    scenario_from_dict(lesson_scenario(lesson))  # the account is valid
    for term in lesson.terms:
        lookup(term)  # every term is in the glossary
    for key, value in lesson.controls.items():
        assert control_spec(lesson.page, key) is not None, key  # a control the page documents
    text = question_text(lesson_id)
    assert "{" not in text and "}" not in text, text
    if lesson.answer.kind == "choice":
        assert set(lesson.explanations) <= set(lesson.answer.options)
        assert expected(lesson_id) in lesson.answer.options


# Each lesson's answer as it stood when the lessons were written and reviewed (2026-12): a change of
# rule that moves an answer fails here, instead of the checker quietly accepting the new number.
ANSWERS = {
    "cross-exposure": 84368.84, "capital-efficiency": -11.97, "one-bad-trade": -6.89,
    "isolated-contains": 18050.0, "liq-vs-bankruptcy": 0.294, "maintenance-tiers": 97101.54,
    "mark-vs-last": "No, it stays open", "insurance-fund": 60000.0, "cascade-contagion": -15.23,
    "stress-fat-tails": "More than 4 times as often",
}


def test_every_lesson_has_a_reviewed_answer():
    assert set(ANSWERS) == set(lesson_ids())


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_right_answer_is_accepted_and_explained(lesson_id):
    assert expected(lesson_id) == ANSWERS[lesson_id]
    result = check(lesson_id, ANSWERS[lesson_id])
    assert result.correct, result.message
    assert result.message.startswith("Right")
    assert "{" not in result.message and "}" not in result.message, result.message
    assert len(result.message) > 80


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_wrong_answer_is_explained_with_both_numbers(lesson_id):
    lesson = get_lesson(lesson_id)
    right = expected(lesson_id)
    if lesson.answer.kind == "choice":
        wrong = next(o for o in lesson.answer.options if o != right)
        result = check(lesson_id, wrong)
        assert f"You chose “{wrong}”; the engine says “{right}”" in result.message
    else:
        wrong = right * 1.5 if right else 1000.0
        result = check(lesson_id, wrong)
        assert f"You said {lesson.answer.describe(wrong)}; the engine says {lesson.answer.describe(right)}." \
            in result.message
    assert not result.correct and result.expected == right
    assert "{" not in result.message and "}" not in result.message, result.message


@pytest.mark.parametrize("lesson_id", [l.id for l in lessons() if l.mistakes])
def test_typical_mistakes_get_their_own_explanation(lesson_id):
    lesson = get_lesson(lesson_id)
    for mistake in lesson.mistakes:
        alt = mistake["value"] if "value" in mistake else measure(lesson, mistake["quantity"]).value
        result = check(lesson_id, alt)
        assert not result.correct, (lesson_id, alt)
        assert mistake["message"].split("{")[0][:25].strip() in result.message or \
            mistake["message"].split("}")[-1][:25].strip() in result.message, result.message


def test_answers_within_tolerance_are_accepted_and_just_outside_are_not():
    lesson = get_lesson("maintenance-tiers")
    right = expected(lesson.id)
    tolerance = lesson.answer.rel_tolerance * right
    assert check(lesson.id, right + 0.9 * tolerance).correct
    assert not check(lesson.id, right + 1.1 * tolerance).correct


def test_missing_or_silly_answers_are_not_accepted():
    assert not check("cross-exposure", None).correct
    assert "Enter a number first" in check("cross-exposure", None).message
    assert not check("cross-exposure", float("nan")).correct
    assert "Pick one of the answers" in check("mark-vs-last", None).message
    assert "minus sign" in check("one-bad-trade", 7.0).message
    assert check("mark-vs-last", 1).correct == (expected("mark-vs-last") == get_lesson("mark-vs-last").answer.options[1])


# ----------------------------------------------------------------------------- the engine agrees


def test_liquidation_price_answers_are_the_engines():
    s = scenario_from_dict(lesson_scenario("cross-exposure"))
    liq = position_liquidation_price(s, 0).liquidation_price
    assert expected("cross-exposure") == round(liq, 2)
    # at that BTC price the cross pool sits exactly on its maintenance margin
    snap = evaluate(s, {"BTCUSDT": liq})
    assert math.isclose(snap.cross.equity, snap.cross.maintenance_margin, rel_tol=1e-9)
    s = scenario_from_dict(lesson_scenario("liq-vs-bankruptcy"))
    assert expected("liq-vs-bankruptcy") == round(position_liquidation_price(s, 1).bankruptcy_price, 4) == 0.294


@pytest.mark.parametrize("lesson_id", ["capital-efficiency", "one-bad-trade"])
def test_liquidation_shock_is_where_the_pool_breaches(lesson_id):
    s = scenario_from_dict(lesson_scenario(lesson_id))
    shock = liquidation_shock(s)
    def pool(x):
        row = shock_prices(s, np.array([x]))[0]
        snap = evaluate(s, dict(zip(s.markets, row)))
        return snap.cross.equity - snap.cross.maintenance_margin
    assert pool(shock) <= 0 < pool(shock + 1e-5)
    assert expected(lesson_id) == round(shock * 100, 2)


def test_isolated_lesson_costs_exactly_the_margin_and_cross_costs_the_wallet():
    raw = lesson_scenario("isolated-contains")
    sol = next(p for p in raw["positions"] if p["id"] == "sol-long")
    assert sol["mode"] == "isolated" and sol["margin"] == 1950
    assert expected("isolated-contains") == raw["balance"] - sol["margin"] == 18_050.0  # only the margin goes
    assert "0.00 USDT is what the fall leaves with the SOL long in cross" in check("isolated-contains", 0).message


def test_insurance_fund_lesson_conserves_money():
    # deficit 100,000 = fund 40,000 + socialized 60,000
    assert expected("insurance-fund") == 60000.0
    message = check("insurance-fund", 60000).message
    assert "deficit of 100,000.00 USDT" in message and "The fund pays 40,000.00 USDT" in message


def test_apply_patch_does_not_touch_the_story():
    from margin.presets import load_story
    before = load_story("one-bad-trade")
    apply_patch(before, {"positions": {"sol-long": {"mode": "isolated"}}, "rules": {"insurance_fund": 1}})
    assert before == load_story("one-bad-trade")


def test_lesson_file_is_tidy_json():
    from teach.lessons import ASSETS
    raw = json.loads((ASSETS / "lessons.json").read_text(encoding="utf-8"))
    assert raw["format"] == "margin-lessons/1"
    for lesson in raw["lessons"]:
        assert {"id", "title", "concept", "page", "instruction", "question", "answer", "quantity"} <= set(lesson)
