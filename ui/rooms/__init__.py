"""Classroom rooms: a room's screens in numbers and words (model), as HTML and figures (html,
charts), and the Streamlit side (session: the store's connection, the URL, the teacher's panels)."""
