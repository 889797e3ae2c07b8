"""Where a page's plain controls start when a shared link or a lesson sets a fresh account on it
(the keys a link may set, and their bounds, are the page registry's, :mod:`ui.common.site`).

:func:`arrival` says which keys to drop and which to set: the page's own defaults for that
account first (the lab's sliders at the account's prices, the stress lab's volatility and
correlation for its markets), then the link's ``controls``. ``ui/shell/links.py`` applies it to
the session. The stress lab's keys are named here, once (``ui/stress`` reads them from here).

>>> drop, start = arrival("lab", {"markets": {"BTCUSDT": {"price": 90_000}}}, {"lab.shock": -12.0})
>>> drop, start
(('lab.anchor', 'lab.history', 'lab.path'), {'lab.shock': -12.0, 'lab.price.BTCUSDT': 90000.0, 'lab.replay': []})
"""

from __future__ import annotations

from typing import Any, Mapping

from margin.stress import default_correlation, default_volatility

STRESS_DEFAULTS = {"stress.horizon": 1.0, "stress.step": "1 hour", "stress.dof": 3.0, "stress.paths": 5_000,
                   "stress.seed": 0}
LAB_PATH = "lab.path"  # a link's path through the lab: walked on arrival, not a control's value


def vol_key(market: str) -> str:
    return f"stress.vol.{market}"


def corr_key(first: str, second: str) -> str:
    return f"stress.corr.{first}.{second}"


def pairs(markets: list[str]) -> list[tuple[str, str]]:
    """Every pair of markets once, in the account's order.

    >>> pairs(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    [('BTCUSDT', 'ETHUSDT'), ('BTCUSDT', 'SOLUSDT'), ('ETHUSDT', 'SOLUSDT')]
    """
    return [(a, b) for i, a in enumerate(markets) for b in markets[i + 1:]]


def stress_defaults(markets: list[str]) -> dict[str, Any]:
    """Every plain key of the stress lab at its default for an account holding ``markets``."""
    state: dict[str, Any] = dict(STRESS_DEFAULTS)
    for market, vol in default_volatility(markets).items():
        state[vol_key(market)] = round(vol * 100, 2)
    matrix = default_correlation(markets)
    for a, b in pairs(markets):
        state[corr_key(a, b)] = float(matrix[markets.index(a), markets.index(b)])
    return state


def arrival(page: str, scenario: Mapping[str, Any], controls: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """``(keys to drop, keys to set)`` when ``page`` opens on the freshly set account ``scenario``
    (a scenario dict) with a link's or a lesson's ``controls``: the page's defaults for that
    account, then ``controls`` (a lab link's path is walked from ``lab.replay``, not set)."""
    drop: tuple[str, ...] = ()
    start: dict[str, Any] = {}
    markets = scenario.get("markets") or {}
    if page == "lab":
        start["lab.shock"] = 0.0
        start.update({f"lab.price.{name}": float(market["price"]) for name, market in markets.items()})
        # the lab restarts a market's slider when the account's price moves (a view sets both), and
        # walks a fresh path for this account through the link's own turns: the liquidations the
        # sender saw happen again on the way
        drop = ("lab.anchor", "lab.history", LAB_PATH)
        start["lab.replay"] = list(controls.get(LAB_PATH) or [])
    if page == "stress":
        start.update(stress_defaults(list(markets)))  # volatility and correlation for these markets
        drop = ("stress.run",)  # run the new inputs on arrival
    if page == "replay":
        start.update({"replay.step": 0, "replay.playing": False})
        drop = ("replay.loaded",)  # else a new crash would reset the step
    start.update({key: value for key, value in controls.items() if key != LAB_PATH})
    return drop, start


__all__ = ["LAB_PATH", "STRESS_DEFAULTS", "arrival", "corr_key", "pairs", "stress_defaults", "vol_key"]
