"""The engine's packages imported once, by one thread, before any page imports them.

Streamlit runs each browser session's script in a thread of its own. When several sessions
start at once on a fresh server (a class opening the teacher's link), their threads import the
engine at the same moment; its packages re-export their submodules from ``__init__``, so the
import graph has cycles through each package, and Python's per-module import locks then hand
one thread a *partially initialised* module to avoid a deadlock: "cannot import name 'Scenario'
from partially initialized module 'margin.scenario'", an error page for that student (seen with
five tabs opening deep links at once). app.py and every page import this module first: the
first thread to arrive imports everything below while the others wait on this module's own
lock, holding no other, so they find every package whole.
"""

from __future__ import annotations

import margin  # noqa: F401  (each, whole, in this one thread)
import margin.cascade  # noqa: F401
import margin.crashes  # noqa: F401
import margin.imports  # noqa: F401
import margin.stress  # noqa: F401
import classroom  # noqa: F401
import teach  # noqa: F401
