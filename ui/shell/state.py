"""The account in the session, shared by every page.

The account lives under the plain key ``"scenario"`` (never a widget key, so it survives page
changes) as a JSON-ready dict in the scenario file format. Pages read it with
:func:`current_account` (the validated :class:`~margin.scenario.Scenario` and its cache key,
once per change) and replace it with :func:`set_scenario`, which validates first and keeps the
old account when the new one is bad.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from margin.presets import DEFAULT_STORY, load_story
from margin.scenario import Scenario, ScenarioError, load_scenario, scenario_to_dict, shared_scenario
from margin.scenario_writer import canonical_json

SCENARIO_KEY = "scenario"
REVISION_KEY = "scenario_revision"  # bumps on every change: pages key widgets and caches on it
ACCOUNT_KEY = "scenario.account"  # the validated account of the current revision (see current_account)


def ensure_scenario() -> dict[str, Any]:
    """The session's account dict, the default story on first use."""
    if SCENARIO_KEY not in st.session_state:
        st.session_state[SCENARIO_KEY] = load_story(DEFAULT_STORY)
        st.session_state[REVISION_KEY] = 0
    return st.session_state[SCENARIO_KEY]


def scenario_dict() -> dict[str, Any]:
    """A copy of the account dict, safe to edit."""
    return copy.deepcopy(ensure_scenario())


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Account:
    """The session's account as the engine takes it: the validated ``scenario`` and ``key``,
    its canonical JSON text, which names it in caches that sessions share (results, never
    state). Pages pass this object on; nothing parses the text back."""

    scenario: Scenario
    key: str


account_key = canonical_json  # the scenario dict as canonical JSON text (a cache key)


def current_account() -> Account:
    """The session's account, validated once per change (raises :class:`ScenarioError`)."""
    raw = ensure_scenario()
    memo = st.session_state.get(ACCOUNT_KEY)
    stamp = (revision(), id(raw))
    if memo is None or memo[0] != stamp:
        memo = (stamp, Account(scenario=shared_scenario(raw), key=account_key(raw)))
        st.session_state[ACCOUNT_KEY] = memo
    return memo[1]


def current_scenario() -> Scenario:
    """The session's account, validated."""
    return current_account().scenario


def revision() -> int:
    ensure_scenario()
    return int(st.session_state.get(REVISION_KEY, 0))


def file_account(path: str) -> dict[str, Any]:
    """The account of scenario file ``path`` as a new dict, the file read and validated once per
    change (``MARGIN_LAB_SCENARIO``: every new session's first account)."""
    return json.loads(_file_account_text(path, os.stat(path).st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _file_account_text(path: str, mtime_ns: int) -> str:
    return json.dumps(scenario_to_dict(load_scenario(path)))


def set_scenario(raw: dict[str, Any]) -> Scenario:
    """Validate ``raw`` and make it the session's account; raises :class:`ScenarioError`
    (and keeps the current account) when it is bad."""
    scenario = shared_scenario(raw)
    st.session_state[SCENARIO_KEY] = copy.deepcopy(raw)
    st.session_state[REVISION_KEY] = revision() + 1
    return scenario


__all__ = ["Account", "ScenarioError", "account_key", "current_account", "current_scenario", "ensure_scenario", "file_account", "revision", "scenario_dict", "set_scenario"]
