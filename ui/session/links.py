"""Shareable links: the whole view (account, page, control positions) in one URL parameter.

A *view* is ``{"scenario": <scenario dict>, "page": <page id>, "controls": {<plain key>: value}}``.
:func:`encode` packs it as ``"1." + base64url(zlib(json))``: JSON with sorted keys and no
spaces, compressed at level 9, base64url without padding, prefixed by the format version. The
URL carries it as ``?v=<text>``. :func:`decode` reverses it and refuses, with a
:class:`LinkError` that says why, text that is corrupt, too long, from another version, or
that holds an invalid account.

``encode`` and ``decode`` are pure (no Streamlit); the functions below them are the Streamlit
side: :func:`restore_from_url` (called by ``app.py`` before ``st.navigation``),
:func:`open_link_target` (after it) and :func:`share_link` (the copy-link control).

>>> from margin.presets import load_story
>>> view = {"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": -0.12}}
>>> text = encode(view)
>>> text.startswith("1."), len(text) < 2000, decode(text) == view
(True, True, True)
>>> decode("1.not-a-link")
Traceback (most recent call last):
...
ui.session.links.LinkError: this link is corrupt: its data is not valid (base64/zlib); it may have been cut short when it was copied
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from margin.scenario import ScenarioError, scenario_from_dict

VERSION = "1"
PARAM = "v"  # the query parameter that carries a view
MAX_LINK_CHARS = 6_000  # encoded text; browsers and chat apps handle URLs of this size
MAX_JSON_BYTES = 1_000_000  # a decompressed view larger than this is refused (zip bombs)

#: Page ids a link can open, and their files (paths relative to app.py).
PAGES: dict[str, str] = {
    "lab": "pages/price_lab.py",
    "builder": "pages/builder.py",
    "replay": "pages/crash_replay.py",
    "cascade": "pages/market_cascade.py",
    "stress": "pages/stress_lab.py",
    "learn": "pages/learn.py",
    "glossary": "pages/glossary.py",
}
DEFAULT_PAGE = "lab"
APP_ROOT = Path(__file__).resolve().parents[2]


def page_file(page_id: str) -> str:
    """The absolute path of a page's file: ``st.switch_page`` takes it whatever the entry script."""
    return str(APP_ROOT / PAGES[page_id])
# The plain control keys a link may carry, per page (read from each page's docstring), and
# what each may hold. A link sets nothing else: no widget keys, no button keys, no internals.
_NUMBER, _TEXT = "number", "text"
_VARIANTS = ("As built", "All cross", "All isolated")
CONTROLS: dict[str, tuple[tuple[re.Pattern[str], str, Any], ...]] = {
    "lab": (
        (re.compile(r"lab\.shock"), _NUMBER, (-90.0, 90.0)),
        (re.compile(r"lab\.price\.[A-Za-z0-9_\-]{1,40}"), _NUMBER, (0.0, 1e12)),
        (re.compile(r"lab\.view"), "choice", _VARIANTS),
        (re.compile(r"lab\.path"), "path", None),
    ),
    "replay": (
        (re.compile(r"replay\.crash"), _TEXT, r"[0-9a-z\-]{1,40}"),
        (re.compile(r"replay\.step"), _NUMBER, (0.0, 1e6)),
        (re.compile(r"replay\.speed"), "choice", ("Slow", "Normal", "Fast")),
        (re.compile(r"replay\.market"), _TEXT, r"[A-Za-z0-9_\-]{1,40}"),
        (re.compile(r"replay\.view"), "choice", _VARIANTS),
        (re.compile(r"replay\.drop"), _NUMBER, (5.0, 90.0)),
        (re.compile(r"replay\.duration"), _NUMBER, (2.0, 300.0)),
        (re.compile(r"replay\.rebound"), _NUMBER, (0.0, 100.0)),
        (re.compile(r"replay\.noise"), _NUMBER, (0.0, 3.0)),
        (re.compile(r"replay\.wick"), _NUMBER, (0.0, 10.0)),
        (re.compile(r"replay\.seed"), "integer", (0, 999_999)),
        (re.compile(r"replay\.beta\.[A-Za-z0-9_\-]{1,40}"), _NUMBER, (-5.0, 10.0)),
    ),
    "cascade": (
        (re.compile(r"cascade\.market"), _TEXT, r"[A-Za-z0-9_\-]{1,40}"),
        (re.compile(r"cascade\.shock"), _NUMBER, (-30.0, 30.0)),
        (re.compile(r"cascade\.depth"), _NUMBER, (0.5, 200.0)),
        (re.compile(r"cascade\.impact"), "choice", ("linear", "sqrt", "none")),
        (re.compile(r"cascade\.traders"), "integer", (1_000, 200_000)),
        (re.compile(r"cascade\.leverage_mean"), _NUMBER, (1.0, 50.0)),
        (re.compile(r"cascade\.leverage_max"), _NUMBER, (2.0, 125.0)),
        (re.compile(r"cascade\.long_share"), "integer", (0, 100)),
        (re.compile(r"cascade\.size_median"), _NUMBER, (100.0, 10_000_000.0)),
        (re.compile(r"cascade\.cross_share"), "integer", (0, 100)),
        (re.compile(r"cascade\.cross_buffer"), "integer", (0, 300)),
        (re.compile(r"cascade\.seed"), "integer", (0, 999_999)),
    ),
    "stress": (
        (re.compile(r"stress\.vol\.[A-Za-z0-9_\-]{1,40}"), _NUMBER, (0.0, 1000.0)),
        (re.compile(r"stress\.corr\.[A-Za-z0-9_\-]{1,40}\.[A-Za-z0-9_\-]{1,40}"), _NUMBER, (-1.0, 1.0)),
        (re.compile(r"stress\.horizon"), _NUMBER, (1.0, 30.0)),
        (re.compile(r"stress\.step"), "choice", ("5 minutes", "15 minutes", "1 hour", "4 hours", "1 day")),
        (re.compile(r"stress\.dof"), _NUMBER, (2.1, 50.0)),
        (re.compile(r"stress\.paths"), "choice", (500, 1_000, 2_000, 5_000, 10_000, 20_000)),
        (re.compile(r"stress\.seed"), "integer", (0, 2**31 - 1)),
        (re.compile(r"stress\.headline"), "choice", ("Fat tails", "Normal")),
        (re.compile(r"stress\.variant"), "choice", _VARIANTS),
    ),
}


def control_spec(page: str, key: str) -> tuple[str, Any] | None:
    """What plain ``key`` may hold on ``page`` (kind, bounds or options), or None if a link
    may not set it.

    >>> control_spec("lab", "lab.shock"), control_spec("lab", "lab.shock.slider")
    (('number', (-90.0, 90.0)), None)
    """
    for pattern, kind, extra in CONTROLS.get(page, ()):
        if pattern.fullmatch(key):
            return kind, extra
    return None


def _valid_control(kind: str, extra: Any, value: Any) -> bool:
    if kind == _NUMBER:
        low, high = extra
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and low <= value <= high)
    if kind == "integer":
        low, high = extra
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind == "choice":
        return value in extra
    if kind == "bool":
        return isinstance(value, bool)
    if kind == _TEXT:
        return isinstance(value, str) and bool(re.fullmatch(extra, value))
    if kind == "path":
        return _valid_path(value)
    return False


MAX_PATH_TURNS = 64  # turns of the lab's path a link carries (ui.views.lab.MAX_WAYPOINTS)
_MARKET = re.compile(r"[A-Za-z0-9_\-]{1,40}")


def _valid_path(value: Any) -> bool:
    """The lab's path: at most 64 turns ``[shock %, {market: price}]``, the shock in the
    slider's range, every price a finite number in (0, 1e12]."""
    if not isinstance(value, list) or len(value) > MAX_PATH_TURNS:
        return False
    for turn in value:
        if not (isinstance(turn, list) and len(turn) == 2 and isinstance(turn[1], Mapping)):
            return False
        shock, prices = turn
        if not _valid_control(_NUMBER, (-90.0, 90.0), shock) or len(prices) > 50:
            return False
        for name, price in prices.items():
            if not (isinstance(name, str) and _MARKET.fullmatch(name)
                    and _valid_control(_NUMBER, (1e-12, 1e12), price)):
                return False
    return True


class LinkError(ValueError):
    """A link that cannot be opened; ``str(err)`` says why, in words for the user."""


# ----------------------------------------------------------------------------- pure codec


def encode(view: Mapping[str, Any]) -> str:
    """The view as compact URL-safe text: ``"1." + base64url(zlib(json))``.

    Raises :class:`LinkError` if the view is invalid or the text would be longer than
    :data:`MAX_LINK_CHARS`.
    """
    clean = _checked_view(view)
    try:
        payload = json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             allow_nan=False)
    except (TypeError, ValueError) as err:  # NaN, infinity or an object JSON cannot hold
        raise LinkError(f"this view cannot be put in a link: {err}") from None
    try:
        data = payload.encode("utf-8")
    except UnicodeEncodeError as err:  # lone surrogates in a name
        raise LinkError(f"this view cannot be put in a link: {err.reason}") from None
    packed = base64.urlsafe_b64encode(zlib.compress(data, 9)).rstrip(b"=")
    text = f"{VERSION}.{packed.decode('ascii')}"
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(
            f"this account is too large for a link ({len(text):,} characters; the limit is "
            f"{MAX_LINK_CHARS:,}): download the scenario file and share that instead"
        )
    return text


def decode(text: str) -> dict[str, Any]:
    """The view packed in ``text`` by :func:`encode`; raises :class:`LinkError` saying why not."""
    if not isinstance(text, str) or not text.strip():
        raise LinkError("this link is empty")
    text = text.strip()
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(
            f"this link is too long ({len(text):,} characters; the limit is {MAX_LINK_CHARS:,})")
    version, dot, body = text.partition(".")
    if not dot:
        raise LinkError("this link is corrupt: it has no version prefix (it should start with \"1.\")")
    if version != VERSION:
        raise LinkError(f"this link was made by another version of Margin Lab (format {version!r}; "
                        f"this app reads format {VERSION!r})")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_JSON_BYTES)
        if inflater.unconsumed_tail:
            raise LinkError(f"this link is too large once unpacked (over {MAX_JSON_BYTES:,} bytes)")
        if not inflater.eof:
            raise zlib.error("truncated stream")
    except (binascii.Error, zlib.error, ValueError) as err:
        if isinstance(err, LinkError):
            raise
        raise LinkError("this link is corrupt: its data is not valid (base64/zlib); it may have "
                        "been cut short when it was copied") from None
    try:
        view = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise LinkError("this link is corrupt: its content is not valid JSON") from None
    return _checked_view(view)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a link may hold")


def _checked_view(view: Any) -> dict[str, Any]:
    """The view if its shape and its account are valid; else :class:`LinkError`."""
    if not isinstance(view, Mapping):
        raise LinkError("this link does not hold a view (expected an object)")
    unknown = sorted(set(view) - {"scenario", "page", "controls"})
    if unknown:
        raise LinkError(f"this link holds unknown fields: {', '.join(map(str, unknown))}")
    scenario = view.get("scenario")
    page = view.get("page", DEFAULT_PAGE)
    controls = view.get("controls", {})
    if page not in PAGES:
        raise LinkError(f"this link opens an unknown page {page!r} (pages: {', '.join(PAGES)})")
    try:
        scenario_from_dict(scenario)
    except ScenarioError as err:
        raise LinkError(f"this link holds an invalid account: {err}") from None
    if not isinstance(controls, Mapping):
        raise LinkError("this link's controls are not an object")
    for key, value in controls.items():
        spec = control_spec(page, key) if isinstance(key, str) else None
        if spec is None:
            raise LinkError(f"this link sets a control the {page!r} page does not have: {key!r}")
        if not _valid_control(*spec, value):
            raise LinkError(f"this link gives control {key!r} a value it cannot take: {value!r}")
    return {"scenario": scenario, "page": page, "controls": dict(controls)}


def control_values(state: Mapping[str, Any], page: str) -> dict[str, Any]:
    """The plain control keys of ``page`` in ``state`` (session state) that a link carries.

    >>> control_values({"lab.shock": -10.0, "lab.shock.slider": -10.0, "scenario": {},
    ...                 "lab.reset": False, "learn.current": "x"}, "lab")
    {'lab.shock': -10.0}
    """
    out: dict[str, Any] = {}
    for key in sorted(k for k in state if isinstance(k, str)):
        spec = control_spec(page, key)
        if spec is None:
            continue
        value = state[key]
        if isinstance(value, (float, int)) and not isinstance(value, bool) and spec[0] == _NUMBER:
            value = float(value)
        if _valid_control(*spec, value):
            out[key] = value
    return out


def link_url(text: str, base: str | None = None, *, present: bool = False) -> str:
    """The URL that opens view ``text``: ``<base>?v=<text>`` (relative ``?v=...`` without base).

    >>> link_url("1.abc", "http://localhost:8501/price_lab")
    'http://localhost:8501/?v=1.abc'
    >>> link_url("1.abc", present=True)
    '?v=1.abc&present=1'
    """
    query = f"?{PARAM}={quote(text, safe='._-')}" + ("&present=1" if present else "")
    if not base:
        return query
    # The page is in the link itself: always open the app's root, which restores it.
    match = re.match(r"^(https?://[^/?#]+)", base)
    root = match.group(1) if match else base.rstrip("/")
    return f"{root}/{query}"


# ----------------------------------------------------------------------------- Streamlit side

TARGET_KEY = "links.target"  # page file to open after st.navigation
MESSAGE_KEY = "links.message"  # why a link could not be opened, shown once
RUN_KEY = "links.run"  # counts full runs of app.py (restore_from_url runs at the top of each)
SHOWN_KEY = "links.shown"  # the run in which a page drew its own copy-link control


def restore_from_url() -> str | None:
    """Apply a shared view from ``?v=`` (call before ``st.navigation``).

    Sets the account (through ``ui.session.state.set_scenario``) and the plain control keys, and
    remembers the page to open; :func:`open_link_target` (after ``st.navigation``) opens it and
    drops ``v`` from the URL so a rerun does not apply the link again. A corrupt or too-long
    link opens the default account and says why. Returns the page file to open, or None.
    """
    import streamlit as st

    from margin.presets import DEFAULT_STORY, load_story
    from ui.session.state import set_scenario

    st.session_state[RUN_KEY] = int(st.session_state.get(RUN_KEY, 0)) + 1
    text = st.query_params.get(PARAM)
    if text is None:
        return None
    try:
        view = decode(text)
        set_scenario(view["scenario"])
    except (LinkError, ScenarioError) as err:
        set_scenario(load_story(DEFAULT_STORY))
        st.session_state[MESSAGE_KEY] = (
            f"This shared link could not be opened: {err}. Showing the default account instead.")
        target = page_file(DEFAULT_PAGE)
    else:
        _set_controls(view["page"], view["scenario"], view["controls"])
        target = page_file(view["page"])
    st.session_state[TARGET_KEY] = target
    return target


def open_link_target() -> None:
    """After ``st.navigation``: open the page a link asked for (keeping ``present=1``) and
    show, once, why a link could not be opened."""
    import streamlit as st

    target = st.session_state.pop(TARGET_KEY, None)
    if target is not None:
        keep = {"present": "1"} if st.query_params.get("present") == "1" else None
        # switch_page drops every other query parameter, "v" included: a rerun will not
        # apply the link again, and the address bar no longer shows a stale view.
        st.switch_page(target, query_params=keep)
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.error(message, icon=":material/link_off:")


def _set_controls(page: str, scenario: Mapping[str, Any], controls: Mapping[str, Any]) -> None:
    """Put a page's controls at a starting point for a freshly set account: the page's own
    defaults for that account first (the lab's sliders at the account's prices), then
    ``controls``."""
    import streamlit as st

    from ui.views.stress import default_state

    if page == "lab":
        st.session_state["lab.shock"] = 0.0
        for name, market in (scenario.get("markets") or {}).items():
            st.session_state[f"lab.price.{name}"] = float(market["price"])
        # the lab restarts a market's slider when the account's price moves; a view sets both
        st.session_state.pop("lab.anchor", None)
        # a fresh path for this account, walked through the link's own turns (if any): the
        # liquidations the sender saw happen again on the way
        st.session_state.pop("lab.history", None)
        st.session_state.pop("lab.path", None)
        st.session_state["lab.replay"] = list(controls.get("lab.path") or [])
    if page == "stress":
        # the stress lab's defaults for this account's markets (volatility, correlation)
        st.session_state.update(default_state(list(scenario.get("markets") or {})))
        st.session_state.pop("stress.run", None)  # run the new inputs on arrival
    if page == "replay":
        st.session_state["replay.step"] = 0
        st.session_state["replay.playing"] = False
        st.session_state.pop("replay.loaded", None)  # else a new crash would reset the step
    for key, value in controls.items():
        if key != "lab.path":  # the lab walks it (above), it is not a control's value
            st.session_state[key] = value


def open_page(page: str, *, scenario: Mapping[str, Any], controls: Mapping[str, Any] | None = None) -> None:
    """Make ``scenario`` the account, set ``page``'s controls (page defaults, then
    ``controls``) and switch to the page. Used by lessons; raises ScenarioError on a bad account."""
    import streamlit as st

    from ui.session.state import set_scenario

    set_scenario(dict(scenario))
    _set_controls(page, scenario, controls or {})
    st.switch_page(page_file(page))


def sidebar_share_link(page: Any) -> None:
    """Call after ``page.run()``: the copy-link control in the sidebar, for a page that did not
    draw its own in this run (learn and glossary have no view worth sharing)."""
    import streamlit as st

    page_id = page if page in PAGES else page_id_of(page)
    if page_id is None or page_id in ("learn", "glossary"):
        return
    if st.session_state.get(SHOWN_KEY) == st.session_state.get(RUN_KEY):
        return
    with st.sidebar:
        share_link(page_id, key="links.share")


def current_view(page: str) -> dict[str, Any]:
    """The session's view on ``page`` (a page id of :data:`PAGES`)."""
    import streamlit as st

    from ui.session.state import scenario_dict

    return {"scenario": scenario_dict(), "page": page, "controls": control_values(st.session_state, page)}


def page_id_of(page: Any) -> str | None:
    """The page id (a key of :data:`PAGES`) of a page file path or of the page object that
    ``st.navigation`` returns; None for a page a link cannot open.

    >>> page_id_of("pages/crash_replay.py"), page_id_of("/srv/app/pages/price_lab.py"), page_id_of("x.py")
    ('replay', 'lab', None)
    """
    source = getattr(page, "_page", page)
    name = str(source).replace("\\", "/").rsplit("/", 1)[-1]
    for page_id, path in PAGES.items():
        if path.rsplit("/", 1)[-1] == name:
            return page_id
    return None


def share_link(page: Any, *, key: str | None = None, lazy: bool = False) -> str | None:
    """The copy-link control for ``page`` (a page id, a page file, or the page object of
    ``st.navigation``): a popover showing the URL of the current view in ``st.code``, whose
    copy button copies it. Call it inside the page's live fragment so the link follows the
    controls, or with ``lazy`` anywhere. Returns the URL, or None when the view is too large
    for a link (it says so).

    ``lazy``: fill the popover only while it is open (opening it reruns, so the link holds the
    controls as they are then). A closed popover then costs one unchanged button, not the
    link's encoding and three elements redrawn per step."""
    import streamlit as st

    page_id = page if page in PAGES else page_id_of(page)
    if page_id is None:
        return None
    st.session_state[SHOWN_KEY] = st.session_state.get(RUN_KEY)
    # Opening the popover reruns (the fragment it sits in, or the app), so the link it shows
    # always holds the controls as they are at that moment.
    popover = st.popover("Share this view", icon=":material/link:", key=key, on_change="rerun",
                         help="A link that opens this account, this page and these control positions.")
    if lazy and not popover.open:
        return None
    with popover:
        try:
            text = encode(current_view(page_id))
        except LinkError as err:
            st.warning(str(err)[0].upper() + str(err)[1:], icon=":material/link_off:")
            return None
        url = link_url(text, st.context.url)
        st.caption("Anyone who opens this link sees this account, this page and these control "
                   "positions. Copy it with the button at the right of the box.")
        st.code(url, language=None, wrap_lines=True)
        st.caption(f"{len(text):,} of {MAX_LINK_CHARS:,} characters. Add `&present=1` to open it in "
                   "presenter mode.")
    return url


__all__ = [
    "CONTROLS", "DEFAULT_PAGE", "LinkError", "MAX_LINK_CHARS", "PAGES", "control_spec", "control_values",
    "current_view", "decode", "encode", "link_url", "open_link_target", "open_page", "page_id_of",
    "restore_from_url", "share_link", "sidebar_share_link",
]
