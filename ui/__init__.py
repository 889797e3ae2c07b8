"""The dashboard's floors above the engine, one folder per feature (lab, builder, replay, cascade,
stress, rooms, learn), each with one Streamlit file (``session.py``) beside its pure model, words
and pictures; ``common/`` holds the pure pieces several features share, ``shell/`` the Streamlit
ones. The import rules are enforced by ``tests/test_house.py`` and drawn in ``docs/architecture.md``."""
