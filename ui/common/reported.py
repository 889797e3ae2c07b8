"""The trader's own numbers beside the lab's: an imported account's liquidation price and
maintenance margin as its exchange reported them (``imported.reported`` in the scenario, read
by :mod:`margin.imports`), next to what the lab's engine computes for the same position, with
the difference explained. Pure: the builder and any page may show it.

Why they differ: the lab applies its venue preset's maintenance tiers (the exchange applies your
account's own bracket, which can differ), and in cross margin the whole pool decides; the
liquidation price then moves by about the maintenance difference divided by the size (for a
position alone in its pool).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping


from margin.account import compile_account, liquidation_prices, price_vector, value_account
from margin.numbers import money, percent, price
from margin.presets import position_labels
from margin.scenario import Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class Reported:
    """One imported position: the exchange's figures and the lab's [USDT, USDT per base]."""

    position: str  # its name ("BTC long")
    exchange_liquidation: float | None
    lab_liquidation: float | None
    exchange_maintenance: float | None
    lab_maintenance: float
    notional: float  # at the mark [USDT]
    size: float  # [base]
    alone: bool  # the only position of its pool (isolated, or the only cross one)
    why: str  # the difference, in words


def reported_positions(scenario: Scenario) -> tuple[Reported, ...]:
    """Each position whose exchange figures the import kept and that still has the size and
    entry they were reported for, with the lab's own figures at the account's prices."""
    raw = (scenario.extra.get("imported") or {}).get("reported") if isinstance(scenario.extra.get("imported"), Mapping) else None
    if not isinstance(raw, Mapping) or not raw:
        return ()
    labels = position_labels(scenario)
    edges = liquidation_prices(scenario)
    value = value_account(compile_account(scenario), price_vector(scenario)[None, :])
    cross = sum(1 for p in scenario.positions if not p.is_isolated)
    out = []
    for i, p in enumerate(scenario.positions):
        told = raw.get(p.id)
        if not isinstance(told, Mapping) or not _same(told, p.size, p.entry):
            continue
        notional = p.size * scenario.markets[p.market].price
        alone = p.is_isolated or cross == 1
        row = Reported(position=labels[p.id], exchange_liquidation=_number(told.get("liquidation_price")),
                       lab_liquidation=edges[i].liquidation_price,
                       exchange_maintenance=_number(told.get("maintenance_margin")),
                       lab_maintenance=float(value.maintenance_margin[0, i]), notional=notional, size=p.size,
                       alone=alone, why="")
        out.append(_with_why(row, str(scenario.extra.get("venue", "preset"))))
    return tuple(out)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _same(told: Mapping[str, Any], size: float, entry: float) -> bool:
    """The position is still the one the exchange reported on (not edited since the import)."""
    size_then, entry_then = _number(told.get("size")), _number(told.get("entry"))
    return (size_then is not None and entry_then is not None
            and math.isclose(size_then, size, rel_tol=1e-9) and math.isclose(entry_then, entry, rel_tol=1e-9))


def _with_why(row: Reported, venue: str) -> Reported:
    """The difference in words: the maintenance rates, and what that difference alone moves
    the liquidation price by (a position alone in its pool)."""
    parts = []
    if row.exchange_maintenance is not None and row.notional > 0:
        gap = row.lab_maintenance - row.exchange_maintenance
        if round(gap, 2) == 0:
            parts.append(f"maintenance: the same, {percent(row.lab_maintenance / row.notional, 2)} of the notional")
        else:
            parts.append(f"maintenance: the lab's {venue} preset tiers give {percent(row.lab_maintenance / row.notional, 2)} "
                         f"of the notional, your exchange {percent(row.exchange_maintenance / row.notional, 2)} "
                         f"(your account's own bracket): {money(gap, signed=True)}")
        if round(gap, 2) and row.alone and row.size > 0 and row.exchange_liquidation is not None and row.lab_liquidation is not None:
            parts.append(f"that alone moves the liquidation price by about {price(abs(gap) / row.size)} USDT "
                         f"(difference ÷ size); the rest is the exchange's own rounding, fees it reserves and "
                         f"mark at export time")
    if not row.alone:
        parts.append("in cross margin the whole pool decides: every other cross position's PnL and maintenance "
                     "count, and the exchange counts your whole wallet as it stood")
    if row.exchange_liquidation is None:
        parts.append("the export gives no liquidation price for it (none, or none in reach)")
    text = "; ".join(parts)
    return Reported(**{**{f: getattr(row, f) for f in row.__slots__}, "why": text[:1].upper() + text[1:] + "." if text else ""})


def reported_table(rows: tuple[Reported, ...]) -> list[dict[str, str]]:
    """The comparison as text cells, one row per position."""
    def diff(ours: float | None, theirs: float | None, fmt) -> str:
        if ours is None or theirs is None:
            return "—"
        share = f" ({percent((ours - theirs) / theirs, 2, signed=True)})" if theirs else ""
        return f"{fmt(ours - theirs)}{share}"

    return [{"Position": r.position,
             "Liquidation, exchange [USDT]": price(r.exchange_liquidation),
             "Liquidation, lab [USDT]": price(r.lab_liquidation),
             "Liquidation: lab − exchange": diff(r.lab_liquidation, r.exchange_liquidation, lambda v: money(v, signed=True, unit="")),
             "Maintenance, exchange [USDT]": price(r.exchange_maintenance),
             "Maintenance, lab [USDT]": price(r.lab_maintenance),
             "Maintenance: lab − exchange": diff(r.lab_maintenance, r.exchange_maintenance, lambda v: money(v, signed=True, unit=""))}
            for r in rows]


__all__ = ["Reported", "reported_positions", "reported_table"]
