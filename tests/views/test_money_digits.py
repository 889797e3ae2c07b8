"""Large amounts show no cents on the replay's Plotly hovers either (issue 23, "cents on 48
million"): the default account's positions on a 48,000,000 USDT wallet hover in whole USDT; on its
own 9,000 USDT wallet, in cents."""

from __future__ import annotations

import re

from margin.crashes import load_crash
from margin.presets import load_story
from margin.replay import replay
from margin.scenario import scenario_from_dict
from ui.replay import charts as charts_replay
from ui.replay.model import splits


def _rich(balance: float) -> dict:
    """The default account with a wallet of ``balance`` [USDT]."""
    raw = load_story("default")
    raw["balance"] = balance
    return raw


def _hovers(raw: dict) -> list[str]:
    model = replay(scenario_from_dict(raw), load_crash("2021-05-19"))
    figures = [charts_replay.equity_figure(model, 50), charts_replay.money_figure(splits(model))]
    return [t.hovertemplate for fig in figures for t in fig.data]


def test_millions_hover_in_whole_usdt_and_thousands_in_cents():
    whale = _hovers(_rich(48_000_000.0))
    assert whale and all(re.search(r"%\{[xy]:,\.0f\} USDT", h) for h in whale), whale  # the money chart runs across
    default = _hovers(load_story("default"))
    assert default and all(re.search(r"%\{[xy]:,\.2f\} USDT", h) for h in default), default
