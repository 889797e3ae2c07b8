""":func:`margin.pools.state_pools` adds what the other markets' cross legs bring to each pool
(their PnL to its constant, their MM to what it holds apart) from one array of every leg in
every state, in scenario order: the bits of the old leg-by-leg loop (main 68ff69c), kept here as
the reference, in many states at once (each row its own sizes, marks, wallet, collateral)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.pools import _with_collateral, state_pools
from margin.scenario import scenario_from_dict
from margin.tiers import maintenance_margin
from tests.strategies import rich_scenario_dicts

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _leg_by_leg(scenario, index, size, margin, wallet, marks, collateral):
    """The pools' constant and held MM as the loop over the other legs found them."""
    positions, names = scenario.positions, list(scenario.markets)
    entry_basis = scenario.rules.mm_basis == "entry"
    market = np.array([names.index(p.market) for p in positions], dtype=np.intp)
    isolated = np.array([p.is_isolated for p in positions], dtype=bool)
    coins = {c.asset: k for k, c in enumerate(scenario.collateral) if c.coin_pool}
    pool_of = np.array([coins.get(scenario.currency(p), -1) for p in positions], dtype=np.intp)
    rows, own, own_pool = np.arange(index.shape[0]), market[index], pool_of[index]
    cross_pool = ~isolated[index]
    open_cross = (size > 0) & ~isolated[None, :]
    base = wallet if not coins else np.where(own_pool < 0, wallet, collateral[rows, np.maximum(own_pool, 0)])
    constant = np.where(cross_pool, base, margin[rows, index]).astype(float)
    held = np.zeros(index.shape[0])
    for j, other in enumerate(positions):
        elsewhere = cross_pool & open_cross[:, j] & (market[j] != own) & (pool_of[j] == own_pool)
        if not elsewhere.any():
            continue
        mark = marks[:, market[j]]
        if other.is_inverse:
            cv = other.contract_value
            pnl = other.sign * size[:, j] * cv * (1.0 / other.entry - 1.0 / mark)
            notional = size[:, j] * cv / (other.entry if entry_basis else mark)
        else:
            pnl = other.sign * size[:, j] * (mark - other.entry)
            notional = size[:, j] * (other.entry if entry_basis else mark)
        constant = constant + np.where(elsewhere, pnl, 0.0)
        held = held + np.where(elsewhere, maintenance_margin(notional, *scenario.markets[other.market].tier_tables), 0.0)
    constant, _ = _with_collateral(scenario, constant, cross_pool & (own_pool < 0), own, collateral, marks)
    return constant, held


def _spread(raw: dict) -> dict:
    """The USDT legs dealt round the USDT markets (the drawn ones crowd into the first), each
    moved at the same notional and entry-to-price ratio, its leverage within the new tier (an
    isolated leg's margin then its notional over it, the balance raised to hold it)."""
    names = sorted(name for name, m in raw["markets"].items() if m.get("contract") != "inverse")
    legs = [p for p in raw["positions"] if p["market"] in names]
    for k, leg in enumerate(legs):
        old, new = raw["markets"][leg["market"]], raw["markets"][names[k % len(names)]]
        scale = new["price"] / old["price"]
        leg.update(market=names[k % len(names)], entry=leg["entry"] * scale, size=leg["size"] / scale)
        notional = leg["size"] * leg["entry"]
        top = [t for t in new["tiers"] if t["floor"] <= notional][-1]["max_leverage"]
        leg["leverage"] = min(leg["leverage"], top)
        if leg["mode"] == "isolated":
            raw["balance"] += leg.pop("margin", 0.0) + notional / leg["leverage"]  # enough for its new margin
    return raw


@st.composite
def batches(draw):
    """An account (up to 14 legs on 1-3 markets, often all cross, collateral, sometimes a coin
    pool) and up to 6 states of it, each asking for the pool of one of its positions."""
    raw = draw(rich_scenario_dicts(collateral=draw(st.booleans()), coins=draw(st.booleans()),
                                   modes=draw(st.sampled_from([("cross",), ("cross", "isolated")])),
                                   max_positions=draw(st.sampled_from([4, 8, 14]))))
    scenario = scenario_from_dict(_spread(raw))
    n = draw(st.integers(1, 6))
    cut = st.sampled_from([0.0, 0.5, 1.0, 1.0])
    index = np.array([draw(st.integers(0, len(scenario.positions) - 1)) for _ in range(n)])
    size = np.array([[q.size * draw(cut) for q in scenario.positions] for _ in range(n)])
    margin = np.array([[(q.margin or 0.0) if q.is_isolated else 0.0 for q in scenario.positions]] * n)
    wallet = np.array([scenario.cross_wallet * draw(st.floats(0.0, 2.0)) for _ in range(n)])
    marks = np.array([[m.price * draw(st.floats(0.3, 3.0)) for m in scenario.markets.values()] for _ in range(n)])
    collateral = np.array([[scenario.coin_wallet(k) * draw(st.floats(0.0, 2.0)) for k in range(len(scenario.collateral))]
                           for _ in range(n)]).reshape(n, -1)
    return scenario, index, size, margin, wallet, marks, collateral


@PROPERTY
@given(batch=batches())
def test_the_other_legs_add_to_each_pool_the_bits_of_the_leg_by_leg_loop(batch):
    scenario, index, size, margin, wallet, marks, collateral = batch
    pools, held = state_pools(scenario, index, size, margin, wallet, marks, collateral)
    constant, expected_held = _leg_by_leg(scenario, index, size, margin, wallet, marks, collateral)
    assert pools.constant.tobytes() == constant.tobytes()
    assert held.tobytes() == expected_held.tobytes()
