"""The pool behind a position in many states of its account at once, and its first roots.

A state is the account's sizes and isolated margins, its cross wallet and the mark of every
market. The pool of a position is itself on its margin (isolated), or every open cross leg of
its market on the wallet plus what the other markets' cross legs add at their marks (cross);
the other legs' MM is held apart. :func:`margin.account.position_liquidation_price` asks for
one state, the crash replay's mark-against-last check for every step of a path at once.

>>> from margin.presets import load_story
>>> from margin.scenario import scenario_from_dict
>>> s = scenario_from_dict(load_story("default"))
>>> sizes = np.array([[p.size for p in s.positions]] * 2)
>>> marks = np.array([[s.markets[m].price for m in s.markets]] * 2) * np.array([[1.0], [0.9]])
>>> pools, held = state_pools(s, np.array([0, 0]), sizes, np.zeros_like(sizes),
...                           np.full(2, s.cross_wallet), marks)
>>> bool(pools.constant[1] < pools.constant[0]), bool(held[1] < held[0])  # the SOL long lost 10 %
(True, True)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from margin.limits import MAX_PRICE
from margin.roots import Pools, first_root, segment_roots, slope_at
from margin.scenario import Scenario
from margin.tiers import maintenance_margin

REACH_FACTOR = 10.0  # a root above 10 × today's price is "none within reach" [× price]


def state_pools(scenario: Scenario, index: np.ndarray, size: np.ndarray, margin: np.ndarray,
                wallet: np.ndarray, marks: np.ndarray,
                collateral: np.ndarray | None = None) -> tuple[Pools, np.ndarray]:
    """The pool of position ``index[b]`` in state ``b``, and the MM [its currency] the other
    markets' legs of that pool hold there ``(B,)``. States: ``size`` [base or contracts] and
    ``margin`` ``(B, P)`` (size 0 = closed; margin counts for isolated positions), ``wallet``
    [quote] ``(B,)``, ``marks`` [quote per base] ``(B, M)`` in market order, ``collateral``
    ``(B, K)`` the amount of each collateral entry (a coin pool's: its cross wallet; default the
    scenario's). Members are the open legs in scenario order, padded to the widest pool; tier
    tables to the longest. A linear cross pool gains its collateral (in the constant, or as
    slope where the position's own market prices it); an inverse position's pool is its coin
    pool, given in ``x = 1/price`` (:class:`margin.roots.Pools`)."""
    positions, names = scenario.positions, list(scenario.markets)
    entry_basis = scenario.rules.mm_basis == "entry"
    market = np.array([names.index(p.market) for p in positions], dtype=np.intp)
    isolated = np.array([p.is_isolated for p in positions], dtype=bool)
    sign = np.array([p.sign for p in positions], dtype=float)
    entry = np.array([p.entry for p in positions], dtype=float)
    inverse = np.array([p.is_inverse for p in positions], dtype=bool)
    coins = {c.asset: k for k, c in enumerate(scenario.collateral) if c.coin_pool}
    pool_of = np.array([coins.get(scenario.currency(p), -1) for p in positions], dtype=np.intp)
    if collateral is None:
        collateral = np.array([[scenario.coin_wallet(k) for k in range(len(scenario.collateral))]] * index.shape[0])
    rows, own, own_pool = np.arange(index.shape[0]), market[index], pool_of[index]
    cross_pool = ~isolated[index]
    open_cross = (size > 0) & ~isolated[None, :]
    base = wallet if not coins else np.where(own_pool < 0, wallet, collateral[rows, np.maximum(own_pool, 0)])
    constant = np.where(cross_pool, base, margin[rows, index]).astype(float)
    elsewhere = cross_pool[:, None] & open_cross & (market[None, :] != own[:, None]) & (pool_of[None, :] == own_pool[:, None])
    pnl, mm = _other_legs(scenario, size, marks, market, sign, entry, inverse, entry_basis)
    held = np.zeros(index.shape[0])
    for j in np.flatnonzero(elsewhere.any(axis=0)).tolist():  # in scenario order, as the pool's sum has always run
        constant = constant + np.where(elsewhere[:, j], pnl[:, j], 0.0)
        held = held + np.where(elsewhere[:, j], mm[:, j], 0.0)
    constant, slope = _with_collateral(scenario, constant, cross_pool & (own_pool < 0), own, collateral, marks)
    member = np.where(cross_pool[:, None], open_cross & (market[None, :] == own[:, None]) & (pool_of[None, :] == own_pool[:, None]),
                      np.arange(len(positions))[None, :] == index[:, None])
    count = member.sum(axis=1)
    order = np.argsort(~member, axis=1, kind="stable")[:, :max(int(count.max()), 1)]  # members first, in order
    present = np.arange(order.shape[1])[None, :] < count[:, None]
    floors, rates, cums = _tier_rows(scenario, own)
    contract_values = np.array([p.contract_value for p in positions], dtype=float)
    member_sign = np.where(inverse, -sign, sign)  # an inverse leg in x = 1/price (margin.inverse.in_reciprocal)
    member_entry = np.where(inverse, 1.0 / entry, entry)
    member_size = np.where(inverse[None, :], size * np.where(inverse, contract_values, 1.0), size)
    pools = Pools(constant=constant, sign=np.where(present, member_sign[order], 0.0),
                  size=np.where(present, np.take_along_axis(member_size, order, axis=1), 0.0),
                  entry=np.where(present, member_entry[order], 0.0), floors=floors, rates=rates, cums=cums,
                  entry_basis=entry_basis, collateral=slope,
                  inverse=inverse[index] if inverse.any() else None)
    return pools, held


def _other_legs(scenario: Scenario, size: np.ndarray, marks: np.ndarray, market: np.ndarray, sign: np.ndarray,
                entry: np.ndarray, inverse: np.ndarray, entry_basis: bool) -> tuple[np.ndarray, np.ndarray]:
    """Unrealized PnL and MM [its currency] of every leg in every state ``(B, P)``, each
    element by the formula (and so the bits) of one leg alone: a linear leg ``side × size ×
    (mark − entry)``, an inverse one ``side × size × contract value × (1/entry − 1/mark)``; MM
    of the notional at the mark (or the entry), one call per market's tier table."""
    mark = marks[:, market]
    cv = np.array([p.contract_value for p in scenario.positions], dtype=float)
    basis = entry[None, :] if entry_basis else mark
    with np.errstate(divide="ignore", invalid="ignore"):  # a linear leg's inverse form is not used
        pnl = np.where(inverse, sign * size * cv * (1.0 / entry - 1.0 / mark), sign * size * (mark - entry))
        notional = np.where(inverse, size * cv / basis, size * basis)
    mm = np.zeros_like(notional)
    for m, name in enumerate(scenario.markets):
        columns = np.flatnonzero(market == m)
        if columns.size:
            mm[:, columns] = maintenance_margin(notional[:, columns], *scenario.markets[name].tier_tables)
    return pnl, mm


def _with_collateral(scenario: Scenario, constant: np.ndarray, usdt_pool: np.ndarray, own: np.ndarray,
                     collateral: np.ndarray, marks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The USDT cross pool's collateral: priced by another market it adds its value at that
    market's mark to the constant [quote]; priced by the pool's own market, ``amount × (1 −
    haircut)`` [base] to the slope. None: no collateral in any pool."""
    names = list(scenario.markets)
    slope = None
    for k, entry in enumerate(scenario.collateral):
        if entry.coin_pool:
            continue
        column = names.index(entry.market)
        counted = collateral[:, k] * entry.factor
        constant = constant + np.where(usdt_pool & (own != column), counted * marks[:, column], 0.0)
        slope = (0.0 if slope is None else slope) + np.where(usdt_pool & (own == column), counted, 0.0)
    return constant, slope


def _tier_rows(scenario: Scenario, own: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tier tables of the markets ``own`` ``(B, T)``, padded to the longest with floor inf and
    the last rate and cum."""
    tables = [scenario.markets[name].tier_tables for name in scenario.markets]
    width = max(tables[m][0].shape[0] for m in set(own.tolist())) if own.size else 1  # np.unique: ms spikes
    floors = np.full((len(tables), width), np.inf)
    rates, cums = np.zeros_like(floors), np.zeros_like(floors)
    for m, (table_floors, table_rates, table_cums) in enumerate(tables):
        t = min(table_floors.shape[0], width)
        floors[m, :t], rates[m, :t], cums[m, :t] = table_floors[:t], table_rates[:t], table_cums[:t]
        rates[m, t:], cums[m, t:] = table_rates[t - 1], table_cums[t - 1]
    return floors[own], rates[own], cums[own]


def take(pools: Pools, pick: np.ndarray | slice, width: int | None = None) -> Pools:
    """The pools ``pick`` (indices along the pool axis), in that order; with ``width``, only
    their first ``width`` members (the padding past them dropped, as if built alone)."""
    k = slice(None, width)
    return replace(pools, constant=pools.constant[pick], sign=pools.sign[pick, k], size=pools.size[pick, k],
                   entry=pools.entry[pick, k], floors=pools.floors[pick], rates=pools.rates[pick], cums=pools.cums[pick],
                   collateral=None if pools.collateral is None else pools.collateral[pick],
                   inverse=None if pools.inverse is None else pools.inverse[pick])


def pool_roots(pools: Pools, held: np.ndarray, *, with_bankruptcy: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Roots [quote per base] of each pool's excess less ``held`` (liquidation) and of its
    equity (bankruptcy; None without ``with_bankruptcy``), ``(B, S)`` each
    (:func:`margin.roots.segment_roots`)."""
    liquidation = segment_roots(replace(pools, constant=pools.constant - held), with_maintenance=True)
    return liquidation, segment_roots(pools, with_maintenance=False) if with_bankruptcy else None


def first_prices(pools: Pools, held: np.ndarray, here: np.ndarray, own_side: np.ndarray,
                 pick: np.ndarray | None = None,
                 roots: tuple[np.ndarray, np.ndarray | None] | None = None,
                 reach_factor: float | None = REACH_FACTOR) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Liquidation price (the pool less ``held`` at its MM) and bankruptcy price (the pool at 0
    equity) of each position asked for, as :func:`margin.roots.first_root` gives them (price or
    NaN, direction, beyond reach): the root met first as its market's mark moves from ``here``
    [quote per base] the way the pool loses (``own_side``, the position's ±1, where it is flat),
    none above ``reach_factor × here`` (None: any). ``pick`` names the pool of each position
    asked for (default: each pool once); ``roots``, the pools' :func:`pool_roots` if already
    found (a None bankruptcy root: the liquidation price only). An inverse pool's roots, found in
    ``x = 1/price``, are turned into prices here, and its slope's sign with them."""
    roots = pool_roots(pools, held) if roots is None else roots
    liquidating = replace(pools, constant=pools.constant - held)
    found = []
    for these, with_mm, found_roots in ((liquidating, True, roots[0]), (pools, False, roots[1])):
        if found_roots is None:
            continue
        if pick is not None:
            these, found_roots = take(these, pick), found_roots[pick]
        if these.inverse is None:
            slope = slope_at(these, here, with_maintenance=with_mm)
        else:  # d/dp f(1/p) = −f'(x) / p²: the opposite sign
            flip = np.where(these.inverse, -1.0, 1.0)
            slope = flip * slope_at(these, np.where(these.inverse, 1.0 / here, here), with_maintenance=with_mm)
            with np.errstate(divide="ignore"):
                price_roots = 1.0 / found_roots
            # a root in 1/price within rounding of 0 (a 1x inverse short's equity and maintenance
            # both tend to 0 as the price rises) is no price: past MAX_PRICE, no scenario's price
            price_roots = np.where(price_roots > MAX_PRICE, np.nan, price_roots)
            found_roots = np.where(these.inverse[:, None], price_roots, found_roots)
        adverse = np.where(slope > 0, -1, np.where(slope < 0, 1, -own_side))
        reach = None if reach_factor is None else reach_factor * here
        found.append(first_root(found_roots, here, adverse, reach))
    return found


__all__ = ["REACH_FACTOR", "first_prices", "pool_roots", "state_pools", "take"]
