"""OKX v5: ``GET /api/v5/account/positions`` and ``GET /api/v5/account/balance``, optionally
``GET /api/v5/public/instruments?instType=SWAP`` for contract values.

``pos`` is in **contracts**: the size in base units is ``|pos| × ctVal``, with ``ctVal`` from
the shipped table (``assets/imports/okx-contracts.json``: BTC, ETH, SOL, XRP and DOGE
USDT swaps) or from a pasted instruments response; an instrument with neither is refused by
name. In net mode the sign of ``pos`` is the direction; in long/short mode ``posSide`` is, and
a long and a short of one swap become two positions of opposite side in one market. Only
``SWAP`` instruments settled in USDT (``XXX-USDT-SWAP``) are read: MARGIN, FUTURES, OPTION and
inverse (``BTC-USD-SWAP``) positions are refused. The wallet is the USDT ``cashBal``.

>>> positions = {"code": "0", "data": [{"instType": "SWAP", "instId": "ETH-USDT-SWAP",
...     "mgnMode": "isolated", "posSide": "long", "pos": "1", "avgPx": "3011",
...     "markPx": "3010.54", "lever": "10", "margin": "30.11"}]}
>>> balance = {"code": "0", "data": [{"details": [{"ccy": "USDT", "cashBal": "1000"}]}]}
>>> h = read({"positions": positions, "balance": balance}).holdings[0]
>>> h.market, h.side, h.size, h.mode, h.margin
('ETHUSDT', 'long', 0.1, 'isolated', 30.11)
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from margin.imports.accounts import (
    ExportedAccount, Holding, latest_time, market_name, no_open_position, one_row_each, reported_number,
)
from margin.imports.coins import CoinBalance, other_coins
from margin.imports.documents import kind_of, listing, mapping, number, optional_number, optional_time, rows, text
from margin.scenario import ScenarioError
from margin.numbers import money

CONTRACTS_FILE = Path(__file__).resolve().parents[2] / "assets" / "imports" / "okx-contracts.json"
_SWAP = re.compile(r"([A-Z0-9]{1,20})-USDT-SWAP")
MODES = ("cross", "isolated")


@lru_cache(maxsize=1)
def shipped_contract_values() -> dict[str, float]:
    """ctVal [base coin per contract] of the swaps the lab knows without help."""
    return {k: float(v) for k, v in json.loads(CONTRACTS_FILE.read_text(encoding="utf-8"))["contracts"].items()}


def _contract_values(documents: Mapping[str, Any]) -> tuple[dict[str, float], bool]:
    values = dict(shipped_contract_values())
    if "instruments" not in documents:
        return values, False
    for index, row in enumerate(rows(mapping(documents["instruments"], "instruments"), "data", "instruments")):
        where = f"instruments.data[{index}]"
        if row.get("ctType", "linear") == "linear" and row.get("instType", "SWAP") == "SWAP":
            multiplier = optional_number(row, "ctMult", where) or 1.0
            values[text(row, "instId", where)] = number(row, "ctVal", where, positive=True) * multiplier
    return values, True


def _market(row: Mapping[str, Any], where: str, contract_values: Mapping[str, float]) -> tuple[str, float]:
    kind = text(row, "instType", where)
    instrument = text(row, "instId", where)
    if kind != "SWAP":
        raise ScenarioError(f"{where}.instType", (
            f"is {kind!r} ({instrument}): not a perpetual swap; the lab models USDT perpetual swaps only"))
    swap = _SWAP.fullmatch(instrument)
    if swap is None:
        raise ScenarioError(f"{where}.instId", (
            f"{instrument!r} is not a USDT-margined swap (BTC-USD-SWAP is inverse, margined in the coin); "
            "the lab models XXX-USDT-SWAP only"))
    if instrument not in contract_values:
        known = listing(sorted(contract_values), most=12)
        raise ScenarioError(f"{where}.instId", (
            f"no contract value (ctVal) is known for {instrument!r}, so its pos (in contracts) cannot be "
            f"turned into coins; the lab knows {known}. Paste GET /api/v5/public/instruments?instType=SWAP "
            "with your positions to import it"))
    return market_name(swap.group(1), f"{where}.instId"), contract_values[instrument]


def _side(row: Mapping[str, Any], where: str, pos: float) -> str:
    leg = row.get("posSide", "net")
    if leg == "net":
        return "long" if pos > 0 else "short"
    if leg not in ("long", "short"):
        raise ScenarioError(f"{where}.posSide", f"must be 'net', 'long' or 'short', got {kind_of(leg)}")
    if pos < 0:
        raise ScenarioError(f"{where}.pos", f"must be positive in long/short mode, got {pos:g}")
    return leg


def _holding(row: Mapping[str, Any], where: str, pos: float, contract_values: Mapping[str, float]) -> Holding:
    market, contract_value = _market(row, where, contract_values)
    mode = text(row, "mgnMode", where)
    if mode not in MODES:
        raise ScenarioError(f"{where}.mgnMode", f"must be 'cross' or 'isolated', got {mode!r}")
    margin = number(row, "margin", where, positive=True) if mode == "isolated" else None
    return Holding(market=market, side=_side(row, where, pos), size=abs(pos) * contract_value,
                   entry=number(row, "avgPx", where, positive=True), mark=number(row, "markPx", where, positive=True),
                   leverage=number(row, "lever", where, positive=True), mode=mode, margin=margin, where=where,
                   reported_liquidation=reported_number(row, "liqPx"), reported_maintenance=reported_number(row, "mmr"))


def _holdings(documents: Mapping[str, Any]) -> tuple[list[Holding], list[str]]:
    contract_values, pasted = _contract_values(documents)
    holdings, legs, keys = [], False, []
    for index, row in enumerate(rows(mapping(documents["positions"], "positions"), "data", "positions")):
        where = f"positions.data[{index}]"
        pos = number(row, "pos", where)
        if pos == 0:
            continue
        holdings.append(_holding(row, where, pos, contract_values))
        keys.append(((row["instId"], row["mgnMode"], row.get("posSide", "net")), row["instId"], where))
        legs = legs or row.get("posSide") in ("long", "short")
    one_row_each(keys, "OKX sends one row per swap, margin mode and posSide")
    sizes = ", ".join(sorted({f"{h.market.removesuffix('USDT')}-USDT-SWAP" for h in holdings}))
    notes = ["Mark prices taken from positions' markPx.",
             f"Sizes: pos is in contracts, multiplied by each swap's contract value ctVal ({sizes}; from "
             + ("the instruments you pasted and " if pasted else "") + "assets/imports/okx-contracts.json)."]
    if any(h.mode == "isolated" for h in holdings):
        notes.append("Isolated margin: the position's margin field (without its unrealized PnL).")
    if legs:
        notes.append("Long/short mode: each posSide long or short row is its own position; a long and a short "
                     "of one swap are two positions of opposite side in one market.")
    return holdings, notes


def _wallet(document: Any) -> tuple[float, str, list[str]]:
    accounts = rows(mapping(document, "balance"), "data", "balance")
    if not accounts:
        raise ScenarioError("balance.data", "is empty: no account in this export")
    details = rows(accounts[0], "details", "balance.data[0]")
    for index, detail in enumerate(details):
        if detail.get("ccy") == "USDT":
            where = f"balance.data[0].details[{index}]"
            notes = ["Wallet: the USDT cashBal, taken to include isolated margins (OKX counts them as frozen "
                     "balance; not confirmed by a published OKX example)."]
            bots = optional_number(detail, "stgyEq", where) or 0.0
            if bots > 0:
                notes.append(f"{money(bots)} held by trading bots (stgyEq) is not part of the wallet here.")
            return number(detail, "cashBal", where), f"{where}.cashBal", notes
    held = listing(d.get("ccy") for d in details)
    raise ScenarioError("balance.data[0].details", f"has no USDT entry (currencies: {held}); the lab's accounts are in USDT")


def _coins(document: Any) -> tuple[list[CoinBalance], list[str]]:
    """The balance's currencies other than USDT with a positive ``cashBal``: collateral in
    multi-currency margin mode, priced ``eqUsd / eq`` [USD per unit], its haircut the
    exchange's own, ``1 − disEq / eqUsd`` (OKX's discounted equity)."""
    accounts = rows(mapping(document, "balance"), "data", "balance")
    out = []
    for name, where, amount, detail in other_coins(accounts, "details", "balance.data[0]", name="ccy", amount="cashBal"):
        if amount <= 0:
            continue
        equity, worth = optional_number(detail, "eq", where), optional_number(detail, "eqUsd", where)
        discounted = optional_number(detail, "disEq", where)
        price = worth / equity if worth and equity else None
        haircut = 1.0 - discounted / worth if discounted is not None and worth else None
        out.append(CoinBalance(asset=name, amount=amount, price=price, haircut=haircut, where=f"{where}.disEq"))
    notes = ["Currencies other than USDT are counted as collateral, as in OKX's multi-currency margin mode (in "
             "single-currency mode they would not margin USDT swaps; the export does not say the mode)."] if out else []
    return out, notes


def read(documents: Mapping[str, Any]) -> ExportedAccount:
    """An :class:`ExportedAccount` from OKX documents keyed ``"positions"``, ``"balance"`` and
    (optional) ``"instruments"``."""
    if "positions" not in documents:
        raise ScenarioError("positions", "is missing: paste GET /api/v5/account/positions too")
    holdings, notes = _holdings(documents)
    if "balance" not in documents:
        if not holdings:
            raise no_open_position(None)
        raise ScenarioError("balance", "is missing: positions have no wallet balance; paste GET /api/v5/account/balance too")
    balance, balance_field, wallet_notes = _wallet(documents["balance"])
    if not holdings:
        raise no_open_position(balance)
    coins, coin_notes = _coins(documents["balance"])
    times = [optional_time(r, "uTime", f"positions.data[{i}]")
             for i, r in enumerate(mapping(documents["positions"], "positions").get("data", [])) if isinstance(r, Mapping)]
    endpoints = ("account/positions", "account/balance")
    return ExportedAccount(exchange="okx", endpoints=endpoints, balance=balance, balance_field=balance_field,
                           holdings=tuple(holdings), notes=tuple(notes + wallet_notes + coin_notes),
                           as_of_ms=latest_time(*times), coins=tuple(coins))
