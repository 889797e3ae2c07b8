"""The learner's own account inside a cascade: its positions ride the cascade's prices."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from margin.cascade.deleverage import OutsideCandidates
from margin.cascade.rounds import CascadeResult
from margin.fields import ScenarioError
from margin.paths import PricePath
from margin.scenario import Scenario
from margin.simulate import simulate
from margin.walk import Walk, start_walk

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


def learner_fate(scenario: Scenario, market: str, result: CascadeResult, arrival: Walk | None = None
                 ) -> list[dict[str, Any]]:
    """Each of the learner's positions and the round at which it dies (None = survives), from
    :func:`margin.simulate.simulate` along :func:`learner_path`, starting where the account
    arrives at today's prices from its positions' entries (:func:`margin.walk.start_walk`): a
    position that died on the way is reported in round 0, before the shock, with
    ``"before_shock": True``. A position its stop-loss or take-profit closed first is reported
    the same way, its ``event`` naming the order (the rounds are prints: a stop the price
    gaps past fills at the round's price, with its slippage). ``arrival``: that walk, when the
    caller has it already."""
    arrival = start_walk(scenario) if arrival is None else arrival
    first: dict[str, Any] = {}
    exits = ("liquidation", "partial_liquidation", "stop_loss", "take_profit")
    for event in arrival.events:
        if event.type in exits and event.position not in first:
            first[event.position] = (0, event, True)
    # the rounds are prints, not a line (crossing None): a stop gapped past fills at the round's
    # price; ``before``: where the arrival left the marks, for which of a stop and a liquidation comes first
    simulation = simulate(scenario, learner_path(scenario, market, result), start=arrival.state,
                          before=np.array(arrival.prices))
    for event in simulation.events:
        if event.type in exits and event.position not in first:
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


# ----------------------------------------------------------------------------- the learner in the ADL queue

NEVER = np.iinfo(np.int64).max  # a round no cascade reaches


def learner_candidates(scenario: Scenario, market: str, fate: list[dict[str, Any]], arrival: Walk | None = None
                       ) -> tuple[OutsideCandidates | None, list[int]]:
    """The learner's open positions in ``market`` as candidates in the crowd's ADL queue (and
    their indices in ``scenario.positions``), where the account arrives at today's prices: the
    equity behind an isolated position is its margin plus its PnL, behind a cross position the
    whole cross pool (the other markets held still; its collateral at its collateral value). A
    position is open until the round its walk liquidated (or its order closed) it in; one
    closed before the shock is not in the queue. Inverse contracts stand in their coin's queue,
    not this USDT crowd's: they are left out."""
    state = (start_walk(scenario) if arrival is None else arrival).state
    marks = {name: m.price for name, m in scenario.markets.items()}
    pool_base, pool_slope = state.cross_wallet, 0.0
    for k, entry in enumerate(scenario.collateral):
        if not entry.coin_pool and state.collateral:
            counted = state.collateral[k] * entry.factor
            if entry.market == market:
                pool_slope += counted
            else:
                pool_base += counted * marks[entry.market]
    for j, p in enumerate(scenario.positions):
        if p.is_inverse:
            continue
        if not p.is_isolated and state.sizes[j] > 0:
            if p.market == market:
                pool_base -= p.sign * state.sizes[j] * p.entry
                pool_slope += p.sign * state.sizes[j]
            else:
                pool_base += p.sign * state.sizes[j] * (marks[p.market] - p.entry)
    rows, index = [], []
    for i, p in enumerate(scenario.positions):
        if p.market != market or state.sizes[i] <= 0 or fate[i]["before_shock"] or p.is_inverse:
            continue
        size = state.sizes[i]
        base, slope = ((state.margins[i] - p.sign * size * p.entry, p.sign * size) if p.is_isolated
                       else (pool_base, pool_slope))
        rows.append((p.sign, size, p.entry, base, slope, NEVER if fate[i]["round"] is None else fate[i]["round"]))
        index.append(i)
    if not rows:
        return None, []
    sides, sizes, entries, bases, slopes, until = (np.array(c) for c in zip(*rows))
    return OutsideCandidates(side=sides.astype(float), size=sizes, entry=entries, equity_base=bases,
                             equity_slope=slopes, open_until=until.astype(np.int64)), index


def learner_in_cascade(scenario: Scenario, market: str, run: Callable[[OutsideCandidates | None], CascadeResult]
                       ) -> tuple[CascadeResult, list[dict[str, Any]]]:
    """The cascade ``run`` and the learner's fate in it. With auto-deleveraging, the learner's
    profitable positions stand in the crowd's ADL queue: the cascade is run again with them
    (ADL moves no price, so the rounds and the learner's liquidations stay as they were) and
    each fate gains ``adl_size`` [base], ``adl_price`` [quote per base, average], ``adl_round``
    and ``adl_given_up`` [quote, the profit lost against the mark]."""
    result = run(None)
    arrival = start_walk(scenario)  # one walk from the entries for the fate and the queue
    fate = learner_fate(scenario, market, result, arrival)
    for entry in fate:
        entry.update(adl_size=0.0, adl_price=None, adl_round=None, adl_given_up=0.0)
    if not result.adl:
        return result, fate
    outside, index = learner_candidates(scenario, market, fate, arrival)
    if outside is None:
        return result, fate
    result = run(outside)
    taken = result.outside
    for k, i in enumerate(index):
        if taken is not None and taken.size[k] > 0:
            fate[i].update(adl_size=float(taken.size[k]), adl_price=float(taken.value[k] / taken.size[k]),
                           adl_round=int(taken.round[k]), adl_given_up=float(taken.given_up[k]))
    return result, fate
