""":func:`margin.liquidation.liquidation_prices` solves one pool row per distinct pool (each
isolated position alone, the cross legs of one market, pool and side together) and hands it to
every leg that shares it; the prices are those of the old form, one row per live position, bit
for bit, in any state (sizes closed or cut, margins, wallet, collateral, prices moved)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.liquidation import LiquidationPrice, liquidation_prices
from margin.pools import first_prices, state_pools
from margin.scenario import scenario_from_dict
from tests.strategies import rich_scenario_dicts

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _one_row_per_position(scenario, prices=None, sizes=None, margins=None, cross_wallet=None, collateral=None,
                          reach_factor=10.0):
    """The form before the grouping (main 68ff69c), kept as the reference: every live position
    its own row of the state's pools."""
    positions = list(scenario.positions)
    if sizes is not None:
        positions = [replace(p, size=float(s)) for p, s in zip(positions, sizes)]
    if margins is not None:
        positions = [replace(p, margin=float(m)) if p.is_isolated else p for p, m in zip(positions, margins)]
    current = scenario.prices
    current.update(prices or {})
    out = [LiquidationPrice(id=p.id, liquidation_price=None, bankruptcy_price=None) for p in positions]
    live = [i for i, p in enumerate(positions) if p.size > 0]
    if not live:
        return tuple(out)
    n = len(live)
    marks = np.array([[current[name] for name in scenario.markets]], dtype=float)
    size = np.array([[p.size for p in positions]], dtype=float)
    margin = np.array([[p.margin if p.is_isolated else 0.0 for p in positions]], dtype=float)
    wallet = scenario.cross_wallet if cross_wallet is None else cross_wallet
    held_collateral = None if collateral is None else np.array([collateral] * n, dtype=float).reshape(n, -1)
    pools, held = state_pools(scenario, np.array(live), size.repeat(n, 0), margin.repeat(n, 0),
                              np.full(n, wallet, dtype=float), marks.repeat(n, 0), held_collateral)
    here = np.array([current[positions[i].market] for i in live], dtype=float)
    own_side = np.array([positions[i].sign for i in live])
    (liq, liq_dir, liq_far), (bank, bank_dir, bank_far) = first_prices(pools, held, here, own_side,
                                                                       reach_factor=reach_factor)
    for row, i in enumerate(live):
        out[i] = LiquidationPrice(
            id=positions[i].id, liquidation_price=None if np.isnan(liq[row]) else float(liq[row]),
            bankruptcy_price=None if np.isnan(bank[row]) else float(bank[row]), direction=int(liq_dir[row]),
            bankruptcy_direction=int(bank_dir[row]), beyond_reach=bool(liq_far[row] or bank_far[row]),
            reach=math.inf if reach_factor is None else float(reach_factor * here[row]))
    return tuple(out)


def _bits(prices: tuple[LiquidationPrice, ...]) -> list[tuple]:
    """Every field, floats as their bits (so -0.0 and 0.0, or two NaNs, are told apart or not
    as the bits say)."""
    def bits(x):
        return None if x is None else np.float64(x).tobytes()
    return [(p.id, bits(p.liquidation_price), bits(p.bankruptcy_price), p.direction, p.bankruptcy_direction,
             p.beyond_reach, bits(p.reach)) for p in prices]


@st.composite
def states(draw):
    """An account of up to 14 positions on 1–3 markets (so pools of up to 14 legs, wider than
    numpy's 8-term pairwise sum, hedged or not), with collateral and sometimes a coin pool of
    inverse contracts, and a state of it: sizes kept, cut or closed, margins, wallet, collateral
    amounts and prices moved."""
    raw = draw(rich_scenario_dicts(collateral=draw(st.booleans()), coins=draw(st.booleans()),
                                   max_positions=draw(st.sampled_from([3, 8, 14]))))
    scenario = scenario_from_dict(raw)
    overrides: dict = {"reach_factor": draw(st.sampled_from([10.0, None]))}
    if draw(st.booleans()):
        cut = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.0, 1.0])
        overrides["sizes"] = [p.size * draw(cut) for p in scenario.positions]
    if draw(st.booleans()):
        overrides["margins"] = [(p.margin or 0.0) * draw(st.floats(0.0, 2.0)) for p in scenario.positions]
    if draw(st.booleans()):
        overrides["cross_wallet"] = scenario.cross_wallet * draw(st.floats(-0.5, 2.0))
    if scenario.collateral and draw(st.booleans()):
        overrides["collateral"] = [scenario.coin_wallet(k) * draw(st.floats(0.0, 2.0))
                                   for k in range(len(scenario.collateral))]
    if draw(st.booleans()):
        overrides["prices"] = {name: market.price * draw(st.floats(0.3, 3.0)) for name, market in scenario.markets.items()}
    return scenario, overrides


@PROPERTY
@given(state=states())
def test_one_row_per_pool_gives_the_prices_of_one_row_per_position_bit_for_bit(state):
    scenario, overrides = state
    assert _bits(liquidation_prices(scenario, **overrides)) == _bits(_one_row_per_position(scenario, **overrides))


def test_a_wide_hedged_pool_and_isolated_legs_give_the_old_prices_bit_for_bit():
    """Twelve cross legs of one market, long and short (one pool, two sides), beside isolated
    legs of the same market and a cross leg elsewhere: the example the property is sure to hold."""
    tiers = [{"floor": 0, "mmr": 0.004, "max_leverage": 100}, {"floor": 5_000, "mmr": 0.01, "max_leverage": 50},
             {"floor": 50_000, "mmr": 0.05, "max_leverage": 10}]
    legs = [{"id": f"x{k}", "market": "BTC", "side": "long" if k % 3 else "short", "size": 0.01 * (k + 1),
             "entry": 100_000 * (1 + (k - 6) / 97), "leverage": 20, "mode": "cross"} for k in range(12)]
    legs += [{"id": f"i{k}", "market": "BTC", "side": side, "size": 0.05, "entry": 99_000, "leverage": 25,
              "mode": "isolated"} for k, side in enumerate(("long", "short"))]
    legs.append({"id": "eth", "market": "ETH", "side": "short", "size": 1.0, "entry": 3_000, "leverage": 10, "mode": "cross"})
    scenario = scenario_from_dict({"format": "margin-scenario/1", "name": "wide", "balance": 3_000,
                                   "markets": {"BTC": {"price": 100_000, "tiers": tiers},
                                               "ETH": {"price": 3_100, "tiers": tiers}}, "positions": legs})
    for prices in (None, {"BTC": 96_000.0, "ETH": 3_300.0}):
        found = liquidation_prices(scenario, prices=prices)
        assert _bits(found) == _bits(_one_row_per_position(scenario, prices=prices))
        assert len({(p.liquidation_price, p.direction) for p in found[:12]}) == 1  # one pool, one price
        assert found[12].liquidation_price != found[13].liquidation_price


def test_a_pool_flat_at_todays_price_loses_each_legs_own_way():
    """Long 2.015625 and short 1.984375 at 100 in one cross pool, both in the 1/128 tier: the
    pool's excess is flat at today's price (net 0.03125 = Σ size × rate, exactly), so each leg's
    price is the root its own side's loss meets first: the long's below (8), the short's above
    (where the long's 5 % tier bends the line). Legs of one pool, two sides, two rows."""
    tiers = [{"floor": 0, "mmr": 1 / 256, "max_leverage": 100}, {"floor": 100, "mmr": 1 / 128, "max_leverage": 50},
             {"floor": 1_000, "mmr": 0.05, "max_leverage": 10}]
    legs = [{"id": side, "market": "X", "side": side, "size": size, "entry": 100, "leverage": 10, "mode": "cross"}
            for side, size in (("long", 2.015625), ("short", 1.984375))]
    scenario = scenario_from_dict({"format": "margin-scenario/1", "name": "flat", "balance": 3,
                                   "markets": {"X": {"price": 100, "tiers": tiers}}, "positions": legs})
    long, short = found = liquidation_prices(scenario)
    assert _bits(found) == _bits(_one_row_per_position(scenario))
    assert (long.liquidation_price, long.direction) == (8.0, -1)
    assert short.direction == 1 and 496 < short.liquidation_price < 1_000
