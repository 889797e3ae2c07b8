"""Auto-deleveraging (ADL): the last step of the waterfall, when the insurance fund cannot pay
a bankrupt position's loss beyond its margin.

Binance Support, 'What Is Auto-Deleveraging (ADL) and How Does It Work' (binance.com/en/support/
faq/360033525471, 2019-09-09, revised 2021-08-19; MEXC's 'Automatic Deleveraging System (ADL)'
prints the same formula): opposite positions are ranked by

    ranking = PnL % × effective leverage   (profitable)      PnL % ÷ effective leverage (at a loss)
    effective leverage = |mark value| ÷ (mark value − bankruptcy value)
    PnL % = (mark value − entry value) ÷ |entry value|

(values signed by side: size × price, negative for a short, so mark value − bankruptcy value is
the equity behind the position), highest first, and closed at the bankruptcy price of the
bankrupt order, without a fee. Closing opposite size ``q`` at the bankrupt position's
bankruptcy price ``b`` instead of at the mark ``m`` takes ``q × |b − m|`` from the
counterparty, which is what covers the deficit: a bankrupt position of size ``s`` with a
deficit ``s × |b − m|`` needs at most its own size of counterparties. Here only profitable
positions are deleveraged; what they cannot cover stays socialized (reported).

>>> round(float(adl_ranking(-1, 2.0, 100.0, 80.0, 50.0)), 12)  # a short up 20 %, at 80 × 2 / 50 = 3.2x effective
0.64
>>> d = auto_deleverage(np.array([30.0]), np.array([10.0]), np.array([83.0]), 80.0,
...                     np.array([4.0, 20.0]), np.array([0.5, 2.0]))
>>> d.counterparty.tolist(), d.size.tolist(), d.given_up.tolist(), d.uncovered.tolist()
([1], [10.0], [30.0], [0.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def adl_ranking(side: Any, size: Any, entry: Any, mark: Any, equity: Any) -> Any:
    """Each position's place in the ADL queue (higher goes first), Binance's formula: ``side``
    ±1, ``size`` [base], ``entry`` and ``mark`` [quote per base], ``equity`` [quote] behind the
    position (mark value − bankruptcy value). A position with no equity left ranks last."""
    side, size = np.asarray(side, dtype=float), np.asarray(size, dtype=float)
    mark_value = side * size * np.asarray(mark, dtype=float)
    entry_value = side * size * np.asarray(entry, dtype=float)
    equity = np.asarray(equity, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pnl = (mark_value - entry_value) / np.abs(entry_value)
        leverage = np.where(equity > 0, np.abs(mark_value) / equity, np.inf)
        ranking = np.where(pnl > 0, pnl * leverage, pnl / leverage)
    return np.where(equity > 0, ranking, -np.inf)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Deleveraging:
    """Who was deleveraged for which bankruptcy: one entry per piece (arrays of the same
    length): ``source`` (index of the bankrupt position), ``counterparty`` (index of the
    candidate), ``size`` [base] closed, at ``price`` (the source's bankruptcy price), and
    ``given_up`` [quote] = size × |price − mark| taken from the counterparty. ``uncovered`` (per
    source) [quote]: what was left after it (socialized)."""

    source: np.ndarray
    counterparty: np.ndarray
    size: np.ndarray
    price: np.ndarray
    given_up: np.ndarray
    uncovered: np.ndarray


def auto_deleverage(uncovered: np.ndarray, bankrupt_size: np.ndarray, bankruptcy_price: np.ndarray,
                    mark: float, candidate_size: np.ndarray, ranking: np.ndarray) -> Deleveraging:
    """Cover ``uncovered`` [quote] (per bankrupt position, in the order they happened: what the
    fund could not pay) by closing profitable opposite positions at each bankrupt position's
    ``bankruptcy_price`` while the mark is ``mark``: candidates (``candidate_size`` [base],
    ``ranking`` from :func:`adl_ranking`) are taken highest ranking first, only those with a
    positive ranking (in profit), each at most its size; a source takes at most its own size
    and never more than its deficit needs. Vectorized: the sources' needs and the ranked
    candidates' sizes are laid end to end and matched where they overlap."""
    uncovered = np.asarray(uncovered, dtype=float)
    gap = np.abs(np.asarray(bankruptcy_price, dtype=float) - mark)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where((uncovered > 0) & (gap > 0), np.minimum(uncovered / gap, bankrupt_size), 0.0)
    profitable = np.flatnonzero((np.asarray(ranking) > 0) & (np.asarray(candidate_size) > 0))
    order = profitable[np.argsort(-np.asarray(ranking)[profitable], kind="stable")]
    needed = np.concatenate([[0.0], np.cumsum(need)])
    supplied = np.concatenate([[0.0], np.cumsum(np.asarray(candidate_size, dtype=float)[order])])
    total = min(needed[-1], supplied[-1])
    breaks = np.unique(np.concatenate([needed, supplied]))
    breaks = np.append(breaks[breaks < total], total) if total > 0 else np.zeros(1)
    low, high = breaks[:-1], breaks[1:]
    keep = high > low
    low, high = low[keep], high[keep]
    middle = (low + high) / 2
    # Which source and which candidate each piece belongs to (clipped: a size too small to move
    # a long cumulative sum in floating point leaves two equal breaks at the end).
    source = np.clip(np.searchsorted(needed, middle, side="right") - 1, 0, max(need.shape[0] - 1, 0))
    taker = order[np.clip(np.searchsorted(supplied, middle, side="right") - 1, 0, max(order.shape[0] - 1, 0))] \
        if order.size else np.zeros(0, dtype=np.intp)
    size = high - low
    price = np.asarray(bankruptcy_price, dtype=float)[source]
    given_up = size * gap[source]
    covered = np.bincount(source, weights=given_up, minlength=uncovered.shape[0])
    return Deleveraging(source=source, counterparty=taker, size=size, price=price, given_up=given_up,
                        uncovered=np.maximum(uncovered - covered, 0.0))
