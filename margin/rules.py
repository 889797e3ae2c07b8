"""The venue's rules: how a breach is judged and settled (the scenario's ``rules``).

Each field is documented in the scenario format; :func:`parse_rules` validates them at the
boundary with messages that name the field.

>>> parse_rules({"liquidation": "partial"}).partial_fraction
0.2
>>> parse_rules({"liquidation": "partal"})
Traceback (most recent call last):
...
margin.fields.ScenarioError: rules.liquidation: must be 'full' or 'partial' or 'slice_then_full' or 'just_enough' or 'tier_step_down' or 'fixed_chunks', got 'partal'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from margin.fields import ScenarioError, choice, known_fields, mapping, number, rate, whole
from margin.limits import MAX_CLOSE_FEE, MAX_FILL_DISCOUNT, MAX_FUND, MAX_MONEY, MAX_TIER_STEPS

MM_BASES = ("mark", "entry")
LIQUIDATION_STYLES = ("full", "partial", "slice_then_full", "just_enough", "tier_step_down", "fixed_chunks")
SETTLEMENTS = ("bankruptcy", "mark")
LIQUIDATION_TRIGGERS = ("at_maintenance", "below_maintenance")
BANKRUPTCY_SPLITS = ("pool", "maintenance_share")


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


def parse_rules(raw: Any) -> Rules:
    """``rules`` validated (every field optional; an unknown one refused)."""
    raw = mapping(raw if raw is not None else {}, "rules")
    known_fields(raw, "rules", Rules.__dataclass_fields__)
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


__all__ = ["BANKRUPTCY_SPLITS", "LIQUIDATION_STYLES", "LIQUIDATION_TRIGGERS", "MM_BASES", "Rules", "SETTLEMENTS", "parse_rules"]
