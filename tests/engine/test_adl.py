"""Auto-deleveraging (margin/adl.py and the cascade's waterfall): Binance's ranking, the
matching of deficits to profitable opposite positions, and money kept whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.adl import adl_ranking, auto_deleverage
from margin.cascade import CrowdParams, build_crowd, cascade_input_from_dict, run_cascade, run_spec
from margin.presets import load_story
from margin.scenario import Market, Tier

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_binance_ranking_and_closing_at_the_bankruptcy_price():
    """Binance Support, 'What Is Auto-Deleveraging (ADL) and How Does It Work': ranking = PnL %
    × effective leverage (profitable), PnL % ÷ effective leverage (at a loss); effective
    leverage = |mark value| ÷ (mark value − bankruptcy value); closed at the bankruptcy price of
    the bankrupt order. Mark 80, all shorts entered at 100 (PnL +20 %) except one at 70:
    A: 2 short, equity 50 → 80 × 2 / 50 = 3.2x → 0.64; B: 4 short, equity 32 → 10x → 2.0;
    C: 5 short from 70, at a loss (−14.3 %), never taken. A long of 10 went bankrupt at 83 with
    a deficit of 30 the fund could not pay: 30 / (83 − 80) = 10 of opposite size is needed; B
    (ranked first) gives its 4, A its 2, and 4 stays uncovered × 3 = 12 socialized."""
    side = np.array([-1, -1, -1])
    size = np.array([2.0, 4.0, 5.0])
    entry = np.array([100.0, 100.0, 70.0])
    equity = np.array([50.0, 32.0, 20.0])
    ranking = adl_ranking(side, size, entry, 80.0, equity)
    assert ranking[:2] == pytest.approx([0.64, 2.0])
    assert ranking[2] == pytest.approx((-10 / 70) / (80 * 5 / 20))
    done = auto_deleverage(np.array([30.0]), np.array([10.0]), np.array([83.0]), 80.0, size, ranking)
    assert done.counterparty.tolist() == [1, 0]  # B first, then A; C (at a loss) never
    assert done.size.tolist() == [4.0, 2.0] and done.price.tolist() == [83.0, 83.0]
    assert done.given_up.tolist() == [12.0, 6.0]
    assert done.uncovered.tolist() == [12.0]


@PROPERTY
@given(data=st.data())
def test_deleveraging_only_takes_profit_in_rank_order_and_never_more_than_needed(data):
    n_src = data.draw(st.integers(1, 6))
    n_cand = data.draw(st.integers(0, 12))
    floats = st.floats(0.0, 1_000.0)
    uncovered = np.array(data.draw(st.lists(floats, min_size=n_src, max_size=n_src)))
    bankrupt_size = np.array(data.draw(st.lists(st.floats(0.01, 50.0), min_size=n_src, max_size=n_src)))
    mark = 100.0
    bankruptcy = mark + np.array(data.draw(st.lists(st.floats(0.0, 20.0), min_size=n_src, max_size=n_src)))
    sizes = np.array(data.draw(st.lists(st.floats(0.0, 30.0), min_size=n_cand, max_size=n_cand)))
    ranking = np.array(data.draw(st.lists(st.floats(-5.0, 5.0), min_size=n_cand, max_size=n_cand)))
    done = auto_deleverage(uncovered, bankrupt_size, bankruptcy, mark, sizes, ranking)
    covered = np.bincount(done.source, weights=done.given_up, minlength=n_src)
    assert np.allclose(covered + done.uncovered, uncovered)  # money kept whole, per bankruptcy
    assert np.all(covered <= uncovered + 1e-9)  # never more than the deficit needs
    closed_for = np.bincount(done.source, weights=done.size, minlength=n_src)
    assert np.all(closed_for <= bankrupt_size + 1e-9)  # never more than the bankrupt size
    if done.counterparty.size:
        assert np.all(ranking[done.counterparty] > 0)  # only profitable positions
        taken = np.bincount(done.counterparty, weights=done.size, minlength=n_cand)
        assert np.all(taken <= sizes + 1e-9)
        lowest_used = ranking[done.counterparty].min()
        better = (ranking > lowest_used) & (sizes > 0)
        assert np.allclose(taken[better], sizes[better])  # a higher-ranked one is used up first


def _crowd(n: int = 3_000, seed: int = 5):
    market = Market(name="BTC", price=100_000.0, tiers=(Tier(floor=0.0, mmr=0.004),))
    return build_crowd(market, CrowdParams(n_traders=n, leverage_mean=40, leverage_max=100, seed=seed))


@PROPERTY
@given(seed=st.integers(0, 1_000), shock=st.floats(-0.3, -0.05), fund=st.sampled_from([0.0, 1e3, 1e5, 1e7]))
def test_in_the_cascade_adl_keeps_money_whole_and_takes_only_profitable_shorts(seed, shock, fund):
    crowd = _crowd(1_500, seed)
    plain = run_cascade(crowd, shock, 2e6, "linear", insurance_fund=fund)
    result = run_cascade(crowd, shock, 2e6, "linear", insurance_fund=fund, adl=True)
    before, acc = plain.accounting(), result.accounting()
    assert "auto_deleveraged" not in before  # off by default: the waterfall as it was
    assert acc["deficit"] == pytest.approx(acc["paid_by_insurance_fund"] + acc["auto_deleveraged"] + acc["socialized"])
    assert acc["auto_deleveraged"] <= before["socialized"] + 1e-6
    t = result.traders
    hit = t.adl_size > 0
    assert np.all(crowd.side[hit] < 0) and np.all(t.round[hit] < 0)  # surviving shorts only, in a fall
    assert np.all(t.adl_size[hit] <= crowd.size[hit] + 1e-9 * crowd.size.sum())  # rounding of the sums
    assert np.all(result.final_price < crowd.entry_price)  # every short is in profit at each round's price
    assert t.adl_given_up.sum() == pytest.approx(acc["auto_deleveraged"])
    if fund >= before["deficit"]:
        assert not hit.any()  # the fund pays it all: nobody is deleveraged


def test_an_empty_fund_in_a_deep_cascade_deleverages_the_crowd():
    crowd = _crowd()
    result = run_cascade(crowd, -0.15, 2e6, "linear", insurance_fund=0.0, adl=True)
    acc = result.accounting()
    assert acc["deficit"] > 0 and acc["auto_deleveraged"] > 0.5 * acc["deficit"]
    assert acc["auto_deleveraged_traders"] > 0


def test_the_cascade_input_takes_auto_deleverage_as_a_flag():
    from margin.cascade.spec import cascade_input_from_dict
    from margin.fields import ScenarioError
    base = {"market": {"price": 100_000, "mmr": 0.004}, "depth": 2e6, "shock": -0.1, "insurance_fund": 0}
    assert cascade_input_from_dict(base).auto_deleverage is False
    assert cascade_input_from_dict({**base, "auto_deleverage": True}).auto_deleverage is True
    with pytest.raises(ScenarioError, match=r"auto_deleverage: must be true or false"):
        cascade_input_from_dict({**base, "auto_deleverage": "yes"})


# ----------------------------------------------------------------------------- the learner in the queue


def _learner_short_in_a_crash(leverage: float = 20.0) -> dict:
    """A crash of longs with a small fund, and the learner holding a short: the winning side."""
    story = load_story("default")
    story["positions"] = [{"id": "short", "market": "BTCUSDT", "side": "short", "size": 1, "entry": 100_000,
                           "leverage": leverage, "mode": "isolated"}]
    story["markets"]["BTCUSDT"]["price"] = 100_000
    return {"scenario": story, "market": {"name": "BTCUSDT"}, "crowd": {"n_traders": 5_000, "seed": 2,
            "leverage_mean": 40, "leverage_max": 100, "long_share": 0.9},
            "depth": 2_000_000, "impact": "linear", "shock": -0.12, "insurance_fund": 0, "auto_deleverage": True}


def test_the_learners_profitable_short_is_deleveraged_when_its_rank_is_reached():
    """With no fund, the crowd's bankrupt longs are covered by ADL of the profitable shorts,
    highest ranking first; a learner's 20x short ranks high, so it is in the queue: closed at a
    bankrupt long's bankruptcy price (above the mark), giving up the gap."""
    run = run_spec(cascade_input_from_dict(_learner_short_in_a_crash()))
    (fate,) = run.learner
    assert fate["round"] is None and fate["adl_size"] > 0 and fate["adl_round"] >= 1
    mark = run.result.prices[fate["adl_round"]]
    assert fate["adl_price"] > mark  # a short bought back above the mark: profit given up
    assert fate["adl_given_up"] == pytest.approx(fate["adl_size"] * (fate["adl_price"] - mark), rel=1e-6)
    raw = _learner_short_in_a_crash()
    btc = raw.pop("scenario")["markets"]["BTCUSDT"]
    raw["market"] = {"name": "BTCUSDT", "price": 100_000, "tiers": btc["tiers"]}
    alone = cascade_input_from_dict(raw)
    crowd_only = run_spec(alone).result.traders.adl_given_up.sum()
    with_learner = run.result.traders.adl_given_up.sum()
    # the learner adds to what the queue can give: never less is covered, and the books add up
    assert with_learner + fate["adl_given_up"] >= crowd_only - 1e-6
    money = run.result.accounting()
    assert money["auto_deleveraged"] == pytest.approx(with_learner + fate["adl_given_up"], rel=1e-12)
    assert money["auto_deleveraged_outside"] == pytest.approx(fate["adl_given_up"], rel=1e-12)
    assert money["socialized"] + money["auto_deleveraged"] + money["paid_by_insurance_fund"] == \
        pytest.approx(money["deficit"], rel=1e-12)


def test_a_learner_on_the_losing_side_or_without_adl_is_never_deleveraged():
    raw = _learner_short_in_a_crash()
    raw["scenario"]["positions"][0]["side"] = "long"
    (fate,) = run_spec(cascade_input_from_dict(raw)).learner
    assert fate["adl_size"] == 0 and fate["adl_round"] is None
    raw = _learner_short_in_a_crash()
    raw["auto_deleverage"] = False
    (fate,) = run_spec(cascade_input_from_dict(raw)).learner
    assert fate["adl_size"] == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(side=st.sampled_from(["long", "short"]), leverage=st.floats(1, 20), size=st.floats(0.01, 10),
       mode=st.sampled_from(["isolated", "cross"]), shock=st.sampled_from([-0.12, 0.12]))
def test_the_learner_is_deleveraged_only_on_the_winning_side_and_never_past_its_size(side, leverage, size, mode,
                                                                                         shock):
    raw = _learner_short_in_a_crash()
    raw["shock"] = shock
    raw["crowd"]["long_share"] = 0.9 if shock < 0 else 0.1
    raw["scenario"]["positions"][0].update(side=side, leverage=leverage, size=size, mode=mode)
    raw["scenario"]["balance"] = max(raw["scenario"]["balance"], size * 100_000 / leverage * 1.5)
    run = run_spec(cascade_input_from_dict(raw))
    (fate,) = run.learner
    if fate["adl_size"] == 0:
        return
    winning = "short" if shock < 0 else "long"
    assert side == winning and fate["adl_size"] <= size * (1 + 1e-9)
    mark = run.result.prices[fate["adl_round"]]
    assert (fate["adl_price"] - mark) * (1 if side == "short" else -1) > 0  # closed worse than the mark
