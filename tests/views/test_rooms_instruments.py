"""The instruments' pure parts: the position form's default against the class market's own rule
at every leverage it offers, and the choice chart's marks (never colour alone, text as text)."""

from __future__ import annotations

import pytest

from classroom.market import ClassMarket, check_position
from ui.rooms.charts import choice_figure
from ui.rooms.model import default_notional


@pytest.mark.parametrize("wallet", [10.0, 300.0, 1_000.0, 25_000.0, 1e6])
@pytest.mark.parametrize("max_leverage", [1.0, 3.0, 20.0, 50.0, 100.0])
def test_the_default_notional_is_valid_at_every_leverage_the_form_offers(wallet, max_leverage):
    market = ClassMarket(wallet=wallet, max_leverage=max_leverage)
    notional = default_notional(market)
    assert notional > 0
    for k in range(0, 21):
        leverage = 1.0 + (max_leverage - 1.0) * k / 20
        for side in ("long", "short"):
            for mode in ("cross", "isolated"):
                check_position({"side": side, "mode": mode, "leverage": leverage, "notional": notional}, market)


def test_the_choice_chart_names_the_right_option_and_tells_rounds_apart_without_colour():
    fig = choice_figure(["Cross", "<b>Isolated</b>", "%{y} Neither"], [(1, (1, 2, 1)), (2, (3, 1, 0))], 0)
    first, second = fig.data
    assert first.y == ("A. Cross ✓ right", "B. &lt;b&gt;Isolated&lt;/b&gt;", "C. %&#123;y} Neither")
    assert first.marker.pattern.shape != second.marker.pattern.shape and first.name == "Round 1"
    assert list(first.text) == ["1", "2", "1"] and first.marker.line.width[0] > first.marker.line.width[1]
    hidden = choice_figure(["Cross", "Isolated"], [(1, (1, 1))], None)
    assert "right" not in " ".join(hidden.data[0].y)  # before the reveal nothing says which
