"""The crash replay: the account walked along a crash three ways, in numbers and words (model),
its figures (charts), and its Streamlit side (session: caches, worker runs, the player)."""
