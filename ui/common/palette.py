"""The palette, once: the Okabe-Ito colour-blind-safe colours the theme gives every chart
(``.streamlit/config.toml``'s ``chartCategoricalColors`` and ``chartSequentialColors``, read
from there), by name. No chart, page or style sheet writes a colour of its own.

>>> BLUE, VERMILLION
('#0072B2', '#D55E00')
"""

from __future__ import annotations

import tomllib
from pathlib import Path

THEME = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def _theme() -> dict:
    with THEME.open("rb") as handle:
        return tomllib.load(handle)["theme"]


_CATEGORICAL = _theme()["chartCategoricalColors"]
#: Okabe-Ito, in the theme's order.
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, GREY = _CATEGORICAL
BLACK = "#000000"
WHITE = "#FFFFFF"
#: The theme's sequential blues, as a Plotly colour scale (light to dark).
BLUES = [[k / (len(_theme()["chartSequentialColors"]) - 1), colour]
         for k, colour in enumerate(_theme()["chartSequentialColors"])]

#: Words coloured by status in the lab, in shades of the palette dark (light theme) or light
#: (dark theme) enough for 4.5:1 text contrast; the glyph and the word carry the meaning too.
STATUS_TEXT = {
    "light": {"healthy": "#0062A0", "risk": "#8F5500", "liquidated": "#B04400", "bankrupt": "#8E3B78"},
    "dark": {"healthy": "#7CC7F2", "risk": "#F2C14E", "liquidated": "#FF9966", "bankrupt": "#EAA5D0"},
}
#: Presenter mode: black on white (white on black), links and the focus ring.
PRESENTER = {
    "light": {"bg": "#ffffff", "fg": "#000000", "link": "#0050a0", "focus": BLUE},
    "dark": {"bg": "#000000", "fg": "#ffffff", "link": "#7cc4ff", "focus": YELLOW},
}
DARK_BACKGROUND = _theme()["dark"]["backgroundColor"]


def tint(colour: str, alpha: float) -> str:
    """A palette colour see-through: ``rgba(r,g,b,alpha)``.

    >>> tint(ORANGE, 0.25)
    'rgba(230,159,0,0.25)'
    """
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def fill(css: str) -> str:
    """``css`` with every ``@NAME@`` replaced by the palette's colour of that name
    (``@BLUE@``, ``@STATUS_LIGHT_HEALTHY@``, ``@DARK_BACKGROUND@``...).

    >>> fill(".a { color: @VERMILLION@; } .b { color: @STATUS_DARK_RISK@; }")
    '.a { color: #D55E00; } .b { color: #F2C14E; }'
    """
    names = {"BLUE": BLUE, "ORANGE": ORANGE, "GREEN": GREEN, "VERMILLION": VERMILLION, "PURPLE": PURPLE,
             "SKY": SKY, "YELLOW": YELLOW, "GREY": GREY, "WHITE": WHITE, "DARK_BACKGROUND": DARK_BACKGROUND}
    for theme, colours in STATUS_TEXT.items():
        for status, colour in colours.items():
            names[f"STATUS_{theme.upper()}_{status.upper()}"] = colour
    for name, colour in names.items():
        css = css.replace(f"@{name}@", colour)
    return css


__all__ = ["DARK_BACKGROUND", "PRESENTER", "STATUS_TEXT", "fill", "tint", "BLACK", "BLUE", "BLUES", "GREEN", "GREY", "ORANGE", "PURPLE", "SKY", "VERMILLION", "WHITE", "YELLOW"]
