"""The story presets' texts on an account: which preset's story it tells, and whether the
account has changed away from that preset since (the builder warns; the sidebar says so)."""

from __future__ import annotations

import functools
from typing import Any, Mapping

from margin.presets import load_story, story_ids
from margin.scenario import Scenario, ScenarioError, scenario_from_dict, shared_scenario


def story_preset(raw: Mapping[str, Any]) -> str | None:
    """The id of the story preset whose story text the account carries (None if it carries
    none, or a text of its own)."""
    story = raw.get("story")
    if not isinstance(story, str) or not story.strip():
        return None
    return _presets_by_story().get(story)


@functools.lru_cache(maxsize=1)
def _presets_by_story() -> dict[str, str]:
    """Story text -> preset id, for the shipped presets (read-only assets)."""
    return {str(load_story(i).get("story")): i for i in reversed(story_ids()) if load_story(i).get("story")}


def story_changes(raw: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """When the account still tells a preset's story but no longer is that preset's account:
    the preset's name and what changed (``"positions"``, ``"wallet"``, ``"prices"``). None when
    the story is the account's own, the account is the preset's, or the account is not valid.

    >>> raw = load_story("default")
    >>> story_changes(raw) is None
    True
    >>> raw["positions"][0]["size"] = 0.5
    >>> story_changes(raw)
    ('A winner keeps a loser alive', ['positions'])
    >>> raw["story"] = "My own story."
    >>> story_changes(raw) is None
    True
    """
    story_id = story_preset(raw)
    if story_id is None:
        return None
    try:
        mine, theirs = shared_scenario(raw), _preset(story_id)
    except ScenarioError:
        return None
    changed = []
    if mine.positions != theirs.positions:
        changed.append("positions")
    if mine.balance != theirs.balance:
        changed.append("wallet")
    if {n: m.price for n, m in mine.markets.items()} != {n: m.price for n, m in theirs.markets.items()}:
        changed.append("prices")
    return (str(theirs.name or story_id), changed) if changed else None


@functools.lru_cache(maxsize=None)
def _preset(story_id: str) -> Scenario:
    """A shipped story's account, validated once per process (read-only assets)."""
    return scenario_from_dict(load_story(story_id))


__all__ = ["story_changes", "story_preset"]
