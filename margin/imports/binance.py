"""Binance USDⓈ-M futures: ``GET /fapi/v2|v3/positionRisk`` and ``GET /fapi/v2|v3/account``.

positionRisk gives the positions (``positionAmt`` signed in base units, ``entryPrice``,
``markPrice``); the account gives the wallet (``assets[USDT].walletBalance``, which includes
isolated wallets). v3 positionRisk has no ``leverage`` and no ``marginType``: leverage is
worked out as notional ÷ ``positionInitialMargin`` and a position with an ``isolatedWallet``
is isolated. Hedge mode (``positionSide`` LONG and SHORT rows of one symbol) maps to two
positions of opposite side in one market, as Binance holds them.

>>> rows = [{"symbol": "ADAUSDT", "positionSide": "BOTH", "positionAmt": "30",
...          "entryPrice": "0.385", "markPrice": "0.41047590", "notional": "12.31427700",
...          "isolatedWallet": "0", "positionInitialMargin": "0.61571385"}]
>>> account = read({"positionRisk": rows, "account": {"totalWalletBalance": "100"}})
>>> h = account.holdings[0]
>>> h.market, h.side, h.size, h.leverage, h.mode, account.balance
('ADAUSDT', 'long', 30.0, 20, 'cross', 100.0)
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from margin.imports.accounts import (
    ExportedAccount, Holding, latest_time, no_open_position, one_row_each, reported_number,
)
from margin.imports.coins import CoinBalance
from margin.imports.documents import kind_of, mapping, number, optional_number, optional_time, rows, text
from margin.scenario import ScenarioError

_PERPETUAL = re.compile(r"[A-Z0-9]{1,20}USDT")
_COIN_PERPETUAL = re.compile(r"([A-Z0-9]{1,20})USD_PERP")  # COIN-M: GET /dapi/v1/positionRisk
# Binance, 'Coin-Margined Futures Contract Specifications' (FAQ, 2020-06-11): "The contract
# multiplier for BTC coin-margined contracts is 100 USD. Meanwhile, altcoin contracts have a
# multiplier of 10 USD."
COIN_CONTRACT_VALUES = {"BTC": 100.0}
COIN_CONTRACT_DEFAULT = 10.0
SIDES = {"LONG": "long", "SHORT": "short"}


def _market(symbol: str, where: str) -> str:
    if _PERPETUAL.fullmatch(symbol):
        return symbol
    if "_" in symbol:
        problem = "is a delivery (dated) contract, not a perpetual"
    else:
        problem = "is not a USDT-margined perpetual (the lab models linear USDT perpetuals only)"
    raise ScenarioError(f"{where}.symbol", f"{symbol!r} {problem}")


def leverage_from_margin(notional: float, initial_margin: float) -> float:
    """Leverage [x] as notional ÷ initial margin, a whole number when it is one to 1e-6.

    >>> leverage_from_margin(12.314277, 0.61571385), leverage_from_margin(100, 30)
    (20, 3.33)
    """
    ratio = notional / initial_margin
    return round(ratio) if abs(ratio - round(ratio)) < 1e-6 * ratio else round(ratio, 2)


def _v3_leverage(row: Mapping[str, Any], where: str, size: float, mark: float) -> float:
    notional = abs(optional_number(row, "notional", where) or size * mark)
    for key in ("positionInitialMargin", "initialMargin"):
        margin = optional_number(row, key, where)
        if margin is not None and margin > 0:
            return leverage_from_margin(notional, margin)
    raise ScenarioError(f"{where}.positionInitialMargin", (
        "is missing or 0: positionRisk v3 has no leverage field, and without the initial margin "
        "the leverage cannot be worked out"))


def _mode(row: Mapping[str, Any], where: str) -> str:
    if "marginType" in row:  # v2
        kind = text(row, "marginType", where).lower()
        if kind not in ("isolated", "cross", "crossed"):
            raise ScenarioError(f"{where}.marginType", f"must be 'isolated' or 'cross', got {kind!r}")
        return "isolated" if kind == "isolated" else "cross"
    wallet = optional_number(row, "isolatedWallet", where) or 0.0
    return "isolated" if wallet > 0 else "cross"


def _side(row: Mapping[str, Any], where: str, amount: float) -> tuple[str, bool]:
    leg = row.get("positionSide", "BOTH")
    if leg == "BOTH":
        return ("long" if amount > 0 else "short"), False
    if not isinstance(leg, str) or leg not in SIDES:
        raise ScenarioError(f"{where}.positionSide", f"must be 'BOTH', 'LONG' or 'SHORT', got {kind_of(leg)}")
    return SIDES[leg], True


def _holding(row: Mapping[str, Any], where: str, amount: float) -> tuple[Holding, bool]:
    market = _market(text(row, "symbol", where), where)
    asset = row.get("marginAsset", "USDT")
    if asset != "USDT":
        raise ScenarioError(f"{where}.marginAsset", f"is {kind_of(asset)}; the lab models USDT-margined positions")
    side, hedge = _side(row, where, amount)
    size = abs(amount)
    mark = number(row, "markPrice", where, positive=True)
    mode = _mode(row, where)
    if "leverage" in row:
        leverage = number(row, "leverage", where, positive=True)
    else:
        leverage = _v3_leverage(row, where, size, mark)
    margin = number(row, "isolatedWallet", where, positive=True) if mode == "isolated" else None
    return Holding(market=market, side=side, size=size, entry=number(row, "entryPrice", where, positive=True),
                   mark=mark, leverage=leverage, mode=mode, margin=margin, where=where,
                   reported_liquidation=reported_number(row, "liquidationPrice"),
                   reported_maintenance=reported_number(row, "maintMargin")), hedge


def _coin_holding(row: Mapping[str, Any], where: str, amount: float, coin: str) -> tuple[Holding, bool]:
    """A COIN-M perpetual row: ``positionAmt`` in contracts, the margin in the coin. The
    contract value is the specification's (BTC 100 USD, others 10), or what the row's own
    ``notionalValue`` [coin] says where it differs."""
    side, hedge = _side(row, where, amount)
    size, mark = abs(amount), number(row, "markPrice", where, positive=True)
    value = COIN_CONTRACT_VALUES.get(coin, COIN_CONTRACT_DEFAULT)
    notional = optional_number(row, "notionalValue", where)
    if notional:
        implied = abs(notional) * mark / size
        value = value if abs(implied / value - 1) < 0.01 else float(f"{implied:.4g}")  # notionalValue has 8 decimals
    mode = _mode(row, where)
    margin = number(row, "isolatedWallet", where, positive=True) if mode == "isolated" else None
    return Holding(market=text(row, "symbol", where), side=side, size=size,
                   entry=number(row, "entryPrice", where, positive=True), mark=mark,
                   leverage=number(row, "leverage", where, positive=True), mode=mode, margin=margin, where=where,
                   contract_value=value, settle_asset=coin), hedge


def _coin_wallets(account: Mapping[str, Any], coins: set[str]) -> list[CoinBalance]:
    """The COIN-M account's balance of each coin its positions settle in (``walletBalance``,
    isolated wallets included)."""
    out = []
    assets = account.get("assets")
    for index, asset in enumerate(assets if isinstance(assets, list) else []):
        if isinstance(asset, Mapping) and asset.get("asset") in coins:
            where = f"account.assets[{index}]"
            out.append(CoinBalance(asset=str(asset["asset"]), amount=number(asset, "walletBalance", where),
                                   price=None, haircut=None, where=f"{where}.walletBalance"))
    return out


def _holdings(risk: Any) -> tuple[list[Holding], list[str], str]:
    if not isinstance(risk, list):
        raise ScenarioError("positionRisk", "must be a list of positions")
    holdings, hedged, version, legs = [], [], "v3", []
    for index, row in enumerate(risk):
        where = f"positionRisk[{index}]"
        row = mapping(row, where)
        version = "v2" if "marginType" in row or "leverage" in row else version
        amount = number(row, "positionAmt", where)
        if amount == 0:
            continue  # v2 lists every symbol of the market, open or not
        coin = _COIN_PERPETUAL.fullmatch(str(row.get("symbol", "")))
        holding, hedge = _coin_holding(row, where, amount, coin.group(1)) if coin else _holding(row, where, amount)
        holdings.append(holding)
        legs.append(((holding.market, row.get("positionSide", "BOTH")), holding.market, where))
        if hedge and holding.market not in hedged:
            hedged.append(holding.market)
    one_row_each(legs, "Binance sends one row per symbol in one-way mode (positionSide BOTH) and one per side "
                 "in hedge mode (LONG, SHORT)")
    notes = ["Mark prices taken from positionRisk's markPrice."]
    if version == "v3" and holdings:
        levels = ", ".join(f"{h.market} {h.leverage:g}x" for h in holdings)
        notes.append(f"Leverage is not in positionRisk v3: worked out from notional ÷ positionInitialMargin "
                     f"({levels}). Margin mode is not in it either: a position with an isolatedWallet is "
                     "isolated, the others cross.")
    if any(h.mode == "isolated" for h in holdings):
        notes.append("Isolated margin: isolatedWallet (the margin without its unrealized PnL).")
    inverse = [h for h in holdings if h.contract_value is not None]
    if inverse:
        values = ", ".join(sorted({f"{h.market} {h.contract_value:g} USD" for h in inverse}))
        notes.append(f"COIN-M positions: positionAmt is in contracts of a fixed USD value ({values}: Binance's "
                     "contract specification, BTC 100 USD and others 10, or the row's notionalValue where it says "
                     "otherwise); their margin and PnL are in the coin.")
    pairs = [m for m in hedged if sum(h.market == m for h in holdings) > 1]
    if hedged:
        notes.append("Hedge mode: each LONG and SHORT row is its own position"
                     + (f"; {', '.join(pairs)} holds both legs in one market, as Binance does." if pairs else "."))
    return holdings, notes, version


def _wallet(account: Mapping[str, Any]) -> tuple[float, str, list[str]]:
    assets = account.get("assets")
    if isinstance(assets, list):
        entries = rows(account, "assets", "account")
        for index, asset in enumerate(entries):
            if asset.get("asset") == "USDT":
                where = f"account.assets[{index}]"
                others = [f"{a.get('asset')} ({number(a, 'walletBalance', f'account.assets[{i}]'):,.2f})"
                          for i, a in enumerate(entries)
                          if a.get("asset") != "USDT" and (optional_number(a, "walletBalance", "") or 0) > 0]
                notes = [f"Wallet: {where}.walletBalance (USDT, isolated wallets included)."]
                if others:
                    notes.append(f"Other assets in the account are not counted: {', '.join(others)}; "
                                 "the lab's accounts hold USDT only.")
                return number(asset, "walletBalance", where), f"{where}.walletBalance", notes
    if "totalWalletBalance" in account:
        return (number(account, "totalWalletBalance", "account"), "account.totalWalletBalance",
                ["Wallet: account.totalWalletBalance (no USDT entry in assets)."])
    raise ScenarioError("account.assets", "has no USDT entry, and the account no totalWalletBalance")


def _unmatched(account: Mapping[str, Any], holdings: list[Holding]) -> list[str]:
    """Symbols the account lists as open that positionRisk does not (exports of two moments)."""
    listed = account.get("positions")
    if not isinstance(listed, list):
        return []
    held = {h.market for h in holdings}
    extra = sorted({p["symbol"] for i, p in enumerate(listed) if isinstance(p, Mapping) and isinstance(p.get("symbol"), str)
                    and optional_number(p, "positionAmt", f"account.positions[{i}]") and p["symbol"] not in held})
    if not extra:
        return []
    return [f"The account export lists open positions in {', '.join(extra)} that positionRisk does not; "
            "positions are taken from positionRisk only (the two exports may be from different moments)."]


def read(documents: Mapping[str, Any]) -> ExportedAccount:
    """An :class:`ExportedAccount` from Binance documents keyed ``"positionRisk"`` and
    ``"account"``."""
    account = documents.get("account")
    if "positionRisk" not in documents:
        listed = account.get("positions") if isinstance(account, Mapping) else None
        if isinstance(listed, list) and any(optional_number(mapping(p, f"account.positions[{i}]"), "positionAmt", "")
                                            for i, p in enumerate(listed)):
            raise ScenarioError("positionRisk", (
                "is missing: the account export lists open positions but not their entry or mark "
                "prices; paste GET /fapi/v3/positionRisk too"))
        holdings: list[Any] = []
        notes: list[str] = []
        version = "v3"
    else:
        holdings, notes, version = _holdings(documents["positionRisk"])
    if account is None:
        if not holdings:
            raise no_open_position(None)
        raise ScenarioError("account", (
            "is missing: positionRisk has no wallet balance; paste GET /fapi/v3/account too"))
    coins = {h.settle_asset for h in holdings if h.settle_asset is not None}
    try:
        balance, balance_field, wallet_notes = _wallet(mapping(account, "account"))
    except ScenarioError:
        if not coins:
            raise
        balance, balance_field, wallet_notes = 0.0, "account.assets", ["Wallet: no USDT in this COIN-M account."]
    if not holdings:
        raise no_open_position(balance)
    times = [optional_time(r, "updateTime", f"positionRisk[{i}]")
             for i, r in enumerate(documents.get("positionRisk", [])) if isinstance(r, Mapping)]
    endpoints = (f"positionRisk {version}", "account")
    return ExportedAccount(
        exchange="binance", endpoints=endpoints, balance=balance, balance_field=balance_field,
        holdings=tuple(holdings), notes=tuple(notes + wallet_notes + _unmatched(account, holdings)),
        as_of_ms=latest_time(*times), coins=tuple(_coin_wallets(account, coins)))
