"""Scenario files: loading, validation and the frozen dataclasses the engine works on.

A scenario is validated once, here, at the boundary (with the rules of :mod:`margin.fields`).
Every problem raises :class:`ScenarioError` whose message names the field, e.g.
``positions[1].size: must be > 0, got -3``. Past this module the engine trusts its inputs.

Bounds (documented in the scenario format): at most :data:`MAX_POSITIONS` positions and
:data:`MAX_MARKETS` markets; prices and entries in [1e-9, 1e9] USDT; sizes in (0, 1e9] base
units; leverage in [1, 1000]; balance and margins up to 1e12 USDT; beta in [−10, 10]; an
account's name up to 120 characters, a position's id and a market's name up to 80, a story up
to 4,000.

>>> s = scenario_from_dict({"balance": 100, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 1, "entry": 100,
...                    "leverage": 10, "mode": "isolated"}]})
>>> s.positions[0].margin, s.cross_wallet
(10.0, 90.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from margin.fields import (
    MAX_FILE_BYTES, MAX_NAME_CHARS, MAX_TEXT_CHARS, ScenarioError, choice, fmt, mapping, number, parse_json,
    rate, read_bytes, text, whole,
)
from margin.tiers import MAX_LEVERAGE, Tier, maintenance_margin, parse_tiers, tables
from margin.limits import (  # noqa: F401  (the bounds live in margin.limits)
    MAX_BETA, MAX_CLOSE_FEE, MAX_FILL_DISCOUNT, MAX_FUND, MAX_FUNDING_RATE, MAX_ID_CHARS, MAX_MARKETS,
    MAX_MONEY, MAX_POSITIONS, MAX_PRICE, MAX_SIZE, MAX_TIER_STEPS, MIN_PRICE,
)

FORMAT = "margin-scenario/1"

MM_BASES = ("mark", "entry")
LIQUIDATION_STYLES = ("full", "partial", "slice_then_full", "just_enough", "tier_step_down", "fixed_chunks")
SETTLEMENTS = ("bankruptcy", "mark")
LIQUIDATION_TRIGGERS = ("at_maintenance", "below_maintenance")
BANKRUPTCY_SPLITS = ("pool", "maintenance_share")
SIDES = ("long", "short")
MODES = ("cross", "isolated")



@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """A market: its current mark ``price`` [quote per base] and maintenance tiers.

    ``beta`` scales a whole-market shock for this market (1 = moves with the market).
    ``tier_tables`` (derived) holds the tiers as arrays for :func:`margin.tiers.maintenance_margin`,
    with ``close_fee_reserve`` [fraction of notional] added to every tier's rate: the closing
    fee kept inside maintenance (``rules.close_fee_reserve``, set by :class:`Scenario`). Adding
    one rate to every tier leaves each tier's maintenance amount as it was, since the
    recurrence only sees differences of rates.

    >>> plain = Market(name="X", price=1.0, tiers=(Tier(floor=0.0, mmr=0.004), Tier(floor=50_000.0, mmr=0.005, cum=50.0)))
    >>> reserved = replace(plain, close_fee_reserve=0.0005)
    >>> plain.maintenance_margin(60_000.0), reserved.maintenance_margin(60_000.0)  # + 60,000 × 0.05 %
    (250.0, 280.0)
    """

    name: str
    price: float
    tiers: tuple[Tier, ...]
    beta: float = 1.0
    close_fee_reserve: float = 0.0
    funding_rate: float = 0.0  # [fraction of notional per funding interval]; > 0: longs pay shorts
    tier_tables: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    tier_lists: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        floors, rates, cums = tables(self.tiers)
        arrays = (floors, rates + self.close_fee_reserve, cums)
        object.__setattr__(self, "tier_tables", arrays)
        object.__setattr__(self, "tier_lists", tuple(tuple(map(float, a)) for a in arrays))

    def tier_for(self, notional: float) -> Tier:
        """The tier that applies to a notional [quote]."""
        from margin.tiers import tier_index
        return self.tiers[int(tier_index(notional, self.tier_tables[0]))]

    def maintenance_margin(self, notional: float) -> float:
        """Maintenance margin [quote] of a position of this notional [quote]."""
        return float(maintenance_margin(float(notional), *self.tier_lists))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """How the venue judges and settles a breach (see the scenario format)."""

    mm_basis: str = "mark"
    liquidation: str = "full"
    partial_fraction: float = 0.2
    settlement: str = "bankruptcy"
    liquidation_fee_rate: float = 0.0
    insurance_fund: float = 0.0
    liquidation_trigger: str = "at_maintenance"
    close_fee_reserve: float = 0.0
    funding_interval_hours: float = 8.0
    liquidation_fill_discount: float = 0.0
    tier_steps: int = 1  # risk tiers one ``tier_step_down`` close drops (Bybit 1, OKX 2)
    chunk_notional: float = 2_000.0  # [quote] one ``fixed_chunks`` order (Deribit: 200 contracts of 10 USD)
    bankruptcy_split: str = "pool"  # a cross pool settled as one, or by maintenance share (dYdX)

    def breached(self, equity: Any, maintenance: Any) -> Any:
        """Whether a pool with this ``equity`` [quote] and ``maintenance`` margin [quote] is
        liquidated: the one trigger rule (floats or arrays). ``"at_maintenance"`` liquidates at
        equality (Binance, Bybit: margin ratio ≥ 100 %), ``"below_maintenance"`` only when
        maintenance is strictly greater than equity (dYdX: total collateral < maintenance).

        >>> Rules().breached(50.0, 50.0), Rules(liquidation_trigger="below_maintenance").breached(50.0, 50.0)
        (True, False)
        """
        if self.liquidation_trigger == "below_maintenance":
            return equity < maintenance
        return equity <= maintenance


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

    def __post_init__(self) -> None:
        # The closing-fee reserve is a rule of the account; every market's maintenance tables
        # carry it, so each consumer of maintenance margin (settlement, valuation, liquidation
        # prices, the breach search) sees it without knowing of it.
        reserve = self.rules.close_fee_reserve
        if any(m.close_fee_reserve != reserve for m in self.markets.values()):
            object.__setattr__(self, "markets", {name: replace(m, close_fee_reserve=reserve)
                                                 for name, m in self.markets.items()})

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


def _parse_market(name: str, raw: Any) -> Market:
    where = f"markets.{name}"
    text(name, where, max_chars=MAX_ID_CHARS)
    raw = mapping(raw, where)
    price = price_field(raw.get("price"), f"{where}.price")
    if "tiers" in raw:
        tiers = parse_tiers(raw["tiers"], f"{where}.tiers")
    elif "mmr" in raw:
        tiers = (Tier(floor=0.0, mmr=rate(raw["mmr"], f"{where}.mmr")),)
    else:
        raise ScenarioError(where, "needs 'tiers' or 'mmr'")
    beta = number(raw.get("beta", 1.0), f"{where}.beta", low=-MAX_BETA, high=MAX_BETA)
    funding = number(raw.get("funding_rate", 0.0), f"{where}.funding_rate", low=-MAX_FUNDING_RATE,
                     high=MAX_FUNDING_RATE)
    return Market(name=name, price=price, tiers=tiers, beta=beta, funding_rate=funding)


def _parse_rules(raw: Any) -> Rules:
    raw = mapping(raw if raw is not None else {}, "rules")
    defaults = Rules()
    return Rules(
        mm_basis=choice(raw.get("mm_basis", defaults.mm_basis), "rules.mm_basis", MM_BASES),
        liquidation=choice(raw.get("liquidation", defaults.liquidation), "rules.liquidation", LIQUIDATION_STYLES),
        partial_fraction=number(raw.get("partial_fraction", defaults.partial_fraction), "rules.partial_fraction",
                                low=0.0, low_open=True, high=1.0),
        settlement=choice(raw.get("settlement", defaults.settlement), "rules.settlement", SETTLEMENTS),
        liquidation_fee_rate=rate(raw.get("liquidation_fee_rate", defaults.liquidation_fee_rate),
                                  "rules.liquidation_fee_rate", allow_one=True),
        insurance_fund=number(raw.get("insurance_fund", defaults.insurance_fund), "rules.insurance_fund",
                              low=0.0, high=MAX_FUND),
        liquidation_trigger=choice(raw.get("liquidation_trigger", defaults.liquidation_trigger),
                                   "rules.liquidation_trigger", LIQUIDATION_TRIGGERS),
        close_fee_reserve=_close_fee_reserve(raw, defaults),
        funding_interval_hours=number(raw.get("funding_interval_hours", defaults.funding_interval_hours),
                                      "rules.funding_interval_hours", low=1.0, high=8.0),
        liquidation_fill_discount=number(raw.get("liquidation_fill_discount", defaults.liquidation_fill_discount),
                                         "rules.liquidation_fill_discount", low=0.0, high=MAX_FILL_DISCOUNT),
        tier_steps=whole(raw.get("tier_steps", defaults.tier_steps), "rules.tier_steps", 1, MAX_TIER_STEPS),
        chunk_notional=number(raw.get("chunk_notional", defaults.chunk_notional), "rules.chunk_notional",
                              low=0.0, low_open=True, high=MAX_MONEY),
        bankruptcy_split=choice(raw.get("bankruptcy_split", defaults.bankruptcy_split), "rules.bankruptcy_split",
                                BANKRUPTCY_SPLITS),
    )




def _close_fee_reserve(raw: Mapping[str, Any], defaults: Rules) -> float:
    """``rules.close_fee_reserve``: the taker fee rate [fraction] kept inside maintenance, on the
    position's value at the mark (OKX, Bybit's unified account); 0 = none."""
    reserve = number(raw.get("close_fee_reserve", defaults.close_fee_reserve), "rules.close_fee_reserve",
                     low=0.0, high=MAX_CLOSE_FEE)
    if reserve > 0 and raw.get("mm_basis", defaults.mm_basis) != "mark":
        raise ScenarioError("rules.close_fee_reserve", "reserves the fee to close at the mark price; "
                            "it needs mm_basis 'mark'")
    return reserve


def _parse_position(index: int, raw: Any, markets: Mapping[str, Market]) -> Position:
    where = f"positions[{index}]"
    raw = mapping(raw, where)
    position_id = text(raw.get("id"), f"{where}.id", max_chars=MAX_ID_CHARS)
    market_name = raw.get("market")
    if not isinstance(market_name, str) or market_name not in markets:
        known = ", ".join(sorted(markets)) or "none"
        raise ScenarioError(f"{where}.market", f"unknown market {_short(market_name)} (markets: {known})")
    side = choice(raw.get("side"), f"{where}.side", SIDES)
    size = number(raw.get("size"), f"{where}.size", low=0.0, low_open=True, high=MAX_SIZE)
    entry = price_field(raw.get("entry"), f"{where}.entry")
    leverage = number(raw.get("leverage"), f"{where}.leverage", low=1.0, high=MAX_LEVERAGE)
    mode = choice(raw.get("mode", "cross"), f"{where}.mode", MODES)
    market = markets[market_name]
    notional = size * entry
    if notional > MAX_MONEY:
        raise ScenarioError(f"{where}.size", f"makes a notional of {notional:,.0f}; the limit is {MAX_MONEY:,.0f}")
    tier = market.tier_for(notional)
    if leverage > tier.max_leverage:
        raise ScenarioError(
            f"{where}.leverage",
            f"{fmt(leverage)}x is above the tier's maximum {fmt(tier.max_leverage)}x "
            f"for a notional of {notional:,.2f} in {market_name}",
        )
    margin = None
    if mode == "isolated":
        margin = (number(raw["margin"], f"{where}.margin", low=0.0, low_open=True, high=MAX_MONEY)
                  if raw.get("margin") is not None else notional / leverage)
    return Position(id=position_id, market=market_name, side=side, size=size, entry=entry,
                    leverage=leverage, mode=mode, margin=margin)


def price_field(value: Any, where: str) -> float:
    """A price [quote per base]: > 0, at least 1e-9 and at most 1e9."""
    price = number(value, where, low=0.0, low_open=True, high=MAX_PRICE)
    if price < MIN_PRICE:
        raise ScenarioError(where, f"must be at least {fmt(MIN_PRICE)}, got {fmt(price)}")
    return price


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 50 else shown[:47] + "…"


KNOWN_FIELDS = ("format", "name", "balance", "rules", "markets", "positions")
TEXT_EXTRAS = {"venue": MAX_NAME_CHARS, "story": MAX_TEXT_CHARS}  # known extra fields and their length


def scenario_from_dict(raw: Any) -> Scenario:
    """Validate a parsed scenario (a dict as in the JSON file) into a :class:`Scenario`."""
    raw = mapping(raw, "scenario")
    if raw.get("format", FORMAT) != FORMAT:
        raise ScenarioError("format", f"must be {FORMAT!r}, got {_short(raw.get('format'))}")
    name = text(raw.get("name", "Untitled account"), "name", allow_empty=True)
    balance = number(raw.get("balance"), "balance", low=0.0, high=MAX_MONEY)
    rules = _parse_rules(raw.get("rules"))
    raw_markets = mapping(raw.get("markets"), "markets")
    if not raw_markets:
        raise ScenarioError("markets", "must name at least one market")
    if len(raw_markets) > MAX_MARKETS:
        raise ScenarioError("markets", f"names {len(raw_markets):,} markets; the limit is {MAX_MARKETS}")
    markets = {str(n): _parse_market(str(n), m) for n, m in raw_markets.items()}
    raw_positions = raw.get("positions", [])
    if not isinstance(raw_positions, list):
        raise ScenarioError("positions", f"must be a list, got {type(raw_positions).__name__}")
    if len(raw_positions) > MAX_POSITIONS:
        raise ScenarioError("positions", f"holds {len(raw_positions):,} positions; the limit is {MAX_POSITIONS}")
    positions: list[Position] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw_positions):
        position = _parse_position(index, entry, markets)
        if position.id in seen:
            raise ScenarioError(f"positions[{index}].id", f"duplicate id {_short(position.id)}")
        seen.add(position.id)
        positions.append(position)
    locked = sum(p.margin for p in positions if p.is_isolated)
    if locked > balance * (1 + 1e-12) + 1e-9:
        raise ScenarioError("balance", f"must cover the isolated margins ({locked:,.2f}), got {balance:,.2f}")
    extra = {k: _extra(k, v) for k, v in raw.items() if k not in KNOWN_FIELDS}
    return Scenario(name=name, balance=balance, rules=rules, markets=markets, positions=tuple(positions),
                    extra=extra)


def _venue_rules(rules: Rules) -> dict[str, Any]:
    """The venue rules added after the first six, written only when not at their default, so a
    scenario that does not use them writes (and links) exactly as before."""
    defaults = Rules()
    names = ("liquidation_trigger", "close_fee_reserve", "funding_interval_hours", "liquidation_fill_discount",
             "tier_steps", "chunk_notional", "bankruptcy_split")
    return {n: getattr(rules, n) for n in names if getattr(rules, n) != getattr(defaults, n)}


def _extra(key: Any, value: Any) -> Any:
    """A field the format does not define: kept as it is (a file may carry notes), but
    plain JSON only, and the known ones (venue, story) as bounded text."""
    where = str(key)
    text(where, "scenario field name", max_chars=60)
    if where in TEXT_EXTRAS:
        return text(value, where, max_chars=TEXT_EXTRAS[where], allow_empty=True) if value is not None else None
    _plain_json(value, where, depth=0)
    return value


def _plain_json(value: Any, where: str, depth: int) -> None:
    if depth > 8:
        raise ScenarioError(where, "is nested too deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(where, "must hold finite numbers only")
    if isinstance(value, str):
        text(value, where, max_chars=MAX_TEXT_CHARS, allow_empty=True)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _plain_json(v, f"{where}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:1000]):
            _plain_json(v, f"{where}[{i}]", depth + 1)
        if len(value) > 1000:
            raise ScenarioError(where, "holds more than 1,000 items")
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise ScenarioError(where, f"must be plain JSON, got {type(value).__name__}")


def parse_scenario_text(data: str | bytes) -> Scenario:
    """Parse and validate scenario JSON text (at most 1 MB of UTF-8)."""
    return scenario_from_dict(parse_json(data, "scenario", nan_to_field=True))


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load a scenario from a path, ``"-"`` (standard input) or an already parsed dict."""
    if isinstance(source, Mapping):
        return scenario_from_dict(source)
    return parse_scenario_text(read_bytes(source, limit=MAX_FILE_BYTES, what="scenario"))


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
        if market.funding_rate != 0.0:
            markets[name]["funding_rate"] = market.funding_rate
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
            **_venue_rules(rules),
        },
        "markets": markets,
        "positions": positions,
    }
    out.update(scenario.extra)
    return out
