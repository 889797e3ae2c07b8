"""`margin.scenario.shared_scenario`: sessions opening one account share one validated Scenario
(issue 28: 60 first pages at once), and the share never changes what a session is shown."""

from __future__ import annotations

import copy

import pytest

from margin.presets import load_story
from margin.scenario import ScenarioError, scenario_from_dict, shared_scenario


def test_one_account_is_validated_once_and_equals_its_own_parse():
    raw = load_story("default")
    first, again = shared_scenario(raw), shared_scenario(copy.deepcopy(raw))
    assert first is again
    assert first == scenario_from_dict(raw)


def test_the_markets_keep_the_accounts_order():
    raw = load_story("default")
    reordered = dict(raw, markets=dict(reversed(list(raw["markets"].items()))))
    assert len(reordered["markets"]) > 1, "the default account has several markets"
    assert list(shared_scenario(reordered).markets) == list(reordered["markets"])
    assert list(shared_scenario(raw).markets) == list(raw["markets"])


def test_a_changed_account_is_a_new_scenario():
    raw = load_story("default")
    changed = copy.deepcopy(raw)
    changed["balance"] = raw["balance"] + 1.0
    assert shared_scenario(changed).balance == raw["balance"] + 1.0
    assert shared_scenario(raw).balance == raw["balance"]


def test_a_bad_account_is_refused_every_time_naming_the_field():
    raw = load_story("default")
    raw["balance"] = -5
    for _ in range(2):
        with pytest.raises(ScenarioError, match="balance"):
            shared_scenario(raw)
