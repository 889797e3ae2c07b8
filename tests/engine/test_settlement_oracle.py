"""Settlement checked against money followed by hand.

The "walker equals the plain loop" tests compare two walks that share :mod:`margin.settle`, so
a settlement bug passes both. Here the oracle is arithmetic written in this file and nothing
else: small accounts of one-tier markets (maintenance = mmr x size x mark), full closes at
the mark, a fee of ``fee_rate x notional`` capped by what is left, "bankruptcy" (the fund
keeps what is left) or "mark" (the trader keeps what is left after the fee) settlement, a
loss beyond margin paid by the insurance fund while it lasts and socialized beyond it.
Within a row the isolated positions are judged first, in order (a return goes to the cross
wallet), then the cross pool (docs/engine.md, "Settlement, fee, insurance fund").

A second test pins the partial liquidation's rule that a cross pool is cut by the SAME
fraction in every position (docs/engine.md, "Partial liquidation").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from margin.paths import price_path
from margin.scenario import scenario_from_dict
from margin.simulate import simulate, simulate_reference

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MARKETS = ("AAAUSDT", "BBBUSDT")


class TooClose(Exception):
    """A pool's equity within rounding of its maintenance: the oracle will not call it."""


def _raw(positions, *, balance, fee_rate, settlement, fund, mmr=(0.01, 0.02), prices=(100.0, 50.0),
         liquidation="full", fraction=0.2):
    return {
        "format": "margin-scenario/1", "name": "oracle", "balance": balance,
        "rules": {"mm_basis": "mark", "liquidation": liquidation, "partial_fraction": fraction,
                  "settlement": settlement, "liquidation_fee_rate": fee_rate, "insurance_fund": fund},
        "markets": {name: {"price": price, "tiers": [{"floor": 0, "mmr": rate, "max_leverage": 100}]}
                    for name, price, rate in zip(MARKETS, prices, mmr)},
        "positions": positions,
    }


def oracle(positions, rows, *, balance, fee_rate, settlement, fund, mmr, seen=None):
    """The account after ``rows`` (each a mark per market), by hand. ``positions``: dicts of
    the scenario file (market, side, size, entry, mode, margin); ``seen`` (a list) gets one
    word per close: what kind of close it was."""
    seen = [] if seen is None else seen
    rate = dict(zip(MARKETS, mmr))
    size = [p["size"] for p in positions]
    margin = [p.get("margin", 0.0) if p["mode"] == "isolated" else 0.0 for p in positions]
    wallet = balance - sum(margin)
    socialized, bankrupt = 0.0, False

    def close(equity, value):
        """(to the trader, to the fund, the deficit) of a full close [USDT]."""
        left = max(equity, 0.0)
        fee = min(fee_rate * value, left)
        seen.append("beyond margin" if equity < 0 else "fee capped" if fee < fee_rate * value else "money left")
        return (0.0, left, max(-equity, 0.0)) if settlement == "bankruptcy" else (left - fee, fee, max(-equity, 0.0))

    for row in rows:
        mark = dict(zip(MARKETS, row))
        pnl = [(1 if p["side"] == "long" else -1) * size[i] * (mark[p["market"]] - p["entry"])
               for i, p in enumerate(positions)]
        notional = [size[i] * mark[p["market"]] for i, p in enumerate(positions)]
        maintenance = [rate[p["market"]] * notional[i] for i, p in enumerate(positions)]
        for i, p in enumerate(positions):  # the isolated positions first, in order
            if p["mode"] != "isolated" or size[i] <= 0:
                continue
            equity, mm = margin[i] + pnl[i], maintenance[i]
            if abs(equity - mm) < 1e-7 * (1 + abs(mm)):
                raise TooClose
            if equity <= mm:
                returned, kept, deficit = close(equity, notional[i])
                wallet += returned
                fund += kept
                paid = min(deficit, fund)
                fund -= paid
                socialized += deficit - paid
                bankrupt |= deficit > 0
                size[i], margin[i] = 0.0, 0.0
        cross = [i for i, p in enumerate(positions) if p["mode"] == "cross" and size[i] > 0]
        if cross:  # then the cross pool, as one
            equity = wallet + sum(pnl[i] for i in cross)
            mm = sum(maintenance[i] for i in cross)
            if abs(equity - mm) < 1e-7 * (1 + abs(mm)):
                raise TooClose
            if equity <= mm:
                wallet, kept, deficit = close(equity, sum(notional[i] for i in cross))
                fund += kept
                paid = min(deficit, fund)
                fund -= paid
                socialized += deficit - paid
                bankrupt |= deficit > 0
                for i in cross:
                    size[i] = 0.0
    open_ids = tuple(p["id"] for i, p in enumerate(positions) if size[i] > 0)
    return {"balance": wallet + sum(m for i, m in enumerate(margin) if size[i] > 0), "insurance_fund": fund,
            "socialized_loss": socialized, "open_positions": open_ids, "bankrupt": bankrupt}


def _walked(raw, rows):
    scenario = scenario_from_dict(raw)
    path = price_path({m: [row[k] for row in rows] for k, m in enumerate(MARKETS)})
    return [simulate(scenario, path).final, simulate_reference(scenario, path).final]


def _assert_same(final, expected):
    got = {"balance": final.balance, "insurance_fund": final.insurance_fund,
           "socialized_loss": final.socialized_loss, "open_positions": final.open_positions,
           "bankrupt": final.bankrupt}
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-7), (key, got, expected)
        else:
            assert got[key] == value, (key, got, expected)


# ----------------------------------------------------------------------------- worked by hand

def test_a_cross_pool_closed_at_the_bankruptcy_settlement_by_hand():
    """Wallet 1,000; a long of 10 at 100 and a short of 20 at 50, cross; fee 1 %. At marks
    (60, 55): PnL −400 and −100, equity 500, maintenance 0.01·600 + 0.02·1,100 = 28: healthy.
    At (20, 60): PnL −800 and −200, equity 0 ≤ 0.01·200 + 0.02·1,200 = 26: closed. Nothing is
    left, so the fee is 0 and the fund keeps 0; the account ends with 0, no deficit."""
    positions = [{"id": "a", "market": "AAAUSDT", "side": "long", "size": 10, "entry": 100, "leverage": 10, "mode": "cross"},
                 {"id": "b", "market": "BBBUSDT", "side": "short", "size": 20, "entry": 50, "leverage": 10, "mode": "cross"}]
    raw = _raw(positions, balance=1000.0, fee_rate=0.01, settlement="bankruptcy", fund=500.0)
    for final in _walked(raw, [(100.0, 50.0), (60.0, 55.0), (20.0, 60.0)]):
        _assert_same(final, {"balance": 0.0, "insurance_fund": 500.0, "socialized_loss": 0.0,
                             "open_positions": (), "bankrupt": False})


def test_an_isolated_loss_beyond_margin_then_the_cross_pool_at_the_mark_settlement_by_hand():
    """Balance 1,000, an isolated long of 10 at 100 on a 200 margin, a cross short of 10 at 50;
    fee 1 %, fund 30, mark settlement. At (70, 62): the isolated long's equity is 200 − 300 =
    −100 ≤ 7: closed, nothing back, a deficit of 100 of which the fund pays 30, 70 socialized.
    The cross wallet is 800; the short's PnL −120, equity 680 > 0.02·620 = 12.4: open.
    The account ends with 800 in the wallet and the short open."""
    positions = [{"id": "iso", "market": "AAAUSDT", "side": "long", "size": 10, "entry": 100, "leverage": 5,
                  "mode": "isolated", "margin": 200},
                 {"id": "x", "market": "BBBUSDT", "side": "short", "size": 10, "entry": 50, "leverage": 10, "mode": "cross"}]
    raw = _raw(positions, balance=1000.0, fee_rate=0.01, settlement="mark", fund=30.0)
    for final in _walked(raw, [(100.0, 50.0), (70.0, 62.0)]):
        _assert_same(final, {"balance": 800.0, "insurance_fund": 0.0, "socialized_loss": 70.0,
                             "open_positions": ("x",), "bankrupt": True})


@pytest.mark.parametrize(("settlement", "kept", "fund"), [("mark", 0.475, 4.525), ("bankruptcy", 0.0, 5.0)])
def test_a_cross_pool_closed_with_money_left_settles_it_by_the_rule(settlement, kept, fund):
    """Wallet 100, a cross long of 10 at 100 (mmr 1 %), fee 0.5 %. At 91: equity 100 − 90 =
    10 > 9.1; at 90.5: equity 5 ≤ 9.05: closed. Fee 0.005·905 = 4.525. At the mark the trader
    keeps 5 − 4.525 = 0.475 and the fund gains the fee; at the bankruptcy price the fund keeps
    all 5."""
    positions = [{"id": "a", "market": "AAAUSDT", "side": "long", "size": 10, "entry": 100, "leverage": 10, "mode": "cross"}]
    raw = _raw(positions, balance=100.0, fee_rate=0.005, settlement=settlement, fund=0.0)
    for final in _walked(raw, [(100.0, 50.0), (91.0, 50.0), (90.5, 50.0)]):
        _assert_same(final, {"balance": kept, "insurance_fund": fund, "socialized_loss": 0.0,
                             "open_positions": (), "bankrupt": False})


def test_an_isolated_close_at_the_mark_settlement_returns_what_is_left_to_the_cross_wallet():
    """Balance 1,000: an isolated short of 10 at 50 on 60 margin, fee 2 %, mark settlement.
    At 55.5: equity 60 − 55 = 5 ≤ 0.02·555 = 11.1: closed; the fee 0.02·555 = 11.1 is capped
    at the 5 left, so nothing comes back, the fund gains 5 and the balance is 940. A fee
    uncapped would take 11.1 and leave the wallet owing."""
    positions = [{"id": "s", "market": "BBBUSDT", "side": "short", "size": 10, "entry": 50, "leverage": 10,
                  "mode": "isolated", "margin": 60}]
    raw = _raw(positions, balance=1000.0, fee_rate=0.02, settlement="mark", fund=0.0)
    for final in _walked(raw, [(100.0, 50.0), (100.0, 55.5)]):
        _assert_same(final, {"balance": 940.0, "insurance_fund": 5.0, "socialized_loss": 0.0,
                             "open_positions": (), "bankrupt": False})


# ----------------------------------------------------------------------------- random small accounts

@st.composite
def small_accounts(draw):
    n = draw(st.integers(2, 3))
    positions = []
    for k in range(n):
        market = draw(st.sampled_from(MARKETS))
        entry = {"AAAUSDT": 100.0, "BBBUSDT": 50.0}[market] * draw(st.sampled_from([0.97, 1.0, 1.03]))
        size = float(draw(st.integers(1, 40)))
        mode = draw(st.sampled_from(["cross", "isolated"]))
        position = {"id": f"p{k}", "market": market, "side": draw(st.sampled_from(["long", "short"])),
                    "size": size, "entry": entry, "leverage": 10, "mode": mode}
        if mode == "isolated":
            position["margin"] = round(size * entry * draw(st.sampled_from([0.05, 0.1, 0.2, 0.5])), 2)
        positions.append(position)
    balance = sum(p.get("margin", 0.0) for p in positions) + draw(st.sampled_from([50.0, 300.0, 2_000.0]))
    rules = {"balance": balance, "fee_rate": draw(st.sampled_from([0.0, 0.001, 0.005, 0.02])),
             "settlement": draw(st.sampled_from(["bankruptcy", "mark"])),
             "fund": draw(st.sampled_from([0.0, 25.0, 1e6]))}
    # a walk of small steps, so most closes come just past maintenance (something left to
    # settle), with a jump now and then (a loss beyond margin)
    step = st.floats(0.99, 1.01) | st.sampled_from([0.8, 0.95, 1.05, 1.25])
    rows = [(100.0, 50.0)]
    for a, b in draw(st.lists(st.tuples(step, step), min_size=1, max_size=12)):
        rows.append((round(rows[-1][0] * a, 3), round(rows[-1][1] * b, 3)))
    return positions, rules, rows


@PROPERTY
@given(account=small_accounts())
def test_small_accounts_end_where_the_money_followed_by_hand_ends(account):
    positions, rules, rows = account
    seen: list[str] = []
    try:
        expected = oracle(positions, rows, mmr=(0.01, 0.02), seen=seen, **rules)
    except TooClose:
        assume(False)
        return
    for kind in set(seen) or {"no close"}:
        event(f"{rules['settlement']}: {kind}")
    raw = _raw(positions, **rules)
    for final in _walked(raw, rows):
        _assert_same(final, expected)


# ----------------------------------------------------------------------------- the cross partial's one fraction

@pytest.mark.parametrize("style", ["partial", "just_enough", "fixed_chunks"])
@pytest.mark.parametrize("winner_first", [True, False])
def test_a_cross_partial_liquidation_cuts_every_cross_position_by_the_same_fraction(style, winner_first):
    """A winning short and a losing long in one cross pool: a partial style that cut only the
    losing leg (or the winning one) would leave the two at different fractions of their size.
    Each step, every cross position keeps the same fraction of what it held before."""
    loser = {"id": "loser", "market": "AAAUSDT", "side": "long", "size": 40, "entry": 100, "leverage": 10, "mode": "cross"}
    winner = {"id": "winner", "market": "BBBUSDT", "side": "short", "size": 40, "entry": 50, "leverage": 10,
              "mode": "cross"}
    raw = _raw([winner, loser] if winner_first else [loser, winner], balance=600.0, fee_rate=0.001,
               settlement="bankruptcy", fund=1e6, mmr=(0.05, 0.05), liquidation=style, fraction=0.2)
    raw["rules"]["chunk_notional"] = 100.0
    scenario = scenario_from_dict(raw)
    rows = [(100.0, 50.0), (90.0, 48.0), (88.0, 47.5)]
    path = price_path({m: [row[k] for row in rows] for k, m in enumerate(MARKETS)})
    result = simulate(scenario, path)
    cuts = [e for e in result.events if e.type in ("partial_liquidation", "liquidation")]
    assert any(e.type == "partial_liquidation" for e in cuts), cuts  # the case is a partial one
    held = {p.id: p.size for p in scenario.positions}
    for row in sorted({e.row for e in cuts}):
        closed = {pid: sum(e.size for e in cuts if e.row == row and e.position == pid) for pid in held}
        fractions = {pid: closed[pid] / held[pid] for pid in held if held[pid] > 0}
        assert max(fractions.values()) - min(fractions.values()) < 1e-9, (row, fractions)
        held = {pid: held[pid] - closed[pid] for pid in held}
    final = dict(zip((p.id for p in scenario.positions), result.final.sizes))
    assert math.isclose(final["loser"] / 40, final["winner"] / 40, rel_tol=1e-9, abs_tol=1e-12)
    assert np.isfinite(result.final.balance)
