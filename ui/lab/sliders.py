"""The price lab's controls, pure: the variants its charts show, the shock's range, each market
slider's range, step and format, a shared link's turn held within them, and the words under a
slider's strip of marks."""

from __future__ import annotations

import math
from html import escape

from margin.limits import MAX_SHOCK_PERCENT
from margin.scenario import Scenario
from ui.lab.model import Waypoint

VARIANTS = ("As built", "All cross", "All isolated")


def in_sentence(label: str) -> str:
    """A way's label inside a sentence: its first letter lowered, a currency's name kept.

    >>> in_sentence("All cross"), in_sentence("Collateral in USDT")
    ('all cross', 'collateral in USDT')
    """
    return label[:1].lower() + label[1:]
SHOCK_RANGE = (-MAX_SHOCK_PERCENT, MAX_SHOCK_PERCENT)  # [%] (margin.limits)


def price_step(value: float) -> float:
    """A round slider step of about 0.1 % of ``value`` [USDT]."""
    return 10.0 ** math.floor(math.log10(value / 1000.0))


def price_format(step: float) -> str:
    return f"%.{max(0, -int(round(math.log10(step))))}f"


def clamped(scenario: Scenario, point: Waypoint) -> Waypoint:
    """A link's turn within the sliders' ranges (a market the account lacks is dropped)."""
    prices = []
    for name, market in scenario.markets.items():
        low, high, _ = market_slider_range(market.price)
        value = point.price_map().get(name, market.price)
        prices.append((name, min(max(float(value), low), high)))
    shock = min(max(point.shock, SHOCK_RANGE[0] / 100.0), SHOCK_RANGE[1] / 100.0)
    return Waypoint(shock=shock, prices=tuple(prices))


def market_slider_range(market_price: float) -> tuple[float, float, float]:
    """A market slider's ``(low, high, step)``: 20 % to 180 % of its price, round steps [USDT]."""
    step = price_step(market_price)
    digits = max(0, -int(round(math.log10(step))))
    low = round(round(market_price * 0.2 / step) * step, digits)
    high = round(round(market_price * 1.8 / step) * step, digits)
    return low, high, step


def strip_with_words(strip: str, words: str) -> str:
    """A slider's strip of marks and, under it, the same marks in words."""
    return (strip + '<div style="font-size:0.8rem;opacity:0.8;margin:2px 8px 0 8px;line-height:1.35">'
            f"{escape(words)}</div>")
