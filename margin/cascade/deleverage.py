"""The waterfall's last step in a cascade: auto-deleveraging the crowd's profitable opposite
positions, and any positions from outside the crowd that stand in the same queue (the
learner's own account), round by round (:mod:`margin.adl` ranks and matches).

A position from outside is ranked by the same formula as the crowd's, at the round's price,
with the equity behind it (its isolated margin, or its whole cross pool, other markets held
still); it can be deleveraged only while it is open (the rounds before the one the learner's
walk liquidated it in). ADL trades off the book, so it moves no price and changes no round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from margin.adl import adl_ranking, auto_deleverage
from margin.cascade.crowd import Crowd

if TYPE_CHECKING:
    from margin.cascade.rounds import TraderOutcome


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OutsideCandidates:
    """Positions outside the crowd in its ADL queue (arrays of one length): ``side`` ±1,
    ``size`` [base], ``entry`` [quote per base]; the equity behind each at a mark ``m`` is
    ``equity_base + equity_slope × m`` [quote]; each is open before round ``open_until``
    (the round it is liquidated in; a large number: never)."""

    side: np.ndarray
    size: np.ndarray
    entry: np.ndarray
    equity_base: np.ndarray
    equity_slope: np.ndarray
    open_until: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OutsideDeleveraging:
    """What ADL took from each outside position: ``size`` [base] closed, ``value`` [quote]
    (Σ size × price, so ``value / size`` is the average price it was closed at),
    ``given_up`` [quote] (the profit it lost against the mark) and ``round`` (the first round
    it was deleveraged in; −1: never)."""

    size: np.ndarray
    value: np.ndarray
    given_up: np.ndarray
    round: np.ndarray


def deleverage(crowd: Crowd, traders: TraderOutcome, ids: np.ndarray, rounds_of: np.ndarray, prices: np.ndarray,
               insurance_fund: float, outside: OutsideCandidates | None = None
               ) -> tuple[TraderOutcome, OutsideDeleveraging | None]:
    """The fund pays the deficits in the order the traders were liquidated while it lasts; each
    round's rest is covered by auto-deleveraging that round's profitable opposite positions
    still open (the crowd's and ``outside``), ranked at the round's price."""
    order = np.argsort(rounds_of, kind="stable")
    chronological, their_rounds = ids[order], rounds_of[order]
    deficit = traders.deficit[chronological]
    before = np.concatenate([[0.0], np.cumsum(deficit)[:-1]])
    uncovered = deficit - np.clip(insurance_fund - before, 0.0, deficit)
    size = crowd.size.astype(float).copy()
    collateral = crowd.collateral.astype(float).copy()
    adl_size, given_up = np.zeros(crowd.n_traders), np.zeros(crowd.n_traders)
    queue = _OutsideQueue(outside) if outside is not None else None
    for r in np.unique(their_rounds[uncovered > 0]):
        mark = float(prices[r])
        for side in (1, -1):
            pick = (their_rounds == r) & (uncovered > 0) & (crowd.side[chronological] == side)
            if not pick.any():
                continue
            sources = chronological[pick]
            open_ = (crowd.side == -side) & ((traders.round < 0) | (traders.round > r)) & (size > 0)
            candidates = np.flatnonzero(open_)
            equity = collateral[candidates] + crowd.side[candidates] * size[candidates] * (mark - crowd.entry_price)
            ranking = adl_ranking(crowd.side[candidates], size[candidates], crowd.entry_price, mark, equity)
            sizes = size[candidates]
            if queue is not None:
                extra_rank, extra_size = queue.standing(-side, int(r), mark)
                ranking, sizes = np.concatenate([ranking, extra_rank]), np.concatenate([sizes, extra_size])
            done = auto_deleverage(uncovered[pick], crowd.size[sources], crowd.bankruptcy_price[sources], mark,
                                   sizes, ranking)
            ours = done.counterparty < candidates.shape[0]
            who = candidates[done.counterparty[ours]]
            np.add.at(size, who, -done.size[ours])
            np.maximum(size, 0.0, out=size)  # a candidate used up is at 0, whatever the rounding of the sums
            np.add.at(collateral, who, crowd.side[who] * done.size[ours] * (done.price[ours] - crowd.entry_price))
            np.add.at(adl_size, who, done.size[ours])
            np.add.at(given_up, who, done.given_up[ours])
            if queue is not None:
                queue.take(done.counterparty[~ours] - candidates.shape[0], done.size[~ours], done.price[~ours],
                           done.given_up[~ours], int(r))
            uncovered[np.flatnonzero(pick)] = done.uncovered
    return replace(traders, adl_size=adl_size, adl_given_up=given_up), queue.result() if queue else None


class _OutsideQueue:
    """The outside positions' place in the queue as ADL takes from them."""

    def __init__(self, outside: OutsideCandidates):
        self.o = outside
        self.size = outside.size.astype(float).copy()
        self.base = outside.equity_base.astype(float).copy()
        self.slope = outside.equity_slope.astype(float).copy()
        n = self.size.shape[0]
        self.closed, self.value, self.given_up = np.zeros(n), np.zeros(n), np.zeros(n)
        self.first = np.full(n, -1, dtype=np.int64)
        self.at: np.ndarray = np.zeros(0, dtype=np.intp)

    def standing(self, side: int, r: int, mark: float) -> tuple[np.ndarray, np.ndarray]:
        """(ranking, size) of the outside positions on ``side`` open in round ``r``; the others rank last."""
        o = self.o
        ranking = adl_ranking(o.side, self.size, o.entry, mark, self.base + self.slope * mark)
        usable = (o.side == side) & (o.open_until > r) & (self.size > 0)
        return np.where(usable, ranking, -np.inf), np.where(usable, self.size, 0.0)

    def take(self, k: np.ndarray, size: np.ndarray, price: np.ndarray, given_up: np.ndarray, r: int) -> None:
        """Close ``size`` of outside positions ``k`` at ``price``: the closed part's PnL is
        fixed at that price, so it leaves the equity's slope and joins its base."""
        signed = self.o.side[k] * size
        np.add.at(self.size, k, -size)
        np.maximum(self.size, 0.0, out=self.size)
        np.add.at(self.slope, k, -signed)
        np.add.at(self.base, k, signed * price)
        np.add.at(self.closed, k, size)
        np.add.at(self.value, k, size * price)
        np.add.at(self.given_up, k, given_up)
        self.first[k] = np.where(self.first[k] < 0, r, self.first[k])

    def result(self) -> OutsideDeleveraging:
        return OutsideDeleveraging(size=self.closed, value=self.value, given_up=self.given_up, round=self.first)
