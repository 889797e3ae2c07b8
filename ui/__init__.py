"""Streamlit-side helpers shared by the pages: session state, figure builders, widgets."""
