"""Coin-margined (inverse) contracts: a contract is worth a fixed amount of US dollars, its
margin, profit and loss are paid in the coin.

A market with ``"contract": "inverse"`` quotes the coin in USD (its mark ``price`` [USD per
coin]); a position's ``size`` is a number of contracts, each worth ``contract_value`` [USD]
(BitMEX XBTUSD 1, Deribit 10, Binance COIN-M BTCUSD_PERP 100). In the coin ``C`` it settles in
(the market's ``settle_asset``):

* its value (the notional the tiers read) is ``size × contract_value / mark`` [C], or at the
  entry price under ``mm_basis: "entry"`` (Bybit's "Position Value = Contract Quantity /
  Average Entry Price");
* its PnL is ``size × contract_value × (1/entry − 1/mark)`` [C] for a long, the opposite for a
  short (BitMEX, 'Inverse Perpetuals Guide': ``# Contracts × Multiplier × (1/Entry Price −
  1/Exit Price)``; Kraken Futures, 'Calculation of profit and loss');
* its initial margin is ``size × contract_value / entry / leverage`` [C], its maintenance margin
  the market's tiers applied to its value in C (floors and maintenance amounts in C);
* its funding is ``side × value at the mark × rate`` [C], as Binance COIN-M and BitMEX charge it.

In the variable ``x = 1/price`` [coin per USD] an inverse position is a linear one of the
opposite side: size ``size × contract_value`` [USD], entry ``1/entry``, PnL ``−side × size ×
contract_value × (x − 1/entry)``, value ``size × contract_value × x``. A pool of inverse
positions of one market is therefore piecewise linear in ``x``, and :mod:`margin.roots` solves
it exactly there (:func:`in_reciprocal`); its price is ``1/x``.

>>> round(float(pnl(1, 10_000, 1.0, 2_500.0, 2_800.0)), 5)  # Kraken: buy 10,000 at 2,500, sell at 2,800
0.42857
>>> default_settle_asset("BTCUSD"), default_settle_asset("BTCUSD_PERP"), default_settle_asset("XBTUSD")
('BTC', 'BTC', 'XBT')
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from margin.fields import ScenarioError, choice, known_fields, number, text  # noqa: F401
from margin.limits import MAX_ASSET_CHARS, MAX_CONTRACT_VALUE

QUOTE = "USDT"  # the currency of linear contracts, the wallet ``balance`` and the insurance fund
CONTRACTS = ("linear", "inverse")
_SUFFIXES = ("_PERP", "-PERPETUAL", "-PERP")


def default_settle_asset(market: str) -> str:
    """The coin an inverse market settles in when ``settle_asset`` is not given: its name less
    a trailing ``_PERP`` / ``-PERPETUAL`` and then a trailing ``USD`` (``BTCUSD`` → ``BTC``);
    otherwise the whole name (then give ``settle_asset``)."""
    name = market
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
            break
    return name[:-3] if name.endswith("USD") and len(name) > 3 else name


def contract_fields(raw: Mapping[str, Any], where: str, name: str) -> tuple[str, float, str | None]:
    """A market's ``contract`` (``"linear"``, default, or ``"inverse"``), ``contract_value``
    [USD per contract, default 1] and ``settle_asset`` (inverse only; default
    :func:`default_settle_asset`). ``contract_value`` and ``settle_asset`` on a linear market
    are refused: a field that would be ignored is an error."""
    contract = choice(raw.get("contract", "linear"), f"{where}.contract", CONTRACTS)
    if contract == "linear":
        for key in ("contract_value", "settle_asset"):
            if key in raw:
                raise ScenarioError(f"{where}.{key}", "applies to inverse contracts only; add \"contract\": \"inverse\"")
        return contract, 1.0, None
    value = number(raw.get("contract_value", 1.0), f"{where}.contract_value", low=0.0, low_open=True,
                   high=MAX_CONTRACT_VALUE)
    asset = raw.get("settle_asset")
    settle = default_settle_asset(name) if asset is None else text(asset, f"{where}.settle_asset",
                                                                    max_chars=MAX_ASSET_CHARS)
    if settle == QUOTE:
        raise ScenarioError(f"{where}.settle_asset", f"an inverse contract settles in a coin, not in {QUOTE}")
    return contract, value, settle


def pnl(sign: Any, size: Any, contract_value: Any, entry: Any, mark: Any) -> Any:
    """Unrealized PnL of an inverse position, in its coin (BitMEX, 'Inverse Perpetuals Guide':
    ``# Contracts × Multiplier × (1/Entry Price − 1/Exit Price)``; Kraken Futures, 'Calculation
    of profit and loss').

    Parameters
    ----------
    sign : numeric [−1 or +1]
        +1 long, −1 short.
    size : numeric [contracts]
    contract_value : numeric [USD per contract]
    entry, mark : numeric [USD per coin]

    Returns
    -------
    numeric [coin]
        ``sign × size × contract_value × (1/entry − 1/mark)``; floats or arrays.
    """
    return sign * size * contract_value * (1.0 / entry - 1.0 / mark)


def value(size: Any, contract_value: Any, price: Any) -> Any:
    """The position's value in its coin (Bybit: "Position Value = Contract Quantity / Mark
    Price"), what the maintenance tiers read.

    Parameters
    ----------
    size : numeric [contracts]
    contract_value : numeric [USD per contract]
    price : numeric [USD per coin]
        The mark, or the entry under ``mm_basis: "entry"``.

    Returns
    -------
    numeric [coin]
        ``size × contract_value / price``.
    """
    return size * contract_value / price


def in_reciprocal(sign: Any, size: Any, contract_value: Any, entry: Any) -> tuple[Any, Any, Any]:
    """The linear twin of an inverse position in ``x = 1/price``: (side, size [USD], entry
    [coin per USD]) = ``(−sign, size × contract_value, 1/entry)``.

    >>> in_reciprocal(1, 100, 10.0, 50_000.0)
    (-1, 1000.0, 2e-05)
    """
    return -sign, size * contract_value, 1.0 / np.asarray(entry, dtype=float) if np.ndim(entry) else 1.0 / entry


__all__ = ["CONTRACTS", "QUOTE", "contract_fields", "default_settle_asset", "in_reciprocal", "pnl", "value"]
