"""The listening component: a student page's room screen, pushed by the server, redrawn in
the browser without a script run.

:func:`room_stream` mounts a small ``st.components.v2`` component (in the page's own DOM, as
``ui/shell/live_html.py``'s) that opens the room's event stream (:mod:`push.server`) with a
ticket (:mod:`push.ticket`: no seat token) and, on every ``screen`` event, changes the page's
live region in place (the same morph as the lab's live regions: only what differs changes, a
scrolled list keeps its place). The stream stays open across the page's runs.

The page runs again (one fragment run, asked through the component's ``stale`` trigger) only
when its own widgets must change: when a pushed screen's shape (:func:`push.screen.page_shape`:
the mode, the question and its reveal, the class cascades) differs from the one the page drew,
or the stream ended (the room closed or expired, the student was removed), or the stream was
refused three times in a row (a fresh run hands out a fresh ticket or says what is wrong).
Those runs are spread over up to :data:`JITTER_MS` so that a class's pages do not all run in
the same instant. In explore mode the page hands the component the student's own screen
(``override``), which it shows instead of the room's.

A dropped stream is reconnected by the browser (``retry`` 1 s) and a refused one by the
component, backing off up to 30 s; each connection starts with the current screen, so a screen
is never left behind.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from classroom import RoomState
from push.screen import page_shape
from push.server import serving, stream_path, ticket_key
from push.ticket import issue_ticket
from ui.shell.live_html import MORPH_JS

JITTER_MS = 1_000  # a class's page runs after a shape change are spread over this long [ms]

_JS = MORPH_JS + """
const streams = window.__marginLabRoomStreams || (window.__marginLabRoomStreams = {});
function draw(s, tries) {
  const html = s.override != null ? s.override : s.html;
  if (html == null) return;
  const host = document.querySelector(`[data-live-region="${CSS.escape(s.region)}"]`);
  if (!host) { if ((tries || 0) < 120) requestAnimationFrame(() => draw(s, (tries || 0) + 1)); return; }
  if (host.__liveHtml !== html) {
    const next = document.createElement('template');
    next.innerHTML = html;
    morphChildren(host, next.content);
    host.__liveHtml = html;
  }
  host.setAttribute('data-room-version', String(s.version));
}
function ask(s, why) {
  if (s.asked === why || !s.trigger) return;
  s.asked = why;
  setTimeout(() => { if (!s.gone) s.trigger('stale', why); }, Math.random() * s.jitter);
}
function check(s) {
  const m = s.latest;
  if (m && m.v > s.pageVersion && m.shape && m.shape !== s.shape) ask(s, m.shape);
}
function connect(s) {
  const es = new EventSource(s.url);
  s.es = es;
  es.addEventListener('screen', (e) => {
    const m = JSON.parse(e.data);
    s.failures = 0;
    if (s.latest && m.v < s.latest.v) return;
    s.latest = m; s.html = m.html; s.version = m.v;
    draw(s); check(s);
  });
  es.addEventListener('end', (e) => {
    const m = JSON.parse(e.data);
    s.ended = true; es.close();
    s.html = m.html; s.override = null; s.version = 'end';
    draw(s); ask(s, 'end:' + m.reason);
  });
  es.onerror = () => {
    if (s.es !== es || s.ended || s.gone || es.readyState !== EventSource.CLOSED) return;
    s.failures += 1;
    if (s.failures >= 3) ask(s, 'refused:' + s.failures);
    const wait = Math.min(30000, 1000 * 2 ** Math.min(s.failures, 5)) * (0.5 + Math.random());
    setTimeout(() => { if (s.es === es && !s.gone && !s.ended) connect(s); }, wait);
  };
}
export default function (component) {
  const d = component.data || {};
  let s = streams[d.region];
  if (!s || s.url !== d.url) {
    if (s && s.es) s.es.close();
    s = streams[d.region] = { region: d.region, url: d.url, failures: 0, html: null, latest: null, version: '' };
    connect(s);
  }
  s.gone = false; s.trigger = component.setTriggerValue; s.shape = d.shape; s.pageVersion = d.version;
  s.override = d.override == null ? null : d.override; s.jitter = d.jitter || 0; s.asked = null;
  draw(s); check(s);
  return () => {
    s.gone = true;
    setTimeout(() => {
      if (s.gone && streams[s.region] === s) { if (s.es) s.es.close(); delete streams[s.region]; }
    }, 1500);
  };
}
"""
_CSS = ".st-key-room-stream { display: none; }"  # the component shows nothing of its own

_stream = st.components.v2.component("margin_lab.room_stream", js=_JS, css=_CSS, isolate_styles=False)


def pushed() -> bool:
    """Whether this process serves the rooms' event streams (the app runs from ``serve_app.py``)."""
    return serving()


def stream_address(code: str, participant_id: int, expires_at: float, *, dark: bool) -> str:
    """The stream's address for one participant: a ticket until the room expires, and the theme."""
    ticket = issue_ticket(code=code, participant_id=participant_id, expires_at=expires_at, key=ticket_key())
    return f"{stream_path()}?{urlencode({'t': ticket, 'theme': 'dark' if dark else 'light'})}"


def room_stream(state: RoomState, participant_id: int, *, region: str, override: str | None, dark: bool) -> None:
    """Mount the listening component for the room ``state`` was read from, filling the live
    region ``region`` (``ui.shell.live_html.live_region``); ``override``: the student's own
    screen (explore mode), shown instead of the room's."""
    _stream(data={"region": region, "url": stream_address(state.code, participant_id, state.expires_at, dark=dark),
                  "shape": page_shape(state), "version": state.version, "override": override, "jitter": JITTER_MS},
            key="room.stream", on_stale_change=lambda: None)


__all__ = ["JITTER_MS", "pushed", "room_stream", "stream_address"]
