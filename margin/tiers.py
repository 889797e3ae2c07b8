"""Maintenance margin: the one rule, for one position or for arrays of them.

Venues charge a maintenance rate that rises in tiers by notional. A tier applies to notional
≥ its ``floor`` [quote]; its maintenance amount ``cum`` [quote] (Binance's "cum", Bybit's
"deduction", Hyperliquid's "maintenance deduction") keeps the margin continuous across floors:

    cum_1 = 0,   cum_n = cum_(n-1) + floor_n × (mmr_n − mmr_(n-1)),   MM = notional × mmr − cum

for the last tier whose floor is ≤ the notional.

>>> tiers = parse_tiers([{"floor": 0, "mmr": 0.004}, {"floor": 50_000, "mmr": 0.005}], "tiers")
>>> [t.cum for t in tiers]
[0.0, 50.0]
>>> floors, rates, cums = tables(tiers)
>>> float(maintenance_margin(60_000.0, floors, rates, cums))
250.0
>>> maintenance_margin(np.array([10_000.0, 60_000.0]), floors, rates, cums).tolist()
[40.0, 250.0]
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from margin.fields import ScenarioError, fmt, known_fields, mapping, number, rate
from margin.limits import MAX_TIERS, MAX_FLOOR, MAX_LEVERAGE  # noqa: F401  (the bounds live in margin.limits)

if TYPE_CHECKING:
    from margin.scenario import Market



@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """One maintenance tier: applies to notional ≥ ``floor`` [quote]; ``mmr`` [fraction];
    ``cum`` [quote] derived (never given) so that maintenance margin is continuous."""

    floor: float
    mmr: float
    max_leverage: float = math.inf
    cum: float = 0.0


def parse_tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    """Validate a tier list (ascending floors from 0) and derive each tier's ``cum``."""
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(where, "must be a non-empty list of tiers")
    if len(raw) > MAX_TIERS:
        raise ScenarioError(where, f"has {len(raw):,} tiers; the limit is {MAX_TIERS}")
    tiers: list[Tier] = []
    cum = 0.0
    previous: Tier | None = None
    for index, entry in enumerate(raw):
        here = f"{where}[{index}]"
        entry = mapping(entry, here)
        known_fields(entry, here, ("floor", "mmr", "max_leverage"))
        floor = number(entry.get("floor"), f"{here}.floor", low=0.0, high=MAX_FLOOR)
        mmr = rate(entry.get("mmr"), f"{here}.mmr")
        max_leverage = math.inf
        if entry.get("max_leverage") is not None:
            max_leverage = number(entry["max_leverage"], f"{here}.max_leverage", low=1.0, high=MAX_LEVERAGE)
        if previous is None:
            if floor != 0:
                raise ScenarioError(f"{here}.floor", f"the first tier must start at 0, got {fmt(floor)}")
        else:
            if floor <= previous.floor:
                raise ScenarioError(f"{here}.floor",
                                    f"tiers must ascend by floor, got {fmt(floor)} after {fmt(previous.floor)}")
            cum += floor * (mmr - previous.mmr)
        tier = Tier(floor=floor, mmr=mmr, max_leverage=max_leverage, cum=cum)
        tiers.append(tier)
        previous = tier
    return tuple(tiers)


def tables(tiers: Sequence[Tier]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tiers as arrays ``(floors, rates, cums)``, each of shape ``(T,)``."""
    return (np.array([t.floor for t in tiers], dtype=float), np.array([t.mmr for t in tiers], dtype=float),
            np.array([t.cum for t in tiers], dtype=float))


def tier_matrix(markets: "Sequence[Market]") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The markets' tier tables ``(floors, rates, cums)`` as rows of one array each ``(P, T)``,
    padded to the longest with floor ``inf`` and the last rate and amount (a padded tier never
    applies), for :func:`maintenance_margin` with one table per position.

    >>> from margin.scenario import Market
    >>> one = Market(name="X", price=1.0, tiers=(Tier(floor=0.0, mmr=0.01),))
    >>> two = Market(name="Y", price=1.0, tiers=(Tier(floor=0.0, mmr=0.01), Tier(floor=10.0, mmr=0.02, cum=0.1)))
    >>> floors, rates, cums = tier_matrix([one, two])
    >>> floors.tolist(), rates.tolist()
    ([[0.0, inf], [0.0, 10.0]], [[0.01, 0.01], [0.01, 0.02]])
    """
    width = max((m.tier_tables[0].shape[0] for m in markets), default=1)
    floors = np.full((len(markets), width), np.inf)
    rates, cums = np.zeros_like(floors), np.zeros_like(floors)
    for k, market in enumerate(markets):
        own_floors, own_rates, own_cums = market.tier_tables
        t = own_floors.shape[0]
        floors[k, :t], rates[k, :t], cums[k, :t] = own_floors, own_rates, own_cums
        rates[k, t:], cums[k, t:] = own_rates[-1], own_cums[-1]
    return floors, rates, cums


def tier_index(notional: Any, floors: np.ndarray | tuple[float, ...]) -> Any:
    """Index of the tier that applies to ``notional`` [quote]: the last whose floor is ≤ it.

    ``floors`` has shape ``(T,)``, or ``(..., T)`` (one table per position, padded with
    ``inf``) broadcasting against ``notional``'s shape ``(...)``.

    ``floors`` as a tuple takes a float and is done in plain Python (see :func:`maintenance_margin`).

    >>> int(tier_index(50_000.0, np.array([0.0, 50_000.0]))), tier_index(50_000.0, (0.0, 50_000.0))
    (1, 1)
    """
    if isinstance(floors, tuple):
        return max(bisect_right(floors, notional) - 1, 0)
    notional = np.asarray(notional, dtype=float)
    if floors.ndim == 1:
        return np.clip(np.searchsorted(floors, notional, side="right") - 1, 0, floors.shape[0] - 1)
    return np.maximum((notional[..., None] >= floors).sum(axis=-1) - 1, 0)


def maintenance_margin(notional: Any, floors: Any, rates: Any, cums: Any) -> Any:
    """Maintenance margin [quote] of ``notional`` [quote]: ``notional × mmr − cum`` of its
    tier. Tables of shape ``(T,)``, or ``(..., T)`` for one table per position; a float
    notional with tables given as tuples (a :class:`Tier` list's :func:`tables` as tuples, as
    :class:`margin.scenario.Market` keeps them) is done in plain Python, some twenty times
    faster than numpy for one number: the settlement loop asks for it position by position."""
    if isinstance(floors, tuple):
        k = bisect_right(floors, notional) - 1  # tier_index, inlined: called per position per row
        k = k if k > 0 else 0
        return notional * rates[k] - cums[k]
    index = tier_index(notional, floors)
    notional = np.asarray(notional, dtype=float)
    if floors.ndim == 1:
        return notional * rates[index] - cums[index]
    if floors.ndim == 2 and index.shape == floors.shape[:1]:  # one table per notional: pick directly
        rows = np.arange(index.shape[0])
        return notional * rates[rows, index] - cums[rows, index]
    shape = notional.shape + floors.shape[-1:]
    pick = index[..., None]
    rate_ = np.take_along_axis(np.broadcast_to(rates, shape), pick, -1)[..., 0]
    amount = np.take_along_axis(np.broadcast_to(cums, shape), pick, -1)[..., 0]
    return notional * rate_ - amount


__all__ = ["MAX_LEVERAGE", "Tier", "maintenance_margin", "parse_tiers", "tables", "tier_index", "tier_matrix"]
