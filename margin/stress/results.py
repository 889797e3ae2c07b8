"""What a stress run shows for one account variant: per-path final values, liquidations and
bankruptcies, and the probabilities and tail losses read off them (``VariantStress``); the
runs themselves are in :mod:`margin.stress.runner`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from margin.scenario import Scenario
from margin.settle import Event
from margin.stress.spec import VAR_LEVEL, WIPEOUT_FRACTION


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantStress:
    """One account variant over every path.

    Arrays are per path (axis 0) and per position (axis 1, scenario order); amounts [quote].
    ``first_liquidation_step`` is −1 where the position was never liquidated. ``events``
    holds every path's events (``keep_events=True`` only).
    """

    label: str
    scenario: Scenario
    start_value: float
    final_value: np.ndarray
    liquidated: np.ndarray
    first_liquidation_step: np.ndarray
    bankrupt: np.ndarray
    events: Mapping[int, tuple[Event, ...]] | None = None
    closed_on_arrival: tuple[str, ...] = ()  # positions closed on the way from their entries, before the run

    @property
    def position_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.scenario.positions)

    @property
    def n_paths(self) -> int:
        return int(self.final_value.shape[0])

    @property
    def loss(self) -> np.ndarray:
        """Start value − final value per path [quote] (negative: a gain)."""
        return self.start_value - self.final_value

    @property
    def liquidation_probability(self) -> np.ndarray:
        """Per position: the fraction of paths on which it was (at least partly) liquidated."""
        return self.liquidated.mean(axis=0) if self.liquidated.size else np.zeros(self.liquidated.shape[1])

    @property
    def any_liquidation_probability(self) -> float:
        return float(self.liquidated.any(axis=1).mean())

    @property
    def wiped_out(self) -> np.ndarray:
        """Per path: the final value is at most 1 % of the start value."""
        return self.final_value <= WIPEOUT_FRACTION * max(self.start_value, 0.0)

    @property
    def wipeout_probability(self) -> float:
        return float(self.wiped_out.mean())

    @property
    def bankruptcy_probability(self) -> float:
        return float(self.bankrupt.mean())

    @property
    def expected_loss(self) -> float:
        return float(self.loss.mean())

    def value_at_risk(self, level: float = VAR_LEVEL) -> float:
        """The smallest loss among the worst ``1 − level`` of paths [quote]."""
        return float(_tail(self.loss, level)[0])

    def expected_shortfall(self, level: float = VAR_LEVEL) -> float:
        """The mean loss of the worst ``1 − level`` of paths [quote]."""
        return float(_tail(self.loss, level).mean())

    def summary(self) -> dict[str, Any]:
        """Every headline figure, JSON-ready."""
        return {
            "start_value": self.start_value,
            "probability_liquidation": dict(zip(self.position_ids, map(float, self.liquidation_probability))),
            "closed_on_arrival": list(self.closed_on_arrival),
            "probability_any_liquidation": self.any_liquidation_probability,
            "probability_wipeout": self.wipeout_probability,
            "probability_bankruptcy": self.bankruptcy_probability,
            "expected_loss": self.expected_loss,
            "value_at_risk_99": self.value_at_risk(),
            "expected_shortfall_99": self.expected_shortfall(),
            "mean_final_value": float(self.final_value.mean()),
            "median_final_value": float(np.median(self.final_value)),
        }


def _tail(loss: np.ndarray, level: float) -> np.ndarray:
    """The worst ``ceil((1 − level) × n)`` losses, smallest first."""
    k = max(1, math.ceil((1.0 - level) * loss.shape[0] - 1e-9))
    return np.sort(np.partition(loss, loss.shape[0] - k)[loss.shape[0] - k:])
