"""The account builder, the Streamlit side: its session keys, the draft kept in step with the
session's account, and the callbacks of its buttons, presets and files (see
``pages/builder.py`` for what each key holds)."""

from __future__ import annotations

import copy

import streamlit as st

from margin.presets import apply_venue, load_story
from margin.scenario import ScenarioError, scenario_from_dict
from margin.numbers import money
from margin.stops import order_reach, reach_sentence
from ui.builder.collateral import collateral_lines
from ui.builder.model import handle_exchange_import, handle_upload, position_lines, validate
from ui.common.stories import story_changes
from ui.common.text import md
from ui.common.words import join_words, position_labels
from ui.lab.words import account_warnings
from ui.shell.sidebar import venue_name
from ui.shell.state import ensure_scenario, revision, scenario_dict, set_scenario

DRAFT = "builder.draft"  # the account being edited
BASE = "builder.base"  # the draft the tables started from
VERSION = "builder.version"  # bumps when the tables restart from a new draft
SYNCED = "builder.synced"  # the account revision the draft was last in step with
MESSAGE = "builder.message"  # what the last action did, said once: (kind, text)


def restart_draft(draft: dict) -> None:
    """Make ``draft`` the tables' new starting point (fresh editors)."""
    st.session_state[DRAFT] = copy.deepcopy(draft)
    st.session_state[BASE] = copy.deepcopy(draft)
    st.session_state[VERSION] += 1


def commit(draft: dict) -> str | None:
    """Keep ``draft``; make it the account if it is valid. Returns the problem in words, if any."""
    st.session_state[DRAFT] = copy.deepcopy(draft)
    problem = validate(draft)
    if problem is None and draft != ensure_scenario():
        set_scenario(draft)
        st.session_state[SYNCED] = revision()
    return problem


def act(change, *args) -> None:
    """Button callback: apply ``change(draft, *args)``, keep the result, restart the tables."""
    try:
        draft = change(st.session_state[DRAFT], *args)
    except ScenarioError as err:
        st.session_state[MESSAGE] = ("error", f"{err.field}: {err.problem}")
        return
    commit(draft)
    restart_draft(draft)
    st.session_state[MESSAGE] = None


def load_story_preset() -> None:
    story = st.session_state["builder.story"]
    set_scenario(load_story(story))
    st.session_state[MESSAGE] = ("success", f"Loaded the story “{load_story(story)['name']}”.")


def apply_venue_preset() -> None:
    venue = st.session_state["builder.venue"]
    if venue:
        act(apply_venue, venue)
        st.session_state[MESSAGE] = ("success", f"Applied the rules and tiers of {venue_name(venue)}.")


def read_upload() -> None:
    uploaded = st.session_state.get("builder.upload")
    if uploaded is None:
        return
    result = handle_upload(uploaded.getvalue())
    if result.scenario is None:
        st.session_state[MESSAGE] = ("error", result.message)
        return
    set_scenario(result.scenario)
    st.session_state[MESSAGE] = ("success", result.message)


def import_exchange() -> None:
    """The export's files and pasted text, read into the account (or the reason it was not)."""
    pastes: dict[str, str | bytes] = {f.name: f.getvalue() for f in st.session_state.get("builder.import_files") or []}
    text = st.session_state.get("builder.import_paste") or ""
    if text.strip():
        pastes["pasted text"] = text
    result = handle_exchange_import(pastes)
    if result.scenario is None:
        st.session_state[MESSAGE] = ("error", result.message)
        return
    set_scenario(result.scenario)
    st.session_state[MESSAGE] = ("success", result.message)


def clear_story(key: str) -> None:
    st.session_state[key] = ""


def synced_draft() -> tuple[dict, dict, int]:
    """The tables' starting draft, the draft as kept and the tables' version, after keeping the
    draft in step with the session's account: when the account was changed elsewhere (a lesson,
    a link, an upload) the draft restarts from it; when the tables were away (another page)
    they start from the kept draft, edits included."""
    st.session_state.setdefault(VERSION, 0)
    st.session_state.setdefault(MESSAGE, None)
    ensure_scenario()
    if DRAFT not in st.session_state or st.session_state.get(SYNCED) != revision():
        restart_draft(scenario_dict())
        st.session_state[SYNCED] = revision()
    version = st.session_state[VERSION]
    if f"builder.positions.{version}" not in st.session_state and st.session_state[DRAFT] != st.session_state[BASE]:
        st.session_state[BASE] = copy.deepcopy(st.session_state[DRAFT])
    return st.session_state[BASE], st.session_state[DRAFT], version


def story_warning(candidate: dict, story_key: str) -> None:
    """Said when the account still tells a preset's story but has changed away from that preset,
    with a button that clears the story (text area ``story_key``)."""
    changes = story_changes(candidate)
    if changes:
        preset, changed = changes
        verb = "has" if changed == ["wallet"] else "have"
        st.warning(f"This story was written for the preset “{preset}”. The account's {join_words(changed)} "
                   f"{verb} changed since, so it may no longer describe it: edit it below, or clear it and "
                   f"write your own.", icon=":material/edit_note:")
        st.button("Clear the story", icon=":material/backspace:", key="builder.clear_story",
                  on_click=clear_story, args=(story_key,))


def draft_status(candidate: dict, problem: str | None, *, outcomes: bool = True) -> None:
    """What the last action did (once), then the draft's verdict: the problem in words, or the
    account in use with every number as it is kept. ``outcomes=False`` (a lesson waits for its
    prediction): where each stop sits against the liquidation is not said."""
    message = st.session_state[MESSAGE]
    st.session_state[MESSAGE] = None  # said once, right after the action
    if message:
        kind, text = message
        if kind == "error":  # the messages quote the file's own text: shown as text
            st.error(md(text), icon=":material/error:")
        else:
            st.success(md(text), icon=":material/check_circle:")
    if problem:
        st.error(f"{md(problem)}. Your edit is kept here; the price lab still shows the last valid account.",
                 icon=":material/error:")
        return
    scenario = scenario_from_dict(candidate)
    for warning in account_warnings(scenario):
        st.warning(md(warning), icon=":material/warning:")
    count = len(candidate["positions"])
    with st.container(border=True, key="builder.in_use", gap="small"):
        st.markdown(f":material/check_circle: **In use:** {count} position{'' if count == 1 else 's'} "
                    f"on a {money(candidate['balance'])} wallet, every number as it is kept:")
        lines = position_lines(scenario) + collateral_lines(scenario)
        box = st.container(height=200, border=False) if len(lines) > 6 else st.container(border=False)
        box.text("\n".join(lines))  # names come from the account: text, never Markdown
        reaches = order_reach(scenario) if outcomes else ()
        if reaches:
            labels = position_labels(scenario)
            st.markdown("**Where each stop sits** against the liquidation (every other market held):")
            st.text("\n".join(reach_sentence(r, labels[r.id]) for r in reaches))
