"""The venue rules of issue 16, one by one: each with a documented example (source named) and
the properties it must keep."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.fields import ScenarioError
from margin.scenario import scenario_from_dict
from margin.simulate import price_path, simulate, simulate_reference
from tests.strategies import funded_paths_for, paths_for, scenario_dicts, with_funding_rates


def _one(rules: dict | None = None, *, mode: str = "isolated", side: str = "long", size: float = 1.0,
         entry: float = 100.0, leverage: float = 10.0, mmr: float = 0.05, balance: float = 1_000.0,
         price: float = 100.0, market: dict | None = None) -> dict:
    return {"balance": balance, "rules": rules or {},
            "markets": {"BTC": {"price": price, "mmr": mmr, **(market or {})}},
            "positions": [{"id": "p", "market": "BTC", "side": side, "size": size, "entry": entry,
                           "leverage": leverage, "mode": mode}]}


# ----------------------------------------------------------------------------- fee rate in [0, 1]


def test_a_liquidation_fee_of_100_percent_takes_all_that_is_left_and_no_more():
    """dYdX v4's liquidation tests charge a 100 % fee (the fee is capped at what is left): the
    format allows [0, 1] and the engine settles it. A long of 1 at 100 with 10 margin and MMR
    5 % is liquidated at 95 (equity 5 = MM 4.75 just above; at 94.5: 4.5 ≤ 4.725)."""
    scenario = scenario_from_dict(_one({"liquidation_fee_rate": 1, "settlement": "mark"}))
    assert scenario.rules.liquidation_fee_rate == 1.0
    result = simulate(scenario, price_path({"BTC": [100.0, 94.5]}))
    close = next(e for e in result.events if e.type == "liquidation")
    left = 10.0 + (94.5 - 100.0)
    assert close.fee == pytest.approx(left)  # 100 % of 94.5 notional, capped at the 4.5 left
    assert result.final.balance == pytest.approx(990.0)  # the trader keeps nothing of the position
    assert result.final.insurance_fund == pytest.approx(left)


def test_a_liquidation_fee_above_100_percent_is_refused_naming_the_field():
    with pytest.raises(ScenarioError, match=r"rules\.liquidation_fee_rate: must be in \[0, 1\]"):
        scenario_from_dict(_one({"liquidation_fee_rate": 1.000001}))


# ----------------------------------------------------------------------------- trigger at or below


@pytest.mark.parametrize("mode", ["isolated", "cross"])
def test_at_equality_binance_liquidates_and_dydx_does_not(mode):
    """Binance and Bybit liquidate when the margin ratio reaches 100 % (equity = maintenance);
    dYdX v4 liquidates when total collateral is below the maintenance requirement (help.dydx.
    exchange, 'Liquidations on dYdX Chain'). A long of 1 at 100 with 10 behind it (isolated
    margin, or the cross wallet) and MMR 6.25 % has equity = MM = 6 at exactly 96."""
    balance = 10.0 if mode == "cross" else 1_000.0
    at = scenario_from_dict(_one({"liquidation_trigger": "at_maintenance"}, mode=mode, mmr=0.0625,
                                 balance=balance))
    below = scenario_from_dict(_one({"liquidation_trigger": "below_maintenance"}, mode=mode, mmr=0.0625,
                                    balance=balance))
    from margin.account import evaluate
    assert evaluate(at, {"BTC": 96.0}).positions[0].liquidatable
    assert not evaluate(below, {"BTC": 96.0}).positions[0].liquidatable
    assert evaluate(below, {"BTC": 96.0}).positions[0].status == "at risk"
    path = price_path({"BTC": [100.0, 98.0, 96.0, 96.0, 95.99]})
    first = {name: simulate(s, path).events[0].row for name, s in (("at", at), ("below", below))}
    assert first == {"at": 2, "below": 4}


def test_the_trigger_is_validated_and_written_only_when_not_the_default():
    from margin.scenario import scenario_to_dict
    with pytest.raises(ScenarioError, match=r"rules\.liquidation_trigger: must be"):
        scenario_from_dict(_one({"liquidation_trigger": "strict"}))
    assert "liquidation_trigger" not in scenario_to_dict(scenario_from_dict(_one()))["rules"]
    again = scenario_from_dict(scenario_to_dict(scenario_from_dict(_one({"liquidation_trigger": "below_maintenance"}))))
    assert again.rules.liquidation_trigger == "below_maintenance"


def test_the_dydx_preset_selects_the_strict_trigger():
    from margin.presets import load_venue
    assert load_venue("dydx")["rules"]["liquidation_trigger"] == "below_maintenance"
    assert load_venue("binance")["rules"].get("liquidation_trigger", "at_maintenance") == "at_maintenance"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_event_walker_agrees_with_the_plain_loop_under_the_strict_trigger(data):
    """simulate's breach search widens its candidates by a tolerance and lets the settlement
    step decide; under the strict trigger it must still give the plain loop's events."""
    raw = data.draw(scenario_dicts())
    raw["rules"]["liquidation_trigger"] = "below_maintenance"
    scenario = scenario_from_dict(raw)
    path = data.draw(paths_for(scenario))
    assert simulate(scenario, path).events == simulate_reference(scenario, path).events


# ----------------------------------------------------------------------------- closing-fee reserve


def _okx_like(reserve: float) -> dict:
    """1 BTC long at 20,000, 50x isolated (margin 400), MMR 0.4 %, with or without a taker fee
    of 0.05 % kept inside maintenance."""
    rules = {"close_fee_reserve": reserve} if reserve else {}
    return _one(rules, size=1.0, entry=20_000.0, leverage=50.0, mmr=0.004, price=20_000.0, balance=1_000.0)


def test_the_closing_fee_reserve_liquidates_while_the_close_can_still_be_paid():
    """OKX, 'Tiered maintenance margin ratio rules' (okx.com/help, updated 16 May 2025): the
    margin ratio reaches 100 % when equity is at or below the maintenance margin plus the
    liquidation (taker) fee. Long 1 at 20,000 with 400: without the reserve the liquidation
    price solves 400 + p − 20,000 = 0.004 p (19,678.71); with a 0.05 % reserve
    400 + p − 20,000 = 0.0045 p (19,688.60), where the equity left (88.60) still pays the
    close (9.84) on top of the plain maintenance (78.75)."""
    from margin.account import liquidation_prices
    plain, reserved = (scenario_from_dict(_okx_like(r)) for r in (0.0, 0.0005))
    assert liquidation_prices(plain)[0].liquidation_price == pytest.approx(19_600 / 0.996, abs=0.005)
    price = liquidation_prices(reserved)[0].liquidation_price
    assert price == pytest.approx(19_600 / 0.9955, abs=0.005)
    assert round(price, 2) == 19_688.60
    equity = 400.0 + price - 20_000.0
    assert equity - 0.0005 * price == pytest.approx(0.004 * price)  # pays the close, keeps the plain MM
    # Along a path the reserved account is liquidated at its own price, not at the plain one.
    path = price_path({"BTC": [20_000.0, 19_690.0, 19_688.0, 19_680.0, 19_678.0]})
    assert [e.row for e in simulate(reserved, path).events] == [2]
    assert [e.row for e in simulate(plain, path).events] == [4]


def test_the_closing_fee_reserve_is_validated_at_the_loader():
    from margin.scenario import scenario_to_dict
    with pytest.raises(ScenarioError, match=r"rules\.close_fee_reserve: must be"):
        scenario_from_dict(_one({"close_fee_reserve": 0.2}))
    with pytest.raises(ScenarioError, match=r"rules\.close_fee_reserve: .*mm_basis 'mark'"):
        scenario_from_dict(_one({"close_fee_reserve": 0.0005, "mm_basis": "entry"}))
    assert "close_fee_reserve" not in scenario_to_dict(scenario_from_dict(_one()))["rules"]
    written = scenario_to_dict(scenario_from_dict(_okx_like(0.0005)))
    assert written["rules"]["close_fee_reserve"] == 0.0005
    assert written["markets"]["BTC"]["tiers"][0]["mmr"] == 0.004  # the venue's own rate, not + the fee


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_closing_fee_reserve_never_liquidates_later_than_without_it(data):
    """Until the first event both are the same account, and the reserve only adds to
    maintenance: wherever the plain account is liquidated, the reserved one is too."""
    raw = data.draw(scenario_dicts(mm_basis=("mark",)))
    plain = scenario_from_dict(raw)
    path = data.draw(paths_for(plain))
    raw["rules"]["close_fee_reserve"] = data.draw(st.sampled_from([0.0005, 0.002, 0.01]))
    reserved = scenario_from_dict(raw)
    first = [min((e.row for e in simulate(s, path).events), default=len(path.steps)) for s in (plain, reserved)]
    assert first[1] <= first[0]
    assert simulate(reserved, path).events == simulate_reference(reserved, path).events
    # An isolated position's liquidation price moves towards today's price, never away.
    from margin.account import liquidation_prices
    for p, a, b in zip(plain.positions, liquidation_prices(plain), liquidation_prices(reserved)):
        if p.is_isolated and a.liquidation_price is not None:
            assert b.liquidation_price is not None
            assert p.sign * (b.liquidation_price - a.liquidation_price) >= -1e-9 * a.liquidation_price


# ----------------------------------------------------------------------------- funding


def _pair(rate: float = 0.0001, *, long_margin: float | None = None) -> dict:
    """A BTC long and a BTC short of 0.5 each at 40,000 (notional 20,000), isolated."""
    long = {"id": "long", "market": "BTC", "side": "long", "size": 0.5, "entry": 40_000.0, "leverage": 10,
            "mode": "isolated"}
    if long_margin is not None:
        long["margin"] = long_margin
    short = {"id": "short", "market": "BTC", "side": "short", "size": 0.5, "entry": 40_000.0, "leverage": 10,
             "mode": "isolated"}
    return {"balance": 10_000.0, "markets": {"BTC": {"price": 40_000.0, "mmr": 0.004, "funding_rate": rate}},
            "positions": [long, short]}


def test_binance_funding_formula_notional_times_rate_every_8_hours():
    """Binance Support, 'Introduction to Binance Futures Funding Rates' (binance.com/en/support/
    faq): Funding Amount = Nominal Value of Positions × Funding Rate, exchanged every 8 hours
    (00:00, 08:00, 16:00 UTC), longs paying shorts when the rate is positive; 0.01 % is the
    interest part alone. 0.5 BTC at a mark of 40,000 is 20,000 of notional: 2 USDT a time."""
    scenario = scenario_from_dict(_pair(0.0001))
    path = price_path({"BTC": [40_000.0] * 5}, hours=[0, 4, 8, 12, 16])
    result = simulate(scenario, path)
    funding = [(e.row, e.position, round(e.realized_pnl, 10)) for e in result.events if e.type == "funding"]
    assert funding == [(2, "long", -2.0), (2, "short", 2.0), (4, "long", -2.0), (4, "short", 2.0)]
    assert result.final.margins == (pytest.approx(2_000.0 - 4.0), pytest.approx(2_000.0 + 4.0))
    assert result.events == simulate_reference(scenario, path).events


def test_funding_is_charged_at_the_mark_of_its_row_and_from_the_path_series():
    """The rate at a funding time is the path's funding column where it has one; the notional
    is at that row's mark; a 1-hour interval charges every hour; a gap settles each interval."""
    raw = _pair(0.0001)
    raw["rules"] = {"funding_interval_hours": 1}
    raw["balance"] = 50_000.0
    for p in raw["positions"]:
        p["leverage"] = 1  # margins of 20,000: the price moves liquidate nobody
    scenario = scenario_from_dict(raw)
    from margin.paths import parse_path_csv
    path = parse_path_csv("step,hours,BTC,funding.BTC\n0,0,40000,0.001\n1,1,30000,-0.002\n2,3,20000,0.0005\n")
    paid = {e.row: -e.realized_pnl for e in simulate(scenario, path).events
            if e.position == "long" and e.type == "funding"}
    assert paid[1] == pytest.approx(0.5 * 30_000 * -0.002)  # received 30 at the mark of row 1
    assert paid[2] == pytest.approx(0.5 * 20_000 * 0.0005 * 2)  # two hours passed: two intervals
    flat = simulate(scenario, price_path({"BTC": [40_000.0] * 3}, hours=[0, 1, 2]))
    assert [round(-e.realized_pnl, 10) for e in flat.events if e.position == "long"] == [2.0, 2.0]  # the constant


def test_funding_alone_liquidates_an_isolated_long():
    """Flat prices, a long whose margin sits 10 above its maintenance (80 at 0.4 % of 20,000)
    and a funding rate of 0.03 % (6 USDT a time): the first payment leaves 84, the second 78,
    below maintenance, so it is liquidated at the second funding time without a price move."""
    scenario = scenario_from_dict(_pair(0.0003, long_margin=90.0))
    result = simulate(scenario, price_path({"BTC": [40_000.0] * 9}, hours=[0, 2, 4, 6, 8, 10, 12, 14, 16]))
    kinds = [(e.row, e.type, e.position) for e in result.events]
    assert (4, "funding", "long") in kinds and (8, "liquidation", "long") in kinds
    assert not any(k[1] == "liquidation" and k[0] < 8 for k in kinds)
    assert "short" in result.final.open_positions


def test_funding_fields_are_validated_naming_the_field():
    from margin.paths import parse_path_csv
    with pytest.raises(ScenarioError, match=r"markets\.BTC\.funding_rate: "):
        scenario_from_dict(_pair(0.5))
    with pytest.raises(ScenarioError, match=r"rules\.funding_interval_hours: "):
        scenario_from_dict({**_pair(), "rules": {"funding_interval_hours": 12}})
    with pytest.raises(ScenarioError, match=r"path: funding\.BTC needs an 'hours' column"):
        parse_path_csv("step,BTC,funding.BTC\n0,1,0.001\n")
    with pytest.raises(ScenarioError, match=r"path\[1\]\.hours: must not go back"):
        parse_path_csv("step,hours,BTC\n0,5,1\n1,4,1\n")
    with pytest.raises(ScenarioError, match=r"path\[0\]\.funding\.BTC: must be a rate"):
        parse_path_csv("step,hours,BTC,funding.BTC\n0,0,1,0.2\n")
    with pytest.raises(ScenarioError, match=r"unknown market 'funding\.ETH'"):
        simulate(scenario_from_dict(_pair()), parse_path_csv("step,hours,BTC,funding.ETH\n0,0,1,0.001\n"))


FUNDING = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUNDING
@given(data=st.data())
def test_with_funding_money_is_conserved_and_the_walker_equals_the_plain_loop(data):
    raw = with_funding_rates(data.draw(scenario_dicts()), data.draw(st.lists(
        st.sampled_from([0.0, 0.0001, -0.0005, 0.003, 0.01, -0.02]), min_size=1, max_size=3)))
    raw["rules"]["funding_interval_hours"] = data.draw(st.sampled_from([1, 4, 8]))
    scenario = scenario_from_dict(raw)
    path = data.draw(funded_paths_for(scenario))
    result = simulate(scenario, path, trace=True)
    assert result.events == simulate_reference(scenario, path).events
    realized = sum(e.realized_pnl for e in result.events)  # funding included: what was received
    before = scenario.balance + scenario.rules.insurance_fund + realized
    after = result.final.balance + result.final.insurance_fund - result.final.socialized_loss
    assert after == pytest.approx(before, abs=0.005 + 1e-9 * abs(before))


@FUNDING
@given(rate=st.floats(-0.001, 0.001), size=st.floats(0.001, 50.0), hours=st.integers(1, 60),
       prices=st.lists(st.floats(1_000.0, 100_000.0), min_size=2, max_size=40))
def test_funding_moves_money_between_longs_and_shorts_only_and_mirrors(rate, size, hours, prices):
    """A long and a short of the same size in one market, margins too large to be liquidated:
    at every funding time one pays exactly what the other receives. Flipping both sides and
    the rate's sign gives the same payments."""
    def funded(flip: bool) -> list[float]:
        raw = _pair(-rate if flip else rate)
        for p in raw["positions"]:
            p["size"], p["leverage"], p["entry"] = size, 1, prices[0]
            if flip:
                p["side"] = "short" if p["side"] == "long" else "long"
        raw["markets"]["BTC"]["price"] = prices[0]
        raw["balance"] = 2 * size * prices[0]
        raw["markets"]["BTC"]["mmr"] = 0.0
        path = price_path({"BTC": [min(max(p, 0.5 * prices[0]), 1.5 * prices[0]) for p in prices]},
                          hours=[k * hours for k in range(len(prices))])
        return [e.realized_pnl for e in simulate(scenario_from_dict(raw), path).events if e.type == "funding"]
    plain, flipped = funded(False), funded(True)
    assert len(plain) % 2 == 0
    for received_long, received_short in zip(plain[0::2], plain[1::2]):
        assert received_long == -received_short
    assert flipped == plain  # each position pays what its mirror image pays


# ----------------------------------------------------------------------------- slice, cooldown, the rest


def _hyperliquid_long(liquidation: str) -> dict:
    """2 BTC long at 100,000 (200,000 of notional), isolated with 10,000, MMR 1.25 % (40x)."""
    return _one({"liquidation": liquidation, "partial_fraction": 0.2, "settlement": "mark"}, size=2.0,
                entry=100_000.0, leverage=20.0, mmr=0.0125, price=100_000.0, balance=20_000.0)


def test_hyperliquid_slices_20_percent_then_waits_then_closes_the_rest():
    """Hyperliquid Docs, 'Liquidations': a position over 100k USDC is liquidated 20 % at a
    time by market order, with a cooldown (30 s) before the rest can be. At 95,500 the long
    breaches (10,000 − 9,000 = 1,000 of equity against 2,387.50 of maintenance): 0.4 BTC is
    closed (−1,800 realized), leaving 1,000 against 1,910, still breached, but the rest waits;
    at the next step, still breached, the remaining 1.6 BTC is closed. The 'partial' style
    instead keeps slicing in the same step."""
    path = price_path({"BTC": [100_000.0, 95_500.0, 95_500.0]})
    events = simulate(scenario_from_dict(_hyperliquid_long("slice_then_full")), path).events
    assert [(e.row, e.type, round(e.size, 10)) for e in events] == [
        (1, "partial_liquidation", 0.4), (2, "liquidation", 1.6)]
    assert events[0].realized_pnl == pytest.approx(-1_800.0)
    partial = simulate(scenario_from_dict(_hyperliquid_long("partial")), path).events
    assert {e.row for e in partial} == {1} and len(partial) > 1
    # walked in two parts (as the lab walks move by move), the slice taken is remembered
    scenario = scenario_from_dict(_hyperliquid_long("slice_then_full"))
    first = simulate(scenario, price_path({"BTC": [100_000.0, 95_500.0]}))
    second = simulate(scenario, price_path({"BTC": [95_500.0]}, steps=[2]), start=first.final)
    assert [(e.type, round(e.size, 10)) for e in second.events] == [("liquidation", 1.6)]


def test_a_slice_that_cures_the_breach_leaves_the_rest_open_until_the_next_breach():
    """At 96,000 the 0.4 BTC slice cures it (2,000 of equity against 1,920); at 95,900 it
    breaches again (1,840 against 1,918.40) and, the slice taken, the rest goes in full."""
    scenario = scenario_from_dict(_hyperliquid_long("slice_then_full"))
    events = simulate(scenario, price_path({"BTC": [100_000.0, 96_000.0, 96_100.0, 95_900.0]})).events
    assert [(e.row, e.type, round(e.size, 10)) for e in events] == [
        (1, "partial_liquidation", 0.4), (3, "liquidation", 1.6)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_slice_then_full_walker_plain_loop_and_a_walk_in_two_parts_agree(data):
    """The walker equals the plain loop, money is conserved, and a path walked in two parts
    (the second from the first's final state, its slices remembered) equals the whole."""
    raw = data.draw(scenario_dicts(liquidation=("slice_then_full",)))
    scenario = scenario_from_dict(raw)
    path = data.draw(paths_for(scenario))
    whole = simulate(scenario, path)
    assert whole.events == simulate_reference(scenario, path).events
    realized = sum(e.realized_pnl for e in whole.events)
    assert whole.final.balance + whole.final.insurance_fund - whole.final.socialized_loss == pytest.approx(
        scenario.balance + scenario.rules.insurance_fund + realized, abs=0.005 + 1e-9 * scenario.balance)
    cut = data.draw(st.integers(1, max(1, len(path.steps) - 1)))
    from margin.paths import PricePath
    first = simulate(scenario, PricePath(steps=path.steps[:cut], markets=path.markets, marks=path.marks[:cut]))
    second = simulate(scenario, PricePath(steps=path.steps[cut:], markets=path.markets, marks=path.marks[cut:]),
                      start=first.final)
    assert [e.as_dict() for e in first.events + second.events] == [e.as_dict() for e in whole.events]
    assert second.final.sizes == whole.final.sizes


# ----------------------------------------------------------------------------- fills away from the mark


def test_a_liquidation_filled_at_a_discount_to_the_mark():
    """A liquidator buys the position below the mark (Derive's liquidation auctions start at
    98 % of mark-to-market, docs.derive.xyz 'Liquidations'; dYdX fills at a 'fillable price'
    worse than the oracle's): the breach is judged on the mark, the close filled 2 % worse.
    A long of 1 at 100 with 10 and MMR 5 % is liquidated at a mark of 94.5 (4.5 ≤ 4.725): filled
    at 92.61, it keeps 2.61 instead of 4.5; a short is bought back 2 % above the mark."""
    rules = {"settlement": "mark", "liquidation_fill_discount": 0.02}
    long = simulate(scenario_from_dict(_one(rules)), price_path({"BTC": [100.0, 94.5]}))
    close = long.events[0]
    assert (close.type, close.price) == ("liquidation", pytest.approx(92.61))
    assert close.realized_pnl == pytest.approx(-7.39)
    assert long.final.balance == pytest.approx(990.0 + 2.61)
    short = simulate(scenario_from_dict(_one(rules, side="short")), price_path({"BTC": [100.0, 105.5]}))
    assert short.events[0].price == pytest.approx(105.5 * 1.02)
    at_mark = simulate(scenario_from_dict(_one({"settlement": "mark"})), price_path({"BTC": [100.0, 94.5]}))
    assert at_mark.events[0].price == 94.5 and at_mark.final.balance == pytest.approx(994.5)


def test_a_fill_past_the_bankruptcy_price_is_a_loss_the_fund_pays():
    """With a 10 % discount the same long fills at 85.05, 4.95 beyond its margin: a bankruptcy
    the insurance fund pays, and the wallet keeps the rest of the account."""
    scenario = scenario_from_dict(_one({"liquidation_fill_discount": 0.1, "insurance_fund": 100.0}))
    result = simulate(scenario, price_path({"BTC": [100.0, 94.5]}))
    kinds = [(e.type, round(e.amount, 10)) for e in result.events]
    assert kinds == [("liquidation", 0.0), ("bankruptcy", 4.95)]
    assert result.final.insurance_fund == pytest.approx(100.0 - 4.95)
    with pytest.raises(ScenarioError, match=r"rules\.liquidation_fill_discount: "):
        scenario_from_dict(_one({"liquidation_fill_discount": 0.6}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_with_fills_away_from_the_mark_money_is_conserved_and_the_walker_agrees(data):
    raw = data.draw(scenario_dicts(liquidation=("full", "partial", "slice_then_full")))
    raw["rules"]["liquidation_fill_discount"] = data.draw(st.sampled_from([0.001, 0.01, 0.05]))
    scenario = scenario_from_dict(raw)
    path = data.draw(paths_for(scenario))
    result = simulate(scenario, path)
    assert result.events == simulate_reference(scenario, path).events
    realized = sum(e.realized_pnl for e in result.events)
    assert result.final.balance + result.final.insurance_fund - result.final.socialized_loss == pytest.approx(
        scenario.balance + scenario.rules.insurance_fund + realized, abs=0.005 + 1e-9 * scenario.balance)
    # what is left is never below zero: the wallet may dip below zero by a slice filled under the
    # entry while the rest's profit at the mark holds the account up, so count that profit too
    last = dict(zip(path.markets, path.marks[-1]))
    open_pnl = sum(p.sign * size * (last[p.market] - p.entry) for p, size in zip(scenario.positions, result.final.sizes))
    assert result.final.balance + open_pnl >= -1e-9
    # the first liquidation comes where it would at the mark (judged on the mark), filled worse
    raw["rules"]["liquidation_fill_discount"] = 0.0
    plain = simulate(scenario_from_dict(raw), path).events
    closes = [e for e in result.events if e.type in ("liquidation", "partial_liquidation")]
    if closes and plain:
        first = next(e for e in plain if e.type in ("liquidation", "partial_liquidation"))
        assert closes[0].row == first.row and closes[0].position == first.position
        sign = 1 if next(p for p in scenario.positions if p.id == first.position).side == "long" else -1
        assert sign * (closes[0].price - first.price) < 0


# ----------------------------------------------------------------------------- close just enough (Drift)

def _just_enough_account(mode: str, balance: float = 10_000) -> dict:
    return {"balance": balance, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.005}},
            "rules": {"liquidation": "just_enough", "liquidation_fee_rate": 0.001, "settlement": "mark"},
            "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100_000,
                           "leverage": 20, "mode": mode}]}


@pytest.mark.parametrize("mode", ["isolated", "cross"])
def test_just_enough_closes_the_least_that_cures_the_breach(mode):
    """Drift closes only what brings the account back above maintenance. By hand: 1 BTC long at
    100,000, margin 5,000 (isolated, or a 5,000 wallet in cross), mark 95,400: equity 400 USDT,
    maintenance 477 USDT (0.5 %). Closing s BTC costs a 0.1 % fee (95.40 USDT per BTC) and frees
    477 USDT of maintenance per BTC, so s = (477 − 400) / (477 − 95.4) = 0.2017820 BTC."""
    raw = _just_enough_account(mode, balance=10_000 if mode == "isolated" else 5_000)
    result = simulate(scenario_from_dict(raw), price_path({"BTCUSDT": [100_000, 95_400]}))
    (close,) = result.events
    assert close.type == "partial_liquidation" and close.size == pytest.approx(77 / 381.6, rel=1e-8)
    assert close.fee == pytest.approx(0.001 * 95_400 * 77 / 381.6, rel=1e-8)
    assert result.final.open_positions == ("btc",)
    # a hair less would not have cured it: equity after = 400 − fee, maintenance after = (1 − s) × 477
    less = close.size * 0.999
    assert 400 - 95.4 * less <= (1 - less) * 477


def test_just_enough_closes_in_full_when_the_fee_eats_what_a_close_frees():
    """A fee rate at the maintenance rate: closing frees no more than it costs, so nothing short
    of the whole position cures the breach."""
    raw = _just_enough_account("isolated")
    raw["rules"]["liquidation_fee_rate"] = 0.005
    (close,) = simulate(scenario_from_dict(raw), price_path({"BTCUSDT": [100_000, 95_400]})).events
    assert close.type == "liquidation" and close.size == 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_just_enough_walker_equals_the_plain_loop_and_leaves_no_breach_it_could_cure(data):
    scenario = scenario_from_dict(data.draw(scenario_dicts(liquidation=("just_enough",))))
    path = data.draw(paths_for(scenario))
    fast, slow = simulate(scenario, path), simulate_reference(scenario, path)
    assert fast.events == slow.events and fast.final == slow.final
    for e in fast.events:  # a partial close never takes the whole position
        if e.type == "partial_liquidation":
            assert e.size > 0
