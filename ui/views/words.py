"""Words shared by every page's view: positions by name, lists in a sentence.

>>> join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"])
('a', 'a and b', 'a, b and c')
"""

from __future__ import annotations

from typing import Any, Sequence

from margin.presets import market_label, position_labels  # noqa: F401 (the pages read names from here)

def join_words(items: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``.

    >>> join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def verb(items: Sequence[Any], one: str, many: str) -> str:
    """``one`` for a single item, ``many`` for several."""
    return one if len(items) == 1 else many


def count_of(lost: Sequence[Any], positions: Sequence[Any]) -> str:
    """"1 of 2 positions", "none of 2 positions"."""
    return f"{len(lost) or 'none'} of {len(positions)} position{'s' if len(positions) != 1 else ''}"
