"""The lab's fourth way, "collateral in USDT", in words: where the account as built and its USDT
twin (:func:`margin.variants.collateral_in_usdt`: the collateral's value at the account's own
prices, held as USDT) are liquidated, and what differs between them. Pure (no Streamlit); the
numbers are those the page shows (each way's positions and its shock-range crossings).
"""

from __future__ import annotations

from typing import Mapping

from margin.numbers import money, price, quantity
from margin.presets import market_label
from margin.scenario import Scenario
from margin.variants import USDT_COLLATERAL_LABEL
from ui.common.words import join_words
from ui.lab.model import VariantView
from ui.lab.sweep import SweepView, nearest_mark, shock_text

VARIANT_NOTE = "The same collateral value held as USDT: none of it moves with a market."


def _where(view: VariantView, sweep: SweepView, shock: float) -> str:
    """Where one way's cross pool is liquidated from here: the shock, or why none."""
    if not view.cross_open:
        return "its cross pool has been closed already"
    mark = nearest_mark(sweep, shock, {"cross pool"})
    if mark is None:
        return "no whole-market shock within the lab's range liquidates its cross pool"
    return f"its cross pool is liquidated at a whole-market shock of {shock_text(mark)}"


def _prices(built: VariantView, twin: VariantView) -> str:
    """Each open position's liquidation price both ways (other markets held), where both exist."""
    pairs = []
    twins = {p.id: p for p in twin.positions}
    for p in built.positions:
        other = twins.get(p.id)
        if p.size > 0 and other is not None and p.liquidation_price is not None and other.liquidation_price is not None:
            pairs.append(f"the {p.label} at {price(p.liquidation_price)} USDT as built, at "
                         f"{price(other.liquidation_price)} USDT with USDT collateral")
    return f" Alone on its market, {join_words(pairs[:3])}." if pairs else ""


def held_as_usdt(scenario: Scenario) -> str:
    """What "collateral in USDT" changes, in words: ``its 1 BTC of collateral held instead as the
    57,000.00 USDT it counts for at the account's own prices`` (the lab, the replay and the
    stress lab say it alike)."""
    held = [c for c in scenario.collateral if not c.coin_pool and c.amount > 0]
    what = join_words([f"{quantity(c.amount)} {c.asset}" for c in held])
    value = sum(c.value(scenario.markets[c.market].price) for c in held)
    return (f"its {what} of collateral held instead as the {money(value)} it counts for at the account's own "
            f"prices")


def moving_markets(scenario: Scenario) -> str:
    """The markets the collateral of the account's USDT pool moves with: ``BTC``, ``BTC and ETH``."""
    moving = {c.market for c in scenario.collateral if not c.coin_pool and c.amount > 0}
    return join_words(sorted(market_label(m) for m in moving))


def collateral_comparison(views: Mapping[str, VariantView], sweeps: Mapping[str, SweepView], shock: float) -> str | None:
    """The account as built against "collateral in USDT", in one or two sentences; None when
    the lab shows no fourth way (the account holds only USDT)."""
    twin = views.get(USDT_COLLATERAL_LABEL)
    built = views.get("As built")
    if twin is None or built is None:
        return None
    scenario = built.scenario
    markets = moving_markets(scenario)
    return (f"Collateral in USDT is this account with {held_as_usdt(scenario)}. As built, "
            f"{_where(built, sweeps['As built'], shock)}; with USDT collateral, "
            f"{_where(twin, sweeps[USDT_COLLATERAL_LABEL], shock)}.{_prices(built, twin)} What differs is "
            f"the collateral: as built it falls and rises with {markets}, so a fall costs a long twice (the position "
            f"and the collateral behind it) and is a hedge for a short; held as USDT it stays where it is.")


__all__ = ["VARIANT_NOTE", "collateral_comparison", "held_as_usdt", "moving_markets"]
