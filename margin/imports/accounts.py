"""An exchange account as read from its export, and the scenario file made from it.

Each venue reader turns its JSON into an :class:`ExportedAccount`: open positions
(:class:`Holding`, one per position and hedge-mode leg) and the wallet, with notes saying
what was assumed. :func:`to_scenario` then builds the scenario dict under the venue's preset
rules (``assets/venues/<venue>.json`` through :func:`margin.presets.apply_venue`) and checks
it with :func:`margin.scenario.scenario_from_dict`.

>>> account = ExportedAccount(exchange="binance", endpoints=("positionRisk v3", "account"),
...     balance=1000.0, balance_field="account.totalWalletBalance", holdings=(
...     Holding(market="BTCUSDT", side="long", size=0.1, entry=60000.0, mark=61000.0,
...             leverage=200.0, mode="cross", margin=None, where="positionRisk[0]"),))
>>> scenario, notes = to_scenario(account)
>>> scenario["positions"][0]["leverage"], scenario["markets"]["BTCUSDT"]["price"]
(125, 61000.0)
>>> print(notes[-1])
Leverage outside the preset's range for the position's size (1x to its tier's maximum), set to the nearest end: btc-long 200x → 125x. Leverage only sets the initial margin shown; an isolated position keeps the margin it has.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from margin.imports.coins import CoinBalance, add_collateral, coin_tiers, inverse_market
from margin.imports.documents import MAX_TIME_MS
from margin.numbers import money
from margin.presets import apply_venue, load_venue, market_defaults, venue_ids
from margin.scenario import FORMAT, ScenarioError, scenario_from_dict

QUOTE = "USDT"
EXCHANGE_NAMES = {"binance": "Binance USDS-M", "bybit": "Bybit", "okx": "OKX", "hyperliquid": "Hyperliquid"}
# The lab's preset for each exchange (assets/venues/<preset>.json).
PRESETS = {"binance": "binance", "bybit": "bybit", "okx": "okx", "hyperliquid": "hyperliquid"}
_MARKET = re.compile(r"[A-Z0-9]{1,20}USDT")


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """One open position as the exchange reports it, in the lab's terms.

    ``size`` [base units, > 0], ``entry`` and ``mark`` [USDT per base], ``margin`` [USDT]
    for isolated positions (the margin before unrealized PnL), ``where`` the export row it
    came from (for messages). A coin-margined (inverse) position has ``contract_value`` [USD
    per contract] and ``settle_asset``: its ``size`` is in contracts, its margin in the coin.
    ``reported_liquidation`` [USDT per base] and ``reported_maintenance`` [USDT] are the
    exchange's own figures where its export carries them (None otherwise), to be shown beside
    the lab's, never used to compute.
    """

    market: str
    side: str
    size: float
    entry: float
    mark: float
    leverage: float
    mode: str
    margin: float | None
    where: str
    contract_value: float | None = None
    settle_asset: str | None = None
    reported_liquidation: float | None = None
    reported_maintenance: float | None = None


def reported_number(obj: Mapping[str, Any], key: str) -> float | None:
    """An exchange's own figure (a liquidation price, a maintenance margin) when it is a finite
    positive number; None for anything else ("", "0", absent, text): a figure only shown
    beside the lab's never refuses an import.

    >>> reported_number({"liquidationPrice": "84368.1"}, "liquidationPrice"), reported_number({"liqPx": ""}, "liqPx")
    (84368.1, None)
    >>> reported_number({"liquidationPrice": "0"}, "liquidationPrice"), reported_number({"x": "nan"}, "x")
    (None, None)
    """
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedAccount:
    """An account read from one exchange's export: the wallet ``balance`` [USDT] before
    unrealized PnL (isolated margins included), the open positions, and what was assumed."""

    exchange: str
    endpoints: tuple[str, ...]
    balance: float
    balance_field: str
    holdings: tuple[Holding, ...]
    notes: tuple[str, ...] = ()
    as_of_ms: int | None = None
    coins: tuple[CoinBalance, ...] = ()  # balances other than USDT (margin.imports.coins)


def market_name(base: str, where: str) -> str:
    """The lab's market for a base coin (``"BTC"`` → ``"BTCUSDT"``).

    >>> market_name("eth", "x")
    'ETHUSDT'
    """
    name = f"{base.upper()}{QUOTE}"
    if not _MARKET.fullmatch(name):
        raise ScenarioError(where, f"{base!r} is not a coin name the lab can use as a market")
    return name


def no_open_position(balance: float | None) -> ScenarioError:
    """The error for an export without an open position (decided: refuse, do not build an
    empty account; an account without positions has no market and nothing to show)."""
    wallet = f" (the wallet holds {money(balance)})" if balance is not None else ""
    return ScenarioError("positions", (
        f"no open position in this export{wallet}; the lab needs at least one open position to show "
        "anything. Export again while a position is open, or build one in the Account builder."))


def latest_time(*values: object) -> int | None:
    """The latest of some exchange timestamps [ms] (numbers or digit strings), ignoring others
    and any no date can be made of (:func:`margin.imports.documents.optional_time` refuses
    those by name).

    >>> latest_time(1720736417660, "1735689000000", None, "9" * 40, -1)
    1735689000000
    """
    times = [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    times += [int(v) for v in values if isinstance(v, str) and v.isascii() and v.isdigit()]
    times = [t for t in times if 0 <= t <= MAX_TIME_MS]
    return max(times) if times else None


def one_row_each(legs: Sequence[tuple[object, str, str]], rule: str) -> None:
    """Refuse an export that lists one position twice. ``legs``: (key, what, where) per open
    row, the key what makes a position (a symbol and side, say), ``what`` the key in words;
    ``rule`` says how many rows the exchange sends. Two rows of one key are two exports pasted
    as one or a damaged export; adding them up would make a position the exchange never held.

    >>> one_row_each([(("ADAUSDT", "BOTH"), "ADAUSDT", "positionRisk[0]")], "one row per symbol")
    >>> try:
    ...     one_row_each([("A", "ADAUSDT", "positionRisk[0]"), ("A", "ADAUSDT", "positionRisk[2]")],
    ...                  "Binance sends one row per symbol in one-way mode")
    ... except ScenarioError as err:
    ...     print(err)
    positionRisk[2]: repeats positionRisk[0] (ADAUSDT): Binance sends one row per symbol in one-way mode, so this is not one export as the exchange sent it (two pasted together?); paste each export once
    """
    first: dict[object, str] = {}
    for key, what, where in legs:
        if key in first:
            raise ScenarioError(where, (
                f"repeats {first[key]} ({what}): {rule}, so this is not one export as the exchange sent "
                "it (two pasted together?); paste each export once"))
        first[key] = where


def preset_for(exchange: str) -> str:
    """The venue preset an exchange's import is put under (each has its own).

    >>> preset_for("okx")
    'okx'
    """
    wanted = PRESETS[exchange]
    if wanted not in venue_ids():
        raise ScenarioError("venue", f"the lab's {wanted!r} preset is missing from assets/venues/")
    return wanted


def as_of_text(as_of_ms: int | None) -> str | None:
    """``"2024-07-11 22:20 UTC"`` for a time in milliseconds since the epoch.

    >>> as_of_text(1720736417660)
    '2024-07-11 22:20 UTC'
    """
    if as_of_ms is None or not 0 < as_of_ms <= MAX_TIME_MS:
        return None
    return datetime.fromtimestamp(as_of_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _position_ids(holdings: tuple[Holding, ...]) -> list[str]:
    """``btc-long``, ``btc-short``; ``btc-long-isolated`` when one market and side hold a
    cross and an isolated position (OKX allows both); ``-2`` for any repeat."""
    ids: list[str] = []
    for holding in holdings:
        base = holding.market.removesuffix(QUOTE).lower()
        twin = any(h is not holding and h.market == holding.market and h.side == holding.side
                   and h.mode != holding.mode for h in holdings)
        candidate = f"{base}-{holding.side}" + (f"-{holding.mode}" if twin else "")
        unique, n = candidate, 1
        while unique in ids:
            n += 1
            unique = f"{candidate}-{n}"
        ids.append(unique)
    return ids


def _markets(account: ExportedAccount) -> tuple[dict[str, dict], list[str]]:
    known = market_defaults()["markets"]
    markets: dict[str, dict] = {}
    notes = []
    for holding in account.holdings:
        if holding.market in markets:
            continue
        if holding.contract_value is not None:
            markets[holding.market] = inverse_market(holding.market, holding.contract_value, str(holding.settle_asset),
                                                     tidy(holding.mark))
            continue
        beta = known.get(holding.market, {}).get("beta", 1.0)
        markets[holding.market] = {"price": tidy(holding.mark), "beta": beta}
    strangers = [name for name in markets if name not in known and markets[name].get("contract") != "inverse"]
    if strangers:
        notes.append(f"{', '.join(strangers)}: not among the lab's five markets; the preset's tiers for "
                     "other markets apply and the market moves with BTC (beta 1) in a market-wide shock.")
    return markets, notes


def _positions(account: ExportedAccount) -> list[dict]:
    positions = []
    for position_id, h in zip(_position_ids(account.holdings), account.holdings):
        entry = {"id": position_id, "market": h.market, "side": h.side, "size": tidy(h.size),
                 "entry": h.entry, "leverage": h.leverage, "mode": h.mode}
        if h.mode == "isolated" and h.margin is not None:
            entry["margin"] = tidy(h.margin)
        positions.append(entry)
    return positions


def _reported(account: ExportedAccount) -> dict[str, dict]:
    """The exchange's own liquidation price and maintenance margin per position id, with the
    size and entry they belong to (an edited position no longer matches them)."""
    out = {}
    for position_id, h in zip(_position_ids(account.holdings), account.holdings):
        if h.reported_liquidation is None and h.reported_maintenance is None:
            continue
        out[position_id] = {"liquidation_price": h.reported_liquidation, "maintenance_margin": h.reported_maintenance,
                            "size": tidy(h.size), "entry": h.entry, "where": h.where}
    return out


def _clamp_leverage(scenario: dict) -> list[str]:
    """Leverage above the preset tier's maximum would be refused by the scenario loader;
    the exchange allowed it under its own tiers, so it is lowered to the maximum, with a note."""
    lowered = []
    for position in scenario["positions"]:
        market = scenario["markets"][position["market"]]
        tiers = market["tiers"]
        value = position["size"] * (market["contract_value"] / position["entry"] if market.get("contract") == "inverse"
                                    else position["entry"])
        tier = [t for t in tiers if t["floor"] <= value][-1]
        ceiling = tier.get("max_leverage")
        if ceiling is not None and position["leverage"] > ceiling:
            lowered.append(f"{position['id']} {position['leverage']:g}x → {ceiling:g}x")
            position["leverage"] = ceiling
        elif position["leverage"] < 1:  # over-margined: worked out below 1x; no venue sets that
            lowered.append(f"{position['id']} {position['leverage']:g}x → 1x")
            position["leverage"] = 1
    if not lowered:
        return []
    return [f"Leverage outside the preset's range for the position's size (1x to its tier's maximum), set "
            f"to the nearest end: {', '.join(lowered)}. Leverage only sets the initial margin shown; an "
            "isolated position keeps the margin it has."]


def tidy(value: float) -> float:
    """A computed amount to 12 significant digits (``0.1 * 3`` is 0.3, not 0.30000000000000004).

    >>> tidy(0.1 * 3), tidy(100.02765 / 0.0335)
    (0.3, 2985.9)
    """
    return float(f"{value:.12g}")


def _story(account: ExportedAccount, preset: str) -> str:
    count = len(account.holdings)
    when = as_of_text(account.as_of_ms)
    isolated = sum(h.mode == "isolated" for h in account.holdings)
    return (
        f"Imported from your {EXCHANGE_NAMES[account.exchange]} export "
        f"({' and '.join(account.endpoints)}{', as of ' + when if when else ''}): "
        f"{count} open position{'s' if count != 1 else ''} ({count - isolated} cross, {isolated} isolated) "
        f"and a wallet of {money(account.balance)}, at the exchange's mark prices. The rules and "
        f"maintenance tiers are the lab's {load_venue(preset)['name']} preset, not your account's own "
        "brackets, so liquidation prices can differ a little from the exchange's.")


def to_scenario(account: ExportedAccount) -> tuple[dict, list[str]]:
    """The scenario dict for an exported account and the notes on how it was made.

    Raises :class:`ScenarioError` for an account with no open position, and for a wallet
    that does not cover the isolated margins (two exports from different moments).
    """
    if not account.holdings:
        raise no_open_position(account.balance)
    locked = sum(h.margin or 0.0 for h in account.holdings if h.mode == "isolated" and h.contract_value is None)
    if locked > account.balance * (1 + 1e-9) + 1e-6:
        raise ScenarioError(account.balance_field, (
            f"the wallet ({money(account.balance)}) does not cover the isolated margins "
            f"({money(locked)}): were the two exports taken from one account at one moment?"))
    preset = preset_for(account.exchange)
    markets, market_notes = _markets(account)
    draft: dict[str, Any] = {
        "format": FORMAT,
        "name": f"My {EXCHANGE_NAMES[account.exchange]} account (imported)",
        "story": _story(account, preset),
        "balance": tidy(account.balance),
        "markets": markets,
        "positions": _positions(account),
        "imported": {"exchange": account.exchange, "endpoints": list(account.endpoints),
                     "as_of": as_of_text(account.as_of_ms)},
    }
    coin_notes = add_collateral(draft, account.coins, preset)
    reported = _reported(account)
    if reported:
        draft["imported"]["reported"] = reported
    scenario = apply_venue(draft, preset)
    notes = list(account.notes)
    notes.append(f"Maintenance tiers and liquidation rules: the lab's preset (assets/venues/{preset}.json), "
                 "not your account's own bracket.")
    notes += market_notes + coin_tiers(scenario, preset) + coin_notes
    notes += _clamp_leverage(scenario)
    scenario_from_dict(copy.deepcopy(scenario))  # the contract: what we return loads
    return scenario, notes
