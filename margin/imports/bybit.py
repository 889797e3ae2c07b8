"""Bybit v5: ``GET /v5/position/list?category=linear`` and ``GET /v5/account/wallet-balance``,
optionally ``GET /v5/account/info`` for the margin mode.

``size`` is unsigned and ``side`` (``Buy``/``Sell``) gives the direction; hedge mode has two
rows per symbol, ``positionIdx`` 1 (buy side) and 2 (sell side), mapped to two positions of
opposite side in one market. A unified account's margin mode is set for the whole account and
is not in the position list (``tradeMode`` is deprecated there, always 0): it is read from
account/info's ``marginMode`` when pasted, from ``tradeMode`` 1 for a classic account, and
otherwise assumed cross (Bybit's default, ``REGULAR_MARGIN``), with a note. Portfolio margin is
refused: it is neither cross nor isolated. The wallet is the USDT coin's ``walletBalance``.

>>> plist = {"retCode": 0, "result": {"category": "linear", "list": [
...     {"symbol": "BTCUSDT", "side": "Sell", "size": "0.5", "avgPrice": "60000",
...      "markPrice": "61000", "leverage": "10", "positionIdx": 0, "tradeMode": 0}]}}
>>> wallet = {"retCode": 0, "result": {"list": [{"accountType": "UNIFIED",
...     "coin": [{"coin": "USDT", "walletBalance": "5000"}]}]}}
>>> account = read({"position/list": plist, "wallet-balance": wallet})
>>> h = account.holdings[0]
>>> h.side, h.size, h.entry, h.mark, h.mode, account.balance
('short', 0.5, 60000.0, 61000.0, 'cross', 5000.0)
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from margin.imports.accounts import ExportedAccount, Holding, latest_time, no_open_position, one_row_each, reported_number
from margin.imports.coins import CoinBalance, other_coins
from margin.imports.documents import kind_of, listing, mapping, number, optional_number, optional_time, required, rows, text
from margin.scenario import ScenarioError

_PERPETUAL = re.compile(r"[A-Z0-9]{1,20}USDT")
_INVERSE_PERPETUAL = re.compile(r"([A-Z0-9]{1,20})USD")  # category=inverse: BTCUSD, ETHUSD
INVERSE_CONTRACT_VALUE = 1.0  # [USD] Bybit's inverse contracts are 1 USD each ('What is Inverse Contract?')
SIDES = {"Buy": "long", "Sell": "short"}
MODES = {"REGULAR_MARGIN": "cross", "ISOLATED_MARGIN": "isolated"}


def _result(document: Any, label: str) -> Mapping[str, Any]:
    return mapping(required(mapping(document, label), "result", label), f"{label}.result")


def _account_mode(documents: Mapping[str, Any]) -> str | None:
    if "account/info" not in documents:
        return None
    where = "account/info.result"
    mode = text(_result(documents["account/info"], "account/info"), "marginMode", where)
    if mode == "PORTFOLIO_MARGIN":
        raise ScenarioError(f"{where}.marginMode", (
            "is 'PORTFOLIO_MARGIN': portfolio margin nets risk across the whole portfolio and is "
            "neither cross nor isolated margin; the lab cannot model it"))
    if mode not in MODES:
        raise ScenarioError(f"{where}.marginMode", f"must be 'REGULAR_MARGIN' or 'ISOLATED_MARGIN', got {mode!r}")
    return MODES[mode]


def _holding(row: Mapping[str, Any], where: str, size: float, account_mode: str | None) -> Holding:
    symbol = text(row, "symbol", where)
    if not _PERPETUAL.fullmatch(symbol):
        raise ScenarioError(f"{where}.symbol", (
            f"{symbol!r} is not a USDT linear perpetual (inverse contracts such as BTCUSD are margined "
            "in the coin, USDC contracts in USDC); the lab models USDT perpetuals only"))
    side = row.get("side")
    if not isinstance(side, str) or side not in SIDES:
        raise ScenarioError(f"{where}.side", f"must be 'Buy' or 'Sell' for an open position, got {kind_of(side)}")
    leverage = row.get("leverage")
    if isinstance(leverage, str) and not leverage.strip():
        raise ScenarioError(f"{where}.leverage", (
            "is empty, which Bybit sends under portfolio margin; the lab models cross and isolated margin only"))
    isolated = account_mode == "isolated" or (account_mode is None and row.get("tradeMode") == 1)
    margin = None
    if isolated:
        margin = optional_number(row, "positionBalance", where) or number(row, "positionIM", where, positive=True)
    return Holding(market=symbol, side=SIDES[side], size=size,
                   entry=number(row, "avgPrice", where, positive=True),
                   mark=number(row, "markPrice", where, positive=True),
                   leverage=number(row, "leverage", where, positive=True),
                   mode="isolated" if isolated else "cross", margin=margin, where=where,
                   reported_liquidation=reported_number(row, "liqPrice"),
                   reported_maintenance=reported_number(row, "positionMM"))


def _inverse_holding(row: Mapping[str, Any], where: str, size: float, account_mode: str | None) -> Holding:
    """A ``category=inverse`` row: ``size`` in contracts of 1 USD, the margin in the coin."""
    symbol = text(row, "symbol", where)
    perpetual = _INVERSE_PERPETUAL.fullmatch(symbol)
    if perpetual is None:
        raise ScenarioError(f"{where}.symbol", f"{symbol!r} is not an inverse perpetual (XXXUSD); dated inverse "
                            "futures are not modelled")
    linear = _holding({**row, "symbol": f"{perpetual.group(1)}USDT"}, where, size, account_mode)
    return Holding(market=symbol, side=linear.side, size=size, entry=linear.entry, mark=linear.mark,
                   leverage=linear.leverage, mode=linear.mode, margin=linear.margin, where=where,
                   contract_value=INVERSE_CONTRACT_VALUE, settle_asset=perpetual.group(1))


def _coins(document: Any, settled: set[str]) -> list[CoinBalance]:
    """The wallet's coins other than USDT: a settlement coin of inverse positions (its
    ``walletBalance``), or collateral (a positive ``walletBalance`` with ``marginCollateral``
    on), priced by its ``usdValue``."""
    accounts = rows(_result(document, "wallet-balance"), "list", "wallet-balance.result")
    out = []
    for name, where, amount, coin in other_coins(accounts, "coin", "wallet-balance.result.list[0]", name="coin",
                                                 amount="walletBalance"):
        if name not in settled and (amount <= 0 or coin.get("marginCollateral") is False):
            continue
        worth = optional_number(coin, "usdValue", where)
        out.append(CoinBalance(asset=name, amount=amount, price=worth / amount if worth and amount > 0 else None,
                               haircut=None, where=f"{where}.walletBalance"))
    return out


def _holdings(documents: Mapping[str, Any], account_mode: str | None) -> tuple[list[Holding], list[str]]:
    result = _result(documents["position/list"], "position/list")
    category = result.get("category")
    if category == "inverse":
        return _inverse_holdings(result, account_mode)
    if category is not None and category != "linear":
        raise ScenarioError("position/list.result.category", (
            f"is {kind_of(category)}, not 'linear' or 'inverse': the lab models perpetuals (USDT linear, and "
            "inverse ones such as BTCUSD margined in the coin); export with category=linear or category=inverse"))
    holdings, hedged, legs = [], False, []
    for index, row in enumerate(rows(result, "list", "position/list.result")):
        where = f"position/list.result.list[{index}]"
        size = number(row, "size", where)
        if size == 0:
            continue  # an empty position (side "" or "None")
        holdings.append(_holding(row, where, abs(size), account_mode))
        legs.append(((holdings[-1].market, str(row.get("positionIdx", 0))[:20]), holdings[-1].market, where))
        hedged = hedged or row.get("positionIdx") in (1, 2)
    one_row_each(legs, "Bybit sends one row per symbol in one-way mode (positionIdx 0) and one per side in "
                 "hedge mode (1 and 2)")
    notes = ["Mark prices taken from position/list's markPrice."]
    if account_mode is None and not any(h.mode == "isolated" for h in holdings):
        notes.append("Margin mode: Bybit's position list does not say it for a unified account (tradeMode "
                     "is always 0 there); assumed cross, the default (REGULAR_MARGIN). Paste "
                     "GET /v5/account/info too if your account is in isolated margin mode.")
    if any(h.mode == "isolated" for h in holdings):
        notes.append("Isolated margin: positionBalance (the position margin).")
    if hedged:
        notes.append("Hedge mode: positionIdx 1 (buy side) and 2 (sell side) are two positions of opposite "
                     "side in one market.")
    return holdings, notes


def _inverse_holdings(result: Mapping[str, Any], account_mode: str | None) -> tuple[list[Holding], list[str]]:
    holdings = []
    for index, row in enumerate(rows(result, "list", "position/list.result")):
        where = f"position/list.result.list[{index}]"
        size = number(row, "size", where)
        if size != 0:
            holdings.append(_inverse_holding(row, where, abs(size), account_mode))
    notes = ["Mark prices taken from position/list's markPrice.",
             "Inverse positions (category=inverse): size is in contracts of 1 USD; margin and PnL are in the coin."]
    if any(h.mode == "isolated" for h in holdings):
        notes.append("Isolated margin: positionBalance (in the coin).")
    return holdings, notes


def _wallet(document: Any) -> tuple[float, str, list[str]]:
    accounts = rows(_result(document, "wallet-balance"), "list", "wallet-balance.result")
    if not accounts:
        raise ScenarioError("wallet-balance.result.list", "is empty: no account in this export")
    where = "wallet-balance.result.list[0]"
    coins = rows(accounts[0], "coin", where)
    for index, coin in enumerate(coins):
        if coin.get("coin") == "USDT":
            here = f"{where}.coin[{index}]"
            notes = [f"Wallet: the USDT coin's walletBalance ({accounts[0].get('accountType', 'account')} account)."]
            return number(coin, "walletBalance", here), f"{here}.walletBalance", notes
    held = listing(c.get("coin") for c in coins)
    raise ScenarioError(f"{where}.coin", f"has no USDT entry (coins: {held}); the lab's accounts are in USDT")


def read(documents: Mapping[str, Any]) -> ExportedAccount:
    """An :class:`ExportedAccount` from Bybit documents keyed ``"position/list"``,
    ``"wallet-balance"`` and (optional) ``"account/info"``."""
    if "position/list" not in documents:
        raise ScenarioError("position/list", "is missing: paste GET /v5/position/list?category=linear too")
    holdings, notes = _holdings(documents, _account_mode(documents))
    if "wallet-balance" not in documents:
        if not holdings:
            raise no_open_position(None)
        raise ScenarioError("wallet-balance", (
            "is missing: the position list has no wallet balance; paste GET /v5/account/wallet-balance too"))
    settled = {h.settle_asset for h in holdings if h.settle_asset is not None}
    coins = _coins(documents["wallet-balance"], settled)
    try:
        balance, balance_field, wallet_notes = _wallet(documents["wallet-balance"])
    except ScenarioError:
        if not settled and not coins:
            raise
        balance, balance_field, wallet_notes = 0.0, "wallet-balance", ["Wallet: no USDT in this account."]
    if not holdings:
        raise no_open_position(balance)
    endpoints = ("position/list", "wallet-balance") + (("account/info",) if "account/info" in documents else ())
    times = [optional_time(mapping(documents[e], e), "time", e) for e in endpoints]
    return ExportedAccount(exchange="bybit", endpoints=endpoints, balance=balance, balance_field=balance_field,
                           holdings=tuple(holdings), notes=tuple(notes + wallet_notes), as_of_ms=latest_time(*times),
                           coins=tuple(coins))
