"""The venue liquidation styles that close a breached position a part at a time by the venue's
own measure: down the risk tiers (``tier_step_down``: OKX, Bybit, Bitget, MEXC) and in orders of
a fixed size (``fixed_chunks``: Deribit). Each has a documented example and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.scenario import ScenarioError, scenario_from_dict
from margin.simulate import price_path, simulate, simulate_reference
from tests.strategies import paths_for, scenario_dicts

# ----------------------------------------------------------------------------- down the risk tiers


def _okx_swaps(mode: str = "isolated", **rules) -> dict:
    """OKX's worked example in contracts: 15,000 swaps of a 100 USD contract, so a notional at
    entry of 100 USD per swap; tier 1 holds up to 2,000 swaps, tier 2 up to 12,000, tier 3 above."""
    tiers = [{"floor": 0, "mmr": 0.01}, {"floor": 200_000.0001, "mmr": 0.015}, {"floor": 1_200_000.0001, "mmr": 0.02}]
    return {"balance": 75_000, "markets": {"SWAP": {"price": 100.0, "tiers": tiers}},
            "rules": {"mm_basis": "entry", "liquidation": "tier_step_down", "tier_steps": 2, **rules},
            "positions": [{"id": "swap", "market": "SWAP", "side": "long", "size": 15_000, "entry": 100.0,
                           "leverage": 20, "mode": mode}]}


@pytest.mark.parametrize("mode", ["isolated", "cross"])
def test_tier_step_down_reproduces_okx_forced_partial_liquidation(mode):
    """OKX Help Center, 'V. Forced Partial or Full Liquidation' (okx.com/hc/en-us/articles/
    360020411711): a position at tier 3 or above whose margin ratio falls below its tier's
    requirement is liquidated down to tier 1: 'Number of Swaps to be closed = Number of Swaps
    held − max Number of Swaps acceptable for Tier 1 = 15,000 − 2,000 = 13,000 swaps'. By hand
    at a mark of 96: equity 75,000 − 60,000 = 15,000 USDT against a tier-3 maintenance of
    1,500,000 × 2 % − 7,000 = 23,000 USDT; after closing 13,000 swaps the 2,000 left need
    200,000 × 1 % = 2,000 USDT and have 15,000: cured, and 2,000 swaps stay open."""
    result = simulate(scenario_from_dict(_okx_swaps(mode)), price_path({"SWAP": [100.0, 96.0]}))
    (close,) = result.events
    assert close.type == "partial_liquidation" and close.size == pytest.approx(13_000, abs=1e-3)
    assert close.realized_pnl == pytest.approx(-4 * 13_000, rel=1e-6)
    assert result.final.sizes[0] == pytest.approx(2_000, abs=1e-3)
    assert result.final.open_positions == ("swap",)


def test_tier_step_down_one_tier_at_a_time_then_in_full_at_the_lowest():
    """Bybit's way (one tier per round): from tier 3 to tier 2 to tier 1, judged after each; a
    breach in the lowest tier closes what is left in full. By hand at a mark of 95.1 (no fee)
    the equity is 1,500 USDT however much is closed; tier 3 needs 23,000, the 12,000 swaps left
    in tier 2 need 17,000, the 2,000 left in tier 1 still need 2,000: the rest closes in full."""
    raw = _okx_swaps(tier_steps=1)
    result = simulate(scenario_from_dict(raw), price_path({"SWAP": [100.0, 95.1]}))
    kinds = [e.type for e in result.events if e.type in ("partial_liquidation", "liquidation")]
    assert kinds == ["partial_liquidation", "partial_liquidation", "liquidation"]
    first, second, last = (e for e in result.events if e.type in ("partial_liquidation", "liquidation"))
    assert first.size == pytest.approx(15_000 - 12_000, abs=1e-3)  # to the top of tier 2
    assert second.size == pytest.approx(12_000 - 2_000, abs=1e-3)  # to the top of tier 1
    assert last.size == pytest.approx(2_000, abs=1e-3)
    assert result.final.open_positions == ()


def test_tier_step_down_in_the_lowest_tier_is_a_full_close():
    raw = _okx_swaps(tier_steps=1)
    raw["positions"][0]["size"] = 1_500  # tier 1 from the start
    raw["balance"] = 7_500
    (close, *_) = simulate(scenario_from_dict(raw), price_path({"SWAP": [100.0, 95.5]})).events
    assert close.type == "liquidation" and close.size == 1_500


def test_tier_step_down_in_a_cross_pool_steps_down_only_the_big_position():
    """Two cross positions: the big one steps down its tiers; the small one, in tier 1, is not
    touched while the pool can still be cured by stepping the big one down. By hand at 96: pool
    equity 80,000 − 60,400 = 19,600 USDT against 23,000 + 100 of maintenance; with the big one
    down to 2,000 swaps the pool needs 2,100 and still has 19,600."""
    raw = _okx_swaps("cross", tier_steps=2)
    raw["balance"] = 80_000
    raw["positions"].append({"id": "small", "market": "SWAP", "side": "long", "size": 100, "entry": 100.0,
                             "leverage": 20, "mode": "cross"})
    result = simulate(scenario_from_dict(raw), price_path({"SWAP": [100.0, 96.0]}))
    assert {e.position for e in result.events} == {"swap"}
    assert set(result.final.open_positions) == {"swap", "small"}


# ----------------------------------------------------------------------------- fixed chunks (Deribit)


def _deribit_long(**rules) -> dict:
    return {"balance": 5_000, "markets": {"BTC-PERPETUAL": {"price": 100_000, "mmr": 0.005}},
            "rules": {"liquidation": "fixed_chunks", "chunk_notional": 2_000, "settlement": "mark",
                      "liquidation_fee_rate": 0.001, **rules},
            "positions": [{"id": "perp", "market": "BTC-PERPETUAL", "side": "long", "size": 1, "entry": 100_000,
                           "leverage": 20, "mode": "isolated"}]}


def test_fixed_chunks_close_whole_chunks_until_the_breach_is_cured():
    """Deribit, 'Auto Liquidation' (deribit.com/docs/auto-liquidation): liquidation orders 'up
    till 200 future contracts of $10 each … per step', and 'as soon as maintenance margin is
    again lower than equity, liquidation will stop'. By hand (the just-enough example of
    tests/engine/test_venue_rules.py at a mark of 95,400): curing takes 0.2017820 BTC, a
    notional of 19,250 USDT, so ten chunks of 2,000 USDT are closed: 20,000 USDT, 0.2096436 BTC."""
    result = simulate(scenario_from_dict(_deribit_long()), price_path({"BTC-PERPETUAL": [100_000, 95_400]}))
    (close,) = result.events
    assert close.type == "partial_liquidation"
    assert close.size * 95_400 == pytest.approx(20_000, rel=1e-9)
    assert result.final.open_positions == ("perp",)
    # nine chunks would not have cured it: equity after = 400 − fee, maintenance after = (1 − s) × 477
    nine = 18_000 / 95_400
    assert 400 - 95.4 * nine <= (1 - nine) * 477


def test_fixed_chunks_bigger_than_the_position_is_a_full_close():
    raw = _deribit_long(chunk_notional=500_000)
    (close,) = simulate(scenario_from_dict(raw), price_path({"BTC-PERPETUAL": [100_000, 95_400]})).events
    assert close.type == "liquidation" and close.size == 1


@pytest.mark.parametrize("field,value", [("tier_steps", 0), ("tier_steps", 1.5), ("tier_steps", 11),
                                         ("chunk_notional", 0), ("chunk_notional", -5), ("chunk_notional", "big")])
def test_bad_style_parameters_are_refused_naming_the_field(field, value):
    raw = _deribit_long()
    raw["rules"][field] = value
    with pytest.raises(ScenarioError, match=f"rules.{field}"):
        scenario_from_dict(raw)


def test_defaults_write_as_before_and_a_chosen_parameter_round_trips():
    from margin.scenario import scenario_to_dict
    plain = scenario_to_dict(scenario_from_dict(_deribit_long(chunk_notional=2_000)))
    assert "tier_steps" not in plain["rules"] and "chunk_notional" not in plain["rules"]
    chosen = scenario_to_dict(scenario_from_dict(_okx_swaps(tier_steps=2)))
    assert chosen["rules"]["tier_steps"] == 2 and scenario_from_dict(chosen).rules.tier_steps == 2


# ----------------------------------------------------------------------------- properties


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_styles_walker_equals_plain_loop_and_cut_only_what_their_measure_says(data):
    """The event walker and the plain loop agree; a fixed-chunk partial close is a whole number
    of chunks (of an isolated position, or of the cross pool taken evenly in one step)."""
    raw = data.draw(scenario_dicts(liquidation=("tier_step_down", "fixed_chunks")))
    scenario = scenario_from_dict(raw)
    path = data.draw(paths_for(scenario))
    fast, slow = simulate(scenario, path), simulate_reference(scenario, path)
    assert fast.events == slow.events and fast.final == slow.final
    if scenario.rules.liquidation != "fixed_chunks":
        return
    chunk = scenario.rules.chunk_notional
    isolated = {p.id for p in scenario.positions if p.is_isolated}
    for e in fast.events:
        if e.type == "partial_liquidation" and e.position in isolated:
            mark = path.marks[e.row, list(path.markets).index(e.market)]
            chunks = e.size * mark / chunk
            assert abs(chunks - round(chunks)) < 1e-6 * max(1.0, chunks) and round(chunks) >= 1
            assert not math.isnan(e.realized_pnl)


# ----------------------------------------------------------------------------- dYdX: each position its share


def _dydx_pool(split: str) -> dict:
    """Two cross longs sharing a 10,000 USDC wallet: 2 BTC at 100,000 (3 % maintenance: 6,000)
    and 400 SOL at 100 (5 %: 2,000), on entry values so the maintenance stays put."""
    return {"balance": 10_000,
            "markets": {"BTC-USD": {"price": 100_000, "mmr": 0.03}, "SOL-USD": {"price": 100, "mmr": 0.05}},
            "rules": {"mm_basis": "entry", "settlement": "mark", "liquidation_fee_rate": 0.015,
                      "liquidation_trigger": "below_maintenance", "bankruptcy_split": split},
            "positions": [
                {"id": "btc", "market": "BTC-USD", "side": "long", "size": 2, "entry": 100_000, "leverage": 50,
                 "mode": "cross"},
                {"id": "sol", "market": "SOL-USD", "side": "long", "size": 400, "entry": 100, "leverage": 20,
                 "mode": "cross"}]}


def test_maintenance_share_settles_each_position_against_its_own_bankruptcy_price():
    """dYdX v4 (dydxprotocol/v4-chain, protocol/x/clob/keeper/liquidations.go,
    GetBankruptcyPriceInQuoteQuantums): closing a position at its bankruptcy price yields
    ``-DNNV - TNC × |DMMR| / TMMR``, so it may lose only the share of the account's net
    collateral that its maintenance is of the account's. By hand, SOL falls to 84.5: the pool's
    equity is 10,000 − 6,200 = 3,800 USDC, below its 8,000 maintenance. BTC's share is
    3,800 × 6/8 = 2,850, SOL's 950. The 1.5 % penalty would be 3,000 on BTC and 507 on SOL:
    BTC's is capped at its share (2,850), SOL keeps 950 − 507 = 443. Settled as one pool the
    penalty is 3,507 and the trader keeps 293."""
    path = price_path({"BTC-USD": [100_000, 100_000], "SOL-USD": [100, 84.5]})
    shared = simulate(scenario_from_dict(_dydx_pool("maintenance_share")), path)
    fees = {e.position: e.fee for e in shared.events if e.type == "liquidation"}
    assert fees == pytest.approx({"btc": 2_850.0, "sol": 507.0})
    assert shared.final.balance == pytest.approx(443.0)
    pooled = simulate(scenario_from_dict(_dydx_pool("pool")), path)
    assert sum(e.fee for e in pooled.events) == pytest.approx(3_507.0)
    assert pooled.final.balance == pytest.approx(293.0)


def test_maintenance_share_splits_a_loss_beyond_margin_by_maintenance():
    """Past bankruptcy each position's share is negative: its own loss beyond margin, in
    proportion to its maintenance (here SOL to 70: equity −2,000, so BTC −1,500 and SOL −500)."""
    path = price_path({"BTC-USD": [100_000, 100_000], "SOL-USD": [100, 70]})
    raw = _dydx_pool("maintenance_share")
    raw["rules"]["insurance_fund"] = 1_000_000
    result = simulate(scenario_from_dict(raw), path)
    losses = {e.position: e.amount for e in result.events if e.type == "bankruptcy"}
    assert losses == pytest.approx({"btc": 1_500.0, "sol": 500.0})
    assert result.final.insurance_fund == pytest.approx(1_000_000 - 2_000)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_maintenance_share_conserves_money_and_never_takes_more_than_the_pool(data):
    """Against the pool rule on the same account and path: the same closes at the same rows,
    money conserved, and never a larger fee (a share can only cap a fee further)."""
    raw = data.draw(scenario_dicts(modes=("cross",), liquidation=("full",)))
    shared_raw = {**raw, "rules": {**raw["rules"], "bankruptcy_split": "maintenance_share"}}
    scenario, shared = scenario_from_dict(raw), scenario_from_dict(shared_raw)
    path = data.draw(paths_for(scenario))
    a, b = simulate(scenario, path), simulate(shared, path)
    assert [(e.row, e.position, e.type) for e in a.events if e.type == "liquidation"] == \
        [(e.row, e.position, e.type) for e in b.events if e.type == "liquidation"]
    assert sum(e.fee for e in b.events) <= sum(e.fee for e in a.events) + 1e-6
    start = shared.balance + shared.rules.insurance_fund
    end = b.final.balance + b.final.insurance_fund - b.final.socialized_loss
    assert end == pytest.approx(start + sum(e.realized_pnl for e in b.events), rel=1e-9, abs=1e-6)
    assert simulate_reference(shared, path).events == b.events
