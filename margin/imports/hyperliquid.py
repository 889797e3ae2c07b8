"""Hyperliquid: the info endpoint's ``clearinghouseState`` (positions and balance in one).

``szi`` is the signed size in coins, ``leverage.type`` is ``cross`` or ``isolated``. The state
has no mark price: it is ``positionValue ÷ |szi|`` (the value is at the mark). For an isolated
position ``marginUsed`` includes its unrealized PnL, so its margin is ``marginUsed −
unrealizedPnl``; the wallet before PnL is ``marginSummary.accountValue − Σ unrealizedPnl``.
Coins map to the lab's USDT markets (``BTC`` → ``BTCUSDT``): Hyperliquid settles in USDC, which
the lab counts as USDT. Builder-deployed markets (``dex:COIN``) are refused.

>>> state = {"marginSummary": {"accountValue": "13109.482328"}, "assetPositions": [
...     {"type": "oneWay", "position": {"coin": "ETH", "szi": "0.0335", "entryPx": "2986.3",
...      "positionValue": "100.02765", "unrealizedPnl": "-0.0134", "marginUsed": "4.967826",
...      "leverage": {"type": "isolated", "value": 20, "rawUsd": "-95.059824"}}}]}
>>> account = read({"clearinghouseState": state})
>>> h = account.holdings[0]
>>> h.market, round(h.mark, 6), round(h.margin, 6), round(account.balance, 6)
('ETHUSDT', 2985.9, 4.981226, 13109.495728)
"""

from __future__ import annotations

from typing import Any, Mapping

from margin.imports.accounts import (
    ExportedAccount, Holding, latest_time, market_name, no_open_position, one_row_each, reported_number,
)
from margin.imports.documents import mapping, number, optional_time, required, rows, text
from margin.scenario import ScenarioError

LABEL = "clearinghouseState"
MODES = ("cross", "isolated")


def _holding(position: Mapping[str, Any], where: str, size: float) -> tuple[Holding, float]:
    coin = text(position, "coin", where)
    if ":" in coin or coin.startswith("@"):
        raise ScenarioError(f"{where}.coin", (
            f"{coin!r} is a builder-deployed or spot market, not one of Hyperliquid's own perpetuals"))
    market = market_name(coin, f"{where}.coin")
    pnl = number(position, "unrealizedPnl", where)
    value = number(position, "positionValue", where, positive=True)
    leverage = mapping(required(position, "leverage", where), f"{where}.leverage")
    mode = text(leverage, "type", f"{where}.leverage")
    if mode not in MODES:
        raise ScenarioError(f"{where}.leverage.type", f"must be 'cross' or 'isolated', got {mode!r}")
    margin = None
    if mode == "isolated":
        margin = number(position, "marginUsed", where) - pnl
        if margin <= 0:
            raise ScenarioError(f"{where}.marginUsed", (
                f"leaves no isolated margin once its unrealized PnL ({pnl:g}) is taken out"))
    holding = Holding(market=market, side="long" if size > 0 else "short", size=abs(size),
                      entry=number(position, "entryPx", where, positive=True), mark=value / abs(size),
                      leverage=number(leverage, "value", f"{where}.leverage", positive=True),
                      mode=mode, margin=margin, where=where,
                      reported_liquidation=reported_number(position, "liquidationPx"))
    return holding, pnl


def read(documents: Mapping[str, Any]) -> ExportedAccount:
    """An :class:`ExportedAccount` from a document keyed ``"clearinghouseState"``."""
    state = mapping(documents[LABEL], LABEL)
    summary = mapping(required(state, "marginSummary", LABEL), f"{LABEL}.marginSummary")
    account_value = number(summary, "accountValue", f"{LABEL}.marginSummary")
    holdings, total_pnl = [], 0.0
    for index, item in enumerate(rows(state, "assetPositions", LABEL)):
        where = f"{LABEL}.assetPositions[{index}].position"
        position = mapping(required(item, "position", f"{LABEL}.assetPositions[{index}]"), where)
        size = number(position, "szi", where)
        if size == 0:
            continue
        holding, pnl = _holding(position, where, size)
        holdings.append(holding)
        total_pnl += pnl
    one_row_each([(h.market, h.market, h.where) for h in holdings], "Hyperliquid's state holds one position per coin")
    balance = account_value - total_pnl
    if not holdings:
        raise no_open_position(balance)
    notes = ["Mark prices: positionValue ÷ |szi| (the state has no mark price field).",
             "Wallet: marginSummary.accountValue less your unrealized PnL; Hyperliquid's USDC counted as USDT."]
    if any(h.mode == "isolated" for h in holdings):
        notes.append("Isolated margin: marginUsed less the position's unrealizedPnl (marginUsed includes it).")
    return ExportedAccount(exchange="hyperliquid", endpoints=(LABEL,), balance=balance,
                           balance_field=f"{LABEL}.marginSummary.accountValue", holdings=tuple(holdings),
                           notes=tuple(notes), as_of_ms=latest_time(optional_time(state, "time", LABEL)))
