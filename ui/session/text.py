"""Text a person wrote (names, stories, nicknames, file names) shown as text: never as
Markdown, HTML, an image or a link, wherever it goes.

Streamlit renders Markdown in ``st.markdown``, captions, labels, help texts and messages, so a
name such as ``![](http://host/x.png)`` would fetch an outside address and
``[Sign in](https://…)`` would be a real link. :func:`md` backslash-escapes every character
Markdown (and Streamlit's ``:colour[…]`` and ``:icon:`` shortcodes) gives a meaning to, so the
text reads exactly as typed; a page puts user text into Markdown only through it.

>>> md("![](http://host/x.png) *bold* :red[x]")
'\\\\!\\\\[\\\\]\\\\(http\\\\:\\\\/\\\\/host\\\\/x\\\\.png\\\\) \\\\*bold\\\\* \\\\:red\\\\[x\\\\]'
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:/&=\"'^])")


def md(text: object) -> str:
    """``text`` with every Markdown-significant character escaped (and newlines kept as spaces
    inside a line of Markdown)."""
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


__all__ = ["md"]
