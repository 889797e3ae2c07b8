"""Invariants of the engine over random accounts and random paths (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from margin import (
    evaluate, liquidation_prices, position_liquidation_price, scenario_from_dict, simulate,
    simulate_reference, sweep_price, sweep_shock,
)
from margin.reference import evaluate_reference
from tests.strategies import paths_for, scenario_dicts, scenarios

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# About one drawn account in five has a row of only isolated (or only cross) events: fewer examples,
# each one that counts. Filtering that much trips Hypothesis's health check on some seeds; with
# it off, a run where no example qualifies still fails (Unsatisfiable), so none passes vacuously.
FILTERED = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _scale(scenario) -> float:
    """Size of the money involved [quote], for relative tolerances."""
    return scenario.balance + sum(p.size * max(p.entry, scenario.markets[p.market].price)
                                  for p in scenario.positions) + 1.0


# ----------------------------------------------------------------------------- simulate


@PROPERTY
@given(data=st.data())
def test_money_is_conserved_to_the_cent_and_the_wallet_never_goes_negative(data):
    scenario = data.draw(scenarios())
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path, trace=True)
    final = result.final
    realized = sum(e.realized_pnl for e in result.events)
    before = scenario.balance + scenario.rules.insurance_fund + realized
    after = final.balance + final.insurance_fund - final.socialized_loss
    assert after == pytest.approx(before, abs=0.005, rel=1e-12)
    assert final.balance >= 0
    assert final.insurance_fund >= 0
    assert np.all(result.trace.cross_wallet >= 0)
    assert np.all(result.trace.isolated_margin >= 0)


@PROPERTY
@given(data=st.data())
def test_event_to_event_walk_equals_the_step_by_step_loop(data):
    scenario = data.draw(scenarios())
    path = data.draw(paths_for(scenario))
    assert simulate(scenario, path).as_dict() == simulate_reference(scenario, path).as_dict()


@PROPERTY
@given(data=st.data())
def test_closed_positions_stay_closed(data):
    scenario = data.draw(scenarios())
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path, trace=True)
    size = result.trace.size
    # once a size reaches 0 it never comes back
    reopened = (size[:-1] == 0) & (size[1:] > 0)
    assert not reopened.any()
    closed_ids = {e.position for e in result.events if e.type == "liquidation"}
    assert closed_ids.isdisjoint(result.final.open_positions)


def _rows_with_only(result, mode: str) -> list[int]:
    """The path rows whose events are all of ``mode``; the example is discarded when there is none,
    so a property over these rows is never checked on an empty list."""
    rows: dict[int, set[str]] = {}
    for event in result.events:
        rows.setdefault(event.row, set()).add(event.mode)
    chosen = [row for row, modes in rows.items() if modes == {mode}]
    assume(chosen)
    return chosen


@FILTERED
@given(data=st.data())
def test_isolated_liquidation_never_changes_the_cross_wallet(data):
    scenario = data.draw(scenarios(settlement=("bankruptcy",), first_modes=("cross", "isolated")))
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path, trace=True)
    wallet = np.concatenate([[scenario.cross_wallet], result.trace.cross_wallet])
    for row in _rows_with_only(result, "isolated"):
        assert wallet[row + 1] == wallet[row]


@FILTERED
@given(data=st.data())
def test_isolated_liquidation_settled_at_mark_only_returns_money_to_the_cross_wallet(data):
    scenario = data.draw(scenarios(settlement=("mark",), first_modes=("cross", "isolated")))
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path, trace=True)
    wallet = np.concatenate([[scenario.cross_wallet], result.trace.cross_wallet])
    for row in _rows_with_only(result, "isolated"):
        assert wallet[row + 1] >= wallet[row]


@FILTERED
@given(data=st.data())
def test_cross_breach_never_touches_isolated_margin(data):
    scenario = data.draw(scenarios(first_modes=("cross", "isolated")))
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path, trace=True)
    margins = np.vstack([[p.margin or 0.0 for p in scenario.positions], result.trace.isolated_margin])
    isolated = np.array([p.is_isolated for p in scenario.positions])
    for row in _rows_with_only(result, "cross"):
        np.testing.assert_array_equal(margins[row + 1][isolated], margins[row][isolated])


# ----------------------------------------------------------------------------- liquidation prices


@PROPERTY
@given(scenario=scenarios())
def test_equity_equals_maintenance_at_the_liquidation_price_and_zero_at_bankruptcy(scenario):
    scale = _scale(scenario)
    for index, (position, lp) in enumerate(zip(scenario.positions, liquidation_prices(scenario))):
        if lp.liquidation_price is not None:
            snap = evaluate(scenario, {position.market: lp.liquidation_price})
            own = snap.positions[index]
            if position.is_isolated:
                equity, maintenance = own.equity, own.maintenance_margin
            else:
                equity, maintenance = snap.cross.equity, snap.cross.maintenance_margin
            assert equity == pytest.approx(maintenance, rel=1e-9, abs=1e-9 * scale)
        if lp.bankruptcy_price is not None:
            snap = evaluate(scenario, {position.market: lp.bankruptcy_price})
            equity = snap.positions[index].equity
            assert equity == pytest.approx(0.0, abs=1e-9 * scale)


@PROPERTY
@given(scenario=scenarios(), data=st.data())
def test_all_liquidation_prices_at_once_equal_one_at_a_time(scenario, data):
    """liquidation_prices builds the account's state once for every position; with the same
    overrides (prices, sizes with some closed, margins, cross wallet) it gives exactly what
    position_liquidation_price gives for each position alone."""
    n = len(scenario.positions)
    sizes = [p.size * data.draw(st.sampled_from([0.0, 0.5, 1.0])) for p in scenario.positions]
    margins = [(p.margin or 0.0) * data.draw(st.floats(0.2, 1.0)) for p in scenario.positions]
    prices = {name: market.price * data.draw(st.floats(0.5, 1.5)) for name, market in scenario.markets.items()}
    wallet = scenario.cross_wallet * data.draw(st.floats(0.5, 1.5))
    together = liquidation_prices(scenario, prices=prices, sizes=sizes, margins=margins, cross_wallet=wallet)
    alone = tuple(position_liquidation_price(scenario, i, prices=prices, sizes=sizes, margins=margins,
                                             cross_wallet=wallet) for i in range(n))
    assert together == alone


@given(scenario=scenarios(modes=("isolated",)), cut=st.floats(0.05, 0.95))
def test_less_isolated_margin_never_moves_the_liquidation_price_further_away(scenario, cut):
    for index, position in enumerate(scenario.positions):
        before = position_liquidation_price(scenario, index).liquidation_price
        thinner = scenario.with_positions(tuple(
            replace(p, margin=p.margin * cut) if i == index else p for i, p in enumerate(scenario.positions)))
        after = position_liquidation_price(thinner, index).liquidation_price
        if position.side == "long":
            # a long's liquidation price rises (comes closer) as margin shrinks
            assert after is not None or before is None
            if before is not None:
                assert after >= before * (1 - 1e-12)
        else:
            assert after <= before * (1 + 1e-12)


def _mirrored(raw: dict, *, keep_entries_at_price: bool) -> dict:
    """Flip every position's side and reflect each market's prices about its current price."""
    out = {**raw, "positions": []}
    for p in raw["positions"]:
        center = raw["markets"][p["market"]]["price"]
        entry = center if keep_entries_at_price else 2 * center - p["entry"]
        # leverage 1 stays within any tier; it moves neither price (margins are kept explicitly)
        flipped = {**p, "side": "short" if p["side"] == "long" else "long", "entry": entry, "leverage": 1.0}
        if p["mode"] == "isolated":  # the same margin, not the default one of the new entry
            flipped["margin"] = p.get("margin", p["size"] * p["entry"] / p["leverage"])
        out["positions"].append(flipped)
    return out


@PROPERTY
@given(raw=scenario_dicts(mm_basis=("mark",)))
def test_long_and_short_mirror_each_other_for_bankruptcy_prices(raw):
    assume(all(p["entry"] < 2 * raw["markets"][p["market"]]["price"] for p in raw["positions"]))
    original = scenario_from_dict(raw)
    mirror = scenario_from_dict(_mirrored(raw, keep_entries_at_price=False))
    for p, a, b in zip(original.positions, liquidation_prices(original), liquidation_prices(mirror)):
        center = original.markets[p.market].price
        if a.bankruptcy_price is not None and b.bankruptcy_price is not None:
            assert b.bankruptcy_price == pytest.approx(2 * center - a.bankruptcy_price, rel=1e-9, abs=1e-6)


@PROPERTY
@given(raw=scenario_dicts(mm_basis=("entry",)))
def test_long_and_short_mirror_each_other_for_liquidation_prices_on_entry_basis(raw):
    for p in raw["positions"]:
        p["entry"] = raw["markets"][p["market"]]["price"]
        p["leverage"] = 1.0  # within every tier; margins below are explicit
        if p["mode"] == "isolated":
            p["margin"] = 0.2 * p["size"] * p["entry"]
    raw["balance"] += sum(p.get("margin", 0.0) for p in raw["positions"])
    original = scenario_from_dict(raw)
    mirror = scenario_from_dict(_mirrored(raw, keep_entries_at_price=True))
    for p, a, b in zip(original.positions, liquidation_prices(original), liquidation_prices(mirror)):
        center = original.markets[p.market].price
        if a.liquidation_price is not None and 2 * center - a.liquidation_price > 0:
            assert b.liquidation_price == pytest.approx(2 * center - a.liquidation_price, rel=1e-9, abs=1e-6)


def test_cross_liquidation_price_accounts_for_the_other_positions():
    """The complaint this product answers: a profitable position elsewhere moves it."""
    raw = {"balance": 200, "markets": {"A": {"price": 100, "mmr": 0.01}, "B": {"price": 100, "mmr": 0.01}},
           "positions": [{"id": "a", "market": "A", "side": "long", "size": 10, "entry": 100, "leverage": 10, "mode": "cross"}]}
    alone = liquidation_prices(scenario_from_dict(raw))[0].liquidation_price
    raw["positions"].append({"id": "b", "market": "B", "side": "long", "size": 10, "entry": 80, "leverage": 10, "mode": "cross"})
    helped = liquidation_prices(scenario_from_dict(raw))[0].liquidation_price
    assert helped < alone  # B's +200 profit pushes A's liquidation price down
    assert alone == pytest.approx((100 * 10 - 200) / (10 - 0.1))  # (size*entry − wallet) / (size·(1 − mmr))
    # with B: wallet + B's PnL − B's MM = 200 + 200 − 10
    assert helped == pytest.approx((100 * 10 - 390) / (10 - 0.1))


def test_a_long_that_cannot_lose_its_margin_has_no_liquidation_price():
    raw = {"balance": 1000, "markets": {"A": {"price": 100, "mmr": 0.01}},
           "positions": [{"id": "a", "market": "A", "side": "long", "size": 10, "entry": 100, "leverage": 1, "mode": "isolated"}]}
    (lp,) = liquidation_prices(scenario_from_dict(raw))
    assert lp.liquidation_price is None and lp.bankruptcy_price is None


def test_the_tier_is_rechosen_at_the_liquidation_price():
    # 1 unit long at 100,000 with a tier change at 80,000 notional: the liquidation price lies
    # below the floor, so the lower tier (0.4 %) applies there, not the 1 % of the entry tier.
    raw = {"balance": 30_000, "markets": {"A": {"price": 100_000, "tiers": [
        {"floor": 0, "mmr": 0.004}, {"floor": 80_000, "mmr": 0.01}]}},
        "positions": [{"id": "a", "market": "A", "side": "long", "size": 1, "entry": 100_000, "leverage": 4, "mode": "isolated", "margin": 30_000}]}
    (lp,) = liquidation_prices(scenario_from_dict(raw))
    assert lp.liquidation_price == pytest.approx(70_000 / 0.996)  # 30,000 + p − 100,000 = 0.004 p
    # the entry tier (1 %, cum 480) would have given 69,520 / 0.99 = 70,222.22
    assert lp.liquidation_price != pytest.approx(69_520 / 0.99)


# ----------------------------------------------------------------------------- sweep


@PROPERTY
@given(scenario=scenarios(), shocks=st.lists(st.floats(-0.9, 0.9), min_size=1, max_size=30))
def test_vectorized_shock_sweep_equals_a_plain_loop(scenario, shocks):
    sweep = sweep_shock(scenario, np.array(shocks))
    v = sweep.valuation
    scale = _scale(scenario)
    for g, row in enumerate(sweep.prices):
        ref = evaluate_reference(scenario, dict(zip(sweep.market_names, row)))
        assert v.cross_equity[g] == pytest.approx(ref["cross_equity"], rel=1e-12, abs=1e-9 * scale)
        assert v.cross_maintenance[g] == pytest.approx(ref["cross_maintenance"], rel=1e-12, abs=1e-9 * scale)
        for i, position in enumerate(ref["positions"]):
            assert v.position_equity[g, i] == pytest.approx(position["equity"], rel=1e-12, abs=1e-9 * scale)
            assert v.maintenance_margin[g, i] == pytest.approx(position["maintenance_margin"], rel=1e-12, abs=1e-9 * scale)
            assert int(v.status[g, i]) == position["status"]


@PROPERTY
@given(scenario=scenarios(), factors=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=20))
def test_vectorized_price_sweep_equals_evaluate(scenario, factors):
    market = next(iter(scenario.markets))
    grid = scenario.markets[market].price * np.array(factors)
    sweep = sweep_price(scenario, market, grid)
    for g, price in enumerate(grid):
        snap = evaluate(scenario, {market: float(price)})
        assert sweep.valuation.cross_equity[g] == pytest.approx(snap.cross.equity, rel=1e-12, abs=1e-9)
