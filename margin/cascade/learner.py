"""The learner's own account inside a cascade: its positions ride the cascade's prices."""

from __future__ import annotations

from typing import Any

import numpy as np

from margin.cascade.rounds import CascadeResult
from margin.fields import ScenarioError
from margin.paths import PricePath
from margin.scenario import Scenario
from margin.simulate import simulate
from margin.walk import start_walk

# ----------------------------------------------------------------------------- the learner


def learner_path(scenario: Scenario, market: str, result: CascadeResult) -> PricePath:
    """The cascade's price moves applied to the learner's account, one row per round: the
    crowd's market moves as the cascade did (relative to its start), every other market
    holds still."""
    if market not in scenario.markets:
        raise ScenarioError("scenario", f"has no market {market!r} (markets: {', '.join(scenario.markets)})")
    multipliers = result.prices / result.start_price
    names = tuple(scenario.markets)
    columns = [scenario.markets[n].price * (multipliers if n == market else np.ones_like(multipliers))
               for n in names]
    return PricePath(steps=np.arange(len(multipliers)), markets=names, marks=np.column_stack(columns))


def learner_fate(scenario: Scenario, market: str, result: CascadeResult) -> list[dict[str, Any]]:
    """Each of the learner's positions and the round at which it dies (None = survives), from
    :func:`margin.simulate.simulate` along :func:`learner_path`, starting where the account
    arrives at today's prices from its positions' entries (:func:`margin.walk.start_walk`): a
    position that died on the way is reported in round 0, before the shock, with
    ``"before_shock": True``."""
    arrival = start_walk(scenario)
    first: dict[str, Any] = {}
    for event in arrival.events:
        if event.type in ("liquidation", "partial_liquidation") and event.position not in first:
            first[event.position] = (0, event, True)
    simulation = simulate(scenario, learner_path(scenario, market, result), start=arrival.state)
    for event in simulation.events:
        if event.type in ("liquidation", "partial_liquidation") and event.position not in first:
            first[event.position] = (int(event.step), event, False)
    out = []
    for position in scenario.positions:
        found = first.get(position.id)
        out.append({
            "id": position.id, "market": position.market, "side": position.side, "mode": position.mode,
            "round": None if found is None else found[0],
            "event": None if found is None else found[1].type,
            "price": None if found is None else found[1].price,
            "before_shock": bool(found and found[2]),
        })
    return out
