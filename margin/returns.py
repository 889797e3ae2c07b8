"""A position's returns as the venues' position panels show them: ROE and PnL %."""

from __future__ import annotations

from typing import Any

import numpy as np


def return_on_margin(unrealized_pnl: Any, size: Any, entry: Any, leverage: Any) -> Any:
    """ROE [fraction]: unrealized PnL over the initial margin of the open size, ``size × entry
    ÷ leverage`` [quote], as Binance's position panel shows it (Binance Support, 'How to
    Calculate PnL and ROE of USDⓈ-M Futures': ROE = PnL ÷ initial margin); Bybit calls it the
    unrealized PnL %. NaN where nothing is open.

    >>> float(return_on_margin(50.0, 0.01, 100_000.0, 20))  # a 0.5 % move at 20x
    1.0
    """
    margin = np.asarray(size, dtype=float) * np.asarray(entry, dtype=float) / np.asarray(leverage, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(margin > 0, np.asarray(unrealized_pnl, dtype=float) / margin, np.nan)


def pnl_fraction(unrealized_pnl: Any, size: Any, entry: Any) -> Any:
    """PnL % [fraction]: unrealized PnL over the open size's value at entry, ``size × entry``
    [quote]: the price move in the position's favour, whatever the leverage. NaN where nothing
    is open.

    >>> float(pnl_fraction(50.0, 0.01, 100_000.0))
    0.05
    """
    value = np.asarray(size, dtype=float) * np.asarray(entry, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(value > 0, np.asarray(unrealized_pnl, dtype=float) / value, np.nan)


__all__ = ["pnl_fraction", "return_on_margin"]
