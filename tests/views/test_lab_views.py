"""The lab's view models and pictures without a page: the builder's actions, the words, the
path, the strips, the gauge, the waterfall and the sweep (pure functions, no AppTest)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import numpy as np
import pytest

from margin.presets import load_story
from tests.paths import ROOT
from margin.scenario import load_scenario, scenario_from_dict
from margin.numbers import money, price
from ui.lab import charts as lab_charts, marks as lab_marks
from tests.support import DATA
from ui.builder.model import (
    add_market, add_position, duplicate_position, handle_upload, remove_market,
    remove_position, rows_to_positions,
)
from margin.walk import straight_rows
from ui.lab.words import account_warnings, lab_views, what_is_happening
from ui.lab.model import move_history, new_history, target_prices
from ui.lab.sweep import sweep_views

TWENTY = DATA / "twenty-positions.json"


def _history(s, *shocks, prices=None):
    history = new_history(s, "test")
    for shock in shocks:
        history = move_history(history, prices or s.prices, shock)
    return history


def _views(shock: float = -0.05):
    s = scenario_from_dict(load_story("default"))
    history = _history(s, shock)
    return s, lab_views(history), sweep_views(history, s.prices)


def _bars(html: str) -> list[tuple[str, str, float]]:
    """The waterfall's bars in drawing order: (label, measure, value [USDT])."""
    return [(label, measure, float(value)) for label, measure, value in
            re.findall(r'data-bar="([^"]+)" data-measure="(\w+)" data-value="([-\d.]+)"', html)]


def _top(html: str, label: str) -> float:
    """The CSS top [px] of a bar: smaller is higher on the drawing."""
    return float(re.search(rf'top:([\d.]+)px;[^"]*" data-bar="{re.escape(label)}"', html).group(1))


def test_upload_handling_directly():
    assert handle_upload(b"\xff\xfe").scenario is None
    too_big = handle_upload(b" " * 1_000_001)
    assert "limit is 1,000,000 bytes (1 MB)" in too_big.message and too_big.scenario is None
    bad = handle_upload(json.dumps({**load_story("default"), "positions": [{"id": "x"}]}).encode())
    assert bad.message.startswith("Position 1 (x), market: unknown market")
    good = handle_upload(json.dumps(load_story("default")).encode())
    assert good.scenario["name"] == "A winner keeps a loser alive"


def test_builder_actions_and_words():
    raw = load_story("default")
    assert [p["id"] for p in add_position(raw)["positions"]][-1] == "btc-long-1"
    assert [p["id"] for p in duplicate_position(raw, 1)["positions"]] == ["btc-long", "sol-long", "sol-long-1"]
    assert [p["id"] for p in remove_position(raw, 0)["positions"]] == ["sol-long"]
    with_eth = add_market(raw, "ETHUSDT")
    scenario_from_dict(with_eth)  # valid, with the venue's ETH tiers
    assert with_eth["markets"]["ETHUSDT"]["tiers"][0]["mmr"] == 0.004  # Binance ETHUSDT bracket 1 (2024-10-24)
    with pytest.raises(Exception, match="still traded by btc-long"):
        remove_market(raw, "BTCUSDT")
    rows = [{"id": None, "market": "SOLUSDT", "side": "short", "size": 1.0, "entry": 180.0,
             "leverage": 5.0, "mode": "isolated", "margin": float("nan")}]
    assert rows_to_positions(rows) == [{"id": "sol-short-1", "market": "SOLUSDT", "side": "short",
                                        "size": 1.0, "entry": 180.0, "leverage": 5.0, "mode": "isolated"}]


def test_account_warnings_in_words():
    assert account_warnings(scenario_from_dict(load_story("default"))) == []
    raw = load_story("default")
    raw["positions"][1]["mode"] = "isolated"
    raw["positions"][0]["leverage"] = 1  # 83,000 USDT of initial margin on a 9,000 USDT wallet
    text = " ".join(account_warnings(scenario_from_dict(raw)))
    assert ("SOL long (isolated) would have been liquidated on the way from its entry at 220.00 USDT to "
            "today's 180.00 USDT, at 210.9") in text and "the lab starts with it closed" in text
    assert "would not have covered the initial margin" in text


def test_collateral_pays_the_initial_margin_it_counts_for():
    """The collateral story's 1 BTC long is margined by 1 BTC of collateral and no USDT: no
    warning; the same account without its collateral would not have been opened."""
    raw = json.loads((ROOT / "assets" / "scenarios" / "collateral-crashes-with-you.json").read_text())
    assert account_warnings(scenario_from_dict(raw)) == []
    raw["collateral"] = []
    assert "would not have covered the initial margin" in " ".join(account_warnings(scenario_from_dict(raw)))


# ----------------------------------------------------------------------------- lab numbers


def test_target_prices_and_path():
    s = scenario_from_dict(load_story("default"))
    target = target_prices(s, {"BTCUSDT": 90_000.0}, -0.5)
    assert target == {"BTCUSDT": 45_000.0, "SOLUSDT": pytest.approx(180 * (1 - 1.6 * 0.5))}
    assert target_prices(s, {}, -0.9)["SOLUSDT"] == pytest.approx(1.8)  # never below 1 % of its price
    start = np.array([100_000.0, 180.0])
    rows = straight_rows(start, np.array([45_000.0, 36.0]))
    assert rows[-1].tolist() == [45_000, 36] and rows.shape == (1600, 2)  # SOL moves 80 %, 0.05 % per row
    assert np.max(np.abs(np.diff(np.vstack([start, rows]), axis=0)) / start) == pytest.approx(0.0005)


def test_path_semantics_liquidations_stay_happened():
    s = scenario_from_dict(load_story("default"))
    history = _history(s, -0.3)
    views = lab_views(history)
    built = views["As built"]
    assert [p.status for p in built.positions] == ["liquidated", "liquidated"]
    assert built.total_equity == 0.0  # the pool is gone
    # the closes happened where the pool breached on the way, not at the end price
    btc_close = built.positions[0].closed_at
    assert 90_000 < btc_close < 91_000
    # the waterfall shows the pool just before its breach: equity at its maintenance line
    pool = built.pools[0]
    assert pool.moment == "at the breach" and pool.equity <= pool.maintenance_margin * 1.05
    # back to no shock: still closed, and the page says when it closed
    back = lab_views(move_history(history, s.prices, 0.0))["As built"]
    assert [p.status for p in back.positions] == ["liquidated", "liquidated"]
    assert back.total_equity == 0.0 and back.positions[0].closed_at == btc_close
    assert "on the way to a shock of -30.0 %" in " ".join(back.events).lower()


def test_all_isolated_loses_only_the_bad_trade_and_the_fund_pays_nothing():
    """All isolated, the SOL long (under water today by more than its margin) dies on the way
    from its entry at its liquidation price: it loses its margin, and no insurance fund pays
    for a loss it never had (the old comparison made isolation look like free money)."""
    s = scenario_from_dict(load_story("default"))
    history = _history(s, -0.05)
    views = lab_views(history)
    iso = {p.label: p for p in views["All isolated"].positions}
    assert iso["SOL long"].status == "liquidated" and iso["BTC long"].status == "healthy"
    assert iso["SOL long"].closed_before_moves and 210 < iso["SOL long"].closed_at < 212
    assert views["All isolated"].insurance_paid == 0.0
    assert all(p.status == "healthy" for p in views["As built"].positions)
    words = " ".join(views["All isolated"].events)
    assert "SOL long (isolated) liquidated at 210.9" in words and "insurance fund paid" not in words
    assert "= -2,640.00 USDT" in words  # its whole margin, part by part
    happening = " ".join(what_is_happening(views, sweep_views(history, s.prices), -0.05, history))
    assert "SOL long is closed, but BTC long lives on" in happening
    # the verdict follows from the equity shown: isolated holds more, and says why
    built_equity, iso_equity = views["As built"].total_equity, views["All isolated"].total_equity
    assert iso_equity > built_equity
    assert f"Here isolation holds more: all isolated {money(iso_equity)}, as built {money(built_equity)}" in happening
    assert "lost at most that margin (2,640.00 USDT)" in happening


# ----------------------------------------------------------------------------- figure builders


def test_price_strips_mark_liquidation_and_bankruptcy_prices_on_the_sliders_scale():
    s, views, sweeps = _views()
    target = target_prices(s, s.prices, -0.05)
    sol = next(p for p in views["As built"].positions if p.label == "SOL long")
    html, words = lab_marks.price_strip("SOLUSDT", 36.0, 324.0, target["SOLUSDT"], views["As built"].positions)

    def where(value):
        return f"left:{(value - 36.0) / 288.0 * 100:.2f}%"
    assert where(sol.liquidation_price) in html and where(sol.bankruptcy_price) in html
    assert where(target["SOLUSDT"]) in html
    assert html.count("✕</span>") == 1 and html.count("◆</span>") == 1 and "BTC long" not in html
    assert f"SOL long liquidated at {sol.liquidation_price:,.2f}" in words
    # out of range: pinned to the end of the strip with an arrow
    assert "left:0.00%" in lab_marks.strip_html(10, 20, [lab_marks.StripMark(value=5, symbol="liquidation", label="x")], "c")
    shock_html, shock_words = lab_marks.shock_strip(sweeps["As built"], -0.05, -90.0, 90.0)
    assert "left:44.85%" in shock_html  # the cross pool's -9.2617 % on a -90..+90 scale
    assert "cross pool liquidated at -9.26 %" in shock_words and "bankrupt at -9.70 %" in shock_words
    # the pool's ◆ 0.44 % past its ✕ on a 180 % track: each on its own row, so both show
    rows = [re.search(rf"top:(\d+)px;[^>]*>{glyph}</span>", shock_html).group(1) for glyph in ("✕", "◆")]
    assert len(set(rows)) == 2, f"the cross pool's ✕ and ◆ drawn on one row: {rows}"
    assert "BTC long" in lab_marks.map_takeaway(views["As built"].positions)


def test_gauge_shows_the_ratio_of_the_riskiest_pool():
    _, views, _ = _views()
    built = views["As built"]
    html = lab_marks.gauge_html(built.risk_ratio, built.risk_pool)
    assert f'aria-valuenow="{built.risk_ratio * 100:.1f}"' in html
    assert "Margin ratio, cross pool" in html
    # the zones are named, not just coloured (and patterned)
    assert 'title="at risk: 80 to 100 %"' in html and 'title="liquidated: 100 to 150 %"' in html
    assert "no open positions" in lab_marks.gauge_html(None, None)
    assert 'aria-valuetext="beyond all"' in lab_marks.gauge_html(float("inf"), "cross pool")
    past = lab_marks.gauge_html(2.0, "cross pool")  # beyond the scale: the needle stops at its end
    assert 'aria-valuenow="150.0"' in past and "200.0 % ▸" in past
    assert "healthy" in lab_marks.gauge_takeaway(built.risk_ratio, built.risk_pool)


def test_waterfall_adds_and_drains_the_pool_against_its_maintenance_line():
    _, views, _ = _views()
    built = views["As built"]
    html = lab_charts.waterfall_html(built.pools, "As built")
    assert 'data-chart="Equity sharing, as built"' in html and "maintenance margin" in html
    bars = _bars(html)
    assert [b[0] for b in bars] == ["Cross wallet", "BTC long PnL", "SOL long PnL", "Cross equity"]
    assert [b[1] for b in bars] == ["absolute", "relative", "relative", "total"]
    assert bars[1][2] > 0 > bars[2][2]  # the BTC profit adds, the SOL loss drains
    assert bars[0][2] + bars[1][2] + bars[2][2] == pytest.approx(bars[3][2])  # the pool adds up
    # drawn so: the profit's bar reaches above the wallet's, the equity's top is below the profit's
    assert _top(html, "BTC long PnL") < _top(html, "Cross wallet")
    assert _top(html, "Cross equity") > _top(html, "BTC long PnL")
    assert re.search(r'class="ml-wf-bar ml-svg-adds"[^>]*data-bar="BTC long PnL"', html)
    assert re.search(r'class="ml-wf-bar ml-svg-drains"[^>]*data-bar="SOL long PnL"', html)
    assert f"maintenance margin {money(built.cross_maintenance)}" in html
    written = re.findall(r'class="ml-wf-value"[^>]*>([^<]*)<', html)
    assert written == ["9.00k", "+12.0k", "−13.1k", "7.94k"]  # each bar's value on it, PnL signed
    assert "share one wallet" in lab_charts.waterfall_takeaway(built.pools)
    iso_html = lab_charts.waterfall_html(views["All isolated"].pools, "All isolated")
    assert "just before its liquidation" in iso_html
    assert "No positions" in lab_charts.waterfall_html((), "As built")


def test_sweep_chart_marks_the_current_point_and_the_crossings():
    _, _, sweeps = _views()
    sweep = sweeps["As built"]
    html = lab_charts.sweep_html(sweep, -0.05)
    assert 'data-chart="Equity across every market shock, as built"' in html
    assert re.findall(r'data-here="([^"]+)"', html) == ["-5.00"]
    assert html.count('class="ml-sweep-band"') == 37  # the numbers under the pointer every 5 % of shock
    assert "Shock −50.0 %: equity" in html or "Shock -50.0 %: equity" in html
    liq = [m for m in sweep.marks if m.kind == "liquidation"]
    assert liq[0].shock * 100 == pytest.approx(-9.2617, abs=1e-4)
    titles = re.findall(r'class="ml-sweep-mark"[^>]*title="([^"]+)"', html)
    assert len(titles) == len(sweep.marks) and "Cross pool liquidated at a shock of -9.26 %" in titles
    # the two curves are one SVG image, simplified but exact at the grid's ends
    image = unquote(re.search(r'<img src="data:image/svg\+xml,([^"]+)"', html).group(1))
    assert image.count("<polyline") == 2 and "stroke-dasharray" in image
    assert "-9.26 %" in lab_charts.sweep_takeaway(sweep, -0.05)


def test_sweep_curve_simplification_keeps_every_bend():
    xs = np.linspace(0, 1000, 361)
    ys = np.where(xs < 400, 900 - xs, 500 - (xs - 400) * 0.2)  # two straight stretches
    kept = lab_charts._simplify(xs, ys)
    assert kept[0] == (0.0, 900.0) and kept[-1] == (1000.0, pytest.approx(380.0))
    assert len(kept) <= 4 and all(abs(np.interp(x, xs, ys) - y) < 1e-6 for x, y in kept)
    for x in xs:  # the kept polyline is the curve, within the drawing's tolerance
        assert abs(np.interp(x, *zip(*kept)) - np.interp(x, xs, ys)) < 0.06


def test_twenty_positions_figures_stay_bounded():
    s = load_scenario(TWENTY)
    views = lab_views(_history(s, -0.08))
    iso = views["All isolated"]
    assert len(iso.pools) <= 8  # only the riskiest isolated pools are drawn
    assert len(_bars(lab_charts.waterfall_html(iso.pools, "All isolated"))) == 3 * len(iso.pools)


def test_each_open_position_shows_roe_and_pnl_percent_beside_its_pnl():
    """Binance's ROE is the PnL over the initial margin (size × entry ÷ leverage); PnL % here
    is over the value at entry. The default account's SOL long: 240 SOL from 220 at 20x
    (initial margin 2,640); at a shock of −5 % SOL (beta 1.6) is at 180 × 0.92 = 165.6."""
    from ui.lab.html import position_detail
    s, views, _ = _views(-0.05)
    for view in views.values():
        for p in view.positions:
            if p.size <= 0:
                assert p.roe is None and "ROE" not in position_detail(p)
                continue
            source = next(q for q in view.scenario.positions if q.id == p.id)
            assert p.roe == pytest.approx(p.unrealized_pnl / (p.size * source.entry / source.leverage))
            assert p.pnl_percent == pytest.approx(p.unrealized_pnl / (p.size * source.entry))
    sol = next(p for p in views["As built"].positions if p.label == "SOL long")
    assert sol.price == pytest.approx(165.6)
    pnl = 240 * (165.6 - 220)
    assert sol.roe == pytest.approx(pnl / 2_640) and sol.pnl_percent == pytest.approx(165.6 / 220 - 1)
    assert (f"(ROE {pnl / 2_640 * 100:+.1f} % of its initial margin, {(165.6 / 220 - 1) * 100:+.1f} % of its "
            f"value at entry)") in position_detail(sol)


def test_a_first_slice_is_told_as_a_slice_that_leaves_the_rest_for_later():
    """Under the Hyperliquid preset's slice_then_full a partial close is the first 20 % slice,
    not a cure: the words say the rest goes at a later step if still below maintenance."""
    from margin.simulate import price_path, simulate
    from ui.lab.words import describe_events
    raw = {"balance": 20_000, "rules": {"liquidation": "slice_then_full", "partial_fraction": 0.2},
           "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.0125}},
           "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 2, "entry": 100_000,
                          "leverage": 20, "mode": "isolated"}]}
    s = scenario_from_dict(raw)
    events = simulate(s, price_path({"BTCUSDT": [100_000.0, 95_500.0, 95_500.0]})).events
    words = describe_events(list(events), s, {"btc": "BTC long"})
    assert words[0].startswith("BTC long: 0.4 BTC closed at 95,500.00 USDT (a first slice of 20 %")
    assert "the rest is closed at a later step if it is still below maintenance" in words[0]
    assert words[1].startswith("BTC long (isolated) liquidated at 95,500.00 USDT")


@pytest.mark.parametrize("style,expected", [
    ("tier_step_down", "BTC long: 13,000 BTC closed at 96.00 USDT (stepped down 2 risk tiers, "),
    ("fixed_chunks", "BTC long: 4,167 BTC closed at 96.00 USDT (2 orders of 200,000.00 USDT, "),
])
def test_a_venue_style_cut_is_told_by_its_own_measure(style, expected):
    """A tier step-down says how many risk tiers it dropped; fixed chunks say how many orders."""
    from margin.simulate import price_path, simulate
    from ui.lab.words import describe_events
    tiers = [{"floor": 0, "mmr": 0.01}, {"floor": 200_000.0001, "mmr": 0.015}, {"floor": 1_200_000.0001, "mmr": 0.02}]
    raw = {"balance": 75_000, "markets": {"BTCUSDT": {"price": 100.0, "tiers": tiers}},
           "rules": {"mm_basis": "entry", "liquidation": style, "tier_steps": 2, "chunk_notional": 200_000},
           "positions": [{"id": "btc", "market": "BTCUSDT", "side": "long", "size": 15_000, "entry": 100.0,
                          "leverage": 20, "mode": "isolated"}]}
    s = scenario_from_dict(raw)
    events = simulate(s, price_path({"BTCUSDT": [100.0, 96.0]})).events
    words = describe_events(list(events), s, {"btc": "BTC long"})
    assert words[0].startswith(expected), words[0]


def test_every_stated_shock_is_the_exact_crossing_with_only_known_digits():
    """The strip, the chart's marks and the takeaway state each pool's shock as
    ``margin.sweep.shock_crossings`` solves it (the default account: -9.26 % and -9.70 %), never
    a point of the 0.25 % grid; and each is on the right side of the state it names."""
    from margin.sweep import shock_crossings, sweep_shock
    s, _, sweeps = _views(0.0)
    sweep = sweeps["As built"]
    exact = {(c.position, c.kind): c.shock for c in shock_crossings(s, low=-0.9, high=0.9)}
    stated = {("cross pool" if p is None else p, k): v for (p, k), v in exact.items()}
    assert {(m.pool, m.kind) for m in sweep.marks} >= {("cross pool", "liquidation")}
    for m in sweep.marks:
        if m.pool == "cross pool":
            assert m.shock == stated[("cross pool", m.kind)]
    _, words = lab_marks.shock_strip(sweep, 0.0, -90.0, 90.0)
    assert "cross pool liquidated at -9.26 %" in words and "cross pool bankrupt at -9.70 %" in words
    status = sweep_shock(s, np.array([-0.0925, -0.0927])).valuation.status[:, 0]
    assert status.tolist()[0] < status.tolist()[1]  # healthy at -9.25 %, liquidated at -9.27 %
    html = lab_charts.sweep_html(sweep, 0.0)
    assert "Cross pool liquidated at a shock of -9.26 %" in html and "-9.5 %" not in html


def test_an_account_with_nothing_open_never_reads_as_not_liquidated():
    s = scenario_from_dict(load_story("default"))
    history = _history(s, -0.5)  # every position closed on the way down
    sweeps = sweep_views(history, s.prices)
    _, words = lab_marks.shock_strip(sweeps["As built"], -0.5, -90.0, 90.0)
    assert "No shock" not in words and "closed on the way" in words
    assert "Nothing is open" in lab_charts.sweep_takeaway(sweeps["As built"], -0.5)


def test_every_close_says_where_its_money_went_and_the_parts_add_up():
    """Each close's sentence names its fee, the margin the fund kept, what the fund paid and
    what was socialized, and the sum it states is the event's money_change, for every close of
    the default account walked down to -30 % (an isolated SOL long, a cross pool past bankruptcy)."""
    from margin.simulate import price_path, simulate
    from ui.lab.words import describe_events
    for variant, steps, fund in (("isolated", 61, None), ("cross", 61, None), ("cross", 2, 100.0)):
        raw = load_story("default")
        for p in raw["positions"]:
            p["mode"] = variant
        if fund is not None:  # a gap past bankruptcy with a fund too small: it pays, the rest is socialized
            raw.setdefault("rules", {})["insurance_fund"] = fund
        sc = scenario_from_dict(raw)
        marks = {m: [sc.prices[m] * f for f in np.linspace(1.0, 0.7, steps)] for m in sc.markets}
        events = [e for e in simulate(sc, price_path(marks)).events]
        closes = [e for e in events if e.type in ("liquidation", "partial_liquidation")]
        assert closes
        words = " ".join(describe_events(events, sc, {p.id: p.id for p in sc.positions}))
        for e in closes:
            if e.fee or e.to_fund or e.from_fund or e.socialized:
                assert f"= {money(e.money_change)}" in words, (variant, e)
            if round(e.to_fund, 2):
                assert f"{money(e.to_fund)} of margin left above" in words
            if round(e.from_fund, 2):
                assert f"the insurance fund paid {money(e.from_fund)}" in words
            if round(e.socialized, 2):
                assert f"{money(e.socialized)} more was socialized" in words
        if fund is not None:
            assert any(e.from_fund for e in closes) and any(e.socialized for e in closes)
        sums = re.findall(r"changed by (-?[\d,.]+(?: [-+] [\d,.]+)+) = (-?[\d,.]+) USDT", words)
        assert len(sums) == sum(1 for e in closes if e.fee or e.to_fund or e.from_fund or e.socialized)
        for terms, total in sums:  # the printed sum adds up, to the cent
            head, *rest = terms.replace(",", "").split(" ")
            value = float(head) + sum(float(n) * (1 if sign == "+" else -1) for sign, n in zip(rest[::2], rest[1::2]))
            assert value == pytest.approx(float(total.replace(",", "")), abs=0.011)


def test_a_position_no_price_within_reach_liquidates_is_told_as_the_fact():
    """A hedge whose pool only a rise of more than REACH_FACTOR x could break: the words say no
    price below the engine's reach liquidates it (LiquidationPrice.reach), and guess nothing past it."""
    from margin.account import REACH_FACTOR
    from ui.lab.html import position_detail
    raw = {"balance": 500_000, "markets": {"BTCUSDT": {"price": 100_000, "mmr": 0.005}},
           "positions": [{"id": "l", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100_000, "leverage": 10},
                         {"id": "s", "market": "BTCUSDT", "side": "short", "size": 1.5, "entry": 100_000, "leverage": 10}]}
    s = scenario_from_dict(raw)
    views = lab_views(_history(s))
    long = next(p for p in views["As built"].positions if p.id == "l")
    assert long.distance is None and long.beyond_reach and long.reach == REACH_FACTOR * 100_000
    text = position_detail(long)
    assert f"no BTC price below {price(REACH_FACTOR * 100_000)} USDT liquidates it" in text and "times" not in text
    _, words = lab_marks.price_strip("BTCUSDT", 20_000, 180_000, 100_000, views["As built"].positions)
    assert f"below {price(REACH_FACTOR * 100_000)} USDT" in words


def test_a_step_is_announced_with_what_it_closed_and_where():
    """The live region's words: a step past the cross pool's crossing says it was liquidated at
    -9.26 % with each close; a quiet step says nothing was liquidated; no move, nothing to say."""
    from ui.lab.words import step_announcement
    s = scenario_from_dict(load_story("default"))
    quiet = _history(s, -0.05)
    views = lab_views(quiet)
    assert step_announcement(None, quiet, views["As built"], s.prices) == ""
    assert step_announcement(quiet, quiet, views["As built"], s.prices) == ""
    said = step_announcement(_history(s), quiet, views["As built"], s.prices)
    assert said.startswith("Shock -5.0 %: nothing was liquidated on this step; margin ratio of the cross pool")
    past = move_history(quiet, s.prices, -0.10)
    said = step_announcement(quiet, past, lab_views(past)["As built"], s.prices)
    assert said.startswith("Shock -10.0 %: cross pool liquidated at a shock of -9.26 %: BTC long closed at 90,738.34 USDT")  # 100,000 x (1 - 0.092617)
    assert "SOL long closed with it at" in said
