"""One shock rule: the lab's sliders, the sweep and the replay give the same prices for the same shock."""

from __future__ import annotations

import numpy as np
import pytest

from margin.crashes import crash_path, custom_crash
from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.sweep import SHOCK_FLOOR, shock_prices
from ui.lab.model import target_prices


@pytest.mark.parametrize("shock", [-0.9, -0.5, -0.12, 0.0, 0.3])
def test_the_lab_the_sweep_and_the_replay_move_markets_alike(shock):
    raw = load_story("one-bad-trade")  # BTC beta 1, ETH 1.3, SOL 1.6
    scenario = scenario_from_dict(raw)
    lab = target_prices(scenario, scenario.prices, shock)
    sweep = dict(zip(scenario.markets, shock_prices(scenario, np.array([shock]))[0]))
    # a replay where BTC alone moves by the shock: the other markets follow it by their beta
    crash = custom_crash(drop=max(-shock, 0.05), duration=2, rebound=0.0, noise=0.0, wick=0.0, seed=0,
                         betas={"BTCUSDT": 1.0})
    btc_move = crash.mark["BTCUSDT"][-1] - 1.0
    replay_path = crash_path(crash, scenario)
    replay = dict(zip(replay_path.markets, replay_path.marks[-1]))
    lab_then = target_prices(scenario, scenario.prices, btc_move)
    for name in scenario.markets:
        assert lab[name] == pytest.approx(sweep[name], rel=1e-12)
        assert replay[name] == pytest.approx(lab_then[name], rel=1e-12)
        assert lab[name] >= SHOCK_FLOOR * scenario.markets[name].price * (1 - 1e-12)
