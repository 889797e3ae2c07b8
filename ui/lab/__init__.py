"""The price lab: the learner's path and the account three ways along it (model), the shock sweep,
the words, the light-HTML text, marks and charts, and its Streamlit side (session)."""
