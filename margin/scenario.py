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

import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from margin.collateral import Collateral, check_collateral_value, parse_collateral
from margin.fields import (  # noqa: F401  (price_field is read as margin.scenario's too)
    MAX_FILE_BYTES, MAX_NAME_CHARS, MAX_TEXT_CHARS, ScenarioError, choice, fmt, known_fields, mapping, number,
    parse_json, plain_json, price_field, rate, read_bytes, text, whole,
)
from margin.inverse import QUOTE, contract_fields
from margin.orders import ORDER_FIELDS, parse_orders
from margin.rules import (  # noqa: F401  (read as margin.scenario's too)
    BANKRUPTCY_SPLITS, LIQUIDATION_STYLES, LIQUIDATION_TRIGGERS, MM_BASES, SETTLEMENTS, Rules, parse_rules,
)
from margin.scenario_writer import FORMAT, scenario_to_dict  # noqa: F401  (the writer, read as margin.scenario's)
from margin.tiers import MAX_LEVERAGE, Tier, maintenance_margin, parse_tiers, tables
from margin.numbers import money
from margin.limits import (  # noqa: F401  (the bounds live in margin.limits)
    MAX_BETA, MAX_CLOSE_FEE, MAX_FILL_DISCOUNT, MAX_FUND, MAX_FUNDING_RATE, MAX_ID_CHARS, MAX_MARKETS,
    MAX_MONEY, MAX_POSITIONS, MAX_PRICE, MAX_SIZE, MAX_TIER_STEPS, MIN_PRICE,
)


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
    contract: str = "linear"  # or "inverse": sized in contracts of contract_value USD, margined in a coin
    contract_value: float = 1.0  # [USD per contract], inverse only (:mod:`margin.inverse`)
    settle_asset: str | None = None  # the coin an inverse market settles in (its collateral entry)
    tier_tables: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    tier_lists: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] = field(init=False, repr=False,
                                                                                      compare=False)

    def __post_init__(self) -> None:
        floors, rates, cums = tables(self.tiers)
        arrays = (floors, rates + self.close_fee_reserve, cums)
        object.__setattr__(self, "tier_tables", arrays)
        object.__setattr__(self, "tier_lists", (tuple(map(float, floors)), tuple(map(float, arrays[1])),
                                                tuple(map(float, cums))))

    @property
    def is_inverse(self) -> bool:
        return self.contract == "inverse"

    @property
    def currency(self) -> str:
        """What its margin, PnL and tier floors are counted in: USDT, or the settlement coin."""
        return self.settle_asset if self.settle_asset is not None else QUOTE

    def tier_for(self, notional: float) -> Tier:
        """The tier that applies to a notional [quote]."""
        from margin.tiers import tier_index
        return self.tiers[int(tier_index(notional, self.tier_tables[0]))]

    def maintenance_margin(self, notional: float) -> float:
        """Maintenance margin [quote] of a position of this notional [quote]."""
        return float(maintenance_margin(float(notional), *self.tier_lists))


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A perpetual position. ``size`` [base] (linear) or [contracts] (inverse), ``entry``
    [quote per base].

    ``margin`` is the isolated margin [quote, or the settlement coin for inverse]; ``None`` for
    cross positions, which share their pool's wallet. ``stop_loss`` and ``take_profit`` are
    trigger prices on the mark [quote per base] (:mod:`margin.orders`), ``stop_slippage`` how
    much worse than a gapped step's price they fill [fraction]. ``contract_value`` [USD per
    contract] is set from an inverse market by :class:`Scenario`; 0 for a linear contract.
    """

    id: str
    market: str
    side: str
    size: float
    entry: float
    leverage: float
    mode: str
    margin: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    stop_slippage: float = 0.0
    contract_value: float = 0.0

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short."""
        return 1 if self.side == "long" else -1

    @property
    def is_isolated(self) -> bool:
        return self.mode == "isolated"

    @property
    def is_inverse(self) -> bool:
        return self.contract_value > 0

    @property
    def has_orders(self) -> bool:
        return self.stop_loss is not None or self.take_profit is not None

    @property
    def initial_margin(self) -> float:
        """``size × entry / leverage`` [quote]; inverse: ``size × contract_value / entry /
        leverage`` [coin]."""
        if self.is_inverse:
            return self.size * self.contract_value / self.entry / self.leverage
        return self.size * self.entry / self.leverage


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """An account as it stands: wallet ``balance`` [quote], rules, markets, positions, and the
    ``collateral`` other than USDT (:mod:`margin.collateral`)."""

    name: str
    balance: float
    rules: Rules
    markets: Mapping[str, Market]
    positions: tuple[Position, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)
    collateral: tuple[Collateral, ...] = ()

    def __post_init__(self) -> None:
        # The closing-fee reserve is a rule of the account; every market's maintenance tables
        # carry it, so each consumer of maintenance margin (settlement, valuation, liquidation
        # prices, the breach search) sees it without knowing of it.
        reserve = self.rules.close_fee_reserve
        if any(m.close_fee_reserve != reserve for m in self.markets.values()):
            object.__setattr__(self, "markets", {name: replace(m, close_fee_reserve=reserve)
                                                 for name, m in self.markets.items()})
        # An inverse position carries its market's contract value, so that its own arithmetic
        # (initial margin, the walk's state) needs no market at hand.
        values = [self.markets[p.market].contract_value if self.markets[p.market].is_inverse else 0.0
                  for p in self.positions]
        if any(p.contract_value != v for p, v in zip(self.positions, values)):
            object.__setattr__(self, "positions", tuple(replace(p, contract_value=v)
                                                        for p, v in zip(self.positions, values)))

    @property
    def isolated_margin_total(self) -> float:
        """Σ isolated margins of linear positions [quote], locked out of the cross wallet."""
        return sum(p.margin or 0.0 for p in self.positions if p.is_isolated and not p.is_inverse)

    @property
    def cross_wallet(self) -> float:
        """``balance`` less every isolated USDT margin [quote]."""
        return self.balance - self.isolated_margin_total

    def currency(self, position: Position) -> str:
        """What ``position``'s margin and PnL are counted in: USDT or its settlement coin."""
        return self.markets[position.market].currency

    def coin_wallet(self, index: int) -> float:
        """The cross wallet [coin] of collateral entry ``index``: its amount less the isolated
        margins of the inverse positions that settle in it (0 margins for a USDT-pool entry)."""
        entry = self.collateral[index]
        if not entry.coin_pool:
            return entry.amount
        return entry.amount - sum(p.margin or 0.0 for p in self.positions
                                  if p.is_isolated and self.currency(p) == entry.asset)

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


MARKET_FIELDS = ("price", "tiers", "mmr", "beta", "funding_rate", "contract", "contract_value", "settle_asset")
POSITION_FIELDS = ("id", "market", "side", "size", "entry", "leverage", "mode", "margin") + ORDER_FIELDS


def _parse_market(name: str, raw: Any) -> Market:
    where = f"markets.{name}"
    text(name, where, max_chars=MAX_ID_CHARS)
    raw = mapping(raw, where)
    known_fields(raw, where, MARKET_FIELDS)
    price = price_field(raw.get("price"), f"{where}.price")
    if "tiers" in raw and "mmr" in raw:
        raise ScenarioError(f"{where}.mmr", "give 'tiers' or 'mmr', not both ('mmr' is shorthand for one tier)")
    if "tiers" in raw:
        tiers = parse_tiers(raw["tiers"], f"{where}.tiers")
    elif "mmr" in raw:
        tiers = (Tier(floor=0.0, mmr=rate(raw["mmr"], f"{where}.mmr")),)
    else:
        raise ScenarioError(where, "needs 'tiers' or 'mmr'")
    beta = number(raw.get("beta", 1.0), f"{where}.beta", low=-MAX_BETA, high=MAX_BETA)
    funding = number(raw.get("funding_rate", 0.0), f"{where}.funding_rate", low=-MAX_FUNDING_RATE,
                     high=MAX_FUNDING_RATE)
    contract, contract_value, settle_asset = contract_fields(raw, where, name)
    return Market(name=name, price=price, tiers=tiers, beta=beta, funding_rate=funding, contract=contract,
                  contract_value=contract_value, settle_asset=settle_asset)


def _parse_position(index: int, raw: Any, markets: Mapping[str, Market]) -> Position:
    where = f"positions[{index}]"
    raw = mapping(raw, where)
    known_fields(raw, where, POSITION_FIELDS)
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
    face = size * (market.contract_value if market.is_inverse else entry)  # [USD] contracts' face value
    if face > MAX_MONEY:
        raise ScenarioError(f"{where}.size", f"makes a notional of {face:,.0f}; the limit is {MAX_MONEY:,.0f}")
    notional = face / entry if market.is_inverse else face  # in the market's currency, at entry
    tier = market.tier_for(notional)
    if leverage > tier.max_leverage:
        raise ScenarioError(
            f"{where}.leverage",
            f"{fmt(leverage)}x is above the tier's maximum {fmt(tier.max_leverage)}x "
            f"for a notional of {money(notional, unit=market.currency)} in {market_name}",
        )
    margin = None
    if mode == "isolated":
        margin = (number(raw["margin"], f"{where}.margin", low=0.0, low_open=True, high=MAX_MONEY)
                  if raw.get("margin") is not None else notional / leverage)
    elif raw.get("margin") is not None:
        raise ScenarioError(f"{where}.margin", "applies to isolated positions only; a cross position shares "
                            "its pool's wallet")
    stop_loss, take_profit, slippage = parse_orders(raw, where, side, entry)
    return Position(id=position_id, market=market_name, side=side, size=size, entry=entry,
                    leverage=leverage, mode=mode, margin=margin, stop_loss=stop_loss, take_profit=take_profit,
                    stop_slippage=slippage)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 50 else shown[:47] + "…"


KNOWN_FIELDS = ("format", "name", "balance", "rules", "markets", "positions", "collateral")
TEXT_EXTRAS = {"venue": MAX_NAME_CHARS, "story": MAX_TEXT_CHARS}  # fields kept as text, and their length
NOTE_EXTRAS = ("notes", "imported")  # fields kept as plain JSON for people (an import's provenance, notes)


def scenario_from_dict(raw: Any) -> Scenario:
    """Validate a parsed scenario (a dict as in the JSON file) into a :class:`Scenario`. A field
    the format does not define is refused with its path (``positions[2].stop_los: unknown
    field``), at every level: nothing a file says is silently ignored."""
    raw = mapping(raw, "scenario")
    known_fields(raw, "", KNOWN_FIELDS + tuple(TEXT_EXTRAS) + NOTE_EXTRAS)
    if raw.get("format", FORMAT) != FORMAT:
        raise ScenarioError("format", f"must be {FORMAT!r}, got {_short(raw.get('format'))}")
    name = text(raw.get("name", "Untitled account"), "name", allow_empty=True)
    balance = number(raw.get("balance"), "balance", low=0.0, high=MAX_MONEY)
    rules = parse_rules(raw.get("rules"))
    raw_markets = mapping(raw.get("markets"), "markets")
    if not raw_markets:
        raise ScenarioError("markets", "must name at least one market")
    if len(raw_markets) > MAX_MARKETS:
        raise ScenarioError("markets", f"names {len(raw_markets):,} markets; the limit is {MAX_MARKETS}")
    markets = {str(n): _parse_market(str(n), m) for n, m in raw_markets.items()}
    coins = {m.settle_asset for m in markets.values() if m.settle_asset is not None}
    collateral = parse_collateral(raw.get("collateral"), tuple(markets), coins)
    check_collateral_value(collateral, {n: m.price for n, m in markets.items()})
    _check_coin_pools(markets, collateral)
    positions = _parse_positions(raw.get("positions", []), markets)
    _check_locked_margins(balance, positions, markets, collateral)
    extra = {k: _extra(k, v) for k, v in raw.items() if k not in KNOWN_FIELDS}
    return Scenario(name=name, balance=balance, rules=rules, markets=markets, positions=positions,
                    extra=extra, collateral=collateral)


SHARED_ACCOUNTS = 16  # distinct valid accounts :func:`shared_scenario` keeps per process (each text ≤ 1 MB)


def shared_scenario(raw: Any) -> Scenario:
    """:func:`scenario_from_dict` of a JSON-ready account, validated once per process for each
    distinct text: a class of sessions opening the same account share one frozen
    :class:`Scenario` instead of each parsing it (a first page's 2-4 ms). The text keeps the
    dict's order (the markets' order is the page's), so it is not :func:`canonical_json`."""
    return _scenario_of_text(json.dumps(raw, separators=(",", ":")))


@functools.lru_cache(maxsize=SHARED_ACCOUNTS)
def _scenario_of_text(text: str) -> Scenario:
    return scenario_from_dict(json.loads(text))


def _parse_positions(raw_positions: Any, markets: Mapping[str, Market]) -> tuple[Position, ...]:
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
    return tuple(positions)


def _check_coin_pools(markets: Mapping[str, Market], collateral: tuple[Collateral, ...]) -> None:
    """Every inverse market's settlement coin has its collateral entry (the pool's wallet)."""
    held = {c.asset for c in collateral}
    for name, market in markets.items():
        if market.settle_asset is not None and market.settle_asset not in held:
            raise ScenarioError(f"markets.{name}.settle_asset", (
                f"the inverse market settles in {market.settle_asset!r}, which needs a collateral entry "
                f"(\"collateral\": [{{\"asset\": \"{market.settle_asset}\", \"amount\": ..., \"market\": ...}}]): "
                "the coin pool's wallet"))


def _check_locked_margins(balance: float, positions: tuple[Position, ...], markets: Mapping[str, Market],
                          collateral: tuple[Collateral, ...]) -> None:
    """Isolated margins are taken out of the wallet of their currency: USDT ones out of
    ``balance``, a coin's out of its collateral entry."""
    wallets = {QUOTE: ("balance", balance)}
    wallets.update({c.asset: (f"collateral[{k}].amount", c.amount) for k, c in enumerate(collateral)})
    for currency, (where, held) in wallets.items():
        locked = sum(p.margin or 0.0 for p in positions if p.is_isolated and markets[p.market].currency == currency)
        if locked > held * (1 + 1e-12) + 1e-9:
            unit = "" if currency == QUOTE else currency
            raise ScenarioError(where, f"must cover the isolated margins ({money(locked, unit=unit)}), "
                                       f"got {money(held, unit=unit)}")


def _extra(key: str, value: Any) -> Any:
    """A field for people, not the engine: ``venue`` and ``story`` as bounded text, ``notes`` and
    ``imported`` as plain JSON; kept as they are and written back."""
    if key in TEXT_EXTRAS:
        return text(value, key, max_chars=TEXT_EXTRAS[key], allow_empty=True) if value is not None else None
    plain_json(value, key)
    return value


def parse_scenario_text(data: str | bytes) -> Scenario:
    """Parse and validate scenario JSON text (at most 1 MB of UTF-8)."""
    return scenario_from_dict(parse_json(data, "scenario", nan_to_field=True))


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load a scenario from a path, ``"-"`` (standard input) or an already parsed dict."""
    if isinstance(source, Mapping):
        return scenario_from_dict(source)
    return parse_scenario_text(read_bytes(source, limit=MAX_FILE_BYTES, what="scenario"))
