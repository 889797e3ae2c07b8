"""What a lab step shows, computed once per step rather than once per position or per pool,
is each position's and each pool's own number: the columns' ROE, PnL %, closes and realized
PnL, and the equity-sharing pools' valuations, against their plain one-at-a-time forms, on the
twenty-position account after a crash that closes some (isolated and cross, partly and whole)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from margin.account import compile_account, pnl_fraction, return_on_margin, value_account
from margin.scenario import scenario_from_dict
from tests.support import DATA
from ui.common.words import position_labels
from ui.lab.model import CLOSE_EVENTS, equity_pools, move_history, new_history
from ui.lab.words import lab_views


PATHS = [(-0.05, 0.02), (-0.05, -0.12, -0.19, -0.08)]  # some closed, the rest open; all closed as built


def _crashed_views(shocks):
    scenario = scenario_from_dict(json.loads((DATA / "twenty-positions.json").read_text()))
    history = new_history(scenario, "test")
    for shock in shocks:
        history = move_history(history, scenario.prices, shock)
    return lab_views(history)


@pytest.mark.parametrize("shocks", PATHS)
def test_each_column_is_its_positions_own_numbers(shocks):
    views = _crashed_views(shocks)
    assert any(e.type in CLOSE_EVENTS for v in views.values() for e in v.walk.events)
    for view in views.values():
        walk = view.walk
        for i, (p, shown) in enumerate(zip(walk.scenario.positions, view.positions)):
            size = walk.state.sizes[i]
            closes = [e for e in walk.events if e.position == p.id and e.type in CLOSE_EVENTS]
            assert shown.realized_pnl == float(sum(e.realized_pnl for e in closes))
            assert shown.closed_at == (closes[-1].price if closes else None)
            if size > 0:
                assert shown.roe == float(return_on_margin(shown.unrealized_pnl, size, p.entry, p.leverage))
                assert shown.pnl_percent == float(pnl_fraction(shown.unrealized_pnl, size, p.entry))
            else:
                assert shown.roe is None and shown.pnl_percent is None


@pytest.mark.parametrize("shocks", PATHS)
def test_each_pool_shown_is_valued_at_its_own_moment(shocks):
    moments = set()
    for view in _crashed_views(shocks).values():
        walk = view.walk
        scenario, account = walk.scenario, compile_account(walk.scenario)
        labels = position_labels(scenario)
        names = list(scenario.markets)
        isolated = {f"{labels[p.id]}, isolated": i for i, p in enumerate(scenario.positions) if p.is_isolated}
        cross = [i for i, p in enumerate(scenario.positions) if not p.is_isolated]
        for pool in equity_pools(walk, labels, account):
            members = cross if pool.name == "Cross pool" else [isolated[pool.name]]
            at = walk.state if pool.moment == "now" else max(
                (walk.before_close[i] for i in members if i in walk.before_close), key=lambda m: m.row)
            moments.add(pool.moment)
            prices = walk.prices if pool.moment == "now" else at.prices
            alone = value_account(account, np.array(prices)[None, :], size=np.array(at.sizes),
                                  margin=np.array(at.margins), cross_wallet=at.cross_wallet)
            assert pool.prices == {n: float(prices[j]) for j, n in enumerate(names)}
            if pool.name == "Cross pool":
                assert (pool.equity, pool.maintenance_margin) == (float(alone.cross_equity[0]),
                                                                  float(alone.cross_maintenance[0]))
            else:
                assert (pool.equity, pool.maintenance_margin) == (float(alone.position_equity[0, members[0]]),
                                                                  float(alone.maintenance_margin[0, members[0]]))
    assert "at the breach" in moments and (shocks != PATHS[0] or "now" in moments)
