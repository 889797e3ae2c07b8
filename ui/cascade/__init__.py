"""The market cascade: the crowd, one cascade, the tipping curve and the learner's fate in numbers
and words (model), its figures (charts), and its Streamlit side (session)."""
