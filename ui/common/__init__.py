"""Pure pieces several features share: the page registry, text shown as text, words, the link
codec, the palette, the figure frame, the glossary, the event-log CSV, the story presets' texts and
the worker pool for long runs. No Streamlit; imports no ``ui.shell`` and no feature."""
