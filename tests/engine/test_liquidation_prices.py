"""Sane liquidation prices: legs of one market in one pool share its breach price, nothing is
reported beyond reach, and a liquidation and a bankruptcy price lie on the same side of today's
price unless the pool is almost perfectly hedged (the page then says why). The solver's plain
Python form for one isolated position gives the vectorized solver's roots, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.account import REACH_FACTOR, evaluate, liquidation_prices
from margin.presets import load_story
from margin.roots import Pools, segment_roots, single_roots
from margin.scenario import scenario_from_dict
from margin.tiers import parse_tiers, tables
from tests.strategies import scenario_dicts, scenarios, tier_tables

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _hedge(long_size: float, short_size: float) -> dict:
    raw = load_story("default")  # Binance-like BTC tiers up to a 50 % rate
    raw["positions"] = [
        {"id": "long", "market": "BTCUSDT", "side": "long", "size": long_size, "entry": 80_000, "leverage": 10, "mode": "cross"},
        {"id": "short", "market": "BTCUSDT", "side": "short", "size": short_size, "entry": 80_000, "leverage": 10, "mode": "cross"}]
    return raw


def test_the_issues_hedge_gives_one_sane_price_for_both_legs():
    """A BTC long 0.3 and a short 0.1 in one cross wallet: the short used to report
    1.44e25 USDT (a root in the 50 % top tier), with its bankruptcy price on the other side."""
    long, short = liquidation_prices(scenario_from_dict(_hedge(0.3, 0.1)))
    # 9,000 + 0.3 (p − 80,000) − 0.1 (p − 80,000) = 0.004 × 0.4 p (both legs in the first tier)
    assert long.liquidation_price == short.liquidation_price == pytest.approx(7_000 / (0.2 - 0.0016), rel=1e-12)
    assert long.bankruptcy_price == short.bankruptcy_price == pytest.approx(35_000.0)
    assert short.direction == short.bankruptcy_direction == -1  # the pool is net long: a fall hurts it
    # at that price the pool's equity is its maintenance margin
    snap = evaluate(scenario_from_dict(_hedge(0.3, 0.1)), {"BTCUSDT": short.liquidation_price})
    assert snap.cross.equity == pytest.approx(snap.cross.maintenance_margin, rel=1e-9)


def test_a_root_only_past_the_top_tier_is_none_within_reach():
    raw = _hedge(0.1, 0.1)  # perfectly hedged: equity never moves, only maintenance grows with price
    raw["balance"] = 200_000
    for lp in liquidation_prices(scenario_from_dict(raw)):
        assert lp.liquidation_price is None and lp.beyond_reach  # only at ~10^7x today's price
        assert lp.bankruptcy_price is None
        # what the words may say as a fact: no liquidation up to REACH_FACTOR × today's price
        assert lp.reach == REACH_FACTOR * 100_000 == 1_000_000


@PROPERTY
@given(scenario=scenarios(modes=("cross",)))
def test_legs_of_one_market_in_the_cross_pool_share_its_prices(scenario):
    prices = liquidation_prices(scenario)
    by_market: dict[str, set] = {}
    for position, lp in zip(scenario.positions, prices):
        by_market.setdefault(position.market, set()).add((lp.liquidation_price, lp.bankruptcy_price, lp.direction))
    assert all(len(found) == 1 for found in by_market.values()), by_market


@PROPERTY
@given(scenario=scenarios())
def test_no_price_beyond_reach_is_reported(scenario):
    for position, lp in zip(scenario.positions, liquidation_prices(scenario)):
        limit = REACH_FACTOR * scenario.markets[position.market].price
        for value in (lp.liquidation_price, lp.bankruptcy_price):
            assert value is None or 0 < value <= limit


@PROPERTY
@given(raw=scenario_dicts(mm_basis=("mark",)))
def test_liquidation_and_bankruptcy_lie_on_one_side_unless_the_pool_is_almost_hedged(raw):
    scenario = scenario_from_dict(raw)
    snapshot = evaluate(scenario)
    for position, lp, now in zip(scenario.positions, liquidation_prices(scenario), snapshot.positions):
        if lp.liquidation_price is None or lp.bankruptcy_price is None or now.liquidatable:
            continue  # a pool already below maintenance has no price "to come"
        here = scenario.markets[position.market].price
        if abs(lp.liquidation_price - here) <= 1e-12 * here:
            continue  # a pool exactly at maintenance: its liquidation price is today's, on no side
        same_side = (lp.liquidation_price - here) * (lp.bankruptcy_price - here) > 0
        if same_side:
            continue
        # the exception: the pool's net size in this market is smaller than what its
        # maintenance grows by per unit of price (Σ size × rate), so a rise adds more
        # maintenance than profit while a fall is what would bankrupt it
        members = [p for p in scenario.positions if p.market == position.market
                   and (p.is_isolated == position.is_isolated) and (not p.is_isolated or p is position)]
        market = scenario.markets[position.market]
        net = abs(sum(p.sign * p.size for p in members))
        growth = sum(p.size * market.tier_for(p.size * here).mmr for p in members)
        assert net < growth


@PROPERTY
@given(scenario=scenarios())
def test_the_direction_is_the_side_the_price_is_on(scenario):
    for position, lp in zip(scenario.positions, liquidation_prices(scenario)):
        here = scenario.markets[position.market].price
        if lp.liquidation_price is not None and lp.liquidation_price != here:
            assert lp.direction == (1 if lp.liquidation_price > here else -1)
        if lp.liquidation_price is None:
            assert lp.direction == 0


def _both_solvers(side, size, entry, constant, tiers, with_maintenance, entry_basis):
    arrays = tables(tiers)
    pools = Pools.single(side=np.array([side]), size=np.array([size]), entry=entry, constant=np.array([constant]),
                         floors=arrays[0], rates=arrays[1], cums=arrays[2], entry_basis=entry_basis)
    vector = segment_roots(pools, with_maintenance=with_maintenance)[0]
    scalar = single_roots(side=side, size=size, entry=entry, constant=constant,
                          tiers=tuple(tuple(map(float, a)) for a in arrays),
                          with_maintenance=with_maintenance, entry_basis=entry_basis)
    return vector[~np.isnan(vector)].tolist(), scalar


@PROPERTY
@given(raw_tiers=tier_tables(), side=st.sampled_from([1, -1]), size=st.floats(1e-6, 1e4),
       entry=st.floats(1.0, 1e5), constant=st.floats(-1e5, 1e6), with_maintenance=st.booleans(),
       entry_basis=st.booleans())
def test_the_plain_python_solver_of_one_position_gives_the_vectorized_roots(
        raw_tiers, side, size, entry, constant, with_maintenance, entry_basis):
    tiers = parse_tiers(raw_tiers, "tiers")
    vector, scalar = _both_solvers(side, size, entry, constant, tiers, with_maintenance, entry_basis)
    assert scalar == vector  # same bits, segment by segment


def test_a_root_on_a_tier_floor_counts_once_in_both_solvers():
    """A long of 1 at 20,000 with 10,040 of margin breaches exactly at the floor 10,000
    (10,040 + (10,000 − 20,000) − 0.004 × 10,000 = 0): the segments either side both find it."""
    tiers = parse_tiers([{"floor": 0, "mmr": 0.004}, {"floor": 10_000, "mmr": 0.01}], "tiers")
    vector, scalar = _both_solvers(1, 1.0, 20_000.0, 10_040.0, tiers, True, False)
    assert scalar == vector and scalar and all(r == pytest.approx(10_000.0, rel=1e-12) for r in scalar)


def test_a_kept_answer_of_the_plain_solver_is_its_own_list_of_plain_floats():
    """single_roots keeps its answers: asked again with equal arguments (a numpy float for a
    float) it gives the same floats, as a new list of Python floats each time."""
    tiers = ((0.0, 10_000.0), (0.004, 0.01), (0.0, 60.0))
    asked = dict(side=1, size=1.0, entry=20_000.0, tiers=tiers, with_maintenance=True)
    first = single_roots(constant=np.float64(10_040.0), **asked)
    first.append(-1.0)  # the caller's list, not the kept one
    again = single_roots(constant=10_040.0, **asked)
    assert again == first[:-1] and again and all(type(r) is float for r in again)
