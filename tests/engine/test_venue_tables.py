"""The venue presets' tier tables (issue 16): every table names its source, every confirmed one
its date, every one keeps maintenance continuous by the venues' maintenance-amount recurrence,
and each confirmed table still prints the numbers its source printed (source named per test)."""

from __future__ import annotations

import re

import pytest

from margin.presets import load_venue, venue_ids
from margin.tiers import maintenance_margin, parse_tiers, tables


def _preset_tables():
    for venue in venue_ids():
        preset = load_venue(venue)
        for market, table in preset["markets"].items():
            yield venue, market, table
        yield venue, "default_tiers", {"source": "representative: the default", "tiers": preset["default_tiers"]}


def _tiers(venue: str, market: str):
    return parse_tiers(load_venue(venue)["markets"][market]["tiers"], f"{venue}.{market}")


def test_the_okx_preset_is_shipped():
    assert "okx" in venue_ids()


def test_every_preset_table_names_its_source_and_a_confirmed_one_its_date():
    for venue, market, table in _preset_tables():
        source = table.get("source", "")
        assert source, f"{venue} {market}: no source"
        if not source.startswith("representative"):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.get("as_of", "")), f"{venue} {market}: no date"


def test_every_preset_table_keeps_maintenance_continuous_by_the_recurrence():
    """Binance's 'cum', Bybit's 'mmDeduction' and Hyperliquid's maintenance deduction all keep
    maintenance margin continuous at each floor: cum_k = cum_(k-1) + floor_k × (mmr_k −
    mmr_(k-1)). For every table of every preset (OKX included, default tiers too): rates never
    fall, the maximum leverage never rises, a tier's initial margin (1 / max leverage) covers
    its maintenance, and the margin just below a floor equals the margin at it."""
    checked = set()
    for venue, market, table in _preset_tables():
        tiers = parse_tiers(table["tiers"], f"{venue}.{market}.tiers")
        floors, rates, cums = tables(tiers)
        for previous, tier in zip(tiers, tiers[1:]):
            assert tier.cum == pytest.approx(previous.cum + tier.floor * (tier.mmr - previous.mmr)), (venue, market)
            assert tier.mmr >= previous.mmr and tier.max_leverage <= previous.max_leverage, (venue, market)
            below = maintenance_margin(tier.floor * (1 - 1e-12), floors, rates, cums)
            assert float(below) == pytest.approx(float(maintenance_margin(tier.floor, floors, rates, cums)),
                                                 rel=1e-9), (venue, market, tier.floor)
        assert all(t.mmr < 1 / t.max_leverage for t in tiers), (venue, market)
        checked.add(venue)
    assert checked == set(venue_ids()) and "okx" in checked


def test_published_maintenance_amounts_are_what_the_recurrence_derives():
    """Where the venue published its maintenance amounts (Binance's 'cum'), the amounts derived
    from the preset's floors and rates equal them: a rate or floor typed wrong would show here."""
    checked = []
    for venue, market, table in _preset_tables():
        published = table.get("maintenance_amounts")
        if published is not None:
            tiers = parse_tiers(table["tiers"], f"{venue}.{market}.tiers")
            assert [round(t.cum, 2) for t in tiers] == [float(a) for a in published], f"{venue} {market}"
            checked.append(f"{venue} {market}")
    assert {"binance BTCUSDT", "binance ETHUSDT", "binance DOGEUSDT"} <= set(checked)


# ----------------------------------------------------------------------------- Binance


def test_binance_2024_brackets_as_freqtrade_recorded_them():
    """freqtrade/freqtrade, freqtrade/exchange/binance_leverage_tiers.json at commit 3d9514d2
    (GET /fapi/v1/leverageBracket, 2024-10-24): ETHUSDT bracket 3 from 600,000 at 0.65 % and
    75x with cum 950; SOLUSDT bracket 2 from 20,000 at 0.65 %, cum 30; XRPUSDT bracket 3 from
    20,000 at 1 % and 40x, cum 85; DOGEUSDT bracket 2 from 10,000 at 0.7 %, cum 20."""
    for market, index, floor, mmr, leverage, cum in [("ETHUSDT", 2, 600_000, 0.0065, 75, 950),
                                                      ("SOLUSDT", 1, 20_000, 0.0065, 75, 30),
                                                      ("XRPUSDT", 2, 20_000, 0.01, 40, 85),
                                                      ("DOGEUSDT", 1, 10_000, 0.007, 50, 20)]:
        tier = _tiers("binance", market)[index]
        assert (tier.floor, tier.mmr, tier.max_leverage, round(tier.cum, 2)) == (floor, mmr, leverage, cum), market
    assert load_venue("binance")["markets"]["ETHUSDT"]["maintenance_amounts"][-1] == 280_506_450


def test_binance_btc_tiers_give_binance_s_own_maintenance_amounts():
    """Binance's 2021-03-18 BTCUSDT table: 0.4 % to 50,000, 0.5 % from it (cum 50), ..., 50 %
    from 300,000,000 (cum 100,016,300), as Binance published the amounts for it."""
    tiers = _tiers("binance", "BTCUSDT")
    assert (tiers[1].floor, tiers[1].mmr, tiers[1].cum) == (50_000, 0.005, pytest.approx(50))
    assert tiers[-1].cum == pytest.approx(100_016_300)


# ----------------------------------------------------------------------------- Hyperliquid


def test_hyperliquid_tiers_keep_maintenance_at_half_the_initial_margin():
    """Hyperliquid Docs, 'Margining': maintenance margin is half the initial margin at the
    tier's maximum leverage (BTC: 1 / 40 / 2 = 1.25 %, 1 / 20 / 2 = 2.5 %)."""
    for market, table in load_venue("hyperliquid")["markets"].items():
        for tier in table["tiers"]:
            assert tier["mmr"] == pytest.approx(0.5 / tier["max_leverage"]), market


@pytest.mark.parametrize("market, bound, below, above", [
    ("SOLUSDT", 70_000_000, 20, 10), ("XRPUSDT", 40_000_000, 20, 10), ("DOGEUSDT", 20_000_000, 10, 5)])
def test_hyperliquid_small_caps_are_the_docs_mainnet_margin_tiers(market, bound, below, above):
    """Hyperliquid Docs, 'Margin tiers', Mainnet Margin Tiers: SOL 0-70M at 20x and >70M at
    10x; XRP 0-40M at 20x, >40M at 10x; DOGE 0-20M at 10x, >20M at 5x. The docs' deduction at
    the bound is bound × (mmr above − mmr below), e.g. SOL 70M × 2.5 % = 1,750,000."""
    tiers = _tiers("hyperliquid", market)
    assert [(t.floor, t.max_leverage) for t in tiers] == [(0, below), (bound, above)]
    assert tiers[1].cum == pytest.approx(bound * (0.5 / above - 0.5 / below))
    assert load_venue("hyperliquid")["markets"][market]["as_of"] == "2026-09-27"


# ----------------------------------------------------------------------------- Bybit


def test_bybit_btc_risk_limits_as_its_api_printed_them():
    """Bybit's BTCUSDT risk-limit list as printed in carpenstar/bybitapi-sdk-derivatives'
    RiskLimit README (2023-08-06): limit 2,000,000 at 0.5 % / 100x, 4,000,000 at 1 % /
    57.14x, 6,000,000 at 1.5 % / 40x; a limit is its tier's top, so tier 2 starts at
    2,000,000 with a deduction of 2,000,000 × 0.5 % = 10,000."""
    tiers = _tiers("bybit", "BTCUSDT")
    assert [(t.floor, t.mmr, t.max_leverage) for t in tiers] == [
        (0, 0.005, 100), (2_000_000, 0.01, 57.14), (4_000_000, 0.015, 40)]
    assert [t.cum for t in tiers] == [0, pytest.approx(10_000), pytest.approx(30_000)]


# ----------------------------------------------------------------------------- dYdX


@pytest.mark.parametrize("market, tier_id, initial_ppm, fraction_ppm", [
    ("BTCUSDT", 0, 50_000, 600_000), ("ETHUSDT", 0, 50_000, 600_000), ("SOLUSDT", 1, 100_000, 500_000),
    ("XRPUSDT", 1, 100_000, 500_000), ("DOGEUSDT", 1, 100_000, 500_000)])
def test_dydx_tiers_are_the_mainnet_genesis_liquidity_tiers(market, tier_id, initial_ppm, fraction_ppm):
    """dYdX Chain mainnet genesis (dydxopsdao/networks, dydx-mainnet-1/genesis.json,
    2023-10-26): Large-Cap (BTC, ETH) initial 5 % with maintenance 60 % of it (3 %, 20x);
    Mid-Cap (SOL, XRP, DOGE) initial 10 % with maintenance 50 % of it (5 %, 10x)."""
    table = load_venue("dydx")["markets"][market]
    assert (table["liquidity_tier"]["id"], table["liquidity_tier"]["initial_margin_ppm"],
            table["liquidity_tier"]["maintenance_fraction_ppm"]) == (tier_id, initial_ppm, fraction_ppm)
    (tier,) = _tiers("dydx", market)
    assert tier.mmr == pytest.approx(initial_ppm * fraction_ppm / 1e12)
    assert tier.max_leverage == pytest.approx(1e6 / initial_ppm)


# ----------------------------------------------------------------------------- OKX


def test_okx_eth_tiers_are_its_2021_table_in_contracts_at_the_stated_price():
    """OKEx Support, 'OKEx position tiers to be adjusted' (11 June 2021), ETHUSDT perpetual:
    0-3,000 contracts at 0.40 % / 125x, from 3,001 at 0.50 % / 100x, from 6,001 at 1.00 % /
    66.66x. Each floor is the first contract count × 0.1 ETH × the stated 3,500 USDT, and the
    rules keep OKX's 0.05 % taker fee inside maintenance."""
    preset = load_venue("okx")
    table = preset["markets"]["ETHUSDT"]
    tiers = _tiers("okx", "ETHUSDT")
    assert table["floor_contracts"][:3] == [0, 3001, 6001]
    assert [t.floor for t in tiers] == [pytest.approx(c * table["contract_value"] * table["reference_price"])
                                        for c in table["floor_contracts"]]
    assert [(t.mmr, t.max_leverage) for t in tiers[:3]] == [(0.004, 125), (0.005, 100), (0.01, 66.66)]
    from margin.imports.okx import shipped_contract_values
    assert table["contract_value"] == shipped_contract_values()["ETH-USDT-SWAP"]
    rules = preset["rules"]
    assert rules["close_fee_reserve"] == rules["liquidation_fee_rate"] == 0.0005
    assert (rules["mm_basis"], rules["settlement"]) == ("mark", "bankruptcy")


def test_the_okx_preset_loads_into_a_scenario():
    from margin.presets import apply_venue, load_story
    from margin.scenario import scenario_from_dict
    scenario = scenario_from_dict(apply_venue(load_story("default"), "okx"))
    assert scenario.rules.close_fee_reserve == 0.0005
