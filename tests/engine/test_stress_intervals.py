"""How sure a stress run is: counts and 95 % intervals for each probability (Wilson), and for a
ratio of two on the same paths (Tang's paired score interval), against published worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from margin.scenario import scenario_from_dict
from margin.stress import run_stress, stress_spec, summary_frame
from margin.stress.results import paired_ratio, proportion, tang_interval, wilson_interval

# Newcombe (1998), Statistics in Medicine 17, 857, Table I, method 3 (Wilson score, no correction).
NEWCOMBE = [((81, 263), (0.2553, 0.3662)), ((15, 148), (0.0624, 0.1605)), ((0, 20), (0.0, 0.1611)),
            ((1, 29), (0.0061, 0.1718))]


@pytest.mark.parametrize("counts, interval", NEWCOMBE)
def test_wilson_interval_gives_newcombes_worked_values(counts, interval):
    assert tuple(round(v, 4) for v in wilson_interval(*counts)) == interval


def test_tang_interval_gives_fagerland_lydersen_laakes_worked_value():
    """Fagerland, Lydersen & Laake (2014), Statistics in Medicine 33, 2850 (and their R
    package contingencytables): Cavo et al. (2012), 59 / 6 / 16 / 80 pairs, ratio 0.8667,
    Tang asymptotic score 95 % interval 0.7476 to 0.9876."""
    low, high = tang_interval(59, 6, 16, 161)
    assert (round(low, 4), round(high, 4)) == (0.7476, 0.9876)


def test_the_issues_eleven_against_three_paths():
    """"A wipe-out is 3.7× as likely" rested on 11 against 3 paths of 5,000. With the 3 among the
    11 (the same random numbers hit both) the interval is 1.61 to 10.26; with none shared, 1.10
    to 12.21: likelier, but anywhere from a tenth more to twelve times. 4 against 3 paths cannot
    tell (0.33 to 5.32 holds 1)."""
    def flags(*runs):
        return np.concatenate([np.full(k, bool(v)) for v, k in runs])
    shared = paired_ratio(flags((1, 11), (0, 4989)), flags((1, 3), (0, 4997)))
    assert (shared.count_a, shared.count_b, shared.both) == (11, 3, 3)
    assert shared.estimate == pytest.approx(11 / 3) and not shared.too_few_paths
    assert (round(shared.low, 2), round(shared.high, 2)) == (1.61, 10.26)
    apart = paired_ratio(flags((1, 11), (0, 4989)), flags((0, 11), (1, 3), (0, 4986)))
    assert apart.both == 0 and (round(apart.low, 2), round(apart.high, 2)) == (1.10, 12.21)
    few = paired_ratio(flags((1, 4), (0, 4996)), flags((0, 4), (1, 3), (0, 4993)))
    assert few.too_few_paths and (round(few.low, 2), round(few.high, 2)) == (0.33, 5.32)


@settings(max_examples=300, deadline=None)
@given(n11=st.integers(0, 60), n12=st.integers(0, 60), n21=st.integers(0, 60), n22=st.integers(0, 400))
def test_tang_interval_holds_the_ratio_and_inverts_with_it(n11, n12, n21, n22):
    n = n11 + n12 + n21 + n22
    if n == 0:
        return
    low, high = tang_interval(n11, n12, n21, n)
    a, b = n11 + n12, n11 + n21
    assert 0.0 <= low <= high
    if a and b:
        assert low <= a / b <= high
        flipped_low, flipped_high = tang_interval(n11, n21, n12, n)
        assert flipped_low == pytest.approx(1 / high, rel=1e-9) and flipped_high == pytest.approx(1 / low, rel=1e-9)
    if a == 0:
        assert low == 0.0
    if b == 0:
        assert high == math.inf


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 100_000), share=st.floats(0, 1))
def test_wilson_interval_holds_the_share_and_stays_within_zero_and_one(n, share):
    count = int(round(share * n))
    low, high = wilson_interval(count, n)
    assert 0.0 <= low <= count / n <= high <= 1.0
    assert proportion(count, n).estimate == count / n


def test_a_stress_run_gives_counts_and_intervals_for_every_probability():
    s = scenario_from_dict({"balance": 1000, "markets": {"BTCUSDT": {"price": 100, "mmr": 0.01}},
                            "positions": [{"id": "a", "market": "BTCUSDT", "side": "long", "size": 50,
                                           "entry": 100, "leverage": 20, "mode": "isolated"}]})
    stress = run_stress(s, stress_spec(s, n_paths=1_000, n_steps=24, horizon_days=1, seed=7)).variants["As built"]
    summary = stress.summary()
    assert summary["paths"] == 1_000 and summary["counts"]["liquidation[a]"] == 135  # the package's doctest: 0.135
    low, high = summary["intervals_95"]["liquidation[a]"]
    assert (low, high) == wilson_interval(135, 1_000) and low < 0.135 < high
    assert set(summary["counts"]) == {"any_liquidation", "wipeout", "bankruptcy", "liquidation[a]"}
    frame = summary_frame({"Normal": run_stress(s, stress_spec(s, n_paths=200, n_steps=4, horizon_days=1, seed=1))})
    assert {"paths with wipeout", "wipeout 95 % low", "wipeout 95 % high"} <= set(frame.columns)
