"""Shareable links, the Streamlit side: open a link's view, and offer the current one.

:func:`restore_from_url` (called by ``app.py`` before ``st.navigation``) applies ``?v=``;
:func:`open_link_target` (after it) opens its page; :func:`share_link` is the copy-link
control. The text itself is :mod:`ui.common.link_codec`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Mapping

from margin.fields import ScenarioError
from ui.common.controls import arrival
from ui.common.link_codec import (
    MAX_LINK_CHARS, PARAM, LinkError, control_values, decode, encode, link_url,
)
from ui.common.text import md
from ui.common.site import DEFAULT_PAGE, page_ids, page_of_file
from ui.common.site import page as site_page


def keep_tag(secret: bytes, text: str) -> str:
    """The ``keep`` value of a kept view ``text`` for the browser holding ``secret``: another
    browser, holding another secret, cannot make it, so a copied address is not "its own".

    >>> a, b = keep_tag(b"browser a", "1.view"), keep_tag(b"browser b", "1.view")
    >>> len(a), a == keep_tag(b"browser a", "1.view"), a == b, a == keep_tag(b"browser a", "1.other")
    (16, True, False, False)
    """
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:16]


def page_file(page_id: str) -> str:
    """The absolute path of a page's file: ``st.switch_page`` takes it whatever the entry script."""
    return site_page(page_id).path


# ----------------------------------------------------------------------------- Streamlit side

TARGET_KEY = "links.target"  # page file to open after st.navigation
MESSAGE_KEY = "links.message"  # why a link could not be opened, shown once
RUN_KEY = "links.run"  # counts full runs of app.py (restore_from_url runs at the top of each)
SHOWN_KEY = "links.shown"  # the run in which a page drew its own copy-link control
KEPT_KEY = "links.kept"  # the view this session last wrote into the address (see keep_in_url)
KEPT_FROM = "links.kept_from"  # what KEPT_KEY was encoded from (see keep_in_url)
RESTORED_KEY = "links.restored"  # the account's name, to say once that it was restored
KEEP = "keep"  # query parameter: ``v`` was written by keep_in_url for this browser (keep_value), not shared
XSRF_COOKIE = "_streamlit_xsrf"  # Streamlit's own per-browser cookie (its token outlives reloads and restarts)


def browser_secret() -> bytes | None:
    """A secret this browser alone holds, the same across reloads and server restarts: the token
    inside Streamlit's XSRF cookie (set on the first page load, sent with every websocket).
    None without one (XSRF protection off, or AppTest)."""
    import streamlit as st

    cookie = (getattr(st.context, "cookies", None) or {}).get(XSRF_COOKIE)
    if not cookie:
        return None
    try:
        from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string
        token, _ = decode_xsrf_token_string(cookie)
    except (ImportError, ValueError):
        return None
    return token or None


def keep_value(text: str) -> str:
    """What ``keep`` says for this browser's own view ``text``: :func:`keep_tag` with the
    browser's secret; ``1`` for a browser without one (then any keep=1 counts as its own, the
    most a server can tell without a per-browser secret)."""
    secret = browser_secret()
    return "1" if secret is None else keep_tag(secret, text)


def restore_from_url() -> str | None:
    """Apply a shared view from ``?v=`` (call before ``st.navigation``).

    Sets the account (through ``ui.shell.state.set_scenario``) and the plain control keys, and
    remembers the page to open; :func:`open_link_target` (after ``st.navigation``) opens it and
    drops ``v`` from the URL so a rerun does not apply the link again. A corrupt or too-long
    link changes nothing (a first visit keeps the default account, a session its own) and says
    why. Returns the page file to open, or None.
    """
    import streamlit as st

    from margin.presets import DEFAULT_STORY, load_story
    from ui.shell.state import ensure_scenario, set_scenario

    st.session_state[RUN_KEY] = int(st.session_state.get(RUN_KEY, 0)) + 1
    text = st.query_params.get(PARAM)
    if text is None:
        return None
    if text == st.session_state.get(KEPT_KEY):
        return None  # this session's own view, written by keep_in_url: nothing to restore
    try:
        view = decode(text)
        set_scenario(view["scenario"])
    except (LinkError, ScenarioError) as err:
        kept = ("Showing the default account instead." if ensure_scenario() == load_story(DEFAULT_STORY)
                else "Your account is kept as it was.")
        st.session_state[MESSAGE_KEY] = f"This shared link could not be opened: {err}. {kept}"
        target = page_file(DEFAULT_PAGE)
    else:
        _set_controls(view["page"], view["scenario"], view["controls"])
        target = page_file(view["page"])
        # this browser's own view (a reload, a dropped connection, a restarted server); a copied
        # address carries another browser's keep and opens as a shared link, without that word
        if hmac.compare_digest(str(st.query_params.get(KEEP) or ""), keep_value(text)):
            st.session_state[RESTORED_KEY] = str(view["scenario"].get("name") or "Untitled account")
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
        st.error(md(message), icon=":material/link_off:")  # it quotes the link's own text
    restored = st.session_state.pop(RESTORED_KEY, None)
    if restored is not None:
        st.toast(f"Restored your account “{md(restored)}” from the address, as you left it.",
                 icon=":material/restore:")


def keep_in_url(page: Any) -> None:
    """Call at the end of app.py's run: the address holds the current view (account, page and
    controls) as ``?v=<view>&keep=<this browser's tag>`` (:func:`keep_value`), so a reload, a
    dropped connection or a restarted server opens the same work again. Written only when it
    changed; a view too large for a link is not kept (the address then holds no view)."""
    import streamlit as st

    from ui.shell.state import current_account, ensure_scenario, revision

    page_id = page if page in page_ids() else page_id_of(page)
    if page_id is None or not site_page(page_id).shareable:
        return
    raw = ensure_scenario()
    controls = control_values(st.session_state.to_dict(), page_id)  # one pass over the state, not one per key
    # What the text encodes, named cheaply: the account's revision and dict, the page, the controls.
    source = (revision(), id(raw), page_id, json.dumps(controls, sort_keys=True, default=repr))
    if source == st.session_state.get(KEPT_FROM) and st.query_params.get(PARAM) == st.session_state.get(KEPT_KEY):
        return  # nothing it encodes changed: not encoded again (a step of a control no link holds)
    try:
        current_account()  # validated once per account change (raises ScenarioError), not per step
        text = encode({"scenario": raw, "page": page_id, "controls": controls}, account_checked=True)
    except (LinkError, ScenarioError):
        text = None
    st.session_state[KEPT_FROM] = source
    if text == st.session_state.get(KEPT_KEY) and st.query_params.get(PARAM) == text:
        return
    st.session_state[KEPT_KEY] = text
    if text is None:
        st.query_params.pop(PARAM, None)
        st.query_params.pop(KEEP, None)
        return
    st.query_params[PARAM] = text
    st.query_params[KEEP] = keep_value(text)


def _set_controls(page: str, scenario: Mapping[str, Any], controls: Mapping[str, Any]) -> None:
    """Put a page's controls at a starting point for a freshly set account: the page's own
    defaults for that account first (the lab's sliders at the account's prices), then
    ``controls``."""
    import streamlit as st

    drop, start = arrival(page, scenario, controls)
    for key in drop:
        st.session_state.pop(key, None)
    st.session_state.update(start)


def open_page(page: str, *, scenario: Mapping[str, Any], controls: Mapping[str, Any] | None = None) -> None:
    """Make ``scenario`` the account, set ``page``'s controls (page defaults, then
    ``controls``) and switch to the page. Used by lessons; raises ScenarioError on a bad account."""
    import streamlit as st

    from ui.shell.state import set_scenario

    set_scenario(dict(scenario))
    _set_controls(page, scenario, controls or {})
    st.switch_page(page_file(page))


def sidebar_share_link(page: Any) -> None:
    """Call after ``page.run()``: the copy-link control in the sidebar, for a page that did not
    draw its own in this run (learn and glossary have no view worth sharing)."""
    import streamlit as st

    page_id = page if page in page_ids() else page_id_of(page)
    if page_id is None or not site_page(page_id).shareable:
        return
    if st.session_state.get(SHOWN_KEY) == st.session_state.get(RUN_KEY):
        return
    with st.sidebar:
        share_link(page_id, key="links.share")


def current_view(page: str) -> dict[str, Any]:
    """The session's view on ``page`` (a page id of :data:`PAGES`)."""
    import streamlit as st

    from ui.shell.state import scenario_dict

    return {"scenario": scenario_dict(), "page": page, "controls": control_values(st.session_state.to_dict(), page)}


def page_id_of(source: Any) -> str | None:
    """The page id of a page file path or of the page object that ``st.navigation`` returns;
    None for a page a link cannot open.

    >>> page_id_of("pages/crash_replay.py"), page_id_of("/srv/app/pages/price_lab.py"), page_id_of("x.py")
    ('replay', 'lab', None)
    """
    found = page_of_file(source)
    return found.id if found else None


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

    page_id = page if page in page_ids() else page_id_of(page)
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
            st.warning(md(str(err)[0].upper() + str(err)[1:]), icon=":material/link_off:")
            return None
        url = link_url(text, st.context.url)
        st.caption("Anyone who opens this link sees this account, this page and these control "
                   "positions. Copy it with the button at the right of the box.")
        st.code(url, language=None, wrap_lines=True)
        st.caption(f"{len(text):,} of {MAX_LINK_CHARS:,} characters. Add `&present=1` to open it in "
                   "presenter mode.")
    return url


__all__ = [
    "LinkError", "MAX_LINK_CHARS", "current_view", "keep_in_url", "open_link_target", "open_page", "page_file", "page_id_of",
    "restore_from_url", "share_link", "sidebar_share_link",
]
