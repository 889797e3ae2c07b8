"""Liquidation and bankruptcy prices of an account's positions, in its own state or another.

The pool behind each position is built by :func:`margin.pools.state_pools` and solved by
:mod:`margin.roots`, exactly (segment by segment, never searched): linear contracts and the
collateral in the price, inverse contracts in its reciprocal (:mod:`margin.inverse`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from margin.pools import REACH_FACTOR, first_prices, state_pools
from margin.scenario import Scenario


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
    size, margin = _state_arrays(scenario, sizes, margins)
    return _solve(scenario, size, margin, [index], _current_prices(scenario, prices), cross_wallet, collateral,
                  reach_factor)[0]


def liquidation_prices(scenario: Scenario,
                       prices: Mapping[str, float] | None = None,
                       sizes: Sequence[float] | None = None,
                       margins: Sequence[float] | None = None,
                       cross_wallet: float | None = None,
                       collateral: Sequence[float] | None = None,
                       reach_factor: float | None = REACH_FACTOR) -> tuple[LiquidationPrice, ...]:
    """Liquidation and bankruptcy price of every position, in scenario order, with the same
    overrides as :func:`position_liquidation_price` (the account's state is built once for all)."""
    if not scenario.positions:
        return ()
    size, margin = _state_arrays(scenario, sizes, margins)
    return tuple(_solve(scenario, size, margin, range(len(size)), _current_prices(scenario, prices), cross_wallet,
                        collateral, reach_factor))


def _current_prices(scenario: Scenario, prices: Mapping[str, float] | None) -> dict[str, float]:
    current = scenario.prices
    if prices:
        current.update(prices)
    return current


def _state_arrays(scenario: Scenario, sizes: Sequence[float] | None,
                  margins: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Each position's size [base or contracts] and isolated margin [its currency] in the state
    asked for (a cross position's margin: 0), ``(P,)`` each, without copying the positions."""
    positions = scenario.positions
    size = np.array([p.size for p in positions] if sizes is None else [float(s) for s in sizes], dtype=float)
    given: Sequence[float | None] = [p.margin for p in positions] if margins is None else margins
    margin = np.array([m if p.is_isolated else 0.0 for p, m in zip(positions, given)], dtype=float)
    return size, margin


def _pool_keys(scenario: Scenario, live: Sequence[int]) -> list[tuple]:
    """What the price of each live position ``live[i]`` depends on besides the state: an
    isolated position, itself; a cross leg, its market (whose currency and contract are the
    market's, so one market's cross legs make one pool) and its side, which picks the way the
    pool loses where its slope is exactly 0 (:func:`margin.pools.first_prices`' ``own_side``).
    Legs with one key share one price."""
    positions = scenario.positions
    return [("isolated", i) if positions[i].is_isolated else ("cross", positions[i].market, positions[i].sign)
            for i in live]


def _solve(scenario: Scenario, size: np.ndarray, margin: np.ndarray, indices: Sequence[int],
           current: Mapping[str, float], cross_wallet: float | None, collateral: Sequence[float] | None,
           reach_factor: float | None) -> list[LiquidationPrice]:
    """Liquidation and bankruptcy prices of ``positions[indices]`` in the state ``size``,
    ``margin``: one row of :func:`margin.pools.state_pools` per distinct :func:`_pool_keys` (the
    first live position of each), solved by :func:`margin.pools.first_prices` and handed to every
    position that shares it (100 positions over 12 markets, all cross: 24 rows, not 100). The
    batch holds the same pools and markets as one row per live position would, so its widths
    (members, tiers) and every price's bits are the same."""
    positions = scenario.positions
    out: dict[int, LiquidationPrice] = {}
    live = [i for i in indices if size[i] > 0]
    for i in indices:
        if size[i] <= 0:
            out[i] = LiquidationPrice(id=positions[i].id, liquidation_price=None, bankruptcy_price=None)
    if live:
        row_of: dict[tuple, int] = {}
        first: list[int] = []  # the first live position of each row
        rows = []
        for i, key in zip(live, _pool_keys(scenario, live)):
            if key not in row_of:
                row_of[key] = len(first)
                first.append(i)
            rows.append(row_of[key])
        n = len(first)
        marks = np.array([[current[name] for name in scenario.markets]], dtype=float)
        wallet = scenario.cross_wallet if cross_wallet is None else cross_wallet
        held_collateral = None if collateral is None else np.array([collateral] * n, dtype=float).reshape(n, -1)
        pools, held = state_pools(scenario, np.array(first), size[None, :].repeat(n, 0), margin[None, :].repeat(n, 0),
                                  np.full(n, wallet, dtype=float), marks.repeat(n, 0), held_collateral)
        here = np.array([current[positions[i].market] for i in first], dtype=float)
        own_side = np.array([positions[i].sign for i in first])
        (liq, liq_dir, liq_far), (bank, bank_dir, bank_far) = first_prices(pools, held, here, own_side,
                                                                           reach_factor=reach_factor)
        for i, row in zip(live, rows):
            out[i] = LiquidationPrice(
                id=positions[i].id, liquidation_price=_price_or_none(liq[row]),
                bankruptcy_price=_price_or_none(bank[row]), direction=int(liq_dir[row]),
                bankruptcy_direction=int(bank_dir[row]), beyond_reach=bool(liq_far[row] or bank_far[row]),
                reach=math.inf if reach_factor is None else float(reach_factor * here[row]))
    return [out[i] for i in indices]


def _price_or_none(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


__all__ = ["REACH_FACTOR", "LiquidationPrice", "liquidation_prices", "position_liquidation_price"]
