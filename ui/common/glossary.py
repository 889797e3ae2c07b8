"""The glossary's terms, and links to them for any page.

``term("maintenance margin")`` is the markdown link ``[maintenance margin](/glossary#maintenance-margin)``:
put it in any ``st.markdown`` or ``st.caption`` text. Links open the glossary page at the term's
anchor (Streamlit opens in-app links in a new tab, so the page the learner was on stays as it
was). Terms are matched by name or alias, case-insensitively; an unknown term raises
``KeyError`` so a typo fails in the tests rather than producing a dead link.

>>> term("maintenance margin")
'[maintenance margin](/glossary#maintenance-margin)'
>>> term("ADL", "auto-deleveraging")
'[auto-deleveraging](/glossary#socialized-loss)'
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

GLOSSARY_FILE = Path(__file__).resolve().parents[2] / "assets" / "glossary.json"
GLOSSARY_PATH = "/glossary"  # the glossary page's URL path (st.Page("pages/glossary.py"))


@lru_cache(maxsize=1)
def entries() -> tuple[dict[str, Any], ...]:
    """Every glossary entry, in the file's order (read-only: do not edit the dicts)."""
    return tuple(json.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))["terms"])


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


@lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for entry in entries():
        names = [entry["term"], *entry["term"].split(" / "), *entry.get("aliases", ())]
        for name in names:
            index.setdefault(_key(name), entry)
    return index


def lookup(name: str) -> dict[str, Any]:
    """The entry for a term or alias; ``KeyError`` if the glossary has none."""
    try:
        return _index()[_key(name)]
    except KeyError:
        raise KeyError(f"no glossary term {name!r}") from None


def url(name: str) -> str:
    """``/glossary#<anchor>`` for a term or alias."""
    return f"{GLOSSARY_PATH}#{lookup(name)['anchor']}"


def term(name: str, label: str | None = None) -> str:
    """A markdown link to the term's glossary entry, labelled ``label`` (default ``name``)."""
    text = (label or name).replace("[", "(").replace("]", ")")
    return f"[{text}]({url(name)})"


def terms_line(names: Iterable[str], prefix: str = ":material/menu_book: Glossary: ") -> str:
    """``Glossary: [a](…) · [b](…)`` for a row of terms under a card or chart."""
    return prefix + " · ".join(term(name) for name in names)


def search(query: str) -> list[dict[str, Any]]:
    """Entries whose name, aliases or definition contain every word of ``query``; names that
    match rank first.

    >>> [e["term"] for e in search("bankrupt")][:2]
    ['Bankruptcy price', 'Insurance fund']
    """
    words = [w for w in _key(query).split(" ") if w]
    if not words:
        return list(entries())
    ranked = []
    for order, entry in enumerate(entries()):
        names = " ".join([entry["term"], *entry.get("aliases", ())]).lower()
        body = " ".join([names, entry["definition"], entry.get("example", "")]).lower()
        if all(w in body for w in words):
            ranked.append((0 if all(w in names for w in words) else 1, order, entry))
    return [entry for _, _, entry in sorted(ranked, key=lambda r: (r[0], r[1]))]


__all__ = ["GLOSSARY_PATH", "entries", "lookup", "search", "term",
           "terms_line", "url"]
