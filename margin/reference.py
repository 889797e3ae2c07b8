"""Plain, one-point-at-a-time versions of the vectorized code, for tests and the benchmark.

They restate the definitions of the scenario format as directly as possible, in Python
floats, so a disagreement with the vectorized engine points at the engine.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from margin.account import AT_RISK_RATIO, HEALTHY, AT_RISK, LIQUIDATED, BANKRUPT
from margin.scenario import Rules, Scenario
from margin.simulate import simulate_reference  # noqa: F401  (the path walker's reference)


def evaluate_reference(scenario: Scenario, prices: Mapping[str, float]) -> dict:
    """Cross equity, cross MM and each position's equity, MM and status at ``prices``."""
    entry_basis = scenario.rules.mm_basis == "entry"
    cross_equity = scenario.cross_wallet
    cross_mm = 0.0
    rows = []
    for p in scenario.positions:
        mark = prices[p.market]
        market = scenario.markets[p.market]
        pnl = p.sign * p.size * (mark - p.entry)
        mm = market.maintenance_margin(p.size * (p.entry if entry_basis else mark))
        rows.append((p, pnl, mm))
        if not p.is_isolated:
            cross_equity += pnl
            cross_mm += mm
    positions = []
    for p, pnl, mm in rows:
        equity, maint = ((p.margin or 0.0) + pnl, mm) if p.is_isolated else (cross_equity, cross_mm)
        positions.append({"id": p.id, "unrealized_pnl": pnl, "maintenance_margin": mm,
                          "equity": equity, "status": _status(equity, maint, scenario.rules)})
    return {"cross_equity": cross_equity, "cross_maintenance": cross_mm, "positions": positions}


def _status(equity: float, maintenance: float, rules: Rules) -> int:
    if equity <= 0:
        return BANKRUPT
    if rules.breached(equity, maintenance):
        return LIQUIDATED
    if maintenance > 0 and maintenance >= AT_RISK_RATIO * equity:
        return AT_RISK
    return HEALTHY


def sweep_reference(scenario: Scenario, price_rows: Sequence[Mapping[str, float]]) -> list[dict]:
    """:func:`evaluate_reference` at each row of prices."""
    return [evaluate_reference(scenario, row) for row in price_rows]
