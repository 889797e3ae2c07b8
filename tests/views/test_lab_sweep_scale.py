"""The shock-range chart's value axis: cut about one account below zero, never to the -116k
the default account's equity would reach held unchanged at -90 %, with every ✕ ◆ mark on the
picture and the cut said in words (the chart's note, its label and its takeaway)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from margin.presets import load_story
from margin.scenario import load_scenario, scenario_from_dict
from tests.support import DATA
from ui.lab import charts as lab_charts
from ui.lab.marks import MARK_GAP
from ui.lab.model import move_history, new_history
from ui.lab.sweep import SweepView, sweep_views

PLOT_TOP = lab_charts.SWEEP_BOX["top"]
PLOT_BOTTOM = lab_charts.SWEEP_HEIGHT - lab_charts.SWEEP_BOX["bottom"]


def _sweeps(scenario, shock: float) -> dict[str, SweepView]:
    history = move_history(new_history(scenario, "test"), scenario.prices, shock)
    return sweep_views(history, scenario.prices)


def _ticks(html: str) -> list[float]:
    """The value axis's tick labels [USDT] ("−9.00k", "150k", "0")."""
    values = []
    for text in re.findall(r'class="ml-wf-tick" style="top:[^"]*">([^<]+)<', html):
        text = text.replace("−", "-")
        if text == "USDT":
            continue  # the unit above the labels
        scale = {"k": 1e3, "M": 1e6}.get(text[-1], 1.0)
        values.append(float(text.rstrip("kM")) * scale)
    return values


ACCOUNTS = [("default", lambda: scenario_from_dict(load_story("default"))),
            ("twenty positions", lambda: load_scenario(DATA / "twenty-positions.json"))]


@pytest.mark.parametrize("name, make", ACCOUNTS, ids=[a[0] for a in ACCOUNTS])
@pytest.mark.parametrize("shock", [0.0, -0.05])
def test_the_value_axis_stays_within_an_account_below_zero(name, make, shock):
    scenario = make()
    for label, sweep in _sweeps(scenario, shock).items():
        html = lab_charts.sweep_html(sweep, shock)
        ticks = _ticks(html)
        assert ticks and min(ticks) >= -1.5 * sweep.wallet, (label, ticks)  # was -200k on a 9,000 wallet
        tops = [float(t) for t in re.findall(r'class="ml-sweep-mark" style="[^"]*top:([-\d.]+)px', html)]
        assert len(tops) == len(sweep.marks)
        for top in tops:  # every ✕ ◆ on the plot area (its glyph is drawn 9 px above its point)
            assert PLOT_TOP - 9 <= top <= PLOT_BOTTOM - 9, (label, top)
        here = float(re.search(r'class="ml-sweep-here"[^>]*top:([-\d.]+)px', html).group(1))
        assert PLOT_TOP - 10 <= here <= PLOT_BOTTOM - 10
        # and none hides another where the plot has room for them all in one column (the default
        # account's ◆ at -9.70 % lay under its ✕ at -9.26 %; 24 marks within 6 % of the axis can't)
        if len(tops) * lab_charts.MARK_STACK_PX > (PLOT_BOTTOM - PLOT_TOP) / 2:
            continue
        lefts = [100 * float(f) for f in re.findall(r'class="ml-sweep-mark" style="left:calc\(.*? \* ([\d.]+)\);top:', html)]
        assert len(lefts) == len(tops)
        for i in range(len(tops)):
            for j in range(i):
                assert (abs(lefts[i] - lefts[j]) >= MARK_GAP
                        or abs(tops[i] - tops[j]) >= lab_charts.MARK_STACK_PX), (label, i, j, lefts, tops)


def test_the_default_account_says_where_its_curve_is_cut():
    sweep = _sweeps(scenario_from_dict(load_story("default")), 0.0)["As built"]
    assert sweep.equity.min() < -100_000  # held unchanged, the curve runs far below the floor
    html = lab_charts.sweep_html(sweep, 0.0)
    words = lab_charts.sweep_takeaway(sweep, 0.0)
    assert "The chart is cut at -9,000.00 USDT" in words and "-116,368.00 USDT at a -90.0 % shock" in words
    assert "The chart is cut at -9,000.00 USDT" in html  # in the picture's label
    assert re.search(r'role="img" aria-label="[^"]*The chart is cut at', html)
    assert "▼ the curve goes on below −9.00k USDT, cut here" in html
    assert "-9.26 %" in words  # the crossings are still said first


def test_an_account_that_never_goes_below_zero_is_not_cut():
    grid = np.linspace(-0.9, 0.9, 7)
    sweep = SweepView(label="As built", grid=grid, equity=np.linspace(100.0, 700.0, 7),
                      maintenance=np.full(7, 20.0), marks=(), open_positions=1, wallet=400.0)
    html = lab_charts.sweep_html(sweep, 0.0)
    assert "cut here" not in html and "cut at" not in html and "cut at" not in lab_charts.sweep_takeaway(sweep, 0.0)
    assert min(_ticks(html)) == 0
