"""Scenario files: loading, validation and the frozen dataclasses the engine works on.

A scenario is validated once, here, at the boundary. Every problem raises
:class:`ScenarioError` whose message names the field, e.g.
``positions[1].size: must be > 0, got -3``. Past this module the engine trusts its inputs.

>>> s = scenario_from_dict({"balance": 100, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 1, "entry": 100,
...                    "leverage": 10, "mode": "isolated"}]})
>>> s.positions[0].margin, s.cross_wallet
(10.0, 90.0)
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

FORMAT = "margin-scenario/1"
MAX_FILE_BYTES = 1_000_000  # a scenario file larger than 1 MB is refused unread

MM_BASES = ("mark", "entry")
LIQUIDATION_STYLES = ("full", "partial")
SETTLEMENTS = ("bankruptcy", "mark")
SIDES = ("long", "short")
MODES = ("cross", "isolated")


class ScenarioError(ValueError):
    """Bad input. ``str(err)`` is one line: ``<field>: <problem>``."""

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """One maintenance tier: applies to notional ≥ ``floor`` [quote].

    ``cum`` [quote] is derived so that maintenance margin is continuous across floors:
    ``MM = notional * mmr - cum``.
    """

    floor: float
    mmr: float
    max_leverage: float = math.inf
    cum: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """A market: its current mark ``price`` [quote per base] and maintenance tiers.

    ``beta`` scales a whole-market shock for this market (1 = moves with the market).
    """

    name: str
    price: float
    tiers: tuple[Tier, ...]
    beta: float = 1.0

    def tier_for(self, notional: float) -> Tier:
        """The tier that applies to a notional [quote]."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if notional >= tier.floor:
                chosen = tier
        return chosen

    def maintenance_margin(self, notional: float) -> float:
        """Maintenance margin [quote] of a position of this notional [quote]."""
        tier = self.tier_for(notional)
        return notional * tier.mmr - tier.cum


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """How the venue judges and settles a breach (see the scenario format)."""

    mm_basis: str = "mark"
    liquidation: str = "full"
    partial_fraction: float = 0.2
    settlement: str = "bankruptcy"
    liquidation_fee_rate: float = 0.0
    insurance_fund: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A linear perpetual position. ``size`` [base], ``entry`` [quote per base].

    ``margin`` [quote] is the isolated margin; ``None`` for cross positions, which share the
    cross wallet.
    """

    id: str
    market: str
    side: str
    size: float
    entry: float
    leverage: float
    mode: str
    margin: float | None = None

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short."""
        return 1 if self.side == "long" else -1

    @property
    def is_isolated(self) -> bool:
        return self.mode == "isolated"

    @property
    def initial_margin(self) -> float:
        """``size * entry / leverage`` [quote]."""
        return self.size * self.entry / self.leverage


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """An account as it stands: wallet ``balance`` [quote], rules, markets and positions."""

    name: str
    balance: float
    rules: Rules
    markets: Mapping[str, Market]
    positions: tuple[Position, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def isolated_margin_total(self) -> float:
        """Σ isolated margins [quote], locked out of the cross wallet."""
        return sum(p.margin for p in self.positions if p.is_isolated)

    @property
    def cross_wallet(self) -> float:
        """``balance`` less every isolated margin [quote]."""
        return self.balance - self.isolated_margin_total

    @property
    def prices(self) -> dict[str, float]:
        """Current mark price of every market [quote per base]."""
        return {name: m.price for name, m in self.markets.items()}

    def with_prices(self, prices: Mapping[str, float]) -> "Scenario":
        """The same account with some mark prices replaced."""
        markets = dict(self.markets)
        for name, price in prices.items():
            markets[name] = replace(markets[name], price=float(price))
        return replace(self, markets=markets)

    def with_positions(self, positions: tuple[Position, ...]) -> "Scenario":
        return replace(self, positions=tuple(positions))


# ----------------------------------------------------------------------------- validation


def _number(value: Any, where: str, *, positive: bool = False, non_negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ScenarioError(where, f"must be a number, got {value!r}") from None
        else:
            raise ScenarioError(where, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number):
        raise ScenarioError(where, "must be a number, got NaN")
    if math.isinf(number):
        raise ScenarioError(where, f"must be finite, got {number}")
    if positive and number <= 0:
        raise ScenarioError(where, f"must be > 0, got {_fmt(number)}")
    if non_negative and number < 0:
        raise ScenarioError(where, f"must be ≥ 0, got {_fmt(number)}")
    return number


def _fmt(number: float) -> str:
    return f"{number:g}" if abs(number) < 1e15 else repr(number)


def _rate(value: Any, where: str) -> float:
    rate = _number(value, where)
    if not 0 <= rate < 1:
        raise ScenarioError(where, f"must be in [0, 1), got {_fmt(rate)}")
    return rate


def _choice(value: Any, where: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        options = " or ".join(repr(a) for a in allowed)
        raise ScenarioError(where, f"must be {options}, got {value!r}")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(where, f"must be an object, got {type(value).__name__}")
    return value


def parse_tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    """Validate a tier list and derive each tier's maintenance amount ``cum`` [quote]."""
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(where, "must be a non-empty list of tiers")
    tiers: list[Tier] = []
    cum = 0.0
    previous: Tier | None = None
    for index, entry in enumerate(raw):
        here = f"{where}[{index}]"
        entry = _mapping(entry, here)
        floor = _number(entry.get("floor"), f"{here}.floor", non_negative=True)
        mmr = _rate(entry.get("mmr"), f"{here}.mmr")
        max_leverage = math.inf
        if entry.get("max_leverage") is not None:
            max_leverage = _number(entry["max_leverage"], f"{here}.max_leverage", positive=True)
        if previous is None:
            if floor != 0:
                raise ScenarioError(f"{here}.floor", f"the first tier must start at 0, got {_fmt(floor)}")
        else:
            if floor <= previous.floor:
                raise ScenarioError(
                    f"{here}.floor",
                    f"tiers must ascend by floor, got {_fmt(floor)} after {_fmt(previous.floor)}",
                )
            cum += floor * (mmr - previous.mmr)
        tier = Tier(floor=floor, mmr=mmr, max_leverage=max_leverage, cum=cum)
        tiers.append(tier)
        previous = tier
    return tuple(tiers)


def _parse_market(name: str, raw: Any) -> Market:
    where = f"markets.{name}"
    raw = _mapping(raw, where)
    price = _number(raw.get("price"), f"{where}.price", positive=True)
    if "tiers" in raw:
        tiers = parse_tiers(raw["tiers"], f"{where}.tiers")
    elif "mmr" in raw:
        tiers = (Tier(floor=0.0, mmr=_rate(raw["mmr"], f"{where}.mmr")),)
    else:
        raise ScenarioError(where, "needs 'tiers' or 'mmr'")
    beta = _number(raw.get("beta", 1.0), f"{where}.beta")
    return Market(name=name, price=price, tiers=tiers, beta=beta)


def _parse_rules(raw: Any) -> Rules:
    raw = _mapping(raw if raw is not None else {}, "rules")
    defaults = Rules()
    return Rules(
        mm_basis=_choice(raw.get("mm_basis", defaults.mm_basis), "rules.mm_basis", MM_BASES),
        liquidation=_choice(
            raw.get("liquidation", defaults.liquidation), "rules.liquidation", LIQUIDATION_STYLES
        ),
        partial_fraction=_partial_fraction(raw.get("partial_fraction", defaults.partial_fraction)),
        settlement=_choice(raw.get("settlement", defaults.settlement), "rules.settlement", SETTLEMENTS),
        liquidation_fee_rate=_rate(
            raw.get("liquidation_fee_rate", defaults.liquidation_fee_rate), "rules.liquidation_fee_rate"
        ),
        insurance_fund=_number(
            raw.get("insurance_fund", defaults.insurance_fund), "rules.insurance_fund", non_negative=True
        ),
    )


def _partial_fraction(value: Any) -> float:
    fraction = _number(value, "rules.partial_fraction")
    if not 0 < fraction <= 1:
        raise ScenarioError("rules.partial_fraction", f"must be in (0, 1], got {_fmt(fraction)}")
    return fraction


def _parse_position(index: int, raw: Any, markets: Mapping[str, Market]) -> Position:
    where = f"positions[{index}]"
    raw = _mapping(raw, where)
    position_id = raw.get("id")
    if not isinstance(position_id, str) or not position_id.strip():
        raise ScenarioError(f"{where}.id", f"must be a non-empty string, got {position_id!r}")
    market_name = raw.get("market")
    if market_name not in markets:
        known = ", ".join(sorted(markets)) or "none"
        raise ScenarioError(f"{where}.market", f"unknown market {market_name!r} (markets: {known})")
    side = _choice(raw.get("side"), f"{where}.side", SIDES)
    size = _number(raw.get("size"), f"{where}.size", positive=True)
    entry = _number(raw.get("entry"), f"{where}.entry", positive=True)
    leverage = _number(raw.get("leverage"), f"{where}.leverage", positive=True)
    mode = _choice(raw.get("mode", "cross"), f"{where}.mode", MODES)
    market = markets[market_name]
    tier = market.tier_for(size * entry)
    if leverage > tier.max_leverage:
        raise ScenarioError(
            f"{where}.leverage",
            f"{_fmt(leverage)}x is above the tier's maximum {_fmt(tier.max_leverage)}x "
            f"for a notional of {size * entry:,.2f} in {market_name}",
        )
    margin = None
    if mode == "isolated":
        margin = (
            _number(raw["margin"], f"{where}.margin", positive=True)
            if raw.get("margin") is not None
            else size * entry / leverage
        )
    return Position(
        id=position_id, market=market_name, side=side, size=size, entry=entry,
        leverage=leverage, mode=mode, margin=margin,
    )


def scenario_from_dict(raw: Any) -> Scenario:
    """Validate a parsed scenario (a dict as in the JSON file) into a :class:`Scenario`."""
    raw = _mapping(raw, "scenario")
    if raw.get("format", FORMAT) != FORMAT:
        raise ScenarioError("format", f"must be {FORMAT!r}, got {raw.get('format')!r}")
    name = raw.get("name", "Untitled account")
    if not isinstance(name, str):
        raise ScenarioError("name", f"must be a string, got {type(name).__name__}")
    balance = _number(raw.get("balance"), "balance", non_negative=True)
    rules = _parse_rules(raw.get("rules"))
    raw_markets = _mapping(raw.get("markets"), "markets")
    if not raw_markets:
        raise ScenarioError("markets", "must name at least one market")
    markets = {str(n): _parse_market(str(n), m) for n, m in raw_markets.items()}
    raw_positions = raw.get("positions", [])
    if not isinstance(raw_positions, list):
        raise ScenarioError("positions", f"must be a list, got {type(raw_positions).__name__}")
    positions: list[Position] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw_positions):
        position = _parse_position(index, entry, markets)
        if position.id in seen:
            raise ScenarioError(f"positions[{index}].id", f"duplicate id {position.id!r}")
        seen.add(position.id)
        positions.append(position)
    locked = sum(p.margin for p in positions if p.is_isolated)
    if locked > balance * (1 + 1e-12) + 1e-9:
        raise ScenarioError(
            "balance",
            f"must cover the isolated margins ({locked:,.2f}), got {balance:,.2f}",
        )
    known = {"format", "name", "balance", "rules", "markets", "positions"}
    extra = {k: v for k, v in raw.items() if k not in known}
    return Scenario(
        name=name, balance=balance, rules=rules, markets=markets,
        positions=tuple(positions), extra=extra,
    )


def parse_scenario_text(text: str | bytes) -> Scenario:
    """Parse and validate scenario JSON text (at most 1 MB)."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError("scenario", f"file is {len(text):,} bytes; the limit is {MAX_FILE_BYTES:,} (1 MB)")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ScenarioError("scenario", f"is not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ScenarioError("scenario", f"is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    return scenario_from_dict(raw)


def _reject_constant(name: str) -> float:
    # JSON has no NaN or Infinity; Python's json accepts them, so we return them as floats
    # and let the field validators reject them with the field's name.
    return float(name.lower().replace("infinity", "inf"))


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load a scenario from a path, ``"-"`` (standard input) or an already parsed dict."""
    if isinstance(source, Mapping):
        return scenario_from_dict(source)
    if str(source) == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        return parse_scenario_text(data)
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ScenarioError("scenario", f"cannot read {str(path)!r}: {err.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError("scenario", f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} (1 MB)")
    return parse_scenario_text(path.read_bytes())


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a JSON-ready dict in the file format (round-trips through the loader)."""
    rules = scenario.rules
    markets: dict[str, Any] = {}
    for name, market in scenario.markets.items():
        tiers = []
        for tier in market.tiers:
            entry: dict[str, Any] = {"floor": tier.floor, "mmr": tier.mmr}
            if math.isfinite(tier.max_leverage):
                entry["max_leverage"] = tier.max_leverage
            tiers.append(entry)
        markets[name] = {"price": market.price, "tiers": tiers}
        if market.beta != 1.0:
            markets[name]["beta"] = market.beta
    positions = []
    for p in scenario.positions:
        entry = {"id": p.id, "market": p.market, "side": p.side, "size": p.size,
                 "entry": p.entry, "leverage": p.leverage, "mode": p.mode}
        if p.is_isolated:
            entry["margin"] = p.margin
        positions.append(entry)
    out: dict[str, Any] = {
        "format": FORMAT,
        "name": scenario.name,
        "balance": scenario.balance,
        "rules": {
            "mm_basis": rules.mm_basis, "liquidation": rules.liquidation,
            "partial_fraction": rules.partial_fraction, "settlement": rules.settlement,
            "liquidation_fee_rate": rules.liquidation_fee_rate, "insurance_fund": rules.insurance_fund,
        },
        "markets": markets,
        "positions": positions,
    }
    out.update(scenario.extra)
    return out


# ----------------------------------------------------------------------------- variants

VARIANT_LABELS = ("As built", "All cross", "All isolated")


def as_mode(scenario: Scenario, mode: str) -> Scenario:
    """The same account with every position in ``mode`` ("cross" or "isolated").

    All isolated: each position gets its initial margin ``size × entry / leverage`` (or its own
    isolated margin if it already had one). Where the wallet cannot fund every margin, the
    margins are scaled down in proportion so that they use the whole balance; the account is
    then as risky as its wallet allows, never funded by money it does not have.

    >>> s = scenario_from_dict({"balance": 100, "markets": {"X": {"price": 10, "mmr": 0.01}},
    ...     "positions": [{"id": "a", "market": "X", "side": "long", "size": 10, "entry": 10,
    ...                    "leverage": 5, "mode": "cross"}]})
    >>> as_mode(s, "isolated").positions[0].margin, as_mode(s, "isolated").cross_wallet
    (20.0, 80.0)
    """
    _choice(mode, "mode", MODES)
    if mode == "cross":
        positions = tuple(replace(p, mode="cross", margin=None) for p in scenario.positions)
        return replace(scenario, positions=positions)
    wanted = [p.margin if p.is_isolated else p.initial_margin for p in scenario.positions]
    total = sum(wanted)
    scale = min(1.0, scenario.balance / total) if total > 0 else 1.0
    positions = tuple(
        replace(p, mode="isolated", margin=m * scale) for p, m in zip(scenario.positions, wanted)
    )
    return replace(scenario, positions=positions)


def account_variants(scenario: Scenario) -> dict[str, Scenario]:
    """The account three ways: as built, all cross, all isolated (keys: ``VARIANT_LABELS``)."""
    return dict(zip(VARIANT_LABELS, (scenario, as_mode(scenario, "cross"), as_mode(scenario, "isolated"))))
