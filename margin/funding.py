"""Funding payments along a path: when they fall due and at what rate.

A perpetual's funding is exchanged between longs and shorts every ``rules.funding_interval_hours``
(1 to 8 h), on the position's value at the mark price (Binance Support, 'Introduction to
Binance Futures Funding Rates': Funding Amount = Position Notional Value × Funding Rate; longs
pay shorts when the rate is positive). The rate at a funding time is the path's own funding
series for that market (a ``funding.<MARKET>`` column) where the path carries one, else the
market's constant ``funding_rate``. Funding needs time: a path with ``hours`` (the path CSV's
column, a crash's step length, the stress lab's horizon). The settlement step charges it
(:meth:`margin.settle.Settler.charge_funding`).

A funding time is every whole multiple of the interval after the path's start: a row settles
each multiple passed since the row before it (a row 16 h after the last settles two 8 h
intervals), at that row's marks and rate.

>>> schedule_rows(np.array([0.0, 4.0, 8.0, 12.0, 24.0]), 8.0)
(array([2, 4]), array([1, 2]))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from margin.paths import PricePath
from margin.scenario import Scenario


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class FundingSchedule:
    """``rows`` (K,) of the path at which funding is charged, ``counts`` (K,) how many intervals
    each settles, ``rates`` (K, M) each market's rate there [fraction per interval], markets
    in the scenario's order."""

    rows: np.ndarray
    counts: np.ndarray
    rates: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.shape[0])


def schedule_rows(hours: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows at which at least one funding time has passed since the row before, and how many.

    ``hours`` [h since the start], non-decreasing; ``interval`` [h]. A hair of tolerance keeps
    a time given in minutes (480 / 60) on its funding time."""
    periods = np.floor(np.asarray(hours, dtype=float) / interval + 1e-9)
    counts = np.diff(periods, prepend=periods[:1])
    rows = np.flatnonzero(counts > 0)
    return rows, counts[rows].astype(np.int64)


def funding_schedule(scenario: Scenario, path: PricePath) -> FundingSchedule:
    """When funding falls due along ``path`` for ``scenario`` and at what rates; empty when the
    path has no time or no market has a rate (then the walk is exactly the one without funding)."""
    names = list(scenario.markets)
    constant = np.array([scenario.markets[n].funding_rate for n in names], dtype=float)
    empty = FundingSchedule(rows=np.zeros(0, dtype=np.int64), counts=np.zeros(0, dtype=np.int64),
                            rates=np.zeros((0, len(names))))
    if path.hours is None or (not constant.any() and not path.funding):
        return empty
    rows, counts = schedule_rows(path.hours, scenario.rules.funding_interval_hours)
    rates = np.tile(constant, (rows.shape[0], 1))
    for name, series in path.funding.items():
        rates[:, names.index(name)] = np.asarray(series, dtype=float)[rows]
    charged = np.any(rates != 0.0, axis=1)
    return FundingSchedule(rows=rows[charged], counts=counts[charged], rates=rates[charged])
