"""The engine's fast paths give, bit for bit, what the plain forms give: the crash walk's breach
search against the step-by-step loop on long walks through tier breaks, the stress lab's set-aside
paths against walking every path, one close-out in plain Python against its array form, the
shared tier table of a crowd's pools against one table per pool, the crowd kept per parameters."""

from __future__ import annotations

from dataclasses import MISSING, fields, replace
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.account import price_vector
from margin.breach import BreachSearch
from margin.cascade import CrowdParams, Trader, build_crowd, with_traders
from margin.cascade import crowd as crowds
from margin.cli.bench_engine import bench_account, crash_path, minute_path
from margin.roots import Pools, segment_roots
from margin.scenario import Market, Tier, parse_tiers, scenario_from_dict
from margin.closing import close_out
from margin.crossing import settle_row
from margin.ledger import EVENT_TYPES, Event, new_event
from margin.settle import Settler
from margin.simulate import path_matrix, price_path, simulate, simulate_reference
from margin.stress import VariantRunner, run_stress, sample_prices, stress_spec
from margin.stress.runner import path_ranges
from margin.tiers import maintenance_margin, tables
from tests.strategies import rich_scenario_dicts, scenarios, tier_tables

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _events(result) -> list[dict]:
    return [e.as_dict() | {"row": e.row} for e in result.events]


# ----------------------------------------------------------------------------- the crash walk


@st.composite
def slow_walks_with_a_crash(draw, scenario):
    """Rows a fraction of a percent apart (the lab's walk is 0.05 %), thousands of them, with a
    fall of 10–60 % over some rows in each market: long windows, many tier breaks crossed."""
    n = draw(st.integers(300, 3_000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    step = draw(st.sampled_from([0.0005, 0.002, 0.004]))
    columns = {}
    for name, market in scenario.markets.items():
        log_moves = rng.normal(0.0, step, n)
        start, width = int(rng.integers(0, n)), int(rng.integers(1, 500))
        log_moves[start:start + width] += np.log1p(-draw(st.floats(0.1, 0.6))) / width
        if draw(st.booleans()):
            log_moves[start + width:start + 2 * width] -= 0.5 * log_moves[start:start + width].sum() / width
        columns[name] = market.price * np.exp(np.cumsum(log_moves))
    return price_path(columns)


@PROPERTY
@given(data=st.data())
def test_long_walks_through_tier_breaks_equal_the_step_by_step_loop(data):
    scenario = data.draw(scenarios(max_positions=8))
    path = data.draw(slow_walks_with_a_crash(scenario))
    fast, slow = simulate(scenario, path, trace=True), simulate_reference(scenario, path)
    assert _events(fast) == _events(slow)
    assert fast.final == slow.final


def _falling_rate_account():
    """A cross long of 100 and short of 95 in a market whose maintenance rate falls past
    10,000 USDT (10 % then 1 %; the format allows it): the pool's equity − MM has its least
    value between its tier breaks (100 and 105.26), not at either end of a price range."""
    return scenario_from_dict({
        "balance": 2_020, "markets": {"X": {"price": 110, "tiers": [{"floor": 0, "mmr": 0.1}, {"floor": 10_000, "mmr": 0.01}]}},
        "positions": [{"id": "long", "market": "X", "side": "long", "size": 100, "entry": 110, "leverage": 1, "mode": "cross"},
                      {"id": "short", "market": "X", "side": "short", "size": 95, "entry": 110, "leverage": 1, "mode": "cross"}]})


def test_a_pool_at_its_worst_between_two_tier_breaks_is_found():
    account = _falling_rate_account()
    path = price_path({"X": [110.0] + [95.0, 115.0] * 40 + [105.26] + [95.0, 115.0] * 40})
    fast, slow = simulate(account, path), simulate_reference(account, path)
    assert [e.row for e in slow.events] == [81, 81]  # only at 105.26: 95 and 115 are both safe
    assert _events(fast) == _events(slow)


def test_a_pool_whose_price_leaves_its_tier_right_after_another_position_s_event_is_judged_anew():
    """An isolated long in Y is liquidated at row 100 (the cross pool untouched); at row 101 the
    cross short's market X jumps from 90 to 130, past its tier break at 100 (1 % then 20 %):
    the short is breached there only with the higher tier's margin, so a line of its pool kept
    from the rows before would miss it."""
    account = scenario_from_dict({
        "balance": 3_600, "markets": {"X": {"price": 90, "tiers": [{"floor": 0, "mmr": 0.01}, {"floor": 10_000, "mmr": 0.2}]},
                                      "Y": {"price": 100, "mmr": 0.01}},
        "positions": [{"id": "short", "market": "X", "side": "short", "size": 100, "entry": 100, "leverage": 5, "mode": "cross"},
                      {"id": "iso", "market": "Y", "side": "long", "size": 10, "entry": 100, "leverage": 5, "mode": "isolated",
                       "margin": 200}]})
    x = np.full(200, 90.0)
    x[101:] = 130.0
    y = np.full(200, 100.0)
    y[100:] = 0.5
    fast, slow = simulate(account, price_path({"X": x, "Y": y})), simulate_reference(account, price_path({"X": x, "Y": y}))
    assert [(e.row, e.position) for e in slow.events if e.type == "liquidation"] == [(100, "iso"), (101, "short")]
    assert _events(fast) == _events(slow)


@PROPERTY
@given(data=st.data())
def test_a_pool_s_written_out_loop_is_its_members_pnl_and_maintenance_to_the_bit(data):
    """Settler.pool writes each member's pnl and maintenance out in its loop (for speed): the same
    bits as calling them, for linear and inverse members, mark and entry basis, with collateral."""
    raw = data.draw(rich_scenario_dicts(coins=data.draw(st.booleans()), max_positions=6))
    scenario = scenario_from_dict(raw)
    settler = Settler(scenario)
    state = settler.new_state()
    prices = price_vector(scenario) * data.draw(st.floats(0.3, 3.0))
    for key in (None, *settler.coin_keys):
        members = [i for i in settler.pool_members[key] if state.size[i] > 0]
        equity, mm = settler.wallet(state, key), 0.0
        for i in members:
            price = float(prices[settler.col[i]])
            equity += settler.pnl(i, float(state.size[i]), price)
            mm += settler.maintenance(i, float(state.size[i]), price)
        if key is None and settler.usdt_entries:
            equity += settler.collateral_value(state, prices)
        assert settler.pool(state, prices, key) == (equity, mm, members)


def test_the_benchmark_crash_gives_the_reference_loop_s_events():
    """The crash of ``python -m margin bench`` (a 45 % fall over a day, half recovered) on a
    shorter year, with partial liquidation: thousands of events, each found by the search."""
    account = bench_account()
    partial = replace(account, rules=replace(account.rules, liquidation="partial", partial_fraction=0.1))
    path = crash_path(minute_path(20_000))
    fast, slow = simulate(partial, path), simulate_reference(partial, path)
    assert len(fast.events) > 1_000
    assert _events(fast) == _events(slow) and fast.final == slow.final


def _search(scenario, path):
    settler = Settler(scenario)
    state = settler.new_state()
    scale = 1.0 + abs(state.cross_wallet) + float(np.sum(state.size * settler.entry))
    return settler, state, BreachSearch(settler, np.ascontiguousarray(path_matrix(scenario, path).T), state, 1e-9 * scale)


@PROPERTY
@given(data=st.data())
def test_the_pool_s_floor_is_never_above_its_excess_in_its_price_box(data):
    """BreachSearch.pool_floor clears a window of a crash without fitting lines across tier
    breaks: the USDT pool's PnL − MM (no wallet) at any marks inside the box, tier breaks
    included, is at or above it."""
    scenario = data.draw(scenarios(max_positions=8))
    path = data.draw(slow_walks_with_a_crash(scenario))
    settler, state, search = _search(scenario, path)
    columns = search.columns
    start = data.draw(st.integers(0, columns.shape[1] - 1))
    window = columns[:, start:start + data.draw(st.integers(1, 2_000))]
    low, high = window.min(axis=1), window.max(axis=1)
    floor = search.pool_floor(state, low, high)
    # the box's corners, the window's rows and each member's tier breaks inside it
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    marks = [low, high, *window.T, *(low + rng.random(low.shape) * (high - low) for _ in range(20))]
    for i in search.members.tolist():
        for tier_floor in settler.markets[i].tier_lists[0][1:]:
            at = tier_floor / state.size[i]
            j = settler.col[i]
            if low[j] <= at <= high[j]:
                marks += [np.where(np.arange(low.shape[0]) == j, at, low), np.where(np.arange(low.shape[0]) == j, at, high)]
    for prices in marks:
        equity, mm, _ = settler.pool(state, prices, None)
        assert floor <= equity - state.cross_wallet - mm + search.tolerance


@PROPERTY
@given(data=st.data())
def test_a_pool_the_search_does_not_suspect_at_a_row_is_not_in_breach_there(data):
    """The walker's settlement judges only the pools BreachSearch.suspects names at a row: every
    other open pool is clear at that row's marks, by the settlement's own judgement."""
    scenario = data.draw(scenarios(max_positions=8))
    path = data.draw(slow_walks_with_a_crash(scenario))
    settler, state, search = _search(scenario, path)
    if search.suspects(state, 0) is None:
        return  # orders or coin pools: every pool is judged
    prices = path_matrix(scenario, path)
    for row in range(prices.shape[0]):
        search.first(state, row, row + 1)  # the probe fits the pool's line where it needs one
        maybe = search.suspects(state, row)
        for i in settler.isolated:
            price = float(prices[row, settler.col[i]])
            size = float(state.size[i])
            if ("isolated", i) not in maybe and size > 0:
                assert not settler.rules.breached(state.margin[i] + settler.pnl(i, size, price),
                                                  settler.maintenance(i, size, price))
        equity, mm, members = settler.pool(state, prices[row], None)
        if ("pool", None) not in maybe and members:
            assert not settler.rules.breached(equity, mm)


@PROPERTY
@given(data=st.data())
def test_the_search_refreshed_after_each_event_is_the_search_built_anew(data):
    """BreachSearch.refresh finds again only the thresholds and market bands of the positions
    the events touched: after every row with events of a walk, its thresholds, bands and cross
    members are those of a search built from scratch on the same state (a stale band that is
    wrong is a breach missed, or, too wide, every row settled)."""
    scenario = scenario_from_dict(data.draw(rich_scenario_dicts(collateral=False, orders=data.draw(st.booleans()),
                                                                 max_positions=8)))
    path = data.draw(slow_walks_with_a_crash(scenario))
    settler, state, search = _search(scenario, path)
    prices = path_matrix(scenario, path)
    index_of = {p.id: i for i, p in enumerate(scenario.positions)}
    for row in range(prices.shape[0]):
        added = settle_row(settler, state, prices, row, int(path.steps[row]), None)
        if not added:
            continue
        touched = {index_of.get(e.position) for e in state.events[-added:]}
        search.refresh(state, None if None in touched else touched - {None})
        anew = BreachSearch(settler, search.columns, state, search.tolerance)
        assert (search.thresholds, search.falls, search.rises, search.bands) == \
            (anew.thresholds, anew.falls, anew.rises, anew.bands)
        assert search.members.tolist() == anew.members.tolist()
        assert search.fall_column.tolist() == anew.fall_column.tolist()
        assert search.rise_column.tolist() == anew.rise_column.tolist()


_EVENT_VALUES = {"step": st.integers(0, 10**6) | st.floats(0, 1e6), "row": st.integers(0, 10**6),
                 "type": st.sampled_from(EVENT_TYPES), "position": st.text(max_size=5),
                 "market": st.text(max_size=5), "mode": st.sampled_from(["cross", "isolated"]),
                 "currency": st.text(min_size=1, max_size=5),
                 "crossing": st.none() | st.floats(allow_nan=False),
                 "crossing_fraction": st.none() | st.floats(0, 1)}


@PROPERTY
@given(data=st.data())
def test_the_settlement_loop_s_event_constructor_builds_the_event_the_class_builds(data):
    """margin.ledger.new_event (slots set directly, for speed) gives the Event that Event(...)
    gives with the same keywords, every field the same object, defaults included; and refuses a
    missing field as Event does."""
    values = {}
    for f in fields(Event):
        if f.default is MISSING or data.draw(st.booleans()):
            values[f.name] = data.draw(_EVENT_VALUES.get(f.name, st.floats(allow_nan=False)))
    built, want = new_event(**values), Event(**values)
    assert type(built) is Event and built == want
    assert all(getattr(built, f.name) is getattr(want, f.name) for f in fields(Event))
    missing = data.draw(st.sampled_from([f.name for f in fields(Event) if f.default is MISSING]))
    del values[missing]
    with pytest.raises(TypeError):
        Event(**values)
    with pytest.raises(TypeError):
        new_event(**values)


# ----------------------------------------------------------------------------- the stress lab


def _every_path_near(runner, low, high, cross=None):
    return np.ones(low.shape[1], dtype=bool)


def _same_runs(scenario, spec) -> int:
    """Run the stress lab with its set-aside and with every path searched and walked; assert the
    same results, bit for bit; return how many paths have events, over the variants."""
    fast = run_stress(scenario, spec, keep_events=True)
    with mock.patch.object(VariantRunner, "near", _every_path_near), \
            mock.patch.object(VariantRunner, "cross_near", _every_path_near):
        slow = run_stress(scenario, spec, keep_events=True)
    with_events = 0
    for label, got in fast.variants.items():
        want = slow.variants[label]
        for field in ("final_value", "liquidated", "first_liquidation_step", "bankrupt"):
            assert getattr(got, field).tobytes() == getattr(want, field).tobytes(), (label, field)
        assert {k: _plain(v) for k, v in got.events.items()} == {k: _plain(v) for k, v in want.events.items()}
        with_events += len(got.events)
    return with_events


def _plain(events):
    return [e.as_dict() | {"row": e.row} for e in events]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_positions=4), seed=st.integers(0, 10_000),
       model=st.sampled_from(["normal", "student_t"]), vol=st.sampled_from([0.3, 1.0, 4.0]))
def test_paths_set_aside_give_the_same_results_as_walking_them(scenario, seed, model, vol):
    spec = stress_spec(scenario, volatility={m: vol for m in scenario.markets}, n_paths=200, n_steps=60,
                       horizon_days=3, seed=seed, model=model, dof=3)
    _same_runs(scenario, spec)


def test_the_set_aside_has_teeth_on_a_busy_account():
    """On the benchmark account most paths are set aside, and many others have events: the
    comparison above is not between two runs that both walk nothing (or everything)."""
    scenario = bench_account(10)
    spec = stress_spec(scenario, n_paths=600, n_steps=200, horizon_days=2, seed=5)
    assert _same_runs(scenario, spec) > 300
    near = VariantRunner(scenario).near(*path_ranges(sample_prices(spec, price_vector(scenario))))
    assert 0.2 < near.mean() < 0.8


def test_a_path_near_a_breach_only_between_tier_breaks_is_not_set_aside():
    account = _falling_rate_account()
    spec = stress_spec(account, volatility={"X": 0.8}, n_paths=400, n_steps=100, horizon_days=2, seed=2)
    assert _same_runs(account, spec) > 20


# ----------------------------------------------------------------------------- close-out


FLOATS = st.one_of(st.sampled_from([0.0, -0.0, 1e-300, -1e-300]), st.floats(-1e12, 1e12, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(equity=FLOATS, notional=st.one_of(st.sampled_from([0.0, -0.0]), st.floats(0, 1e12)),
       fee_rate=st.sampled_from([0.0, 0.0005, 0.01, 1.0]), settlement=st.sampled_from(["bankruptcy", "mark"]))
def test_one_close_out_is_the_array_rule_to_the_bit(equity, notional, fee_rate, settlement):
    one = close_out(equity, notional, fee_rate, settlement)
    # the rule as numpy computes it for one position (what close_out did for floats before)
    eq = np.asarray(equity, dtype=float)
    left = np.maximum(eq, 0.0)
    fee = np.clip(fee_rate * np.asarray(notional, dtype=float), 0.0, left)
    to_fund, returned = (left, np.zeros_like(left)) if settlement == "bankruptcy" else (fee, left - fee)
    for got, want in ((one.fee, fee), (one.to_fund, to_fund), (one.returned, returned),
                      (one.deficit, np.maximum(-eq, 0.0))):
        assert repr(float(got)) == repr(float(want))  # signed zeros included


# ----------------------------------------------------------------------------- tiers and roots


@settings(max_examples=100, deadline=None)
@given(tiers=tier_tables(), sizes=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=40),
       data=st.data())
def test_a_shared_tier_table_gives_the_roots_of_one_table_per_pool(tiers, sizes, data):
    floors, rates, cums = tables(parse_tiers(tiers, "tiers"))
    n = len(sizes)
    side = np.array(data.draw(st.lists(st.sampled_from([1, -1]), min_size=n, max_size=n)))
    collateral = np.array(data.draw(st.lists(st.floats(0.0, 1e5), min_size=n, max_size=n)))
    shared = Pools.single(side=side, size=np.array(sizes), entry=100.0, constant=collateral,
                          floors=floors, rates=rates, cums=cums)
    own = replace(shared, floors=np.array(shared.floors), rates=np.array(shared.rates), cums=np.array(shared.cums))
    assert shared.floors.strides[0] == 0 and own.floors.strides[0] != 0
    for with_maintenance in (True, False):
        a, b = segment_roots(shared, with_maintenance=with_maintenance), segment_roots(own, with_maintenance=with_maintenance)
        assert a.tobytes() == b.tobytes()


@settings(max_examples=100, deadline=None)
@given(tiers=st.lists(tier_tables(), min_size=1, max_size=4), data=st.data())
def test_one_tier_table_per_notional_gives_each_table_s_margin(tiers, data):
    tabled = [tables(parse_tiers(t, "tiers")) for t in tiers]
    width = max(f.shape[0] for f, _, _ in tabled)
    pick = data.draw(st.lists(st.integers(0, len(tiers) - 1), min_size=1, max_size=30))
    notional = np.array(data.draw(st.lists(st.floats(0.0, 1e6), min_size=len(pick), max_size=len(pick))))
    rows = [[np.pad(a, (0, width - a.shape[0]), constant_values=(np.inf if k == 0 else a[-1])) for k, a in enumerate(tabled[j])]
            for j in pick]
    floors, rates, cums = (np.array([row[k] for row in rows]) for k in range(3))
    got = maintenance_margin(notional, floors, rates, cums)
    want = [maintenance_margin(float(x), *tabled[j]) for x, j in zip(notional, pick)]
    assert got.tolist() == [float(w) for w in want]


# ----------------------------------------------------------------------------- the crowd


MARKET = Market(name="X", price=20_000.0, tiers=parse_tiers(
    [{"floor": 0, "mmr": 0.004}, {"floor": 50_000, "mmr": 0.01}, {"floor": 500_000, "mmr": 0.05}], "tiers"))


def _drawn(market, params):
    """The crowd drawn anew, without the cache."""
    return crowds._draw_crowd(market, crowds.checked_params(params))


def _same_crowd(a, b) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in
               ("side", "size", "margin", "buffer", "liquidation_price", "long_order", "short_order", "long_cum"))


def test_the_crowd_is_drawn_once_per_market_and_parameters():
    crowds.clear_crowds()
    params = CrowdParams(n_traders=3_000, seed=3)
    crowd = build_crowd(MARKET, params)
    assert build_crowd(MARKET, CrowdParams(n_traders=np.int64(3_000), seed=3)) is crowd  # the same, as checked
    assert _same_crowd(crowd, _drawn(MARKET, params))
    with pytest.raises(ValueError):
        crowd.liquidation_price[0] = 0.0  # kept for every caller: read-only


def test_the_closing_fee_reserve_is_part_of_the_crowd_s_key():
    """The earlier bug: two markets differing only in the reserve shared one crowd."""
    crowds.clear_crowds()
    params = CrowdParams(n_traders=3_000, seed=3)
    plain = build_crowd(MARKET, params)
    reserved = build_crowd(replace(MARKET, close_fee_reserve=0.0005), params)
    assert reserved is not plain
    longs = plain.side > 0  # the reserve raises a long's maintenance: it is liquidated sooner (higher)
    assert (reserved.liquidation_price[longs] >= plain.liquidation_price[longs]).all()
    assert (reserved.liquidation_price[longs] > plain.liquidation_price[longs]).mean() > 0.9
    assert _same_crowd(reserved, _drawn(replace(MARKET, close_fee_reserve=0.0005), params))


@pytest.mark.parametrize("change", [
    {"n_traders": 3_001}, {"leverage_mean": 11.0}, {"leverage_spread": 0.5}, {"leverage_max": 20.0},
    {"long_share": 0.5}, {"size_median": 4_000.0}, {"size_spread": 0.9}, {"cross_share": 0.4},
    {"cross_buffer": 0.6}, {"seed": 4}])
def test_every_crowd_parameter_is_part_of_the_key(change):
    crowds.clear_crowds()
    params = CrowdParams(n_traders=3_000, seed=3)
    build_crowd(MARKET, params)
    other = build_crowd(MARKET, replace(params, **change))
    assert _same_crowd(other, _drawn(MARKET, replace(params, **change)))
    assert not _same_crowd(other, build_crowd(MARKET, params))


@pytest.mark.parametrize("market", [replace(MARKET, price=21_000.0),
                                    replace(MARKET, tiers=(Tier(floor=0.0, mmr=0.005),))])
def test_the_market_s_price_and_tiers_are_part_of_the_key(market):
    crowds.clear_crowds()
    params = CrowdParams(n_traders=3_000, seed=3)
    build_crowd(MARKET, params)
    assert _same_crowd(build_crowd(market, params), _drawn(market, params))


def test_the_kept_crowds_are_bounded(monkeypatch):
    crowds.clear_crowds()
    first = build_crowd(MARKET, CrowdParams(n_traders=1_000, seed=0))
    for seed in range(1, crowds.CROWD_CACHE_ENTRIES + 1):
        build_crowd(MARKET, CrowdParams(n_traders=1_000, seed=seed))
    assert len(crowds._crowds) == crowds.CROWD_CACHE_ENTRIES
    again = build_crowd(MARKET, CrowdParams(n_traders=1_000, seed=0))
    assert again is not first and _same_crowd(again, first)  # the oldest was dropped, drawn anew
    monkeypatch.setattr(crowds, "CROWD_CACHE_TRADERS", 1_999)
    big = CrowdParams(n_traders=2_000, seed=9)
    assert build_crowd(MARKET, big) is not build_crowd(MARKET, big)  # past the bound: never kept


@settings(max_examples=40, deadline=None)
@given(traders=st.lists(st.builds(Trader, side=st.sampled_from([1, -1]), leverage=st.floats(1.0, 125.0),
                                  notional=st.floats(10.0, 5e6), cross=st.booleans(), wallet=st.floats(0.0, 1e6)),
                        min_size=1, max_size=20))
def test_traders_added_to_a_crowd_are_sorted_as_if_drawn_with_it(traders):
    crowd = build_crowd(MARKET, CrowdParams(n_traders=2_000, seed=1))
    both = with_traders(crowd, traders)
    side = np.concatenate([crowd.side, np.array([t.side for t in traders], dtype=np.int8)])
    leverage = np.concatenate([crowd.leverage, [t.leverage for t in traders]])
    notional = np.concatenate([crowd.notional, [t.notional for t in traders]])
    cross = np.concatenate([crowd.cross, [t.cross for t in traders]])
    margin = notional / leverage
    buffer = np.where(cross, np.maximum(np.concatenate([np.zeros(crowd.n_traders), [t.wallet for t in traders]]) - margin, 0.0), 0.0)
    buffer[:crowd.n_traders] = crowd.buffer
    whole = crowds._sorted_crowd(MARKET, crowd.params, side, leverage, notional, margin, buffer, cross)
    assert _same_crowd(both, whole)
