"""Streamlit pieces every page shares: the session's account, widgets, the sidebar, presenter mode,
shareable links, deep links, what a session holds and the server's memory, a long run's page side,
the live-HTML component and the welcome box."""
