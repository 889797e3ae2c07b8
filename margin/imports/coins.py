"""Coins in an exchange export: coin-margined (inverse) positions and balances other than USDT,
mapped onto the scenario's inverse markets and ``collateral`` (:mod:`margin.collateral`).

* An inverse position (Binance COIN-M, Bybit inverse) becomes a market ``"contract":
  "inverse"`` named as the exchange names it (``BTCUSD_PERP``, ``BTCUSD``), with its contract
  value and settlement coin. The venue presets' tier tables are in USDT; a coin market gets one
  tier at the preset's first maintenance rate and leverage, in the coin (said in the notes).
* A balance in the settlement coin of an inverse position is that coin pool's wallet.
* Any other balance counts in the USDT cross pool, priced by ``<COIN>USDT`` (a market of the
  scenario, added at the export's price when no position trades it), at the exchange's haircut
  where the export gives one (OKX's ``disEq / eqUsd``), else at the lab's preset haircut
  (``assets/imports/haircuts.json``); the notes say which.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from margin.imports.documents import optional_number, rows
from margin.presets import load_venue, market_defaults

HAIRCUTS_FILE = Path(__file__).resolve().parents[2] / "assets" / "imports" / "haircuts.json"
QUOTE = "USDT"


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinBalance:
    """A balance other than USDT: ``amount`` [coin units] of ``asset``, its ``price`` [USDT per
    unit] as the export values it (None: not given), the exchange's ``haircut`` [fraction] where
    the export gives one, and ``where`` it was read."""

    asset: str
    amount: float
    price: float | None
    haircut: float | None
    where: str


def other_coins(accounts: list[Mapping[str, Any]], key: str, where: str, *, name: str,
                amount: str) -> Iterator[tuple[str, str, float, Mapping[str, Any]]]:
    """The coins other than USDT of an exchange's balance export, in the first account's list
    ``key`` (Bybit's wallet-balance ``coin``, OKX's balance ``details``): each as (its name in
    field ``name``, where it stands, its field ``amount`` [coin units; 0 when absent], the row).

    >>> [c[:3] for c in other_coins([{"details": [{"ccy": "USDT", "cashBal": "5"}, {"ccy": "BTC"},
    ...                                              {"ccy": "ETH", "cashBal": "2.5"}]}],
    ...                             "details", "balance.data[0]", name="ccy", amount="cashBal")]
    [('BTC', 'balance.data[0].details[1]', 0.0), ('ETH', 'balance.data[0].details[2]', 2.5)]
    """
    for index, row in enumerate(rows(accounts[0], key, where) if accounts else []):
        asset, here = row.get(name), f"{where}.{key}[{index}]"
        if isinstance(asset, str) and asset != "USDT":
            yield asset, here, optional_number(row, amount, here) or 0.0, row


@lru_cache(maxsize=1)
def _haircut_tables() -> dict[str, Any]:
    return json.loads(HAIRCUTS_FILE.read_text(encoding="utf-8"))["venues"]


def preset_haircut(venue: str, asset: str) -> tuple[float, str]:
    """The lab's haircut [fraction] for ``asset`` under venue preset ``venue``, and its source."""
    table = _haircut_tables().get(venue, _haircut_tables()["default"])
    if asset in table["assets"]:
        return float(table["assets"][asset]), table["source"]
    return float(table["default"]), table["default_source"]


def inverse_market(name: str, contract_value: float, coin: str, price: float) -> dict[str, Any]:
    """A scenario market for an inverse contract (tiers are set after the preset)."""
    return {"price": price, "beta": market_defaults()["markets"].get(f"{coin}{QUOTE}", {}).get("beta", 1.0),
            "contract": "inverse", "contract_value": contract_value, "settle_asset": coin}


def coin_tiers(scenario: dict[str, Any], preset: str) -> list[str]:
    """Give each inverse market one tier in its coin: the preset's first rate and leverage."""
    inverse = [name for name, m in scenario["markets"].items() if m.get("contract") == "inverse"]
    if not inverse:
        return []
    first = load_venue(preset)["default_tiers"][0]
    for name in inverse:
        scenario["markets"][name]["tiers"] = [copy.deepcopy(first)]
    return [f"Coin-margined markets ({', '.join(inverse)}): the preset's tiers are in USDT, so one tier in the coin "
            f"applies, at the preset's first maintenance rate {first['mmr'] * 100:g} % and up to "
            f"{first.get('max_leverage', 'any')}x; your exchange's coin-margined brackets may differ."]


def add_collateral(scenario: dict[str, Any], coins: tuple[CoinBalance, ...], preset: str) -> list[str]:
    """Put the export's coin balances into ``scenario`` (markets and ``collateral``); the notes."""
    settled = {m["settle_asset"]: name for name, m in scenario["markets"].items() if m.get("contract") == "inverse"}
    entries, wallets, counted, skipped = [], [], [], []
    for coin in coins:
        if coin.asset in settled:
            entries.append({"asset": coin.asset, "amount": coin.amount, "market": settled[coin.asset]})
            wallets.append(f"{coin.asset} {coin.amount:g}")
            continue
        market = f"{coin.asset}{QUOTE}"
        if market not in scenario["markets"]:
            if coin.price is None or coin.price <= 0 or coin.amount <= 0:
                skipped.append(coin.asset)
                continue
            scenario["markets"][market] = {"price": coin.price,
                                           "beta": market_defaults()["markets"].get(market, {}).get("beta", 1.0)}
        haircut, source = (min(max(coin.haircut, 0.0), 0.999), f"the exchange's, {coin.where}") \
            if coin.haircut is not None else preset_haircut(preset, coin.asset)
        entries.append({"asset": coin.asset, "amount": coin.amount, "market": market, "haircut": round(haircut, 6)})
        counted.append(f"{coin.asset} {coin.amount:g} at a haircut of {haircut * 100:g} % ({source})")
    for asset, name in settled.items():  # a coin pool with no balance in the export: the margins it must cover
        if asset not in {e["asset"] for e in entries}:
            locked = sum(p.get("margin", 0.0) for p in scenario["positions"] if p["market"] == name
                         and p["mode"] == "isolated")
            entries.append({"asset": asset, "amount": locked, "market": name})
            wallets.append(f"{asset} (no balance in the export: its isolated margins only)")
    if entries:
        scenario["collateral"] = entries
    notes = []
    if wallets:
        notes.append(f"Coin wallets of the coin-margined positions, counted whole in their coin: {', '.join(wallets)}.")
    if counted:
        notes.append("Collateral other than USDT, counted in the USDT cross pool at its price × (1 − haircut) and "
                     "moving with that price: " + "; ".join(counted) + ".")
    if skipped:
        notes.append(f"Not counted (no price in the export and no market): {', '.join(skipped)}.")
    return notes


__all__ = ["CoinBalance", "add_collateral", "coin_tiers", "inverse_market", "preset_haircut"]
