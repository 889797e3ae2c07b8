"""Markup in an account (name, story, venue, a market's name, positions' names) is shown as
text on every page and in every state tried, whether the account came from a shared link or
an uploaded file: every field of every element the run sent is searched.

Where a field is drawn decides what is markup in it. Plain fields (``st.text``, text boxes,
select options, table cells, ids, downloads) show anything as typed. HTML fields (Plotly's
text, ``st.html``, the lab's live regions) must hold no raw tag. Every other field is Markdown
(bodies, captions, alerts, labels, help, expanders, tabs, metrics, radio options, and the cells of
``st.table``): there none of
the three pieces of markup may appear as typed; escaped by ``ui.common.text.md`` they read as
typed and do nothing.
"""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from tests.hostile import HOSTILE_BITS, MARKET, TAG, hostile_account
from tests.support import goto, whole_app
from ui.common.link_codec import encode
from ui.common.text import md

PLAIN = {"Text.body", "TextInput.default", "TextInput.value", "TextArea.default", "TextArea.value",
         "Selectbox.options", "Selectbox.default", "Selectbox.raw_value", "Code.code_text", "Code.body",
         "Json.body", "DownloadButton.url", "Dataframe.columns", "Slider.id", "NumberInput.id", "Selectbox.id",
         "Radio.id", "Button.id", "Dataframe.id", "TextArea.id", "TextInput.id", "Expander.id", "Popover.id"}
HTML = ("PlotlyChart.", "Html.body", "UnknownElement.", "Element.bidi_component")  # Plotly: names, titles, hover, annotations


def _strings(message: Message, path: str):
    for field, value in message.ListFields():
        values = list(value) if field.is_repeated else [value]
        for item in values:
            where = f"{path}.{field.name}"
            if isinstance(item, Message):
                yield from _strings(item, where)
            elif isinstance(item, str):
                yield where, item


def markup_shown(at: AppTest) -> list[str]:
    """Every field of the last run where the account's markup would be drawn as markup."""
    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if isinstance(proto, Message):
            kind = type(node).__name__
            for where, value in _strings(proto, kind):
                if proto.DESCRIPTOR.name == "PlotlyChart" and where.endswith(".spec"):  # JSON: < is \u003c
                    value = json.dumps(json.loads(value), ensure_ascii=False)
                head = where.split(".", 2)
                field = ".".join(head[:2])
                if field in PLAIN or where.startswith("Dataframe.arrow_data"):
                    continue
                bits = (TAG,) if where.startswith(HTML) else HOSTILE_BITS
                found.extend(f"{where}: …{value[max(0, value.find(b) - 50):value.find(b) + 30]}…"
                             for b in bits if b in value)
        if getattr(node, "type", None) == "table":  # st.table draws its cells as Markdown
            cells = node.value.reset_index().astype(str).to_numpy().ravel().tolist()
            found.extend(f"Table cell: {cell}" for cell in cells for b in HOSTILE_BITS if b in cell)
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return found


def from_link(page_id: str) -> AppTest:
    at = whole_app()
    at.query_params["v"] = encode({"scenario": hostile_account(), "page": page_id, "controls": {}})
    return at.run()


def from_upload(page_file: str, raw: dict | None = None) -> AppTest:
    """The account uploaded on the builder's file uploader, then ``page_file`` opened."""
    at = goto(whole_app().run(), "pages/builder.py")
    data = json.dumps(raw or hostile_account()).encode()
    at.file_uploader(key="builder.upload").set_value(("hostile.json", data, "application/json")).run()
    assert not at.exception, at.exception
    shown_now = markup_shown(at)  # the builder's own message about the file, then the page
    assert shown_now == [], "\n".join(shown_now)
    return at if page_file == "pages/builder.py" else goto(at, page_file)


STATES = {  # page: (file, session keys a learner would set there)
    "lab": ("pages/price_lab.py", {"lab.shock": -60.0}),
    "builder": ("pages/builder.py", {}),
    "replay": ("pages/crash_replay.py", {"replay.market": MARKET, "replay.step": 10_000.0}),
    "cascade": ("pages/market_cascade.py", {"cascade.market": MARKET, "cascade.shock": -20.0}),
    "stress": ("pages/stress_lab.py", {"stress.paths": 500}),
    "learn": ("pages/learn.py", {}),
    "glossary": ("pages/glossary.py", {}),
}


def _shown_as_text(at: AppTest) -> None:
    assert not at.exception, at.exception
    shown = markup_shown(at)
    assert shown == [], "\n".join(shown)
    assert any(t.value == hostile_account()["name"] for t in at.sidebar.text)  # the name, as typed


@pytest.mark.parametrize("page_id", sorted(STATES))
def test_markup_from_a_link_is_shown_as_text(page_id):
    file, state = STATES[page_id]
    at = from_link(page_id) if page_id not in ("learn", "glossary") else goto(from_link("lab"), file)
    _shown_as_text(at)
    for key, value in state.items():
        at.session_state[key] = value
    _shown_as_text(at.run())


@pytest.mark.parametrize("page_id", sorted(STATES))
def test_markup_from_an_upload_is_shown_as_text(page_id):
    file, state = STATES[page_id]
    at = from_upload(file)
    _shown_as_text(at)
    for key, value in state.items():
        at.session_state[key] = value
    _shown_as_text(at.run())


def test_an_upload_refused_for_a_bad_value_quotes_it_as_text():
    raw = hostile_account()
    raw["positions"][0]["market"] = "[x](https://evil)"
    at = from_upload("pages/builder.py", raw)
    assert any(md("[x](https://evil)") in e.value for e in at.error)
    assert at.session_state["scenario"]["name"] != raw["name"]  # nothing stored: the account is kept


def test_a_link_refused_for_a_bad_value_quotes_it_as_text():
    raw = hostile_account()
    raw["positions"][0]["side"] = "![](http://host/x.png)"
    body = json.dumps({"scenario": raw, "page": "lab", "controls": {}}).encode()  # encode() would refuse it
    text = "1." + base64.urlsafe_b64encode(zlib.compress(body)).rstrip(b"=").decode()
    at = whole_app()
    at.query_params["v"] = text
    at.run()
    assert not at.exception and markup_shown(at) == []
    assert "could not be opened" in at.error[0].value and md("![](http://host/x.png)") in at.error[0].value


def test_a_name_in_the_event_log_download_is_never_a_formula():
    from margin.simulate import Event
    from ui.common.export import events_csv

    event = Event(step=1, row=1, type="liquidation", position='=HYPERLINK("https://evil","x")', market="BTC",
                  mode="cross", price=1.0, size=1.0, realized_pnl=0.0, fee=0.0, insurance_fund_delta=0.0)
    row = events_csv([event]).decode().splitlines()[1]
    assert row.split(",", 3)[2].startswith("\"'=HYPERLINK")
