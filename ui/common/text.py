"""Text a person wrote (names, stories, nicknames, file names) shown as text: never as
Markdown, HTML, an image or a link, wherever it goes.

Streamlit renders Markdown in ``st.markdown``, captions, labels, help texts and messages, so a
name such as ``![](http://host/x.png)`` would fetch an outside address and
``[Sign in](https://…)`` would be a real link. :func:`md` backslash-escapes every character
Markdown (and Streamlit's ``:colour[…]`` and ``:icon:`` shortcodes) gives a meaning to, so the
text reads exactly as typed; a page puts user text into Markdown only through it. That covers
``st.markdown``, captions, alerts, widget labels and help, expanders, tabs, metrics, radio
options and ``st.table``'s cells. Plotly draws its titles, legend, hover text and annotations
as a little HTML and fills ``%{…}`` in a hover template: user text goes there through
:func:`plot_text`. The lab's own HTML escapes every value with ``html.escape``. A spreadsheet
reads a CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula: :func:`csv_cell`.

>>> md("![](http://host/x.png) *bold* :red[x]")
'\\\\!\\\\[\\\\]\\\\(http\\\\:\\\\/\\\\/host\\\\/x\\\\.png\\\\) \\\\*bold\\\\* \\\\:red\\\\[x\\\\]'
"""

from __future__ import annotations

import html
import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:/&=\"'^])")


def md(text: object) -> str:
    """``text`` with every Markdown-significant character escaped (and newlines kept as spaces
    inside a line of Markdown)."""
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def plot_text(text: object) -> str:
    """``text`` for a Plotly string (a title, a trace's name, hover text, a tick or an
    annotation): its tags escaped and a hover template's ``%{`` made inert.

    >>> plot_text('<a href="https://evil">x</a> %{y}')
    '&lt;a href="https://evil"&gt;x&lt;/a&gt; %&#123;y}'
    """
    return html.escape(str(text), quote=False).replace("%{", "%&#123;")


def csv_cell(value: object) -> object:
    """``value`` for a CSV cell: text a spreadsheet would run as a formula gets a leading
    apostrophe (numbers are kept as they are).

    >>> print(csv_cell('=HYPERLINK("https://evil")'), csv_cell("btc-long"), csv_cell(-3.5))
    '=HYPERLINK("https://evil") btc-long -3.5
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


__all__ = ["csv_cell", "md", "plot_text"]
