"""What a walk carries and reports: the events (what happened, in quote money), the state a
settlement step changes, and the final state a later walk may continue from. The rules that
make them are in :mod:`margin.settle`.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable

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

    Where the money of a close went (``liquidation``, ``partial_liquidation``): the trader
    realized ``realized_pnl`` at the fill, paid ``fee``, and the fund kept ``to_fund``, the
    margin left above the fee (settled at the bankruptcy price); a loss beyond the margin was
    paid by the fund (``from_fund``) and, past what it held, by other traders (``socialized``).
    Their sum :attr:`money_change` is what the close changed the account's money by (the
    wallet plus the isolated margins, in ``currency``): an isolated position's whole margin, for
    one settled at its bankruptcy price. ``bankruptcy`` and ``socialized_loss`` events tell the
    deficit again from the fund's side and change nothing more (their ``money_change`` is 0).

    ``crossing`` [quote per base] and ``crossing_fraction`` [fraction of the step]: where, on
    the straight line from the row before to this one, the pool's breach began
    (:mod:`margin.crossing`); the fill itself when a walk settles at its crossings, a reading
    aid beside the observed mark when it replays observed marks; None when not computed.
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
    to_fund: float = 0.0
    from_fund: float = 0.0
    socialized: float = 0.0
    crossing: float | None = None
    crossing_fraction: float | None = None
    currency: str = "USDT"
    rate: float = 1.0

    @property
    def money_change(self) -> float:
        """What this event changed the account's money by [its ``currency``]: ``realized_pnl − fee −
        to_fund + from_fund + socialized``.

        >>> Event(step=1, row=1, type="liquidation", position="sol", market="SOL", mode="isolated",
        ...       price=171.86, size=240.0, realized_pnl=-2177.56, fee=253.11, insurance_fund_delta=462.44,
        ...       to_fund=209.33).money_change  # the issue's isolated SOL long: its 2,640 margin
        -2640.0
        """
        return self.realized_pnl - self.fee - self.to_fund + self.from_fund + self.socialized

    def as_dict(self) -> dict[str, Any]:
        out = {
            "step": self.step, "type": self.type, "position": self.position, "market": self.market,
            "price": self.price, "size": self.size, "realized_pnl": self.realized_pnl,
            "fee": self.fee, "insurance_fund_delta": self.insurance_fund_delta,
            "amount": self.amount, "mode": self.mode, "to_fund": self.to_fund, "from_fund": self.from_fund,
            "socialized": self.socialized, "crossing": self.crossing, "crossing_fraction": self.crossing_fraction,
        }
        if self.currency != "USDT":  # an account without coins writes exactly as before
            out.update(currency=self.currency, rate=self.rate)
        return out


def _slot_builder(cls: type) -> Callable[..., Any]:
    """A keyword-only constructor of the frozen, slotted dataclass ``cls`` that sets its slots
    directly, with the class's defaults: the same object as ``cls(...)`` with the same keywords.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (its guard
    against later changes), which made building an :class:`Event` (19 fields) a tenth of the
    crash walk's CPU, one per partial slice; setting the slots is less than half of that. Written
    as :mod:`dataclasses` writes ``__init__``: one line per field, compiled once.

    >>> build = _slot_builder(Event)
    >>> kw = dict(step=1, row=1, type="funding", position="a", market="BTC", mode="cross",
    ...           price=10.0, size=2.0, realized_pnl=-0.5, fee=0.0, insurance_fund_delta=0.0)
    >>> build(**kw) == Event(**kw), build(**kw).rate
    (True, 1.0)
    """
    params, lines = [], []
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    for k, f in enumerate(fields(cls)):
        assert f.default_factory is MISSING, "a field with a default factory: use the class itself"
        scope[f"set{k}"] = getattr(cls, f.name).__set__  # the slot's descriptor
        if f.default is MISSING:
            params.append(f.name)
        else:
            params.append(f"{f.name}=default{k}")
            scope[f"default{k}"] = f.default
        lines.append(f"    set{k}(obj, {f.name})")
    exec("def build(*, " + ", ".join(params) + "):\n    obj = new(cls)\n" + "\n".join(lines) + "\n    return obj\n", scope)
    return scope["build"]


#: :class:`Event`'s keyword constructor for the settlement loop (:func:`_slot_builder`)
new_event = _slot_builder(Event)


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
    """A path's step as an event tells it: an int when it is a whole number, else a float
    (numpy's scalars made plain)."""
    if type(step) is int:  # the walk's case (it passes plain steps): nothing to convert
        return step
    value = step.item() if hasattr(step, "item") else step
    return int(value) if float(value).is_integer() else float(value)
