"""The lessons: an account's facts to predict from (facts) and the Streamlit side (session: the
lesson list, the prediction box and the lesson panel on the page a lesson opens)."""
