"""The scenario file written back: :func:`scenario_to_dict`, the inverse of the loader in
:mod:`margin.scenario`. Fields added to the format are written only when they are used, so an
account that does not use them writes (and links) exactly as before.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Mapping

from margin.collateral import collateral_dicts

if TYPE_CHECKING:
    from margin.scenario import Market, Position, Rules, Scenario

FORMAT = "margin-scenario/1"
LATER_RULES = ("liquidation_trigger", "close_fee_reserve", "funding_interval_hours", "liquidation_fill_discount",
               "tier_steps", "chunk_notional", "bankruptcy_split")


def venue_rules(rules: Rules) -> dict[str, Any]:
    """The venue rules added after the first six, written only when not at their default."""
    defaults = type(rules)()
    return {n: getattr(rules, n) for n in LATER_RULES if getattr(rules, n) != getattr(defaults, n)}


def market_dict(market: Market) -> dict[str, Any]:
    """One market as the file writes it."""
    tiers = []
    for tier in market.tiers:
        entry: dict[str, Any] = {"floor": tier.floor, "mmr": tier.mmr}
        if math.isfinite(tier.max_leverage):
            entry["max_leverage"] = tier.max_leverage
        tiers.append(entry)
    out: dict[str, Any] = {"price": market.price, "tiers": tiers}
    if market.beta != 1.0:
        out["beta"] = market.beta
    if market.funding_rate != 0.0:
        out["funding_rate"] = market.funding_rate
    if market.is_inverse:
        out.update(contract="inverse", contract_value=market.contract_value, settle_asset=market.settle_asset)
    return out


def position_dict(p: Position) -> dict[str, Any]:
    """One position as the file writes it."""
    out: dict[str, Any] = {"id": p.id, "market": p.market, "side": p.side, "size": p.size,
                           "entry": p.entry, "leverage": p.leverage, "mode": p.mode}
    if p.is_isolated:
        out["margin"] = p.margin
    for key in ("stop_loss", "take_profit"):
        if getattr(p, key) is not None:
            out[key] = getattr(p, key)
    if p.stop_slippage:
        out["stop_slippage"] = p.stop_slippage
    return out


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a JSON-ready dict in the file format (round-trips through the loader)."""
    rules = scenario.rules
    out: dict[str, Any] = {
        "format": FORMAT,
        "name": scenario.name,
        "balance": scenario.balance,
        "rules": {
            "mm_basis": rules.mm_basis, "liquidation": rules.liquidation,
            "partial_fraction": rules.partial_fraction, "settlement": rules.settlement,
            "liquidation_fee_rate": rules.liquidation_fee_rate, "insurance_fund": rules.insurance_fund,
            **venue_rules(rules),
        },
        "markets": {name: market_dict(market) for name, market in scenario.markets.items()},
        "positions": [position_dict(p) for p in scenario.positions],
    }
    if scenario.collateral:
        out["collateral"] = collateral_dicts(scenario.collateral)
    out.update(scenario.extra)
    return out


def canonical_json(raw: Mapping[str, Any]) -> str:
    """An account (a scenario dict) as one text: JSON, keys sorted, no spaces, so one account
    is one text wherever it is written: the key of the caches sessions share, the account a
    room keeps in its database, a stress run's twin check.

    >>> canonical_json({"positions": [], "balance": 10.0, "rules": {"b": 1, "a": 2}})
    '{"balance":10.0,"positions":[],"rules":{"a":2,"b":1}}'
    """
    return json.dumps(raw, sort_keys=True, separators=(",", ":"))


__all__ = ["FORMAT", "LATER_RULES", "canonical_json", "market_dict", "position_dict", "scenario_to_dict",
           "venue_rules"]
