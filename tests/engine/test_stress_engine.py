"""The stress engine (margin.stress): sampling, path-dependent liquidation, the figures, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin import evaluate, scenario_from_dict, simulate
from margin.cli import main
from margin.presets import load_story
from margin.scenario import ScenarioError
from margin.variants import account_variants, arrived_scenarios
from margin.stress import (
    BLOCK_PATHS, CHUNK_BYTES, MAX_VOLATILITY, Sampler, VariantStress, chunk_paths_for, path_events, run_stress,
    sample_path, sample_prices, stress_spec, summary_frame,
)
from tests.strategies import scenarios

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _one_position(leverage: float, *, mode: str = "isolated", side: str = "long", rules: dict | None = None):
    return scenario_from_dict({
        "balance": 100_000, "rules": rules or {},
        "markets": {"BTCUSDT": {"price": 100_000, "tiers": [
            {"floor": 0, "mmr": 0.004, "max_leverage": 125}, {"floor": 50_000, "mmr": 0.005, "max_leverage": 100},
            {"floor": 250_000, "mmr": 0.01, "max_leverage": 50}]},
            "ETHUSDT": {"price": 3_500, "mmr": 0.005}},
        "positions": [
            {"id": "btc", "market": "BTCUSDT", "side": side, "size": 1, "entry": 100_000,
             "leverage": leverage, "mode": mode},
            {"id": "eth", "market": "ETHUSDT", "side": "short", "size": 10, "entry": 3_500,
             "leverage": 5, "mode": "cross"},
        ],
    })


def _default():
    return scenario_from_dict(load_story("default"))


# ----------------------------------------------------------------------------- sampling


def test_the_sampled_marks_have_the_volatility_and_correlation_asked_for():
    scenario = _default()
    spec = stress_spec(scenario, n_paths=4_000, n_steps=10, horizon_days=10, seed=3,
                       volatility={"BTCUSDT": 0.5, "SOLUSDT": 1.0}, correlation={("BTCUSDT", "SOLUSDT"): 0.6})
    for model in ("normal", "student_t"):
        prices = sample_prices(replace(spec, model=model, dof=5.0), [100_000, 180])
        step = np.diff(np.log(prices), axis=-1).reshape(2, -1)  # one-day log-returns
        daily = np.array([0.5, 1.0]) / np.sqrt(365)
        assert step.std(axis=1) == pytest.approx(daily, rel=0.03)
        assert np.corrcoef(step)[0, 1] == pytest.approx(0.6, abs=0.03)
        assert np.allclose(prices[:, :, 0], [[100_000], [180]])


def test_student_t_steps_have_fat_tails_and_normal_steps_do_not():
    scenario = _default()
    spec = stress_spec(scenario, n_paths=2_000, n_steps=50, seed=1)
    kurtosis = {}
    for model in ("normal", "student_t"):
        step = np.diff(np.log(sample_prices(replace(spec, model=model, dof=4.0), [1.0, 1.0])[0]), axis=-1).ravel()
        step = (step - step.mean()) / step.std()
        kurtosis[model] = float(np.mean(step**4))
    assert kurtosis["normal"] == pytest.approx(3.0, abs=0.1)
    assert kurtosis["student_t"] > 5.0  # ν = 4: infinite in theory, large in any sample


def test_same_seed_same_numbers_whatever_the_chunk_size_or_number_of_paths():
    scenario = scenario_from_dict(load_story("isolated-lottery-ticket"))
    spec = stress_spec(scenario, n_paths=3 * BLOCK_PATHS + 17, n_steps=96, horizon_days=3, seed=42,
                       model="student_t", dof=3)
    one = run_stress(scenario, spec)
    again = run_stress(scenario, spec, chunk_paths=BLOCK_PATHS)
    fewer = run_stress(scenario, replace(spec, n_paths=BLOCK_PATHS + 5))
    other_seed = run_stress(scenario, replace(spec, seed=43))
    for label, stress in one.variants.items():
        assert np.array_equal(stress.final_value, again.variants[label].final_value)
        assert np.array_equal(stress.first_liquidation_step, again.variants[label].first_liquidation_step)
        assert np.array_equal(stress.bankrupt, again.variants[label].bankrupt)
        # path k is path k whatever the number of paths
        assert np.array_equal(stress.final_value[:BLOCK_PATHS + 5], fewer.variants[label].final_value)
        assert not np.array_equal(stress.final_value, other_seed.variants[label].final_value)
    assert np.array_equal(sample_prices(spec, [100_000, 0.3], 250, 3), sample_prices(spec, [100_000, 0.3])[:, 250:253])


def test_drawing_with_two_threads_gives_the_same_numbers(monkeypatch):
    import margin.stress.runner
    scenario = _default()
    spec = stress_spec(scenario, n_paths=5 * BLOCK_PATHS + 3, n_steps=30, seed=3, model="student_t")
    one = run_stress(scenario, spec, chunk_paths=2 * BLOCK_PATHS)
    monkeypatch.setattr(margin.stress.runner, "SAMPLER_THREADS", 2)
    two = run_stress(scenario, spec, chunk_paths=2 * BLOCK_PATHS)
    for label, stress in one.variants.items():
        assert np.array_equal(stress.final_value, two.variants[label].final_value)


@PROPERTY
@given(seed=st.integers(0, 10_000), model=st.sampled_from(["normal", "student_t"]),
       vol=st.sampled_from([0.0, 0.05, 1.0, 4.0, MAX_VOLATILITY]), steps=st.integers(1, 80),
       horizon=st.sampled_from([0.01, 1.0, 30.0, 365.0]))
def test_the_bounds_drawn_without_every_exponential_hold_every_mark(seed, model, vol, steps, horizon):
    """The run keeps each chunk as running log-returns and sets a path aside on bounds of its
    marks (Sampler.mark_bounds): they must hold each market's every mark after step 0, the marks
    at the horizon must be those of drawing the marks, and any subset must give the same bits."""
    scenario = _one_position(10)
    spec = stress_spec(scenario, volatility={m: vol for m in scenario.markets}, n_paths=BLOCK_PATHS + 7,
                       n_steps=steps, horizon_days=horizon, seed=seed, model=model, dof=2.5)
    sampler = Sampler(spec, [100_000, 3_500], spec.n_paths)
    marks = sample_prices(spec, [100_000, 3_500])
    log = sampler.next_buffer(spec.n_paths)
    sampler.fill_log_range(log, 0, 0, spec.n_paths)
    low, high = sampler.mark_bounds(log)
    assert np.all(low <= marks[:, :, 1:].min(axis=2)) and np.all(marks[:, :, 1:].max(axis=2) <= high)
    # and no wider than the drift over the horizon (the bounds put every step at its extreme)
    widest = np.exp(0.5 * vol**2 * horizon / 365) * (1 + 1e-9)
    assert np.all(high <= marks[:, :, 1:].max(axis=2) * widest) and np.all(low * widest >= marks[:, :, 1:].min(axis=2))
    assert sampler.last_marks(log).tobytes() == np.ascontiguousarray(marks[:, :, -1].T).tobytes()
    some = np.array([0, 5, BLOCK_PATHS + 3])
    assert sampler.to_marks(log[:, some, :], out=log[:, some, :].copy()).tobytes() == marks[:, some, :].tobytes()


def test_chunks_stay_near_the_memory_budget():
    scenario = scenario_from_dict(load_story("diversified-alts-crash"))  # four markets
    spec = stress_spec(scenario, n_paths=10_000, n_steps=1_000)
    paths = chunk_paths_for(spec)
    assert paths % BLOCK_PATHS == 0
    array_bytes = 8 * len(spec.markets) * paths * (spec.n_steps + 1)
    assert CHUNK_BYTES / 2 <= array_bytes <= CHUNK_BYTES
    seen = []
    run_stress(scenario, replace(spec, n_paths=1_000, n_steps=50), chunk_paths=300,
               progress=lambda done, total: seen.append((done, total)))
    assert seen == [(300, 1_000), (600, 1_000), (900, 1_000), (1_000, 1_000)]


# ----------------------------------------------------------------------------- the account on every path


@PROPERTY
@given(scenario=scenarios(max_positions=4), seed=st.integers(0, 1_000))
def test_with_zero_volatility_a_healthy_account_is_never_liquidated(scenario, seed):
    """Each way of the account starts where it arrives at today's prices from its entries: a
    pool liquidatable there was closed on the way (it is not in the run), and with no price
    move nothing else is ever liquidated and nothing is lost."""
    zero = {name: 0.0 for name in scenario.markets}
    spec = stress_spec(scenario, volatility=zero, n_paths=120, n_steps=20, seed=seed, model="student_t")
    result = run_stress(scenario, spec)
    arrived = arrived_scenarios(scenario)
    for label, variant in account_variants(scenario).items():
        stress = result.variants[label]
        on_arrival = evaluate(arrived[label])  # what was due on the way from the entries is settled
        assert not on_arrival.cross.liquidatable and not any(p.liquidatable for p in on_arrival.positions)
        assert set(stress.closed_on_arrival) == {p.id for p in variant.positions} - {p.id for p in arrived[label].positions}
        assert not stress.liquidated.any()
        assert not stress.bankrupt.any()
        assert stress.final_value == pytest.approx(np.full(120, stress.start_value), rel=1e-12, abs=1e-9)
        assert stress.value_at_risk() == pytest.approx(0.0, abs=1e-6)


@PROPERTY
@given(low=st.floats(1.0, 100.0), high=st.floats(1.0, 100.0), side=st.sampled_from(["long", "short"]),
       liquidation=st.sampled_from(["full", "partial"]), seed=st.integers(0, 100))
def test_liquidation_never_becomes_less_likely_as_leverage_rises(low, high, side, liquidation, seed):
    low, high = sorted((low, high))
    rules = {"liquidation": liquidation, "liquidation_fee_rate": 0.005}
    runs = []
    for leverage in (low, high):
        scenario = _one_position(leverage, side=side, rules=rules)
        spec = stress_spec(scenario, n_paths=200, n_steps=48, horizon_days=2, seed=seed, model="student_t")
        runs.append(run_stress(scenario, spec, variants={"As built": scenario}).variants["As built"])
    # Same seed, same paths: the riskier position is liquidated on every path the safer one is.
    assert not (runs[0].liquidated[:, 0] & ~runs[1].liquidated[:, 0]).any()
    assert runs[0].liquidation_probability[0] <= runs[1].liquidation_probability[0]


def test_leverage_rises_liquidation_odds_strictly_on_a_grid_and_cross_leverage_changes_nothing():
    probabilities = []
    for leverage in (2, 5, 10, 20, 50, 100):
        scenario = _one_position(leverage)
        spec = stress_spec(scenario, n_paths=1_000, n_steps=96, horizon_days=1, seed=9)
        probabilities.append(float(run_stress(scenario, spec).variants["As built"].liquidation_probability[0]))
    assert probabilities == sorted(probabilities)
    assert probabilities[0] == 0.0 and probabilities[-1] > 0.5
    cross = [run_stress(s := _one_position(lev, mode="cross"), stress_spec(s, n_paths=300, n_steps=48, seed=9))
             .variants["As built"] for lev in (2, 50)]
    assert np.array_equal(cross[0].liquidated, cross[1].liquidated)  # leverage does not move a cross liquidation


def test_student_t_with_a_huge_dof_approaches_the_normal_result():
    scenario = scenario_from_dict(load_story("one-bad-trade"))
    spec = stress_spec(scenario, n_paths=2_000, n_steps=96, horizon_days=2, seed=5)
    normal = run_stress(scenario, spec)
    t_model = run_stress(scenario, replace(spec, model="student_t", dof=1e8))
    fat = run_stress(scenario, replace(spec, model="student_t", dof=3.0))
    moved = 0.0
    for label, stress in normal.variants.items():
        other = t_model.variants[label]
        # Same seed, same z: only the factor sqrt((ν − 2) / W) ≈ 1 ± 1e-4 differs.
        assert np.abs(stress.liquidation_probability - other.liquidation_probability).max() <= 0.005
        assert abs(stress.wipeout_probability - other.wipeout_probability) <= 0.005
        assert abs(stress.bankruptcy_probability - other.bankruptcy_probability) <= 0.005
        assert other.expected_loss == pytest.approx(stress.expected_loss, rel=0.02, abs=1.0)
        assert np.median(np.abs(other.final_value - stress.final_value)) <= 1e-3 * stress.start_value
        moved = max(moved, np.abs(stress.liquidation_probability - fat.variants[label].liquidation_probability).max())
    assert moved > 0.005  # a small dof does move the numbers: the tolerance above means something


def _compare_with_simulate(scenario, spec):
    result = run_stress(scenario, spec, keep_events=True)
    compared = 0
    for label, stress in result.variants.items():
        for index in range(spec.n_paths):
            path = sample_path(stress.scenario, spec, index)
            expected = simulate(stress.scenario, path)
            got = stress.events.get(index, ())
            assert [e.as_dict() | {"row": e.row} for e in got] == \
                   [e.as_dict() | {"row": e.row} for e in expected.events], (label, index)
            final = expected.final
            value = final.balance + sum(p.sign * size * (path.marks[-1, list(spec.markets).index(p.market)] - p.entry)
                                        for p, size in zip(stress.scenario.positions, final.sizes))
            assert stress.final_value[index] == pytest.approx(value, rel=1e-12, abs=1e-9)
            assert stress.bankrupt[index] == final.bankrupt
            compared += bool(got)
    return compared


def test_a_sampled_path_gives_the_same_events_as_simulate_on_a_busy_account():
    from margin.cli.bench_engine import bench_account
    scenario = bench_account(10)
    spec = stress_spec(scenario, n_paths=150, n_steps=300, horizon_days=10, seed=4, model="student_t", dof=3)
    assert _compare_with_simulate(scenario, spec) > 100  # most paths have events: the test has teeth
    one = path_events(scenario, spec, 17)
    assert [e.as_dict() for e in one] == [e.as_dict() for e in simulate(scenario, sample_path(scenario, spec, 17)).events]


@PROPERTY
@given(scenario=scenarios(max_positions=4), seed=st.integers(0, 10_000),
       model=st.sampled_from(["normal", "student_t"]), vol=st.sampled_from([0.5, 2.0, 5.0]))
def test_every_sampled_path_gives_the_same_events_as_simulate(scenario, seed, model, vol):
    spec = stress_spec(scenario, volatility={m: vol for m in scenario.markets}, n_paths=30, n_steps=40,
                       horizon_days=5, seed=seed, model=model, dof=3)
    _compare_with_simulate(scenario, spec)


def test_a_liquidated_position_stays_closed_when_the_price_comes_back():
    scenario = _one_position(50)
    spec = stress_spec(scenario, n_paths=500, n_steps=200, horizon_days=5, seed=2)
    stress = run_stress(scenario, spec, keep_events=True).variants["As built"]
    prices, prices_eth = sample_prices(spec, [100_000, 3_500])
    liquidated = np.flatnonzero(stress.liquidated[:, 0])
    recovered = [n for n in liquidated if prices[n, -1] > 100_000]  # back above entry at the horizon
    assert recovered, "some liquidated paths end above entry"
    btc_margin = scenario.positions[0].margin
    for n in recovered:
        # The long is gone: under bankruptcy settlement its whole margin is lost, and its
        # recovery is not in the final value (only the ETH short, still open, is marked).
        assert not stress.liquidated[n, 1]
        eth = -10 * (prices_eth[n, -1] - 3_500)
        assert stress.final_value[n] == pytest.approx(100_000 - btc_margin + eth)
        held = 100_000 + (prices[n, -1] - 100_000) + eth
        assert stress.final_value[n] < held
        types = [e.type for e in stress.events[n] if e.position == "btc"]
        assert types.count("liquidation") == 1  # (a gap past the bankruptcy price adds a bankruptcy)


# ----------------------------------------------------------------------------- the figures


def test_value_at_risk_and_expected_shortfall_are_the_worst_one_percent():
    scenario = _one_position(10)
    n = 1_000
    final = np.linspace(0.0, 999.0, n)  # losses 1000 - final: 1, 2, ..., 1000
    stress = VariantStress(label="x", scenario=scenario, start_value=1_000.0, final_value=final,
                           liquidated=np.zeros((n, 2), bool), first_liquidation_step=np.full((n, 2), -1),
                           bankrupt=np.zeros(n, bool))
    assert stress.value_at_risk() == pytest.approx(991.0)  # the smallest of the worst 10
    assert stress.expected_shortfall() == pytest.approx(np.mean(np.arange(991, 1001)))
    assert stress.expected_loss == pytest.approx(500.5)
    assert stress.wipeout_probability == pytest.approx(11 / n)  # final value <= 10 (1 % of 1,000)


def test_fat_tails_gap_through_the_margin_buffer_far_more_often():
    # 20x isolated long: liquidation at about -4.6 %, bankruptcy at -5 %. Going bankrupt takes a
    # single 5-minute step that jumps the 0.4 % buffer between the two: a 2.3-sigma step for
    # the normal model, routine for a Student-t with the same variance.
    scenario = _one_position(20)
    spec = stress_spec(scenario, n_paths=3_000, n_steps=3 * 288, horizon_days=3, seed=11)
    normal = run_stress(scenario, spec, variants={"As built": scenario}).variants["As built"]
    fat = run_stress(scenario, replace(spec, model="student_t", dof=3.0),
                     variants={"As built": scenario}).variants["As built"]
    assert fat.bankrupt.sum() >= 5 * max(normal.bankrupt.sum(), 1)
    assert (fat.bankrupt <= fat.liquidated.any(axis=1)).all()  # no bankruptcy without a liquidation
    assert (normal.bankrupt <= normal.liquidated.any(axis=1)).all()


def test_summary_frame_has_one_row_per_model_and_variant():
    scenario = _default()
    spec = stress_spec(scenario, n_paths=200, n_steps=24, seed=1)
    frame = summary_frame({"Normal": run_stress(scenario, spec),
                           "Fat tails": run_stress(scenario, replace(spec, model="student_t"))})
    assert len(frame) == 6
    assert set(frame["variant"]) == {"As built", "All cross", "All isolated"}
    for column in ("probability_wipeout", "probability_bankruptcy", "value_at_risk_99",
                   "expected_shortfall_99", "probability_liquidation[sol-long]"):
        assert column in frame.columns
    assert frame["probability_wipeout"].between(0, 1).all()
    assert "probability_wipeout" in frame.to_csv(index=False).splitlines()[0]


# ----------------------------------------------------------------------------- validation and CLI


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"volatility": {"BTCUSDT": -0.1}}, "volatility.BTCUSDT"),
    ({"volatility": {"NOPE": 0.1}}, "volatility.NOPE"),
    ({"correlation": {("BTCUSDT", "SOLUSDT"): 1.5}}, "correlation[BTCUSDT, SOLUSDT]"),
    ({"correlation": [[1.0, 0.5], [0.4, 1.0]]}, "correlation[BTCUSDT, SOLUSDT]"),
    ({"correlation": [[0.9, 0.5], [0.5, 1.0]]}, "correlation[BTCUSDT, BTCUSDT]"),
    ({"model": "cauchy"}, "model"),
    ({"dof": 2}, "dof"),
    ({"n_paths": 0}, "n_paths"),
    ({"horizon_days": -1}, "horizon_days"),
])
def test_bad_inputs_name_the_field(kwargs, field):
    with pytest.raises(ScenarioError) as err:
        stress_spec(_default(), **kwargs)
    assert err.value.field == field


def test_a_correlation_matrix_that_contradicts_itself_is_refused():
    scenario = scenario_from_dict(load_story("one-bad-trade"))  # BTC, ETH, SOL
    with pytest.raises(ScenarioError) as err:
        stress_spec(scenario, correlation={("BTCUSDT", "ETHUSDT"): 0.95, ("BTCUSDT", "SOLUSDT"): 0.95,
                                           ("ETHUSDT", "SOLUSDT"): -0.95})
    assert err.value.field == "correlation"
    assert "positive semi-definite" in str(err.value)
    # perfectly correlated markets are fine (semi-definite)
    spec = stress_spec(scenario, correlation={("BTCUSDT", "ETHUSDT"): 1.0, ("BTCUSDT", "SOLUSDT"): 1.0,
                                              ("ETHUSDT", "SOLUSDT"): 1.0}, n_paths=100, n_steps=5)
    prices = sample_prices(spec, [1.0, 1.0, 1.0])
    vol = np.array(spec.volatility)[:, None, None]
    moves = (np.diff(np.log(prices), axis=-1) + 0.5 * vol**2 * spec.dt_years) / vol  # the unit shocks
    assert np.allclose(moves[0], moves[1]) and np.allclose(moves[0], moves[2])


def test_cli_stress_prints_probabilities(capsys):
    code = main(["stress", "assets/scenarios/default.json", "--paths", "300", "--steps", "48",
                 "--model", "student_t", "--dof", "3", "--seed", "7", "--vol", "SOLUSDT=1.2",
                 "--corr", "BTCUSDT:SOLUSDT=0.8"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spec"]["n_paths"] == 300 and out["spec"]["seed"] == 7
    assert out["spec"]["volatility"]["SOLUSDT"] == 1.2
    assert set(out["variants"]) == {"As built", "All cross", "All isolated"}
    for figures in out["variants"].values():
        assert 0 <= figures["probability_wipeout"] <= 1
    for label in ("As built", "All cross"):
        assert set(out["variants"][label]["probability_liquidation"]) == {"btc-long", "sol-long"}
    # all isolated, the SOL long (under water by more than its margin) died on the way from its
    # entry to today's price: it is not in the run, and the output says so
    isolated = out["variants"]["All isolated"]
    assert set(isolated["probability_liquidation"]) == {"btc-long"} and isolated["closed_on_arrival"] == ["sol-long"]


@pytest.mark.parametrize(("argv", "field"), [
    (["--dof", "2"], "dof"), (["--paths", "0"], "n_paths"), (["--vol", "BTCUSDT"], "--vol"),
    (["--corr", "BTCUSDT=0.5"], "--corr"), (["--model", "cauchy"], "arguments"),
])
def test_cli_stress_bad_input_is_one_line_naming_the_field(capsys, argv, field):
    code = main(["stress", "assets/scenarios/default.json", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(field)


def test_stress_bench_reports_time_and_memory_for_both_models(capsys):
    code = main(["stress-bench", "--paths", "200", "--steps", "20", "--positions", "4"])
    assert code == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["repeats"] == 5 and "load average" in captured.err and "CPUs" in captured.err
    for model in ("normal", "student_t"):
        figures = out[model]
        for timing in (figures, figures["sampler"]):  # the run, and drawing its paths alone
            assert timing["runs"] == 5
            for measure in ("cpu_seconds", "wall_seconds"):
                assert 0 < timing[measure]["min"] <= timing[measure]["median"]
        assert figures["peak_rss_mib"] >= figures["rss_before_run_mib"] > 0
        assert figures["tracemalloc_peak_mib"] > 0
        assert figures["load_before"]["cpus"] >= 1
        assert set(figures["probabilities"]) == {"As built", "All cross", "All isolated"}
        assert all(0.0 <= p <= 1.0 for row in figures["probabilities"].values() for p in row.values())
    assert (out["paths"], out["steps"], out["positions"]) == (200, 20, 4)  # what was asked is what ran


def test_funding_drains_accounts_in_the_stress_lab_as_simulate_does():
    """With a funding rate the stress lab charges it at its steps' times (every 8 h of a
    10-day horizon), path by path as simulate does; paid by longs, it makes wipe-outs and
    liquidations of the long more likely and every final value smaller than without it."""
    raw = {"balance": 100_000, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.004, "funding_rate": 0.003}},
           "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100_000,
                          "leverage": 20, "mode": "isolated"}]}
    funded = scenario_from_dict(raw)
    plain = scenario_from_dict({**raw, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.004}}})
    spec = stress_spec(funded, n_paths=60, n_steps=40, horizon_days=10, seed=3)
    assert _compare_with_simulate(funded, spec) > 0
    one, other = (run_stress(s, spec, keep_events=True).variants["As built"] for s in (funded, plain))
    assert any(e.type == "funding" for events in one.events.values() for e in events)
    assert one.liquidation_probability[0] > other.liquidation_probability[0]
    assert np.all(one.final_value <= other.final_value + 1e-9)
