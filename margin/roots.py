"""The liquidation and bankruptcy root: the one solver, for a batch of margin pools.

A pool is what one liquidation decision looks at, seen along the price ``p`` of one market:
a constant [quote] (the wallet or the isolated margin, plus what the other markets add) and
the pool's members in that market (side, size, entry). Its excess over maintenance is

    f(p) = constant + Σ side·size·(p − entry) − Σ MM(notional)

with ``notional = size × p`` (mark basis) or ``size × entry`` (entry basis), and its equity
the same without the MM term. Both are linear between tier breakpoints (``p = floor / size``):
on each segment the tier of every member is fixed, so the root has a closed form, and it
counts only if it lies in the segment whose tiers produced it (the tier is re-chosen at the
solution). Everything is one broadcast over pools × segments × members: the account solves
every position at once, the cascade a crowd of 100,000 traders. The walker asks for one
isolated position after each of its events: :func:`single_roots` is the same solver in plain
Python for one member (the segment's line and the test of its root are shared functions).

>>> pools = Pools.single(side=np.array([1, -1]), size=np.array([1.0, 1.0]),
...     entry=np.array([20_000.0, 20_000.0]), constant=np.array([400.0, 400.0]),
...     floors=np.array([0.0]), rates=np.array([0.005]), cums=np.array([0.0]))
>>> roots = segment_roots(pools, with_maintenance=True)
>>> root, direction, _ = first_root(roots, np.array([20_000.0, 20_000.0]), np.array([-1, 1]))
>>> root.round(2).tolist(), direction.tolist()
([19698.49, 20298.51], [-1, 1])
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from margin.tiers import maintenance_margin, tier_index


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Pools:
    """``B`` pools of up to ``K`` members each, all members of a pool in one market.

    ``sign``, ``size`` [base] and ``entry`` [quote per base] have shape ``(B, K)`` (size 0 =
    no member); ``constant`` [quote] ``(B,)``; the tier tables of each pool's market
    ``floors``, ``rates``, ``cums`` shape ``(B, T)`` (padded with floor ``inf``).

    ``collateral`` [base]: the cross pool's collateral priced by this market counts
    ``amount × (1 − haircut) × p``, a term linear in ``p`` like a long of that size without an
    entry cost and without maintenance: it adds to the slope of every segment, so the roots
    stay closed-form (:mod:`margin.collateral`). An ``inverse`` pool (coin-margined contracts)
    is given in ``x = 1/p``, where it is linear too: members of the opposite side, size
    ``contracts × contract_value`` [USD], entry ``1/entry`` [coin per USD], constant and
    maintenance in the coin (:func:`margin.inverse.in_reciprocal`); its roots are in ``x``.
    """

    constant: np.ndarray
    sign: np.ndarray
    size: np.ndarray
    entry: np.ndarray
    floors: np.ndarray
    rates: np.ndarray
    cums: np.ndarray
    entry_basis: bool = False
    collateral: np.ndarray | None = None  # (B,) [base] the slope collateral priced by the pool's market adds
    inverse: np.ndarray | None = None  # (B,) bool: an inverse pool, its members and roots in x = 1/price

    @classmethod
    def single(cls, *, side: np.ndarray, size: np.ndarray, entry: np.ndarray | float, constant: np.ndarray,
               floors: np.ndarray, rates: np.ndarray, cums: np.ndarray, entry_basis: bool = False) -> "Pools":
        """One member per pool (an isolated position, a trader of the cascade), every pool in
        the market of the tier table ``floors, rates, cums`` (shape ``(T,)``)."""
        n = np.asarray(size).shape[0]
        return cls(constant=np.asarray(constant, dtype=float), sign=np.asarray(side, dtype=float)[:, None],
                   size=np.asarray(size, dtype=float)[:, None],
                   entry=np.broadcast_to(np.asarray(entry, dtype=float), (n,))[:, None],
                   floors=np.broadcast_to(floors, (n, floors.shape[-1])), rates=np.broadcast_to(rates, (n, rates.shape[-1])),
                   cums=np.broadcast_to(cums, (n, cums.shape[-1])), entry_basis=entry_basis)


def _member_tier_terms(pools: Pools, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ size·mmr and Σ cum of each pool's members with their tiers at ``price`` ``(B, S)``."""
    with np.errstate(invalid="ignore"):  # padded segments probe at inf; an absent member has size 0
        notional = pools.size[:, None, :] * price[:, :, None]  # (B, S, K)
    present = pools.size[:, None, :] > 0
    if pools.floors.shape[0] > 1 and pools.floors.strides[0] == 0:  # one table for every pool (Pools.single)
        # the same tier as counting the floors at or below (an absent member's NaN aside, masked below)
        index = np.maximum(np.searchsorted(pools.floors[0], notional, side="right") - 1, 0)
        return (np.where(present, pools.size[:, None, :] * pools.rates[0][index], 0.0).sum(axis=-1),
                np.where(present, pools.cums[0][index], 0.0).sum(axis=-1))
    floors = pools.floors[:, None, None, :]  # (B, 1, 1, T)
    index = np.maximum((notional[..., None] >= floors).sum(axis=-1) - 1, 0)  # (B, S, K)
    flat = index.reshape(index.shape[0], -1)
    rates = np.take_along_axis(pools.rates, flat, axis=-1).reshape(index.shape)
    cums = np.take_along_axis(pools.cums, flat, axis=-1).reshape(index.shape)
    return (np.where(present, pools.size[:, None, :] * rates, 0.0).sum(axis=-1),
            np.where(present, cums, 0.0).sum(axis=-1))


def _entry_maintenance(pools: Pools) -> np.ndarray:
    """Σ MM of the members at their entry notional (entry basis) ``(B,)``."""
    notional = pools.size * pools.entry  # (B, K)
    index = np.maximum((notional[..., None] >= pools.floors[:, None, :]).sum(axis=-1) - 1, 0)
    rates = np.take_along_axis(pools.rates, index, axis=-1)
    cums = np.take_along_axis(pools.cums, index, axis=-1)
    return np.where(pools.size > 0, notional * rates - cums, 0.0).sum(axis=-1)


def _edges(pools: Pools, with_maintenance: bool) -> np.ndarray:
    """Segment edges ``(B, S + 1)`` of each pool: 0, every member's tier breakpoints
    ``floor / size`` (ascending, duplicates and absent members as ``inf`` at the end), inf."""
    n = pools.size.shape[0]
    if with_maintenance and not pools.entry_basis and pools.floors.shape[-1] > 1:
        with np.errstate(divide="ignore"):
            breaks = pools.floors[:, None, 1:] / pools.size[:, :, None]  # (B, K, T-1)
        breaks = np.where(np.isfinite(breaks) & (pools.size[:, :, None] > 0), breaks, np.inf).reshape(n, -1)
        breaks = np.sort(breaks, axis=-1)
        return np.concatenate([np.zeros((n, 1)), breaks, np.full((n, 1), np.inf)], axis=-1)
    return np.concatenate([np.zeros((n, 1)), np.full((n, 1), np.inf)], axis=-1)


def segment_roots(pools: Pools, *, with_maintenance: bool) -> np.ndarray:
    """Positive roots of each pool's excess (``with_maintenance``) or equity, one candidate
    per segment, ``(B, S)``; NaN where a segment holds none."""
    edges = _edges(pools, with_maintenance)
    low, high = edges[:, :-1], edges[:, 1:]
    with np.errstate(invalid="ignore"):
        probe = np.where(np.isinf(high), low * 2 + 1.0, (low + np.where(np.isinf(high), 0.0, high)) / 2)
    present = pools.size > 0
    net = np.where(present, pools.sign * pools.size, 0.0).sum(axis=-1)  # (B,)
    if pools.collateral is not None:
        net = net + pools.collateral
    cost = np.where(present, pools.sign * pools.size * pools.entry, 0.0).sum(axis=-1)
    rate_sum: np.ndarray | float = 0.0
    cum_sum: np.ndarray | float = 0.0
    if with_maintenance:
        if pools.entry_basis:
            cum_sum = -_entry_maintenance(pools)[:, None]
        else:
            rate_sum, cum_sum = _member_tier_terms(pools, probe)
    slope, intercept = _line(pools.constant[:, None], net[:, None], cost[:, None], rate_sum, cum_sum)
    with np.errstate(divide="ignore", invalid="ignore"):  # a flat line's root, an absent member's segment
        root = -intercept / slope
        return np.where((slope != 0) & _on_segment(root, low, high), root, np.nan)


SINGLE_ROOTS_KEPT = 8192  # answers of single_roots kept: some 100 isolated positions x 3 variants x sessions


def single_roots(*, side: float, size: float, entry: float, constant: float,
                 tiers: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]],
                 with_maintenance: bool, entry_basis: bool = False) -> list[float]:
    """:func:`segment_roots` of one pool of one member (an isolated position), in plain Python:
    the roots [quote per base] found, segment by segment. Same segments, tier choice
    (:func:`margin.tiers.tier_index`), line and acceptance (:func:`_line`, :func:`_on_segment`)
    and so the same bits; numpy's fixed cost per call (~0.1 ms) would dominate one pool, and
    the walker asks again after every event of an isolated position. ``tiers``: the market's
    tables as tuples (:attr:`margin.scenario.Market.tier_lists`). The answers are kept
    (:data:`SINGLE_ROOTS_KEPT` of them, least recently asked dropped): the lab walks every
    variant on at each step, and each walk asks again for every isolated position whose state
    did not change; a kept answer is the same floats, asked with equal arguments (a zero's sign
    aside, which changes nothing here: ``cost`` is never 0, entries being positive).

    >>> [round(r, 2) for r in single_roots(side=1, size=1.0, entry=20_000.0, constant=400.0,
    ...                                    tiers=((0.0,), (0.005,), (0.0,)), with_maintenance=True)]
    [19698.49]
    """
    return list(_single_roots(side, size, entry, constant, tiers, with_maintenance, entry_basis))


@functools.lru_cache(maxsize=SINGLE_ROOTS_KEPT)
def _single_roots(side: float, size: float, entry: float, constant: float,
                  tiers: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]],
                  with_maintenance: bool, entry_basis: bool) -> tuple[float, ...]:
    """:func:`single_roots`, found."""
    if size <= 0:
        return ()
    floors, rates, cums = tiers
    net, cost = side * size, side * size * entry
    edges = [0.0, math.inf]
    if with_maintenance and not entry_basis and len(floors) > 1:
        edges = [0.0, *(floor / size for floor in floors[1:]), math.inf]  # ascending: floors ascend
    roots = []
    for low, high in zip(edges, edges[1:]):
        rate_sum = cum_sum = 0.0
        if with_maintenance and entry_basis:
            cum_sum = -maintenance_margin(size * entry, *tiers)
        elif with_maintenance:
            probe = low * 2 + 1.0 if math.isinf(high) else (low + high) / 2
            k = tier_index(size * probe, floors)
            rate_sum, cum_sum = size * rates[k], cums[k]
        slope, intercept = _line(constant, net, cost, rate_sum, cum_sum)
        if slope != 0:
            root = -intercept / slope
            if _on_segment(root, low, high):
                roots.append(root)
    return tuple(float(r) for r in roots)  # one type, whatever the arguments were


def _line(constant: Any, net: Any, cost: Any, rate_sum: Any, cum_sum: Any) -> tuple[Any, Any]:
    """Slope [base] and intercept [quote] of a pool's excess on one segment, where it is
    ``constant + net·p − cost − (rate_sum·p − cum_sum)``; floats or arrays."""
    return net - rate_sum, constant - cost + cum_sum


def _on_segment(root: Any, low: Any, high: Any) -> Any:
    """Whether a segment's root [quote per base] counts: above 0 and inside the segment whose
    tiers produced it, give or take rounding (1e-12 of the root, or 1e-12 if more); floats or
    arrays, in operators only, which cost a float nothing (a numpy call on a float ~1 µs)."""
    # x ≥ low − 1e-12·max(|x|, 1) is exactly x ≥ low − 1e-12·|x| or x ≥ low − 1e-12 (rounding
    # is monotone, so the larger tolerance gives the smaller bound); likewise at ``high``.
    after_low = (root >= low - 1e-12 * abs(root)) | (root >= low - 1e-12)
    before_high = (root <= high + 1e-12 * abs(root)) | (root <= high + 1e-12)
    return (root > 0) & after_low & before_high & (abs(low) < math.inf)


def slope_at(pools: Pools, price: np.ndarray, *, with_maintenance: bool) -> np.ndarray:
    """d/dp of each pool's excess (or equity) at ``price`` ``(B,)``: positive where a fall
    hurts the pool, negative where a rise does."""
    present = pools.size > 0
    slope = np.where(present, pools.sign * pools.size, 0.0).sum(axis=-1)
    if pools.collateral is not None:
        slope = slope + pools.collateral
    if with_maintenance and not pools.entry_basis:
        rate_sum, _ = _member_tier_terms(pools, np.asarray(price, dtype=float)[:, None])
        slope = slope - rate_sum[:, 0]
    return slope


def first_root(roots: np.ndarray, current: np.ndarray, adverse: np.ndarray,
               reach: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pool, the root met first when the price moves from ``current`` the way ``adverse``
    says (−1 down, +1 up), else the nearest one the other way; roots above ``reach`` (if
    given) are left out. Returns ``(root or NaN, direction −1/+1/0, left out only by reach)``."""
    current = np.asarray(current, dtype=float)[:, None]
    kept = roots if reach is None else np.where(roots <= np.asarray(reach)[:, None], roots, np.nan)
    below = np.where(kept <= current, kept, np.nan)
    above = np.where(kept > current, kept, np.nan)
    with np.errstate(all="ignore"):
        down = np.where(np.isnan(below).all(axis=-1), np.nan, np.nanmax(np.where(np.isnan(below), -np.inf, below), axis=-1))
        up = np.where(np.isnan(above).all(axis=-1), np.nan, np.nanmin(np.where(np.isnan(above), np.inf, above), axis=-1))
    prefer_down = np.asarray(adverse) <= 0
    first = np.where(prefer_down, down, up)
    second = np.where(prefer_down, up, down)
    root = np.where(np.isnan(first), second, first)
    direction = np.where(np.isnan(root), 0, np.where(root <= current[:, 0], -1, 1)).astype(int)
    beyond = np.isnan(root) & ~np.isnan(roots).all(axis=-1) if reach is not None else np.zeros(root.shape, bool)
    return root, direction, beyond


__all__ = ["Pools", "first_root", "segment_roots", "single_roots", "slope_at", "tier_index"]
