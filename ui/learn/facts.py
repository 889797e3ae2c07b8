"""An account as facts a learner can predict from, while a lesson waits for the prediction: the
positions as they were built (side, size, entry, leverage, mode and margin) and each market's
price, beta and first maintenance rate; nothing computed from prices.

>>> from margin.presets import load_story
>>> [row["Position"] for row in position_facts(load_story("default"))]
['BTC long', 'SOL long']
"""

from __future__ import annotations

from html import escape
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

from margin.numbers import money, price
from margin.presets import market_label, position_labels


def position_facts(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per position of the scenario dict ``raw``, as text (an isolated position without
    a margin of its own shows size × entry ÷ leverage)."""
    rows = []
    positions = [p for p in raw.get("positions", []) or [] if isinstance(p, Mapping)]
    labels = position_labels(SimpleNamespace(positions=[
        SimpleNamespace(id=str(p.get("id")), market=str(p.get("market")), side=str(p.get("side"))) for p in positions]))
    for p in positions:
        margin = p.get("margin")
        if p.get("mode") == "isolated" and margin is None:
            margin = float(p["size"]) * float(p["entry"]) / float(p["leverage"])
        rows.append({
            "Position": labels[str(p.get("id"))], "Market": market_label(str(p.get("market"))), "Side": str(p.get("side")),
            "Size": f"{float(p.get('size', 0)):,.6g}", "Entry [USDT]": price(float(p.get("entry", 0))),
            "Leverage": f"{float(p.get('leverage', 0)):g}×", "Mode": str(p.get("mode", "cross")),
            "Isolated margin [USDT]": money(margin, unit="") if margin is not None else "",
        })
    return rows


def market_facts(raw: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per market of ``raw``: its mark price, beta and first tier's maintenance rate."""
    markets = []
    for name, m in (raw.get("markets") or {}).items():
        tiers = m.get("tiers") or [{"mmr": m.get("mmr", 0.0)}]
        markets.append({"Market": market_label(str(name)), "Mark price [USDT]": price(float(m.get("price", 0))),
                        "Beta": f"{float(m.get('beta', 1.0)):g}",
                        "Maintenance rate, first tier": f"{float(tiers[0].get('mmr', 0)) * 100:.2f} %"})
    return markets


# A table where there is room; in a narrow column (a phone, or the learn page's card) each row
# becomes a block of "column: value" lines, so no column is cut off or broken mid-word at 390 px
# (the two st.dataframe tables were cut, issue 23). A container query: the room is the column's,
# not the window's. A table stacks below STACK_BELOW_PX per column it has.
STACK_BELOW_PX = 80  # [px per column]


def _stacked(cls: str, width: int) -> str:
    """The CSS that stacks the table of class ``cls`` in a container narrower than ``width`` px."""
    t = f".ml-facts.{cls}"
    return (f"@container (max-width:{width}px){{"
            f"{t} thead{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}}"
            f"{t},{t} tbody,{t} tr,{t} td{{display:block;width:100%}}"
            f"{t} tr{{border:1px solid rgba(128,128,128,0.35);border-radius:0.5rem;margin:0 0 0.5rem 0;padding:0.25rem 0}}"
            f"{t} td{{border:0;padding:0.15rem 0.6rem;display:flex;gap:0.75rem;justify-content:space-between}}"
            f"{t} td::before{{content:attr(data-label);font-weight:600;flex:0 0 auto;max-width:55%}}"
            f"{t} td.ml-facts-empty{{display:none}}}}")


FACTS_CSS = ("<style>.ml-facts-box{container-type:inline-size;width:100%}"
             ".ml-facts{width:100%;border-collapse:collapse;margin:0.25rem 0 0.75rem 0;font-size:0.9rem}"
             ".ml-facts caption{text-align:left;font-weight:600;padding:0.25rem 0}"
             ".ml-facts th,.ml-facts td{text-align:left;padding:0.3rem 0.5rem;"
             "border-bottom:1px solid rgba(128,128,128,0.3);overflow-wrap:break-word;vertical-align:top}"
             ".ml-facts th{font-weight:600}"
             + "".join(_stacked(f"ml-facts-{n}", n * STACK_BELOW_PX) for n in range(1, 13)) + "</style>")


def facts_table(caption: str, rows: Sequence[Mapping[str, str]]) -> str:
    """``rows`` (dicts of text, one key per column) as an HTML table with ``caption``; every cell
    carries its column's name (``data-label``), which a phone shows before the value. All text
    is escaped: position names come from the user.

    >>> html = facts_table("Markets", [{"Market": "BTC", "Beta": "1"}])
    >>> '<th scope="col">Beta</th>' in html, '<td data-label="Market">BTC</td>' in html
    (True, True)
    >>> facts_table("Positions", [{"Position": "<b>x</b>"}]).count("&lt;b&gt;")
    1
    """
    if not rows:
        return ""
    columns = list(rows[0])
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(_cell(c, str(row.get(c, ""))) for c in columns) + "</tr>" for row in rows)
    return (f'<table class="ml-facts ml-facts-{min(len(columns), 12)}"><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _cell(column: str, value: str) -> str:
    """One cell; an empty one (a cross position's isolated margin) is left out on a phone."""
    empty = ' class="ml-facts-empty"' if not value else ""
    return f'<td data-label="{escape(column)}"{empty}>{escape(value)}</td>'


def facts_html(raw: Mapping[str, Any], *, before: Sequence[tuple[str, Sequence[Mapping[str, str]]]] = (),
               after: Sequence[tuple[str, Sequence[Mapping[str, str]]]] = ()) -> str:
    """The positions and the markets of ``raw`` as tables that stay readable at 390 px, with
    the (caption, rows) tables ``before`` the positions and ``after`` them (an empty one is
    left out)."""
    tables = [*before, ("Positions", position_facts(raw)), *after, ("Markets", market_facts(raw))]
    return FACTS_CSS + '<div class="ml-facts-box">' + "".join(facts_table(c, rows) for c, rows in tables) + "</div>"


__all__ = ["FACTS_CSS", "facts_html", "facts_table", "market_facts", "position_facts"]
