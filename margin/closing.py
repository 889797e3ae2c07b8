"""Settling a full close, and the fee every close pays: the one statement of where the money
of a liquidated position or pool goes. :class:`margin.settle.Settler` settles every close
through here, and the market cascade (:mod:`margin.cascade.rounds`) settles its traders with
:func:`close_out` too.

The fee is ``liquidation_fee_rate × closed notional``, never more than what the trader has left
(:func:`capped_fee`). ``settlement = "bankruptcy"`` leaves the trader nothing of the margin
behind the position and the insurance fund keeps what was left above zero (fee included);
``"mark"`` leaves the trader what is left after the fee. Equity below zero is a deficit, paid
by the fund and, past it, socialized (:meth:`margin.pool_money.PoolMoney._cover_deficit`).

>>> c = close_out(np.array([50.0, -20.0]), np.array([1_000.0, 1_000.0]), 0.01, "bankruptcy")
>>> c.fee.tolist(), c.to_fund.tolist(), c.returned.tolist(), c.deficit.tolist()
([10.0, 0.0], [50.0, 0.0], [0.0, 0.0], [0.0, 20.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True, kw_only=True)
class Closing:
    """A full close settled [quote], per position (arrays) or for one pool (floats): the fee
    charged, what the insurance fund keeps (fee included), what goes back to the trader, and
    the loss beyond margin (a deficit, for the fund or, beyond it, for other traders)."""

    fee: Any
    to_fund: Any
    returned: Any
    deficit: Any


def capped_fee(fee: Any, cap: Any) -> Any:
    """The liquidation fee a close pays [quote]: ``fee`` (the rate × the closed notional), never
    below 0 and never more than ``cap``, what is left to pay it from (nothing when ``cap`` is
    below 0). The one statement of the fee's cap: every close, full or a slice, isolated, a
    cross pool or a position's share of it, pays its fee through here.

    A float in, a float out, in plain Python (the settlement loop's case, where numpy's cost per
    call would dominate), written as numpy's ``clip`` decides it (a tie keeps the fee), so
    both give the same bits; arrays in, an array out.

    >>> capped_fee(5.0, 3.0), capped_fee(5.0, 8.0), capped_fee(-1.0, 3.0), capped_fee(5.0, -2.0)
    (3.0, 5.0, 0.0, 0.0)
    >>> capped_fee(np.array([5.0, 5.0, -1.0]), np.array([3.0, 8.0, 3.0])).tolist()
    [3.0, 5.0, 0.0]
    """
    if isinstance(fee, np.ndarray) or isinstance(cap, np.ndarray):
        return np.maximum(np.clip(fee, 0.0, cap), 0.0)
    fee = fee if fee >= 0.0 else 0.0
    fee = fee if fee <= cap else cap
    return fee if fee >= 0.0 else 0.0


def close_out(equity: Any, notional: Any, fee_rate: float, settlement: str) -> Closing:
    """Settle a full close of ``notional`` [quote] when the equity behind it is ``equity``
    [quote]: the fee is ``fee_rate × notional`` but never more than what is left; at the
    bankruptcy price the fund keeps all that is left, at the mark the trader keeps what is
    left after the fee."""
    if isinstance(equity, float) and isinstance(notional, float):
        return _close_out_one(equity, notional, fee_rate, settlement)
    equity = np.asarray(equity, dtype=float)
    left = np.maximum(equity, 0.0)
    fee = capped_fee(fee_rate * np.asarray(notional, dtype=float), left)
    if settlement == "bankruptcy":
        to_fund, returned = left, np.zeros_like(left)
    else:
        to_fund, returned = fee, left - fee
    return Closing(fee=fee, to_fund=to_fund, returned=returned, deficit=np.maximum(-equity, 0.0))


def _close_out_one(equity: float, notional: float, fee_rate: float, settlement: str) -> Closing:
    """:func:`close_out` of one position or pool, in plain Python (the settlement loop's case,
    where numpy's cost per call would dominate), with numpy's ``maximum`` written out as numpy
    decides it, ties and signed zeros included (``maximum(a, b)`` is ``a`` only when ``a > b``),
    and the fee's cap through :func:`capped_fee`, so the same bits.

    >>> one = close_out(-20.0, 1_000.0, 0.01, "mark")
    >>> (one.fee, one.returned, one.deficit) == (0.0, 0.0, 20.0)
    True
    """
    left = equity if equity > 0.0 else 0.0
    fee = capped_fee(fee_rate * notional, left)
    to_fund, returned = (left, 0.0) if settlement == "bankruptcy" else (fee, left - fee)
    return Closing(fee=fee, to_fund=to_fund, returned=returned, deficit=-equity if -equity > 0.0 else 0.0)


__all__ = ["Closing", "capped_fee", "close_out"]
