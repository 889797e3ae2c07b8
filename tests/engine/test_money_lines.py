"""Every event says where its money went: the parts of each close (realized PnL, fee, what the
insurance fund kept, what it paid, what was socialized) add to the change of the account's
money that the close made."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.crossing import settle_row
from margin.funding import funding_schedule
from margin.paths import path_matrix
from margin.settle import Settler
from tests.strategies import funded_paths_for, paths_for, scenario_dicts, scenarios, with_funding_rates

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STYLES = ("full", "partial", "slice_then_full", "just_enough", "tier_step_down", "fixed_chunks")


def _money(state, settler):
    """The account's money [quote]: the cross wallet and the isolated margins still locked."""
    return state.cross_wallet + float(sum(state.margin[i] for i in settler.isolated if state.size[i] > 0))


def _walk_row_by_row(scenario, path, mode):
    """The reference loop, row by row, with the money before and after each row."""
    settler = Settler(scenario)
    state = settler.new_state()
    prices = path_matrix(scenario, path)
    funding = funding_schedule(scenario, path)
    due = {int(r): k for k, r in enumerate(funding.rows)}
    for row in range(prices.shape[0]):
        first, money = len(state.events), _money(state, settler)
        if row in due:
            k = due[row]
            settler.charge_funding(state, prices[row], funding.rates[k], int(funding.counts[k]), path.steps[row], row)
            settler.settle(state, prices[row], path.steps[row], row)
        else:
            settle_row(settler, state, prices, row, path.steps[row], mode, prices[0])
        yield state.events[first:], money, _money(state, settler)


@PROPERTY
@given(data=st.data(), mode=st.sampled_from([None, "settle"]), style=st.sampled_from(STYLES),
       discount=st.sampled_from([0.0, 0.01]), split=st.sampled_from(["pool", "maintenance_share"]))
def test_each_rows_events_add_to_the_change_of_the_accounts_money(data, mode, style, discount, split):
    raw = data.draw(scenario_dicts(liquidation=(style,)))
    raw["rules"].update(liquidation_fill_discount=discount, bankruptcy_split=split)
    if data.draw(st.booleans()):
        raw = with_funding_rates(raw, [0.001, -0.002])
    from margin.scenario import scenario_from_dict
    scenario = scenario_from_dict(raw)
    path = data.draw(funded_paths_for(scenario, max_steps=60))
    for events, before, after in _walk_row_by_row(scenario, path, mode):
        told = sum(e.money_change for e in events)
        assert told == pytest.approx(after - before, rel=1e-9, abs=1e-6 * (1 + abs(before))), events
        for e in events:
            if e.type in ("bankruptcy", "socialized_loss", "funding"):
                assert e.to_fund == e.from_fund == e.socialized == 0.0
            assert e.to_fund >= 0 and e.from_fund >= 0 and e.socialized >= 0
            if e.type == "bankruptcy":  # told again from the fund's side: the close carries it
                close = next(c for c in events if c.type == "liquidation" and c.position == e.position)
                assert close.from_fund + close.socialized == pytest.approx(e.amount, rel=1e-12, abs=1e-9)


@PROPERTY
@given(data=st.data())
def test_an_isolated_close_at_the_bankruptcy_price_costs_exactly_its_margin(data):
    """Settled at the bankruptcy price, an isolated position loses its whole margin; the event's
    parts say where every unit of it went (the issue's −2,177.56 + 253.11 + 209.33 = 2,640)."""
    scenario = data.draw(scenarios(modes=("isolated",), liquidation=("full",), settlement=("bankruptcy",)))
    path = data.draw(paths_for(scenario, max_steps=60))
    margins = {p.id: p.margin for p in scenario.positions}
    for events, _, _ in _walk_row_by_row(scenario, path, "settle"):
        for e in events:
            if e.type == "liquidation":
                assert -e.money_change == pytest.approx(margins[e.position], rel=1e-9)
                assert -e.realized_pnl + e.fee + e.to_fund - e.from_fund - e.socialized == pytest.approx(
                    margins[e.position], rel=1e-9)
