"""The account builder's logic, without Streamlit: the positions table, edits, uploads, words.

The builder edits a *draft* (a scenario dict). A draft becomes the session's account only when
it validates; until then it is kept as it is, so a bad edit is never lost, and the error is
told in words that name the position and the field (``Position 2 (sol-long), size: must be
> 0, got -3``).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from margin.fields import parse_json
from margin.presets import load_venue, market_defaults
from margin.scenario import (
    MAX_FILE_BYTES, Scenario, ScenarioError, parse_scenario_text, scenario_from_dict, scenario_to_dict,
)
from margin.presets import market_label
from ui.common.words import position_labels

COLUMNS = ("id", "market", "side", "size", "entry", "leverage", "mode", "margin")
NUMBER_COLUMNS = ("size", "entry", "leverage", "margin")
MARKET_COLUMNS = ("market", "price", "beta", "funding", "contract_value", "tiers")
MARKET_NUMBER_COLUMNS = ("price", "beta", "funding", "contract_value")


# ----------------------------------------------------------------------------- the table


def position_rows(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The draft's positions as table rows (every column present; no margin for cross)."""
    rows = []
    for p in raw.get("positions", []) or []:
        row = {column: p.get(column) for column in COLUMNS}
        row["mode"] = row["mode"] or "cross"
        if row["mode"] != "isolated":
            row["margin"] = None
        rows.append(row)
    return rows


def positions_frame(raw: Mapping[str, Any]) -> pd.DataFrame:
    """The positions table as the editor gets it: every number column a float column.

    The editor takes each column's type from its data: a column of whole numbers (a size of 1
    BTC, an entry of 83,000 USDT, as the preset files have them) would be an integer column,
    and a 0.5 typed into it would be stored as 5 (the browser drops the point) or 0. A float
    column takes what is typed. A cross position's margin is a missing value (blank).

    >>> frame = positions_frame({"positions": [{"id": "a", "market": "BTCUSDT", "side": "long",
    ...     "size": 1, "entry": 83000, "leverage": 20, "mode": "cross"}]})
    >>> [str(frame[c].dtype) for c in NUMBER_COLUMNS], bool(frame["margin"].isna().all())
    (['float64', 'float64', 'float64', 'float64'], True)
    """
    frame = pd.DataFrame(position_rows(raw), columns=list(COLUMNS))
    return frame.astype({column: "float64" for column in NUMBER_COLUMNS})


def tiers_summary(market: Mapping[str, Any]) -> str:
    """A market's maintenance tiers in one line.

    >>> tiers_summary({"tiers": [{"floor": 0, "mmr": 0.004}, {"floor": 50000, "mmr": 0.005},
    ...     {"floor": 250000, "mmr": 0.01}]})
    '0.40 % up to 50,000 USDT, rising over 3 tiers to 1.0 %'
    """
    tiers = market.get("tiers") or [{"floor": 0, "mmr": market.get("mmr", 0)}]
    first = tiers[0]
    text = f"{first.get('mmr', 0) * 100:.2f} %"
    if len(tiers) > 1:
        text += f" up to {tiers[1]['floor']:,.0f} USDT, rising over {len(tiers)} tiers to {tiers[-1]['mmr'] * 100:.1f} %"
    return text


def markets_frame(raw: Mapping[str, Any]) -> pd.DataFrame:
    """The markets table as the editor gets it: price, beta and the funding rate [% per
    funding interval] as float columns (see :func:`positions_frame`), the tiers in words.

    >>> frame = markets_frame({"markets": {"BTCUSDT": {"price": 100000, "mmr": 0.004}}})
    >>> str(frame["price"].dtype), float(frame["beta"][0])
    ('float64', 1.0)
    """
    frame = pd.DataFrame([
        {"market": name, "price": market.get("price"), "beta": market.get("beta", 1.0),
         "funding": percent_of(market.get("funding_rate", 0.0)),
         "contract_value": market.get("contract_value", 1.0) if market.get("contract") == "inverse" else None,
         "tiers": tiers_summary(market)}
        for name, market in (raw.get("markets") or {}).items()
    ], columns=list(MARKET_COLUMNS))
    return frame.astype({column: "float64" for column in MARKET_NUMBER_COLUMNS})


def exact_number(value: float) -> str:
    """A number as it was typed: every digit it holds, none made up, thousands separated.

    >>> exact_number(0.5), exact_number(0.0015), exact_number(83000.0), exact_number(1234567.25)
    ('0.5', '0.0015', '83,000', '1,234,567.25')
    >>> exact_number(1e-7), exact_number(-2.5)
    ('0.0000001', '-2.5')
    """
    text = np.format_float_positional(float(value), trim="-")
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}{dot}{fraction}"


def blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def rows_to_positions(rows: Sequence[Mapping[str, Any]], existing_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Table rows back to position dicts. Blank cells stay blank (None) so validation can name
    them; a row without a name gets a fresh one (``sol-long-3``); margin is kept for isolated
    positions only.

    >>> rows_to_positions([{"id": "", "market": "SOLUSDT", "side": "long", "size": 2.0,
    ...     "entry": 180.0, "leverage": 10.0, "mode": "cross", "margin": float("nan")}])
    [{'id': 'sol-long-1', 'market': 'SOLUSDT', 'side': 'long', 'size': 2.0, 'entry': 180.0, 'leverage': 10.0, 'mode': 'cross'}]
    """
    taken = {str(r.get("id")).strip() for r in rows if not blank(r.get("id"))} | set(existing_ids)
    out = []
    for row in rows:
        position: dict[str, Any] = {}
        for column in COLUMNS:
            value = row.get(column)
            if blank(value):
                value = None
            elif column in NUMBER_COLUMNS:
                value = float(value)
            elif isinstance(value, str):
                value = value.strip()
            position[column] = value
        if position["id"] is None:
            position["id"] = fresh_id(taken, position.get("market"), position.get("side"))
            taken.add(position["id"])
        if position["mode"] is None:
            position["mode"] = "cross"
        if position["mode"] != "isolated" or position["margin"] is None:
            position.pop("margin")
        out.append(position)
    return out


def fresh_id(taken: set[str] | Sequence[str], market: str | None, side: str | None) -> str:
    """``sol-long-2``: the first unused name for a position in ``market`` on ``side``.

    >>> fresh_id({"sol-long-1"}, "SOLUSDT", "long")
    'sol-long-2'
    """
    stem = re.sub(r"usdt$", "", str(market or "position").lower()) + f"-{side or 'long'}"
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def with_positions(raw: Mapping[str, Any], positions: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(dict(raw))
    out["positions"] = positions
    return out


# ----------------------------------------------------------------------------- actions


def add_position(raw: Mapping[str, Any], market: str | None = None) -> dict[str, Any]:
    """The draft plus a small 10x cross long at the market's current price."""
    markets = raw.get("markets", {}) or {}
    market = market or next(iter(markets), None)
    positions = copy.deepcopy(list(raw.get("positions", []) or []))
    taken = {str(p.get("id")) for p in positions}
    price = float((markets.get(market) or {}).get("price") or 1.0)
    size = float(f"{1000.0 / price:.3g}")  # about 1,000 USDT of notional
    positions.append({"id": fresh_id(taken, market, "long"), "market": market, "side": "long",
                      "size": size, "entry": price, "leverage": 10.0, "mode": "cross"})
    return with_positions(raw, positions)


def duplicate_position(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The draft with position ``index`` copied (under a fresh name) right after it."""
    positions = copy.deepcopy(list(raw.get("positions", []) or []))
    copy_of = copy.deepcopy(positions[index])
    copy_of["id"] = fresh_id({str(p.get("id")) for p in positions}, copy_of.get("market"), copy_of.get("side"))
    positions.insert(index + 1, copy_of)
    return with_positions(raw, positions)


def remove_position(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    positions = copy.deepcopy(list(raw.get("positions", []) or []))
    del positions[index]
    return with_positions(raw, positions)


def add_market(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The draft plus market ``name`` at its default price and beta (``assets/markets.json``),
    with the tiers of the account's venue (or the venue's default tiers)."""
    defaults = market_defaults()["markets"][name]
    out = copy.deepcopy(dict(raw))
    venue_id = out.get("venue") or "binance"
    try:
        venue = load_venue(venue_id)
    except FileNotFoundError:
        venue = load_venue("binance")
    tiers = venue["markets"].get(name, {}).get("tiers", venue["default_tiers"])
    out.setdefault("markets", {})[name] = {"price": float(defaults["price"]), "beta": float(defaults["beta"]),
                                           "tiers": copy.deepcopy(tiers)}
    return out


def remove_market(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The draft without market ``name`` (refused in words if a position still trades it)."""
    users = [p.get("id") for p in raw.get("positions", []) or [] if p.get("market") == name]
    if users:
        raise ScenarioError(f"markets.{name}", f"is still traded by {', '.join(map(str, users))}: remove those first")
    out = copy.deepcopy(dict(raw))
    out["markets"].pop(name, None)
    return out


def set_market_values(raw: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Prices, betas and funding rates edited in the markets table (rows: market, price, beta,
    funding [% per interval]).

    >>> set_market_values({"markets": {"BTC": {"price": 1.0}}}, [{"market": "BTC", "price": 2.0, "beta": 1.0,
    ...     "funding": 0.01}])["markets"]["BTC"]
    {'price': 2.0, 'funding_rate': 0.0001}
    """
    out = copy.deepcopy(dict(raw))
    for row in rows:
        market = out["markets"].get(row.get("market"))
        if market is None:
            continue
        for column in ("price", "beta"):
            value = None if blank(row.get(column)) else float(row[column])
            if column == "beta" and "beta" not in market and value == 1.0:
                continue  # the default, left implicit as the file had it
            market[column] = value
        if "funding" in row:
            rate = 0.0 if blank(row.get("funding")) else fraction_of(float(row["funding"]))
            if rate != 0.0 or "funding_rate" in market:  # the default left implicit
                market["funding_rate"] = rate
        if "contract_value" in row:
            _set_contract(market, row.get("contract_value"))
    return out


def _set_contract(market: dict[str, Any], value: Any) -> None:
    """A market's contract as edited in its ``Inverse [USD]`` cell: a number makes it
    ``inverse`` with that ``contract_value`` [USD per contract] (its ``settle_asset`` kept, else
    the scenario format's default from its name); blank makes it ``linear`` (the inverse fields
    dropped, as the format refuses them on a linear market)."""
    if not blank(value):
        market["contract"] = "inverse"
        market["contract_value"] = float(value)
    else:
        for key in ("contract", "contract_value", "settle_asset"):
            market.pop(key, None)


def percent_of(fraction: float) -> float:
    """A fraction as the percent a person would type: 0.0001 → 0.01, with no binary noise."""
    return float(Decimal(repr(float(fraction))) * 100)


def fraction_of(percent: float) -> float:
    """A typed percent as the fraction it means: 0.01 → 0.0001 exactly as decimals go."""
    return float(Decimal(repr(float(percent))) / 100)


# ----------------------------------------------------------------------------- words


def position_lines(scenario: Scenario) -> list[str]:
    """Each position of the account in use, in words, with every number exactly as stored
    (the builder shows them under its table, so a learner sees what was kept of what was typed).

    >>> s = scenario_from_dict({"balance": 9000, "markets": {"BTCUSDT": {"price": 100000, "mmr": 0.004}},
    ...     "positions": [{"id": "a", "market": "BTCUSDT", "side": "long", "size": 0.5, "entry": 83000,
    ...                    "leverage": 20, "mode": "isolated", "margin": 2075}]})
    >>> position_lines(s)
    ['BTC long: 0.5 BTC at an entry of 83,000 USDT, 20× isolated, margin 2,075 USDT']
    """
    labels = position_labels(scenario)
    lines = []
    for p in scenario.positions:
        text = (f"{labels[p.id]}: {exact_number(p.size)} {market_label(p.market)} at an entry of "
                f"{exact_number(p.entry)} USDT, {exact_number(p.leverage)}× {p.mode}")
        if p.is_isolated:
            text += f", margin {exact_number(p.margin)} USDT"
        for kind, trigger in (("stop-loss", p.stop_loss), ("take-profit", p.take_profit)):
            if trigger is not None:
                text += f", {kind} at {exact_number(trigger)}"
        if p.stop_slippage:
            text += f" (slippage {exact_number(percent_of(p.stop_slippage))} %)"
        lines.append(text)
    return lines


def friendly_error(err: ScenarioError, raw: Mapping[str, Any] | None = None) -> str:
    """A validation error in words: the position by number and name, then the field.

    >>> raw = {"positions": [{"id": "a"}, {"id": "sol-long"}]}
    >>> friendly_error(ScenarioError("positions[1].size", "must be > 0, got -3"), raw)
    'Position 2 (sol-long), size: must be > 0, got -3'
    >>> friendly_error(ScenarioError("positions[0].entry", "must be a number, got NoneType"), raw)
    'Position 1 (a), entry: is empty; enter a number'
    >>> friendly_error(ScenarioError("collateral[0].haircut", "must be in [0, 1], got 2"), raw)
    'Collateral 1, haircut: must be in [0, 1], got 2'
    """
    problem = err.problem
    if problem.endswith("got NoneType"):
        problem = "is empty; enter a number"
    field = err.field
    match = re.fullmatch(r"positions\[(\d+)\](?:\.(\w+))?", field)
    if match:
        index = int(match.group(1))
        positions = (raw or {}).get("positions", []) or []
        name = positions[index].get("id") if index < len(positions) and isinstance(positions[index], Mapping) else None
        shown = name if not isinstance(name, str) or len(name) <= 40 else name[:39] + "…"
        where = f"Position {index + 1}" + (f" ({shown})" if name else "")
        column = match.group(2)
        label = {"margin": "isolated margin"}.get(column, column)
        return f"{where}, {label}: {problem}" if column else f"{where}: {problem}"
    match = re.fullmatch(r"collateral\[(\d+)\](?:\.(\w+))?", field)
    if match:
        where = f"Collateral {int(match.group(1)) + 1}"
        return f"{where}, {match.group(2)}: {problem}" if match.group(2) else f"{where}: {problem}"
    match = re.fullmatch(r"markets\.([^.]+)\.(.+)", field)
    if match:
        return f"Market {match.group(1)}, {match.group(2)}: {problem}"
    named = {"balance": "Wallet balance", "scenario": "The file", "name": "Account name"}
    return f"{named.get(field, field)}: {problem}"


def validate(raw: Mapping[str, Any]) -> str | None:
    """``None`` when the draft is a valid account, else the problem in words."""
    try:
        scenario_from_dict(raw)
    except ScenarioError as err:
        return friendly_error(err, raw)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadResult:
    """An uploaded scenario file, read: the account (``None`` when refused) and a one-line message."""

    scenario: dict[str, Any] | None
    message: str


def handle_upload(data: bytes) -> UploadResult:
    """Read an uploaded scenario file (at most 1 MB), validated; never raises.

    >>> handle_upload(b"{not json").message
    'The file is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2. Your current account is unchanged.'
    >>> handle_upload(b" " * 1_000_001).scenario is None
    True
    """
    keep = " Your current account is unchanged."
    if len(data) > MAX_FILE_BYTES:
        return UploadResult(scenario=None, message=(
            f"The file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,} bytes (1 MB).{keep}"))
    try:
        scenario = parse_scenario_text(data)
    except ScenarioError as err:
        try:  # the parsed file, only to name the position the problem is in
            raw = parse_json(data, nan_to_field=True)
        except ScenarioError:
            raw = None
        text = friendly_error(err, raw if isinstance(raw, Mapping) else None)
        if text.startswith("The file: "):
            text = "The file " + text.removeprefix("The file: ")
        return UploadResult(scenario=None, message=text.rstrip(".") + "." + keep)
    raw = scenario_to_dict(scenario)
    return UploadResult(scenario=raw, message=f"Loaded “{scenario.name}” ({len(scenario.positions)} positions).")


EXCHANGE_TITLES = {"binance": "Binance USDS-M", "bybit": "Bybit v5", "okx": "OKX v5", "hyperliquid": "Hyperliquid"}


def handle_exchange_import(pastes: Mapping[str, str | bytes]) -> UploadResult:
    """Read what an exchange exported for positions and balance (files by name, or pasted
    text) into an account under that venue's rules (:func:`margin.imports.read_exchange_export`);
    never raises. A refusal names the file and field, and keeps the current account.

    >>> handle_exchange_import({"pasted": "[]"}).message[:60]
    'Not imported: positions: no open position in this export; th'
    >>> handle_exchange_import({}).message
    'Not imported: paste an export or choose its files first. Your current account is unchanged.'
    """
    from margin.imports import read_exchange_export

    keep = " Your current account is unchanged."
    pastes = {name: text for name, text in pastes.items() if text.strip()}
    if not pastes:
        return UploadResult(scenario=None, message=f"Not imported: paste an export or choose its files first.{keep}")
    try:
        result = read_exchange_export(pastes)
        scenario = scenario_from_dict(result.scenario)
    except ScenarioError as err:
        return UploadResult(scenario=None, message=f"Not imported: {str(err).rstrip('.')}.{keep}")
    notes = " ".join(n.rstrip(".") + "." for n in result.notes)
    title = EXCHANGE_TITLES.get(result.exchange, result.exchange)
    message = (f"Imported your {title} account ({', '.join(result.endpoints)}): {len(scenario.positions)} "
               f"position{'s' if len(scenario.positions) != 1 else ''}, under the {result.venue} preset's rules.")
    return UploadResult(scenario=scenario_to_dict(scenario), message=f"{message} {notes}".strip())


def slug(name: str) -> str:
    """The account's name as a file name.

    >>> slug("My account: BTC & SOL!"), slug("")
    ('my-account-btc-sol', 'account')
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "account"
