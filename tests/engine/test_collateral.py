"""Collateral that moves with its market (issue 27, item 1): the issue's worked example, the
walk and settlement with collateral, and properties over random accounts (Hypothesis)."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin import evaluate, liquidation_prices, scenario_from_dict, simulate, simulate_reference
from margin.account import account_value, compile_account, value_account
from margin.simulate import price_path
from margin.walk import scenario_now, start_walk, walk_to
from tests.strategies import paths_for, rich_scenario_dicts, scenario_dicts

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The issue's worked example: first principles, no fees, maintenance 0.5 % of the value at mark.
BTC = {"BTCUSDT": {"price": 60_000, "mmr": 0.005}}
ONE_BTC = [{"asset": "BTC", "amount": 1, "market": "BTCUSDT", "haircut": 0.05}]


def _example(side: str, in_btc: bool) -> dict:
    raw = {"balance": 0 if in_btc else 57_000, "markets": copy.deepcopy(BTC),
           "positions": [{"id": "btc", "market": "BTCUSDT", "side": side, "size": 1, "entry": 60_000,
                          "leverage": 10, "mode": "cross"}]}
    if in_btc:
        raw["collateral"] = copy.deepcopy(ONE_BTC)
    return raw


@pytest.mark.parametrize("side, in_btc, expected", [
    ("long", True, 30_848.33),  # equity 0.95 P + (P − 60,000) = 0.005 P: P = 60,000 / 1.945
    ("long", False, 3_015.08),  # 57,000 + P − 60,000 = 0.005 P: P = 3,000 / 0.995
    ("short", True, 1_090_909.09),  # 0.95 P − (P − 60,000) = 0.005 P: P = 60,000 / 0.055
    ("short", False, 116_417.91),  # 57,000 − (P − 60,000) = 0.005 P: P = 117,000 / 1.005
])
def test_the_issues_worked_example(side, in_btc, expected):
    """Issue 27's worked example, to the cent. The short on BTC collateral is a hedge whose
    liquidation lies at 18 x today's price: the lab reports it beyond reach, and gives it when
    asked for every root."""
    scenario = scenario_from_dict(_example(side, in_btc))
    (exact,) = liquidation_prices(scenario, reach_factor=None)
    assert round(exact.liquidation_price, 2) == expected
    snap = evaluate(scenario, {"BTCUSDT": exact.liquidation_price})
    assert snap.cross.equity == pytest.approx(snap.cross.maintenance_margin, abs=1e-6)
    (shown,) = liquidation_prices(scenario)
    if expected > 10 * 60_000:
        assert shown.liquidation_price is None and shown.beyond_reach
    else:
        assert shown == exact


def test_the_collateral_is_worth_its_haircut_value_and_moves_with_its_market():
    scenario = scenario_from_dict(_example("long", True))
    now = evaluate(scenario)
    assert now.cross.collateral_value == pytest.approx(57_000.0) and now.cross.equity == pytest.approx(57_000.0)
    half = evaluate(scenario, {"BTCUSDT": 30_000})  # the position loses 30,000, the collateral 28,500
    assert half.cross.equity == pytest.approx(57_000 - 30_000 - 28_500)


def test_a_crash_liquidates_the_btc_wallet_near_30850_and_sells_the_collateral():
    """The story: the same long on the same value, in BTC or in USDT, down a straight crash."""
    path = price_path({"BTCUSDT": np.linspace(60_000, 2_000, 5_801)})  # 10 USDT a row
    in_btc = simulate(scenario_from_dict(_example("long", True)), path)
    sale, close = in_btc.events
    assert (sale.type, close.type) == ("collateral_sale", "liquidation")
    assert 30_840 <= close.price <= 30_850 and sale.price == close.price
    assert sale.size == 1.0 and sale.realized_pnl == pytest.approx(close.price * 0.95)
    assert in_btc.final.held == (0.0,)
    in_usdt = simulate(scenario_from_dict(_example("long", False)), path)
    (only,) = in_usdt.events
    assert only.type == "liquidation" and 3_010 <= only.price <= 3_020


def test_the_lab_walk_sells_the_collateral_where_the_pool_breaks_and_carries_it_on():
    walk = walk_to(start_walk(scenario_from_dict(_example("long", True))), {"BTCUSDT": 25_000})
    assert [e.type for e in walk.events] == ["collateral_sale", "liquidation"]
    assert walk.events[1].price == pytest.approx(30_848.33, rel=0.0005)
    assert scenario_now(walk).collateral[0].amount == 0.0


def test_a_short_on_btc_collateral_is_a_hedge():
    scenario = scenario_from_dict(_example("short", True))
    path = price_path({"BTCUSDT": np.linspace(60_000, 600_000, 2_000)})
    assert simulate(scenario, path).events == ()  # up ten-fold: the short loses what the BTC gains


@PROPERTY
@given(data=st.data())
def test_money_is_conserved_with_moving_collateral(data):
    """In USDT: the wallet, the fund and what was socialized add up to the start plus every close's
    PnL and every sale's proceeds, to the cent; each collateral asset is held or sold, never lost."""
    scenario = scenario_from_dict(data.draw(rich_scenario_dicts()))
    result = simulate(scenario, data.draw(paths_for(scenario)))
    final = result.final
    realized = sum(e.realized_pnl for e in result.events)
    before = scenario.balance + scenario.rules.insurance_fund + realized
    after = final.balance + final.insurance_fund - final.socialized_loss
    assert after == pytest.approx(before, abs=0.005, rel=1e-12)
    for k, entry in enumerate(scenario.collateral):
        sold = sum(e.size for e in result.events if e.type == "collateral_sale" and e.position == entry.asset)
        assert final.held[k] + sold == pytest.approx(entry.amount, rel=1e-12)
        assert final.held[k] in (0.0, entry.amount)  # all of it sold with the pool, or none


@PROPERTY
@given(raw=scenario_dicts(), usdc=st.floats(0.0, 50_000.0), data=st.data())
def test_a_stable_coin_at_one_without_haircut_is_the_balance(raw, usdc, data):
    """USDC priced at 1.0 (a market no shock moves) with no haircut gives today's account with
    that much more balance: its liquidation prices, its valuation and its walk, bit for bit or to
    rounding."""
    with_usdc = copy.deepcopy(raw)
    with_usdc["markets"]["USDCUSDT"] = {"price": 1.0, "mmr": 0.01, "beta": 0}
    with_usdc["collateral"] = [{"asset": "USDC", "amount": usdc, "market": "USDCUSDT"}]
    plain = copy.deepcopy(raw)
    plain["balance"] += usdc
    plain["markets"]["USDCUSDT"] = {"price": 1.0, "mmr": 0.01, "beta": 0}
    a, b = scenario_from_dict(with_usdc), scenario_from_dict(plain)
    scale = b.balance + sum(p.size * p.entry for p in b.positions) + 1.0
    for x, y in zip(liquidation_prices(a), liquidation_prices(b)):
        for u, v in ((x.liquidation_price, y.liquidation_price), (x.bankruptcy_price, y.bankruptcy_price)):
            assert (u is None) == (v is None) or abs(u - v) <= 1e-9 * scale
            if u is not None and v is not None:
                assert u == pytest.approx(v, rel=1e-9)
    assert evaluate(a).cross.equity == pytest.approx(evaluate(b).cross.equity, abs=1e-9 * scale)
    path = data.draw(paths_for(b))
    held = path.marks.copy()  # USDC stays at 1.0 along the path, as no shock moves it
    held[:, list(b.markets).index("USDCUSDT")] = 1.0
    path = replace(path, marks=held)
    ours, theirs = simulate(a, path), simulate(b, path)
    liquidations = [(e.type, e.position, e.row) for e in ours.events if e.type != "collateral_sale"]
    assert liquidations == [(e.type, e.position, e.row) for e in theirs.events]
    assert ours.final.balance + ours.final.held[0] == pytest.approx(theirs.final.balance, abs=1e-6 * scale)
    # the same fees: a cross slice's fee is capped by the cash behind it, collateral included
    assert sum(e.fee for e in ours.events) == pytest.approx(sum(e.fee for e in theirs.events), abs=1e-6 * scale)


@PROPERTY
@given(data=st.data())
def test_the_event_to_event_walk_equals_the_step_by_step_loop_with_collateral(data):
    scenario = scenario_from_dict(data.draw(rich_scenario_dicts()))
    path = data.draw(paths_for(scenario))
    assert simulate(scenario, path).as_dict() == simulate_reference(scenario, path).as_dict()


def _plain_loop(scenario, marks: dict[str, float]) -> tuple[float, float, float]:
    """The USDT pool's equity and maintenance and the account's value, one position at a time in
    Python floats, written from the format's definitions (not the engine's code)."""
    equity = scenario.balance - sum(p.margin for p in scenario.positions if p.is_isolated)
    maintenance, owned = 0.0, 0.0
    for c in scenario.collateral:
        equity += c.amount * marks[c.market] * (1 - c.haircut)
    for p in scenario.positions:
        market = scenario.markets[p.market]
        pnl = (1 if p.side == "long" else -1) * p.size * (marks[p.market] - p.entry)
        basis = p.entry if scenario.rules.mm_basis == "entry" else marks[p.market]
        tier = [t for t in market.tiers if t.floor <= p.size * basis][-1]
        mm = p.size * basis * tier.mmr - tier.cum
        if p.is_isolated:
            owned += max(p.margin + pnl, 0.0)
        else:
            equity += pnl
            maintenance += mm
    return equity, maintenance, max(equity, 0.0) + owned


@PROPERTY
@given(raw=rich_scenario_dicts(), factors=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=10))
def test_the_vectorized_valuation_equals_a_plain_loop(raw, factors):
    scenario = scenario_from_dict(raw)
    account = compile_account(scenario)
    names = list(scenario.markets)
    rows = np.array([[scenario.markets[n].price * f for n in names] for f in factors])
    value = value_account(account, rows)
    scale = scenario.balance + sum(c.amount * scenario.markets[c.market].price for c in scenario.collateral) \
        + sum(p.size * p.entry for p in scenario.positions) + 1.0
    for g, row in enumerate(rows):
        equity, maintenance, owned = _plain_loop(scenario, dict(zip(names, row)))
        assert value.cross_equity[g] == pytest.approx(equity, rel=1e-12, abs=1e-9 * scale * max(factors))
        assert value.cross_maintenance[g] == pytest.approx(maintenance, rel=1e-12, abs=1e-9 * scale)
        assert account_value(scenario, dict(zip(names, row))) == pytest.approx(owned, rel=1e-12,
                                                                               abs=1e-9 * scale * max(factors))


@PROPERTY
@given(raw=rich_scenario_dicts(modes=("cross",)))
def test_equity_equals_maintenance_at_every_liquidation_price_with_collateral(raw):
    scenario = scenario_from_dict(raw)
    scale = scenario.balance + sum(c.amount * scenario.markets[c.market].price for c in scenario.collateral) \
        + sum(p.size * p.entry for p in scenario.positions) + 1.0
    for position, lp in zip(scenario.positions, liquidation_prices(scenario)):
        if lp.liquidation_price is not None:
            snap = evaluate(scenario, {position.market: lp.liquidation_price})
            assert snap.cross.equity == pytest.approx(snap.cross.maintenance_margin, rel=1e-9, abs=1e-9 * scale * 10)
