"""The account builder: the positions and markets tables, edits, uploads and exchange imports
(model), and its Streamlit side (session: the draft, the callbacks)."""
