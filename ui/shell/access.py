"""What every page needs to be followed without a mouse or without good eyes, in one style
sheet that ``app.py`` puts on every page (WCAG 2.2 AA as the yardstick, checked by axe-core
in ``tests/browser/test_accessibility_browser.py``):

- captions in the text colour, told apart by their size (Streamlit's 60 % grey caption on
  white is 4.4:1, under the 4.5:1 small text needs, and a glossary link in it less again);
- a thick, visible focus ring on everything that takes focus, slider thumbs above all (the
  theme's own ring on a thumb is a faint halo);
- a wide formula scrolls inside its own box only when it must, and that box takes focus so the
  keyboard can scroll it too.
"""

from __future__ import annotations

import streamlit as st

from ui.common.palette import BLUE

CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
  color: inherit !important; opacity: 1 !important; }
:focus-visible { outline: 3px solid %(focus)s !important; outline-offset: 2px !important; }
[role="slider"]:focus, [role="slider"]:focus-visible {
  outline: 3px solid %(focus)s !important; outline-offset: 3px !important;
  box-shadow: 0 0 0 6px rgba(0, 114, 178, 0.35) !important; }
.katex-display { overflow-x: visible !important; overflow-y: visible !important; }
@media (max-width: 640px) { .katex-display { font-size: 0.8em; } }
</style>
"""


def apply() -> None:
    """The style sheet, once per run (it takes no space on the page)."""
    st.html(CSS % {"focus": BLUE})
