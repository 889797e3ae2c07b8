"""Parts of a page that change on every slider step, updated in place in the browser.

Each ``st.html`` whose text changes costs a redraw of its own in the browser: Streamlit
renders the element again, sanitizes the text, builds every element anew, works out their
styles and lays them out, and a list scrolled in its box jumps back to the top. The price lab
changes eight such blocks per step (its text, its two charts, the marks under each slider).

Here instead the page holds fixed, empty regions (:func:`live_region`, an ``st.html`` whose
text never changes, so Streamlit never redraws it), and one component per step
(:func:`live_regions`, ``st.components.v2`` in the page's own DOM) fills them: it keeps the
elements each region already shows and changes only what differs (a number's text, a bar's
height, a mark's position). The HTML is this app's own, built with every value escaped (see
``ui/lab/html.py`` and ``ui/lab/charts.py``).
"""

from __future__ import annotations

import hashlib
import re
from html import escape
from typing import Mapping

import streamlit as st

# morphChildren(live, next): make the children of `live` (in the page) equal to those of `next`
# (a parsed, inert template), keeping every element whose tag is unchanged. Public: the rooms'
# pushed screens (push/component.py) change their region in place the same way.
MORPH_JS = """
function morphAttributes(live, next) {
  for (const {name, value} of Array.from(next.attributes)) {
    if (live.getAttribute(name) !== value) live.setAttribute(name, value);
  }
  for (const {name} of Array.from(live.attributes)) {
    if (!next.hasAttribute(name)) live.removeAttribute(name);
  }
}
function morphChildren(live, next) {
  const wanted = Array.from(next.childNodes);
  for (let i = 0; i < wanted.length; i++) {
    const want = wanted[i], have = live.childNodes[i];
    if (!have) { live.appendChild(want.cloneNode(true)); continue; }
    if (have.nodeType !== want.nodeType || have.nodeName !== want.nodeName) {
      live.replaceChild(want.cloneNode(true), have); continue;
    }
    if (want.nodeType === Node.ELEMENT_NODE) {
      morphAttributes(have, want); morphChildren(have, want);
    } else if (have.nodeValue !== want.nodeValue) {
      have.nodeValue = want.nodeValue;
    }
  }
  while (live.childNodes.length > wanted.length) live.removeChild(live.lastChild);
}
"""
# A region whose HTML is the same as last time is not parsed at all. Regions not in the page yet
# (their st.html arrives in the same run) are retried on the next frames; a newer run supersedes.
_JS = MORPH_JS + """
function fill(regions, run, tries) {
  if (window.__marginLabLiveRun !== run) return;
  let missing = false;
  for (const [name, html] of Object.entries(regions)) {
    const host = document.querySelector(`[data-live-region="${CSS.escape(name)}"]`);
    if (!host) { missing = true; continue; }
    if (host.__liveHtml === html) continue;
    const next = document.createElement('template');
    next.innerHTML = html;
    morphChildren(host, next.content);
    host.__liveHtml = html;
  }
  if (missing && tries < 120) requestAnimationFrame(() => fill(regions, run, tries + 1));
}
export default function (component) {
  const run = (window.__marginLabLiveRun || 0) + 1;
  window.__marginLabLiveRun = run;
  fill((component.data && component.data.regions) || {}, run, 0);
}
"""

_live = st.components.v2.component("margin_lab.live_regions", js=_JS, isolate_styles=False)


def region_name(kind: str, name: str) -> str:
    """A region's name, ``"<kind>.<name>"``, safe in an HTML attribute that the page's sanitizer
    keeps: a ``name`` with other characters than letters, digits, ``.``, ``_`` and ``-`` (an
    account may call a market anything) is replaced by a safe form and a hash of it.

    >>> region_name("strip", "BTCUSDT")
    'strip.BTCUSDT'
    >>> region_name("strip", 'BTC"><b>')[:15]
    'strip.BTC___b_-'
    """
    if re.fullmatch(r"[A-Za-z0-9._-]+", name):
        return f"{kind}.{name}"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:40]
    return f"{kind}.{safe}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def live_region(name: str) -> None:
    """A fixed, empty place in the page, filled by :func:`live_regions` under ``name``."""
    st.html(f'<div data-live-region="{escape(name)}"></div>')


def live_regions(regions: Mapping[str, str], *, key: str) -> None:
    """Fill the :func:`live_region` places named in ``regions`` with their HTML (trusted:
    built by this app, every value escaped), changing only what differs since the last run.
    The component itself shows nothing (the page's style hides its empty box)."""
    _live(data={"regions": dict(regions)}, key=key)
