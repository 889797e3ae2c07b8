"""Exports (event log CSV) and presenter-size figures."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from margin.presets import load_story
from margin.scenario import scenario_from_dict
from margin.simulate import price_path, simulate
from ui.common.export import COLUMNS, events_csv
from ui.shell.presenter import enlarge


def test_event_log_csv_holds_every_event_with_its_numbers():
    s = scenario_from_dict(load_story("one-bad-trade"))
    result = simulate(s, price_path({"BTCUSDT": np.linspace(100_000, 90_000, 50),
                                      "ETHUSDT": np.linspace(3_500, 3_045, 50),
                                      "SOLUSDT": np.linspace(180, 151.2, 50)}))
    assert len(result.events) == 3
    table = pd.read_csv(io.BytesIO(events_csv(result.events, extra={"variant": "As built"})))
    assert list(table.columns) == ["variant", *COLUMNS]
    assert len(table) == len(result.events) and set(table["variant"]) == {"As built"}
    assert list(table["position"]) == [e.position for e in result.events]
    assert np.allclose(table["realized_pnl"], [e.realized_pnl for e in result.events])
    assert np.isclose(table["fee"].sum(), sum(e.fee for e in result.events))


def test_an_empty_event_log_still_has_its_header():
    assert events_csv([]).decode().strip() == ",".join(COLUMNS)


def test_enlarge_scales_the_fonts_of_a_real_chart_and_leaves_the_original_alone():
    from margin.cascade import CrowdParams, build_crowd
    from ui.cascade import charts as charts_cascade
    from ui.cascade.model import cascade_view

    s = scenario_from_dict(load_story("default"))
    crowd = build_crowd(s.markets["BTCUSDT"], CrowdParams(n_traders=2_000, seed=7))
    view = cascade_view(s, "BTCUSDT", crowd, -0.05, 5e6, "linear")
    fig = charts_cascade.tipping_figure(view.curve, view.result.shock, view.result.final_drop)
    fig.update_layout(title_font_size=16)  # a title with a size of its own, as the pages set
    fig.add_annotation(x=0, y=0, text="note", font=dict(size=10))
    annotated = [a.font.size for a in fig.layout.annotations if a.font.size]
    assert annotated  # the check below is not over an empty list
    big = enlarge(fig)
    assert big.layout.font.size == (fig.layout.font.size or 12) * 1.5
    assert big.layout.title.font.size == 24
    assert fig.layout.title.font.size == 16  # a copy: the cached figure is untouched
    assert [a.font.size for a in big.layout.annotations if a.font.size] == [size * 1.5 for size in annotated]
