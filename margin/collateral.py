"""Collateral other than the USDT wallet: coins whose value moves with their market.

An account's ``collateral`` is a list of ``{"asset", "amount", "market", "haircut"}``: ``amount``
[asset units] of ``asset``, priced by the scenario market ``market`` [USDT per asset unit], so
the sliders, shocks, crash paths and random paths move it as they move that market.

Where an entry counts (it never counts twice):

* An asset that no inverse market settles in counts in the **USDT cross pool** at its
  collateral value ``amount × price × (1 − haircut)`` [USDT], as Binance's Multi-Assets Mode,
  Bybit's unified account and OKX's multi-currency margin count it (each venue publishes a
  haircut, or "collateral ratio" ``1 − haircut``, per asset). Isolated margins stay in the
  USDT ``balance``. The cross pool's equity is then ``wallet + Σ cross PnL + Σ amount × price ×
  (1 − haircut)``: in the price of one market still piecewise linear, the collateral adding
  the slope ``Σ amount × (1 − haircut)`` [asset units] of the entries that market prices
  (:mod:`margin.roots` solves it exactly). When the pool is closed in full (a liquidation that
  leaves nothing open), its collateral is sold at that value into USDT (a ``collateral_sale``
  event): the haircut is the price at which the venue takes it.
* An asset that an inverse market settles in (its ``settle_asset``) is that **coin pool's
  wallet** [coin] and counts there only, whole, never in the USDT pool (Binance COIN-M, Bybit's
  inverse contracts, BitMEX, Deribit and Kraken keep one wallet per settlement coin). A haircut
  on it is refused, since a pool never discounts its own coin. Isolated inverse margins are
  taken out of it, as isolated USDT margins are out of ``balance``. Its ``market`` values the
  pool in USDT (the lab's total equity) and its insurance fund's start (see
  :mod:`margin.settle`).

>>> entries = parse_collateral([{"asset": "BTC", "amount": 1, "market": "BTCUSDT", "haircut": 0.05}],
...                            ("BTCUSDT",), coins=())
>>> entries[0].value(60_000.0)
57000.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Sequence

from margin.fields import ScenarioError, known_fields, mapping, number, rate, text
from margin.inverse import QUOTE
from margin.limits import MAX_ASSET_CHARS, MAX_COLLATERAL, MAX_MONEY, MAX_SIZE

COLLATERAL_FIELDS = ("asset", "amount", "market", "haircut")


@dataclass(frozen=True, slots=True, kw_only=True)
class Collateral:
    """``amount`` [asset units] of ``asset``, priced by market ``market`` [USDT per unit],
    counted at ``1 − haircut`` [fraction] of its value in the USDT cross pool, or whole as
    the wallet of the coin pool it settles (``coin_pool``)."""

    asset: str
    amount: float
    market: str
    haircut: float = 0.0
    coin_pool: bool = False  # the asset settles an inverse market: it is that pool's wallet

    @property
    def factor(self) -> float:
        """``1 − haircut`` [fraction]: the share of its value that counts (the venues'
        "collateral ratio")."""
        return 1.0 - self.haircut

    def value(self, price: float, amount: float | None = None) -> float:
        """Collateral value [USDT] of ``amount`` (default: all of it) at ``price``."""
        return (self.amount if amount is None else amount) * price * self.factor


def parse_collateral(raw: Any, markets: Sequence[str], coins: Collection[str]) -> tuple[Collateral, ...]:
    """The ``collateral`` list validated against the scenario's ``markets`` (names) and the
    coins its inverse markets settle in (``coins``). Every problem names its field."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ScenarioError("collateral", f"must be a list, got {type(raw).__name__}")
    if len(raw) > MAX_COLLATERAL:
        raise ScenarioError("collateral", f"holds {len(raw):,} entries; the limit is {MAX_COLLATERAL}")
    out: list[Collateral] = []
    for index, entry in enumerate(raw):
        where = f"collateral[{index}]"
        entry = mapping(entry, where)
        known_fields(entry, where, COLLATERAL_FIELDS)
        asset = text(entry.get("asset"), f"{where}.asset", max_chars=MAX_ASSET_CHARS)
        if asset == QUOTE:
            raise ScenarioError(f"{where}.asset", f"{QUOTE} is the account's balance; put it in 'balance'")
        if any(c.asset == asset for c in out):
            raise ScenarioError(f"{where}.asset", f"duplicate asset {asset!r}: one entry per asset")
        amount = number(entry.get("amount"), f"{where}.amount", low=0.0, high=MAX_SIZE)
        market = entry.get("market")
        if not isinstance(market, str) or market not in markets:
            shown = repr(market) if len(repr(market)) <= 50 else repr(market)[:47] + "…"
            raise ScenarioError(f"{where}.market", f"unknown market {shown} (markets: {', '.join(markets)})")
        coin_pool = asset in coins
        haircut = rate(entry.get("haircut", 0.0), f"{where}.haircut")
        if coin_pool and haircut > 0:
            raise ScenarioError(f"{where}.haircut", (
                f"{asset} margins the inverse contracts that settle in it and counts there whole; a haircut "
                "applies to collateral in the USDT cross pool only"))
        out.append(Collateral(asset=asset, amount=amount, market=market, haircut=haircut, coin_pool=coin_pool))
    return tuple(out)


def check_collateral_value(entries: Sequence[Collateral], prices: dict[str, float]) -> None:
    """Refuse an entry whose value at its market's price passes the money bound."""
    for index, entry in enumerate(entries):
        worth = entry.amount * prices[entry.market]
        if worth > MAX_MONEY:
            raise ScenarioError(f"collateral[{index}].amount",
                                f"is worth {worth:,.0f} USDT at its market's price; the limit is {MAX_MONEY:,.0f}")


def collateral_dicts(entries: Sequence[Collateral]) -> list[dict[str, Any]]:
    """The entries as the file writes them (``haircut`` only when not 0)."""
    out = []
    for c in entries:
        item: dict[str, Any] = {"asset": c.asset, "amount": c.amount, "market": c.market}
        if c.haircut:
            item["haircut"] = c.haircut
        out.append(item)
    return out


__all__ = ["COLLATERAL_FIELDS", "Collateral", "check_collateral_value", "collateral_dicts", "parse_collateral"]
