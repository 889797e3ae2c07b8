"""Margin Lab with its classroom rooms pushed to every student: the app to run.

    uv run streamlit run serve_app.py       # the app; rooms pushed, not polled

``streamlit run`` finds ``app`` below, an ``st.App`` (Streamlit's ASGI entry, served by
uvicorn), and serves the same pages as ``streamlit run app.py`` (``app.py`` stays the page
script: the frame, the navigation, what AppTest and the tests run) with one route more: each
classroom room's event stream (``push/server.py``), which a student's page listens to, so a
teacher's step reaches every student's screen once, without a script run per student. The
project's ``.streamlit/config.toml`` applies as before (this file sits beside ``app.py``), and
so do command-line flags and ``STREAMLIT_*`` variables. Run as ``streamlit run app.py`` the app
works as it did: the student pages poll the room every second. See ``docs/push.md``.
"""

import streamlit as st

from push.server import lifespan, routes

app = st.App("app.py", routes=routes(), lifespan=lifespan)
