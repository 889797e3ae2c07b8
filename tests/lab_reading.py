"""Read the price lab's live text as a user reads it.

The lab draws its metrics, position lists and event lists as HTML (see ``ui/lab/html.py``),
put into the page's live regions by one component per step (``ui/shell/live_html.py``); these
helpers find a part by its ``data-section`` or ``data-metric`` name and return its visible
text, list items on lines of their own starting with ``- ``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser

from streamlit.testing.v1 import AppTest

VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)

    def text(self) -> str:
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "br":
                parts.append(" ")
            elif child.tag == "li":
                parts.append("\n- " + child.text().strip())
            elif child.tag in ("h4", "h5", "p", "div", "ul", "ol", "section"):
                parts.append("\n" + child.text().strip())
            else:
                parts.append(child.text())
        return "".join(parts)

    def find_all(self, attr: str, value: str) -> list["Node"]:
        found = [self] if self.attrs.get(attr) == value else []
        for child in self.children:
            if isinstance(child, Node):
                found += child.find_all(attr, value)
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def html_bodies(at: AppTest) -> list[str]:
    """Every piece of HTML the last run sent: the ``st.html`` blocks, then the HTML of each
    live region (``ui/shell/live_html.py``) in the order the component lists them."""
    bodies = [h.proto.body for h in at.get("html")]
    for component in at.get("bidi_component"):
        if component.proto.component_name == "margin_lab.live_regions":
            bodies += json.loads(component.proto.json)["regions"].values()
    return bodies


def region(at: AppTest, name: str) -> str:
    """The HTML the last run put into the live region ``name`` ("text", "pictures",
    "strip.BTCUSDT", ...)."""
    for component in at.get("bidi_component"):
        if component.proto.component_name == "margin_lab.live_regions":
            regions = json.loads(component.proto.json)["regions"]
            if name in regions:
                return regions[name]
    raise AssertionError(f"no live region {name!r} in the last run")


def lab_html(at: AppTest) -> Node:
    """Every HTML block of the lab, as one tree."""
    return parse("".join(body for body in html_bodies(at) if 'class="ml-lab' in body))


def section(at: AppTest, name: str) -> str:
    """The text of the lab's part called ``name`` ("Positions, as built", "What is happening",
    "What happened on the way, all isolated", ...), without its heading."""
    nodes = lab_html(at).find_all("data-section", name)
    assert nodes, f"no section {name!r} on the page"
    text = nodes[0].text().strip()
    return text.removeprefix(name).strip()


def line_of(block: str, label: str) -> str:
    """The list item of one position in a status block (its head and detail)."""
    items = block.split("\n- ")
    return next(item for item in items if item.lstrip("- ").startswith(f"{label} ·"))


def metric(at: AppTest, label: str, index: int = 0) -> str:
    """The ``index``-th metric called ``label`` (0 as built, 1 all cross, 2 all isolated)."""
    return metrics(at, label)[index]


def metrics(at: AppTest, label: str) -> list[str]:
    """Every metric called ``label``, in page order."""
    out = []
    for node in lab_html(at).find_all("data-metric", label):
        value = node.find_all("class", "ml-metric-value")
        out.append(value[0].text().strip())
    return out
