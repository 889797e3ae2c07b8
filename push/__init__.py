"""Push, not poll: a classroom room's screen sent once per step to every student's page.

One app process serves, beside Streamlit (``st.App``, see ``serve_app.py``), a small event
stream per room (server-sent events). A student page's component listens to it and redraws the
room's screen in the browser, without a script run per student. The design, its measurements
and its limits: ``docs/push.md``.

* :mod:`push.ticket`: what a page hands its component to listen with (signed; no seat token).
* :mod:`push.notify`: change notification across processes (PostgreSQL ``LISTEN/NOTIFY``, or
  one SQLite version watcher per process).
* :mod:`push.screen`: the room's public screen at a version (what every student sees).
* :mod:`push.hub`: the per-process fan-out: one screen built per room version, the same bytes
  to every listener, bounded listeners.
* :mod:`push.server`: the stream's Starlette route and the hub's lifespan, for ``st.App``.
* :mod:`push.component`: the listening component (``st.components.v2``) a page mounts.

No module here holds a room's state: the database does (``classroom``); the hub keeps only the
screen it last built for each room it serves, and listeners.
"""
