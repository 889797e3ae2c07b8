"""Shareable links, the pure part: the whole view (account, page, control positions) in one
piece of URL-safe text, and back.

A *view* is ``{"scenario": <scenario dict>, "page": <page id>, "controls": {<plain key>: value}}``.
:func:`encode` packs it as ``"1." + base64url(zlib(json))``: JSON with sorted keys and no
spaces, compressed at level 9, base64url without padding, prefixed by the format version. The
URL carries it as ``?v=<text>``. :func:`decode` reverses it and refuses, with a
:class:`LinkError` that says why, text that is corrupt, too long, too deep, from another
version, or that holds an invalid account. A link sets only the controls its page lists in
:mod:`ui.common.site`, within their ranges. No Streamlit here: ``ui/shell/links.py`` is the glue.

>>> from margin.presets import load_story
>>> view = {"scenario": load_story("default"), "page": "lab", "controls": {"lab.shock": -0.12}}
>>> text = encode(view)
>>> text.startswith("1."), len(text) < 2000, decode(text) == view
(True, True, True)
>>> decode("1.not-a-link")
Traceback (most recent call last):
...
ui.common.link_codec.LinkError: this link is corrupt: its data is not valid (base64/zlib); it may have been cut short when it was copied
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import zlib
from typing import Any, Mapping
from urllib.parse import quote

from margin.fields import MAX_NESTING, ScenarioError, nesting_depth
from margin.limits import MAX_PRICE, MAX_SHOCK_PERCENT, MIN_PRICE
from margin.scenario import shared_scenario
from ui.common.site import CHOICE, DEFAULT_PAGE, INTEGER, NUMBER, PATH, TEXT, page, page_ids
from margin.limits import MAX_LINK_CHARS, MAX_JSON_BYTES, MAX_PATH_TURNS  # noqa: F401  (the bounds live in margin.limits)

VERSION = "1"
PARAM = "v"  # the query parameter that carries a view
_MARKET = re.compile(r"[A-Za-z0-9_\-]{1,40}")


@functools.lru_cache(maxsize=8192)  # the pages' controls are fixed: a session's keys are matched once, not every step
def control_spec(page_id: str, key: str) -> tuple[str, Any] | None:
    """What plain ``key`` may hold on page ``page_id`` (kind, bounds or options), or None if a
    link may not set it.

    >>> control_spec("lab", "lab.shock"), control_spec("lab", "lab.shock.slider")
    (('number', (-90.0, 90.0)), None)
    """
    if page_id not in page_ids():
        return None
    for control in page(page_id).controls:
        if control.pattern.fullmatch(key):
            return control.kind, control.extra
    return None


def _valid_control(kind: str, extra: Any, value: Any) -> bool:
    if kind == NUMBER:
        low, high = extra
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and low <= value <= high)
    if kind == INTEGER:
        low, high = extra
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind == CHOICE:
        return value in extra
    if kind == "bool":
        return isinstance(value, bool)
    if kind == TEXT:
        return isinstance(value, str) and bool(re.fullmatch(extra, value))
    if kind == PATH:
        return _valid_path(value)
    return False


def _valid_path(value: Any) -> bool:
    """The lab's path: at most 64 turns ``[shock %, {market: price}]``, the shock in the
    slider's range, every price a finite number in [MIN_PRICE, MAX_PRICE]."""
    if not isinstance(value, list) or len(value) > MAX_PATH_TURNS:
        return False
    for turn in value:
        if not (isinstance(turn, list) and len(turn) == 2 and isinstance(turn[1], Mapping)):
            return False
        shock, prices = turn
        if not _valid_control(NUMBER, (-MAX_SHOCK_PERCENT, MAX_SHOCK_PERCENT), shock) or len(prices) > 50:
            return False
        for name, price in prices.items():
            if not (isinstance(name, str) and _MARKET.fullmatch(name)
                    and _valid_control(NUMBER, (MIN_PRICE, MAX_PRICE), price)):
                return False
    return True


class LinkError(ValueError):
    """A link that cannot be opened; ``str(err)`` says why, in words for the user."""


# ----------------------------------------------------------------------------- pure codec


def encode(view: Mapping[str, Any], *, account_checked: bool = False) -> str:
    """The view as compact URL-safe text: ``"1." + base64url(zlib(json))``.

    Raises :class:`LinkError` if the view is invalid or the text would be longer than
    :data:`MAX_LINK_CHARS`. ``account_checked``: the caller has validated the view's account
    already (``scenario_from_dict``, as the session does once per account change), so it is
    not validated again.
    """
    clean = _checked_view(view, account_checked)
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
        source = raw.decode("utf-8")
        depth = nesting_depth(source)
        if depth > MAX_NESTING:
            raise LinkError(f"this link holds data nested {depth:,} levels deep; the limit is {MAX_NESTING}")
        view = json.loads(source, parse_constant=_reject_constant)
    except LinkError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise LinkError("this link is corrupt: its content is not valid JSON") from None
    return _checked_view(view)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a link may hold")


def _checked_view(view: Any, account_checked: bool = False) -> dict[str, Any]:
    """The view if its shape and its account are valid (the account taken as valid when
    ``account_checked``); else :class:`LinkError`."""
    if not isinstance(view, Mapping):
        raise LinkError("this link does not hold a view (expected an object)")
    unknown = sorted(set(view) - {"scenario", "page", "controls"})
    if unknown:
        raise LinkError(f"this link holds unknown fields: {', '.join(map(str, unknown))}")
    scenario = view.get("scenario")
    page = view.get("page", DEFAULT_PAGE)
    controls = view.get("controls", {})
    if page not in page_ids():
        raise LinkError(f"this link opens an unknown page {str(page)[:40]!r} (pages: {', '.join(page_ids())})")
    try:
        if not account_checked:
            shared_scenario(scenario)  # a class opening one link validates it once
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
        if isinstance(value, (float, int)) and not isinstance(value, bool) and spec[0] == NUMBER:
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




__all__ = ["LinkError", "MAX_LINK_CHARS", "MAX_PATH_TURNS", "PARAM", "VERSION", "control_spec", "control_values",
           "decode", "encode", "link_url"]
