"""Liquidation and bankruptcy prices of an account's positions, in its own state or another.

The pool behind each position is built by :func:`margin.pools.state_pools` and solved by
:mod:`margin.roots`, exactly (segment by segment, never searched): linear contracts and the
collateral in the price, inverse contracts in its reciprocal (:mod:`margin.inverse`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

from margin.pools import REACH_FACTOR, first_prices, state_pools
from margin.scenario import Position, Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationPrice:
    """Mark price [quote per base] of the position's market at which it is liquidated
    (equity = maintenance margin) or bankrupt (equity = 0), every other market held.

    ``None`` where no positive price within reach does it: a root above ``REACH_FACTOR`` ×
    today's price exists only in the far tiers of a hedged pool, and is reported as none
    (``beyond_reach`` then says so, and ``reach`` [quote per base] is the price up to which
    the engine looked: words say "no liquidation below {reach}", a fact, not fixed wording;
    inf when every root was asked for). ``direction`` is the way the price must
    move to liquidate (−1 down, +1 up, 0 never); for a cross position it is the way the whole
    pool loses in this market, so every leg of one market in one pool shares one price.
    """

    id: str
    liquidation_price: float | None
    bankruptcy_price: float | None
    direction: int = 0
    bankruptcy_direction: int = 0
    beyond_reach: bool = False
    reach: float = field(default=math.inf, compare=False)  # where it looked, not what it found


def position_liquidation_price(scenario: Scenario, index: int,
                               prices: Mapping[str, float] | None = None,
                               sizes: Sequence[float] | None = None,
                               margins: Sequence[float] | None = None,
                               cross_wallet: float | None = None,
                               collateral: Sequence[float] | None = None,
                               reach_factor: float | None = REACH_FACTOR) -> LiquidationPrice:
    """Liquidation and bankruptcy price of ``scenario.positions[index]``.

    Every other market is held at its current price. ``sizes``, ``margins``, ``cross_wallet``
    and ``collateral`` (each entry's amount, a coin pool's its cross wallet) override the
    scenario's state (used during a simulation; size 0 = closed). ``reach_factor``: roots above
    that many times today's price are reported as none (None: every root, however far).
    """
    return _solve(scenario, _positions_in_state(scenario, sizes, margins), [index],
                  _current_prices(scenario, prices), cross_wallet, collateral, reach_factor)[0]


def liquidation_prices(scenario: Scenario,
                       prices: Mapping[str, float] | None = None,
                       sizes: Sequence[float] | None = None,
                       margins: Sequence[float] | None = None,
                       cross_wallet: float | None = None,
                       collateral: Sequence[float] | None = None,
                       reach_factor: float | None = REACH_FACTOR) -> tuple[LiquidationPrice, ...]:
    """Liquidation and bankruptcy price of every position, in scenario order, with the same
    overrides as :func:`position_liquidation_price` (the account's state is built once for all)."""
    positions = _positions_in_state(scenario, sizes, margins)
    if not positions:
        return ()
    return tuple(_solve(scenario, positions, range(len(positions)), _current_prices(scenario, prices), cross_wallet,
                        collateral, reach_factor))


def _current_prices(scenario: Scenario, prices: Mapping[str, float] | None) -> dict[str, float]:
    current = scenario.prices
    if prices:
        current.update(prices)
    return current


def _positions_in_state(scenario: Scenario, sizes: Sequence[float] | None,
                        margins: Sequence[float] | None) -> list[Position]:
    positions = list(scenario.positions)
    if sizes is not None:
        positions = [replace(p, size=float(s)) for p, s in zip(positions, sizes)]
    if margins is not None:
        positions = [replace(p, margin=float(m)) if p.is_isolated else p for p, m in zip(positions, margins)]
    return positions


def _solve(scenario: Scenario, positions: Sequence[Position], indices: Sequence[int],
           current: Mapping[str, float], cross_wallet: float | None, collateral: Sequence[float] | None,
           reach_factor: float | None) -> list[LiquidationPrice]:
    """Liquidation and bankruptcy prices of ``positions[indices]``, every pool at once
    (:func:`margin.pools.state_pools` of the one state, :func:`margin.pools.first_prices`)."""
    out: dict[int, LiquidationPrice] = {}
    live = [i for i in indices if positions[i].size > 0]
    for i in indices:
        if positions[i].size <= 0:
            out[i] = LiquidationPrice(id=positions[i].id, liquidation_price=None, bankruptcy_price=None)
    if live:
        n = len(live)
        marks = np.array([[current[name] for name in scenario.markets]], dtype=float)
        size = np.array([[p.size for p in positions]], dtype=float)
        margin = np.array([[p.margin if p.is_isolated else 0.0 for p in positions]], dtype=float)
        wallet = scenario.cross_wallet if cross_wallet is None else cross_wallet
        held_collateral = None if collateral is None else np.array([collateral] * n, dtype=float).reshape(n, -1)
        pools, held = state_pools(scenario, np.array(live), size.repeat(n, 0), margin.repeat(n, 0),
                                  np.full(n, wallet, dtype=float), marks.repeat(n, 0), held_collateral)
        here = np.array([current[positions[i].market] for i in live], dtype=float)
        own_side = np.array([positions[i].sign for i in live])
        (liq, liq_dir, liq_far), (bank, bank_dir, bank_far) = first_prices(pools, held, here, own_side,
                                                                           reach_factor=reach_factor)
        for row, i in enumerate(live):
            out[i] = LiquidationPrice(
                id=positions[i].id, liquidation_price=_price_or_none(liq[row]),
                bankruptcy_price=_price_or_none(bank[row]), direction=int(liq_dir[row]),
                bankruptcy_direction=int(bank_dir[row]), beyond_reach=bool(liq_far[row] or bank_far[row]),
                reach=math.inf if reach_factor is None else float(reach_factor * here[row]))
    return [out[i] for i in indices]


def _price_or_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


__all__ = ["REACH_FACTOR", "LiquidationPrice", "liquidation_prices", "position_liquidation_price"]
