"""What a walk carries and reports: the events (what happened, in quote money), the state a
settlement step changes, and the final state a later walk may continue from. The rules that
make them are in :mod:`margin.settle`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EVENT_TYPES = ("liquidation", "partial_liquidation", "bankruptcy", "socialized_loss", "funding",
               "stop_loss", "take_profit", "collateral_sale")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened. Amounts in ``currency`` (USDT; an inverse position's coin);
    ``size`` [base, or contracts] closed; ``rate`` [USDT per unit of ``currency``] at the time.

    ``insurance_fund_delta`` is what the fund (of that currency) gained (+) or paid (−), fee
    included; ``amount`` is the loss beyond margin (``bankruptcy``) or the part socialized
    (``socialized_loss``), 0 otherwise. ``row`` is the index of the step in the path. A
    ``stop_loss`` or ``take_profit`` closes ``size`` at ``price``, ``realized_pnl`` its PnL; a
    ``collateral_sale`` sells ``size`` [asset units] of collateral ``position`` (the asset's
    name) at ``price`` [USDT per unit], ``realized_pnl`` what it brought into the wallet [USDT]
    after the haircut.
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
    currency: str = "USDT"
    rate: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        out = {
            "step": self.step, "type": self.type, "position": self.position, "market": self.market,
            "price": self.price, "size": self.size, "realized_pnl": self.realized_pnl,
            "fee": self.fee, "insurance_fund_delta": self.insurance_fund_delta,
            "amount": self.amount, "mode": self.mode,
        }
        if self.currency != "USDT":  # an account without coins writes exactly as before
            out.update(currency=self.currency, rate=self.rate)
        return out


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
    # per collateral entry (:mod:`margin.collateral`): what the pool holds (a coin pool: its cross
    # wallet [coin]), and what its coin's insurance fund holds and socialized [coin]
    assets: tuple[str, ...] = ()
    collateral: tuple[float, ...] = ()
    held: tuple[float, ...] = ()  # the amount as the file states it: a coin's cross wallet plus its open isolated margins
    coin_funds: tuple[float, ...] = ()
    coin_socialized: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "balance": self.balance, "insurance_fund": self.insurance_fund,
            "socialized_loss": self.socialized_loss, "open_positions": list(self.open_positions),
            "bankrupt": self.bankrupt,
        }
        if self.assets:  # an account without collateral writes exactly as before
            out["collateral"] = dict(zip(self.assets, self.held))
            coins = [k for k, fund in enumerate(self.coin_funds) if fund is not None]
            if coins:
                out["coin_pools"] = {self.assets[k]: {"insurance_fund": self.coin_funds[k],
                                                      "socialized_loss": self.coin_socialized[k]} for k in coins}
        return out


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
    collateral: np.ndarray | None = None  # per collateral entry: amount held (a coin pool's cross wallet)
    coin_fund: np.ndarray | None = None  # per collateral entry: its coin's insurance fund [coin] (NaN: not a coin pool)
    coin_socialized: np.ndarray | None = None  # per collateral entry: socialized in its coin [coin]


def step_label(step: Any) -> int | float:
    value = step.item() if hasattr(step, "item") else step
    return int(value) if float(value).is_integer() else float(value)
