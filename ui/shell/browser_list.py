"""A short list kept in this browser (``localStorage``), across sessions, reloads and days: what
a page must remember for one person on one machine and nowhere else (the rooms a teacher opened
here, with their keys). A small ``st.components.v2`` script in the page's DOM reads the list,
adds an entry when asked, and hands the list back to the page as the component's state.

The list holds only what the page puts in it (short JSON arrays), newest first, at most
:data:`MAX_ENTRIES`; a page must treat what comes back as untrusted input (the browser's owner
can edit it). On the first run of a session the list is not known yet: it arrives with the
component's first report, one run later.
"""

from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

MAX_ENTRIES = 50

_JS = """
export default function (component) {
  const d = component.data || {};
  const name = 'marginLab.' + d.name;
  let list = [];
  try { list = JSON.parse(window.localStorage.getItem(name) || '[]'); } catch (e) { list = []; }
  if (!Array.isArray(list)) list = [];
  if (d.clear) list = [];
  if (d.add) {
    const same = JSON.stringify(d.add.slice(0, d.match));
    list = [d.add, ...list.filter((e) => JSON.stringify((e || []).slice(0, d.match)) !== same)].slice(0, d.max);
  }
  try { window.localStorage.setItem(name, JSON.stringify(list)); } catch (e) { /* private mode: this session only */ }
  if (JSON.stringify(list) !== JSON.stringify(d.known || [])) component.setStateValue('entries', list);
}
"""
_list = st.components.v2.component("margin_lab.browser_list", js=_JS, isolate_styles=False)


def browser_list(name: str, *, key: str, add: Sequence[Any] | None = None, match: int = 1,
                 clear: bool = False) -> list[list[Any]]:
    """The list ``name`` kept in this browser, after adding ``add`` (an entry replaces one whose
    first ``match`` items are equal) or emptying it (``clear``). Entries that are not lists are
    dropped. The component shows nothing (the page's style hides its box: key ``key``)."""
    known = f"{key}.known"  # what the page last heard from the browser, so the script reports only news
    result = _list(data={"name": name, "add": list(add) if add else None, "match": match, "clear": clear,
                         "known": st.session_state.get(known, []), "max": MAX_ENTRIES},
                   key=key, default={"entries": []}, on_entries_change=lambda: None)
    found = getattr(result, "entries", None) or []
    entries = [list(e) for e in found if isinstance(e, list)][:MAX_ENTRIES]
    st.session_state[known] = entries
    return entries

__all__ = ["MAX_ENTRIES", "browser_list"]
