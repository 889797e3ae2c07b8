"""Presenter mode: the app legible on a projector at 1280×720.

On when the plain session key ``"presenter"`` is true, or when the URL carries ``present=1``
(a teacher's link). ``app.py`` calls :func:`presenter_toggle` in the sidebar and :func:`apply`
after ``st.navigation``. In presenter mode :func:`apply` injects CSS for large type (21 px base),
a hidden sidebar and toolbar, high-contrast text and borders, full-width charts and a thick focus ring for
keyboard users, and shows an "Exit presenter mode" button in the main area (reachable with Tab)
and, with the sidebar gone, a compact row with every page (:func:`page_switcher`).
"""

from __future__ import annotations

import streamlit as st

from ui.common.palette import PRESENTER
from ui.common.site import PAGES, page, page_of_file

KEY = "presenter"
PARAM = "present"
BASE_FONT_PX = 21
SWITCHER_KEY = "presenter.page"

# Streamlit's own test ids (stable across recent releases); no class-name hashes.
_CSS = """
<style>
html { font-size: %(base)dpx; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stSidebarNav"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container {
  max-width: 100%% !important; padding: 1.2rem 2rem 3rem 2rem !important; }
[data-testid="stMain"], .stApp { background: %(bg)s !important; }
.stApp, [data-testid="stMarkdownContainer"], [data-testid="stMarkdownContainer"] p,
[data-testid="stWidgetLabel"], [data-testid="stMetricLabel"], [data-testid="stMetricValue"],
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p, label, li {
  color: %(fg)s !important; opacity: 1 !important; }
[data-testid="stCaptionContainer"] { font-size: 0.95rem !important; }
[data-testid="stMetricValue"] { font-size: 2.2rem !important; font-weight: 700 !important; }
[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stMetric"] {
  border-color: %(fg)s !important; }
.ml-metric-value { font-size: 2.2rem !important; font-weight: 700 !important; }
.ml-metric, .ml-box, .ml-scroll { border-color: %(fg)s !important; }
.ml-note, .ml-small, .ml-help, .ml-wf-tick, .ml-wf-label { opacity: 1 !important; }
.ml-wf { font-size: 14px !important; } .ml-wf-group { font-size: 15px !important; }
.ml-chart-title { font-size: 20px !important; }
a, a:visited { color: %(link)s !important; text-decoration: underline !important; }
*:focus-visible { outline: 4px solid %(focus)s !important; outline-offset: 3px !important; }
[data-testid="stPlotlyChart"], .js-plotly-plot { width: 100%% !important; }
h1 { font-size: 2.3rem !important; } h2 { font-size: 1.8rem !important; } h3 { font-size: 1.45rem !important; }
/* The page switcher: every page in one row beside the exit button at 1280 px (18 px labels);
   on a narrower screen its buttons wrap to a second row instead of scrolling out of sight. */
.st-key-presenter-top { flex-wrap: wrap; row-gap: 0.5rem; }
.st-key-presenter-page { flex: 1 1 auto; width: auto !important; max-width: 100%%; }
.st-key-presenter-page [role="radiogroup"] { flex-wrap: wrap; overflow: visible !important; }
.st-key-presenter-page button { padding: 0.25rem 0.5rem !important; min-height: 2.3rem !important; }
.st-key-presenter-page button p { font-size: 0.86rem !important; white-space: nowrap; }
</style>
"""
_LIGHT, _DARK = PRESENTER["light"], PRESENTER["dark"]


def is_on() -> bool:
    """Presenter mode is on (session key, or ``present=1`` in the URL)."""
    if st.query_params.get(PARAM) == "1":
        st.session_state[KEY] = True  # remembered: page switches drop the URL parameter
    return bool(st.session_state.get(KEY, False))


def _turn_off() -> None:
    st.session_state[KEY] = False
    if PARAM in st.query_params:
        del st.query_params[PARAM]


def _toggled() -> None:
    st.session_state[KEY] = bool(st.session_state[f"{KEY}.widget"])
    if not st.session_state[KEY] and PARAM in st.query_params:
        del st.query_params[PARAM]


def presenter_toggle() -> bool:
    """The sidebar switch (call inside ``with st.sidebar``); returns whether it is on."""
    on = is_on()
    st.session_state[f"{KEY}.widget"] = on
    st.toggle("Presenter mode", key=f"{KEY}.widget", on_change=_toggled,
              help="Large type, no sidebar, high contrast: for a projector at 1280×720. "
                   "Or add ?present=1 to the address.")
    return on


def css(dark: bool = False) -> str:
    """The presenter style sheet (light or dark palette)."""
    return _CSS % {"base": BASE_FONT_PX, **(_DARK if dark else _LIGHT)}


def _picked() -> None:
    st.session_state[f"{SWITCHER_KEY}.go"] = st.session_state.get(SWITCHER_KEY)


def page_switcher(current: str | None) -> None:
    """Every page in one row (the sidebar's navigation is hidden in presenter mode): picking
    one switches to it, keeping ``present=1`` in the address when it was there. ``current``
    is the page id this run shows."""
    listed = [p.id for p in PAGES if p.in_switcher]
    wanted = st.session_state.pop(f"{SWITCHER_KEY}.go", None)
    if wanted and wanted != current and wanted in listed:
        keep = {PARAM: "1"} if st.query_params.get(PARAM) == "1" else None
        st.switch_page(page(wanted).path, query_params=keep)
    st.session_state[SWITCHER_KEY] = current if current in listed else None  # the row shows where we are
    titles = {p.id: f"{p.icon} {p.short}" for p in PAGES}
    st.segmented_control("Go to page", options=listed, key=SWITCHER_KEY, format_func=titles.get,
                         on_change=_picked, label_visibility="collapsed", width="stretch")


def apply(current_page=None) -> bool:
    """Call after ``st.navigation`` with the page it returned: in presenter mode inject the
    style sheet and show the exit button and the page switcher. Returns whether it is on."""
    if not is_on():
        return False
    dark = getattr(getattr(st.context, "theme", None), "type", None) == "dark"
    st.html(css(dark))
    found = page_of_file(current_page) if current_page is not None else None
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="presenter.top"):
        st.button("Exit presenter mode", icon=":material/close_fullscreen:", key="presenter.exit",
                  on_click=_turn_off, help="Back to the normal layout with the sidebar.")
        page_switcher(found.id if found else None)
    return True


FIGURE_SCALE = 1.5  # Plotly draws its text in pixels: CSS cannot enlarge it


def enlarge(fig, scale: float = FIGURE_SCALE):
    """The figure with every font ``scale`` times larger (layout, title, axes, legend,
    annotations, trace text): for presenter mode, e.g.
    ``st.plotly_chart(presenter.enlarge(fig) if presenter.is_on() else fig, ...)``.

    >>> import plotly.graph_objects as go
    >>> fig = enlarge(go.Figure(layout={"title": {"text": "t", "font": {"size": 14}}}))
    >>> fig.layout.font.size, fig.layout.title.font.size
    (18.0, 21.0)
    """
    fig = fig.__class__(fig)  # a copy: cached figures stay as they are
    layout = fig.layout
    layout.font.size = (layout.font.size or 12) * scale
    if layout.title.font.size:
        layout.title.font.size *= scale
    if layout.title.subtitle.font.size:
        layout.title.subtitle.font.size *= scale
    if layout.legend.font.size:
        layout.legend.font.size *= scale
    # Larger tick labels and axis titles take room below the plot: a legend placed under it
    # moves down with them, and the figure grows so the plot itself keeps its size.
    if layout.legend.y is not None and layout.legend.y < 0:
        layout.legend.y *= scale
    if layout.height:
        layout.height = round(layout.height * (1 + (scale - 1) / 2))
    for name in dir(layout):
        if name.startswith(("xaxis", "yaxis")) and layout[name] is not None:
            axis = layout[name]
            if axis.tickfont.size:
                axis.tickfont.size *= scale
            if axis.title.font.size:
                axis.title.font.size *= scale
    for annotation in layout.annotations or ():
        if annotation.font.size:
            annotation.font.size *= scale
    for trace in fig.data:
        font = getattr(trace, "textfont", None)
        if font is not None and getattr(font, "size", None) and not isinstance(font.size, (tuple, list)):
            font.size *= scale
    return fig


__all__ = ["apply", "css", "enlarge", "is_on", "page_switcher", "presenter_toggle"]
