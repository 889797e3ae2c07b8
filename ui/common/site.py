"""The one page registry: every page's file, title, icon, URL path, glossary terms and the
controls a shared link may set on it. app.py's navigation, the links, the presenter's page
switcher, the lessons and the sidebar's terms all read it from here.

A page's URL path is its file's stem, the one Streamlit's legacy ``pages/`` mode infers (see
``ui/shell/deep_links.py``); the first page is the default, at ``/``.

>>> [p.id for p in PAGES][:3], page("replay").url_path
(['lab', 'builder', 'replay'], 'crash_replay')
>>> page_of_file("/srv/app/pages/price_lab.py").id
'lab'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from margin.limits import MAX_PAGE_TRADERS, MAX_PRICE, MAX_SHOCK_PERCENT
from margin.variants import ALL_VARIANT_LABELS

ROOT = Path(__file__).resolve().parents[2]

NUMBER, INTEGER, CHOICE, TEXT, PATH, BOOL = "number", "integer", "choice", "text", "path", "bool"
_NAME = r"[A-Za-z0-9_\-]{1,40}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    """A plain session key a link may set on a page: a full-match ``pattern``, what it holds
    (``kind``) and its bounds or options (``extra``)."""

    pattern: re.Pattern[str]
    kind: str
    extra: Any = None


def _controls(*rows: tuple[str, str, Any]) -> tuple[Control, ...]:
    return tuple(Control(pattern=re.compile(p), kind=k, extra=e) for p, k, e in rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class SitePage:
    """One page of the app. ``short`` is the title in the presenter's one-row switcher;
    ``name`` how a sentence calls it ("the price lab"); ``terms`` the glossary terms the
    sidebar links under it; ``controls`` what a shared link may set on it. The classroom pages
    are not in the presenter's switcher (``in_switcher``): their own links open them, and nine
    pages no longer fit beside the exit button at 1280 px."""

    id: str
    file: str
    title: str
    short: str
    name: str
    icon: str
    terms: tuple[str, ...] = ()
    controls: tuple[Control, ...] = ()
    shareable: bool = True
    in_switcher: bool = True  # listed in presenter mode's one-row page switcher
    in_navigation: bool = True  # listed in the sidebar (the projector view is opened from the console)
    light_frame: bool = False  # app.py draws no account sidebar and no presenter switch (ui/shell/frame.py)

    @property
    def url_path(self) -> str:
        return Path(self.file).stem

    @property
    def path(self) -> str:
        """The page's file, absolute (``st.switch_page`` takes it whatever the entry script)."""
        return str(ROOT / self.file)


PAGES: tuple[SitePage, ...] = (
    SitePage(id="lab", file="pages/price_lab.py", title="Price lab", short="Price lab", name="price lab",
             icon=":material/tune:",
             terms=("cross margin", "isolated margin", "equity", "maintenance margin", "margin ratio",
                    "liquidation price", "bankruptcy price", "market shock", "beta", "collateral", "stop-loss"),
             controls=_controls((r"lab\.shock", NUMBER, (-MAX_SHOCK_PERCENT, MAX_SHOCK_PERCENT)), (rf"lab\.price\.{_NAME}", NUMBER, (0.0, MAX_PRICE)),
                                (r"lab\.view", CHOICE, ALL_VARIANT_LABELS), (r"lab\.path", PATH, None))),
    SitePage(id="builder", file="pages/builder.py", title="Account builder", short="Builder", name="account builder",
             icon=":material/construction:",
             terms=("perpetual future", "long", "short", "leverage", "initial margin", "isolated margin",
                    "maintenance tiers", "liquidation fee", "partial liquidation", "insurance fund", "collateral",
                    "haircut", "inverse contract", "stop-loss", "take-profit")),
    SitePage(id="replay", file="pages/crash_replay.py", title="Crash replay", short="Crash replay",
             name="crash replay", icon=":material/replay:",
             terms=("mark price", "last price", "liquidation price", "bankruptcy price", "insurance fund",
                    "socialized loss"),
             controls=_controls(
                 (r"replay\.crash", TEXT, r"[0-9a-z\-]{1,40}"), (r"replay\.step", NUMBER, (0.0, 1e6)),
                 (r"replay\.speed", CHOICE, ("Slow", "Normal", "Fast")), (r"replay\.market", TEXT, _NAME),
                 (r"replay\.view", CHOICE, ALL_VARIANT_LABELS), (r"replay\.drop", NUMBER, (5.0, 90.0)),
                 (r"replay\.duration", NUMBER, (2.0, 300.0)), (r"replay\.rebound", NUMBER, (0.0, 100.0)),
                 (r"replay\.noise", NUMBER, (0.0, 3.0)), (r"replay\.wick", NUMBER, (0.0, 10.0)),
                 (r"replay\.seed", INTEGER, (0, 999_999)), (rf"replay\.beta\.{_NAME}", NUMBER, (-5.0, 10.0)))),
    SitePage(id="cascade", file="pages/market_cascade.py", title="Market cascade", short="Cascade",
             name="market cascade", icon=":material/waterfall_chart:",
             terms=("liquidation cascade", "market depth", "leverage", "liquidation price", "insurance fund"),
             controls=_controls(
                 (r"cascade\.market", TEXT, _NAME), (r"cascade\.shock", NUMBER, (-30.0, 30.0)),
                 (r"cascade\.depth", NUMBER, (0.5, 200.0)), (r"cascade\.impact", CHOICE, ("linear", "sqrt", "none")),
                 (r"cascade\.traders", INTEGER, (1_000, MAX_PAGE_TRADERS)), (r"cascade\.leverage_mean", NUMBER, (1.0, 50.0)),
                 (r"cascade\.leverage_max", NUMBER, (2.0, 125.0)), (r"cascade\.long_share", INTEGER, (0, 100)),
                 (r"cascade\.size_median", NUMBER, (100.0, 10_000_000.0)), (r"cascade\.cross_share", INTEGER, (0, 100)),
                 (r"cascade\.cross_buffer", INTEGER, (0, 300)), (r"cascade\.seed", INTEGER, (0, 999_999)),
                 (r"cascade\.fund_limited", BOOL, None), (r"cascade\.fund", NUMBER, (0.0, 1_000_000.0)),
                 (r"cascade\.adl", BOOL, None))),
    SitePage(id="stress", file="pages/stress_lab.py", title="Stress lab", short="Stress lab", name="stress lab",
             icon=":material/science:",
             terms=("stress test", "fat tails", "wipe-out", "bankruptcy price", "VaR", "expected shortfall",
                    "liquidation price"),
             controls=_controls(
                 (rf"stress\.vol\.{_NAME}", NUMBER, (0.0, 1000.0)), (rf"stress\.corr\.{_NAME}\.{_NAME}", NUMBER, (-1.0, 1.0)),
                 (r"stress\.horizon", NUMBER, (1.0, 30.0)),
                 (r"stress\.step", CHOICE, ("5 minutes", "15 minutes", "1 hour", "4 hours", "1 day")),
                 (r"stress\.dof", NUMBER, (2.1, 50.0)), (r"stress\.paths", CHOICE, (500, 1_000, 2_000, 5_000, 10_000, 20_000)),
                 (r"stress\.seed", INTEGER, (0, 2**31 - 1)), (r"stress\.headline", CHOICE, ("Fat tails", "Normal")),
                 (r"stress\.variant", CHOICE, ALL_VARIANT_LABELS))),
    SitePage(id="teach", file="pages/teach_room.py", title="Teach a room", short="Teach", name="teacher's console",
             icon=":material/co_present:", shareable=False, in_switcher=False),
    SitePage(id="room", file="pages/join_room.py", title="Join a room", short="Join", name="classroom room",
             icon=":material/groups:", shareable=False, in_switcher=False, light_frame=True),
    SitePage(id="projector", file="pages/projector.py", title="Projector view", short="Projector",
             name="projector view", icon=":material/present_to_all:", shareable=False, in_switcher=False,
             in_navigation=False, light_frame=True),
    SitePage(id="learn", file="pages/learn.py", title="Learn", short="Learn", name="lessons", icon=":material/school:",
             shareable=False),
    SitePage(id="glossary", file="pages/glossary.py", title="Glossary", short="Glossary", name="glossary",
             icon=":material/menu_book:", shareable=False),
)
DEFAULT_PAGE = PAGES[0].id
_BY_ID = {p.id: p for p in PAGES}


def page(page_id: str) -> SitePage:
    """The page with this id (``KeyError`` for an unknown one)."""
    return _BY_ID[page_id]


def page_ids() -> list[str]:
    return [p.id for p in PAGES]


def page_of_file(source: Any) -> SitePage | None:
    """The page of a file path, or of the page object ``st.navigation`` returns; None for a
    file that is not one of the app's pages."""
    name = str(getattr(source, "_page", source)).replace("\\", "/").rsplit("/", 1)[-1]
    return next((p for p in PAGES if p.file.rsplit("/", 1)[-1] == name), None)


__all__ = ["CHOICE", "Control", "DEFAULT_PAGE", "INTEGER", "NUMBER", "PAGES", "PATH", "SitePage", "TEXT", "page",
           "page_ids", "page_of_file"]
