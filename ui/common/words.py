"""Words shared by every page's view: positions by name, lists in a sentence, short money on bars.

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


def compact(value: float, signed: bool = False) -> str:
    """Short money for labels on bars: ``+17.0k``, ``-960``, ``1.25M`` (the axis says USDT).

    >>> compact(17000, signed=True), compact(-960.4), compact(1_250_000)
    ('+17.0k', '-960', '1.25M')
    """
    sign = "+" if signed and value > 0 else ""
    magnitude = abs(value)
    if magnitude >= 1e6:
        text = f"{value / 1e6:.3g}M"
    elif magnitude >= 1e4:
        text = f"{value / 1e3:.1f}k"
    elif magnitude >= 1e3:
        text = f"{value / 1e3:.2f}k"
    else:
        text = f"{value:.0f}"
    return sign + text
