"""The stress lab: plain keys to a stress spec and the worker's run (model), figures, tables and
CSVs (charts), and its Streamlit side (session)."""
