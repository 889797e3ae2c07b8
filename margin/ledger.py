"""What a walk carries and reports: the events (what happened, in quote money), the state a
settlement step changes, and the final state a later walk may continue from. The rules that
make them are in :mod:`margin.settle`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EVENT_TYPES = ("liquidation", "partial_liquidation", "bankruptcy", "socialized_loss", "funding")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened. Amounts in [quote]; ``size`` [base] closed.

    ``insurance_fund_delta`` is what the fund gained (+) or paid (−), fee included;
    ``amount`` is the loss beyond margin (``bankruptcy``) or the part socialized
    (``socialized_loss``), 0 otherwise. ``row`` is the index of the step in the path.
    """

    step: int | float
    row: int
    type: str
    position: str
    market: str
    mode: str
    price: float
    size: float
    realized_pnl: float
    fee: float
    insurance_fund_delta: float
    amount: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "type": self.type, "position": self.position, "market": self.market,
            "price": self.price, "size": self.size, "realized_pnl": self.realized_pnl,
            "fee": self.fee, "insurance_fund_delta": self.insurance_fund_delta,
            "amount": self.amount, "mode": self.mode,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FinalState:
    """After the path. ``balance`` [quote] is the cross wallet plus isolated margins still
    locked; ``bankrupt`` is true when any close went beyond its bankruptcy price."""

    balance: float
    cross_wallet: float
    insurance_fund: float
    socialized_loss: float
    open_positions: tuple[str, ...]
    sizes: tuple[float, ...]
    margins: tuple[float, ...]
    bankrupt: bool
    sliced: tuple[bool, ...] = ()  # per position: its first slice taken (``slice_then_full``)

    def as_dict(self) -> dict[str, Any]:
        return {
            "balance": self.balance, "insurance_fund": self.insurance_fund,
            "socialized_loss": self.socialized_loss, "open_positions": list(self.open_positions),
            "bankrupt": self.bankrupt,
        }


@dataclass(slots=True)
class SettlementState:
    """The account's state as a walk changes it: sizes [base], isolated margins, the cross
    wallet and the insurance fund [quote], what was socialized, the events so far."""

    size: np.ndarray
    margin: np.ndarray
    cross_wallet: float
    fund: float
    socialized: float = 0.0
    bankrupt: bool = False
    events: list[Event] = field(default_factory=list)
    sliced: np.ndarray | None = None  # per position: its first slice taken (``slice_then_full``)


def step_label(step: Any) -> int | float:
    value = step.item() if hasattr(step, "item") else step
    return int(value) if float(value).is_integer() else float(value)
