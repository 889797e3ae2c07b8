"""Hypothesis strategies shared by the engine tests: valid random accounts and price paths."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from margin.scenario import Scenario, scenario_from_dict
from margin.simulate import PricePath, price_path

MARKET_NAMES = ("AAA", "BBB", "CCC")


@st.composite
def tier_tables(draw) -> list[dict]:
    """1–4 tiers with ascending floors and rising maintenance rates."""
    n = draw(st.integers(1, 4))
    floors = [0.0] + sorted(draw(st.lists(st.floats(200, 50_000), min_size=n - 1, max_size=n - 1, unique=True)))
    rates = sorted(draw(st.lists(st.floats(0.002, 0.08), min_size=n, max_size=n)))
    return [{"floor": f, "mmr": r, "max_leverage": max(1.0, 0.5 / r)} for f, r in zip(floors, rates)]


@st.composite
def scenario_dicts(draw, *, modes=("cross", "isolated"), max_positions: int = 5,
                   mm_basis=("mark", "entry"), liquidation=("full", "partial", "just_enough", "tier_step_down", "fixed_chunks"),
                   settlement=("bankruptcy", "mark"), first_modes: tuple[str, ...] = ()) -> dict:
    """A valid scenario dict: 1–3 markets, 1–``max_positions`` positions; the first positions take
    the modes in ``first_modes`` (so an account surely holds, say, a cross and an isolated one)."""
    n_markets = draw(st.integers(1, len(MARKET_NAMES)))
    markets = {}
    for name in MARKET_NAMES[:n_markets]:
        markets[name] = {"price": draw(st.floats(1.0, 5_000.0)), "tiers": draw(tier_tables())}
    positions = []
    for k in range(draw(st.integers(max(1, len(first_modes)), max(max_positions, len(first_modes))))):
        name = draw(st.sampled_from(sorted(markets)))
        price = markets[name]["price"]
        entry = price * draw(st.floats(0.8, 1.2))
        size = draw(st.floats(1.0, 20_000.0)) / entry
        notional = size * entry
        tier = [t for t in markets[name]["tiers"] if t["floor"] <= notional][-1]
        leverage = draw(st.floats(1.0, tier["max_leverage"]))
        mode = first_modes[k] if k < len(first_modes) else draw(st.sampled_from(modes))
        position = {"id": f"p{k}", "market": name, "side": draw(st.sampled_from(["long", "short"])),
                    "size": size, "entry": entry, "leverage": leverage, "mode": mode}
        if mode == "isolated" and draw(st.booleans()):
            position["margin"] = notional / leverage * draw(st.floats(0.3, 1.5))
        positions.append(position)
    locked = sum(p.get("margin", p["size"] * p["entry"] / p["leverage"]) for p in positions if p["mode"] == "isolated")
    balance = locked + draw(st.floats(0.0, 20_000.0))
    rules = {
        "mm_basis": draw(st.sampled_from(mm_basis)),
        "liquidation": draw(st.sampled_from(liquidation)),
        "partial_fraction": draw(st.sampled_from([0.1, 0.2, 0.5, 1.0])),
        "settlement": draw(st.sampled_from(settlement)),
        "liquidation_fee_rate": draw(st.sampled_from([0.0, 0.0005, 0.005, 0.02])),
        "insurance_fund": draw(st.sampled_from([0.0, 100.0, 1e9])),
        "tier_steps": draw(st.sampled_from([1, 2])),
        "chunk_notional": draw(st.sampled_from([50.0, 2_000.0, 1e6])),
    }
    return {"format": "margin-scenario/1", "name": "random", "balance": balance, "rules": rules,
            "markets": markets, "positions": positions}


def scenarios(**kwargs) -> st.SearchStrategy[Scenario]:
    return scenario_dicts(**kwargs).map(scenario_from_dict)


@st.composite
def paths_for(draw, scenario: Scenario, max_steps: int = 120) -> PricePath:
    """A seeded random walk of every market's mark, volatile enough to liquidate often."""
    n = draw(st.integers(1, max_steps))
    seed = draw(st.integers(0, 2**32 - 1))
    volatility = draw(st.sampled_from([0.005, 0.03, 0.08]))
    rng = np.random.default_rng(seed)
    columns = {}
    for name, market in scenario.markets.items():
        steps = rng.normal(0.0, volatility, n)
        if draw(st.booleans()):  # add a crash somewhere
            steps[rng.integers(0, n)] -= draw(st.floats(0.05, 0.6))
        columns[name] = market.price * np.exp(np.cumsum(steps))
    return price_path(columns)


@st.composite
def funded_paths_for(draw, scenario: Scenario, max_steps: int = 120) -> PricePath:
    """:func:`paths_for` with a time on every row (0.25 h to 8 h a row, sometimes a gap of a
    day) and, for some markets, a funding rate series (up to ±0.5 % per interval)."""
    path = draw(paths_for(scenario, max_steps=max_steps))
    n = path.marks.shape[0]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    step_hours = draw(st.sampled_from([0.25, 1.0, 3.0, 8.0]))
    gaps = np.where(rng.random(n) < 0.05, 24.0, step_hours)
    hours = np.concatenate([[0.0], np.cumsum(gaps[1:])])
    funding = {}
    for name in path.markets:
        if draw(st.booleans()):
            funding[name] = rng.normal(0.0, draw(st.sampled_from([0.0001, 0.001, 0.005])), n).clip(-0.05, 0.05)
    return price_path({m: path.marks[:, j] for j, m in enumerate(path.markets)}, hours=hours, funding=funding)


def with_funding_rates(raw: dict, rates: list[float]) -> dict:
    """The scenario dict with a constant funding rate on each market (cycled from ``rates``)."""
    for k, market in enumerate(raw["markets"].values()):
        market["funding_rate"] = rates[k % len(rates)]
    return raw


# ----------------------------------------------------------------------------- collateral, coins, orders

COIN_MARKET = "COINUSD"  # an inverse market of the drawn accounts, settled in COIN_ASSET
COIN_ASSET = "COIN"


@st.composite
def coin_tier_tables(draw) -> list[dict]:
    """1–3 tiers with floors in the coin (a few coins) and rising rates."""
    n = draw(st.integers(1, 3))
    floors = [0.0] + sorted(draw(st.lists(st.floats(0.5, 20.0), min_size=n - 1, max_size=n - 1, unique=True)))
    rates = sorted(draw(st.lists(st.floats(0.002, 0.08), min_size=n, max_size=n)))
    return [{"floor": f, "mmr": r, "max_leverage": max(1.0, 0.5 / r)} for f, r in zip(floors, rates)]


@st.composite
def collateral_for(draw, raw: dict, assets: tuple[str, ...] = ("XA", "XB")) -> list[dict]:
    """1–2 collateral entries in the USDT pool, each priced by one of ``raw``'s markets."""
    entries = []
    for asset in assets[:draw(st.integers(1, len(assets)))]:
        market = draw(st.sampled_from(sorted(m for m in raw["markets"] if m != COIN_MARKET)))
        worth = draw(st.floats(0.0, 20_000.0))
        entries.append({"asset": asset, "amount": worth / raw["markets"][market]["price"], "market": market,
                        "haircut": draw(st.sampled_from([0.0, 0.02, 0.1, 0.5]))})
    return entries


@st.composite
def with_coin_pool(draw, raw: dict, modes=("cross", "isolated")) -> dict:
    """``raw`` with an inverse market, its coin's wallet and 1–3 inverse positions."""
    price = draw(st.floats(100.0, 80_000.0))
    value = draw(st.sampled_from([1.0, 10.0, 100.0]))
    raw["markets"][COIN_MARKET] = {"price": price, "tiers": draw(coin_tier_tables()), "contract": "inverse",
                                   "contract_value": value, "settle_asset": COIN_ASSET}
    locked = 0.0
    for k in range(draw(st.integers(1, 3))):
        entry = price * draw(st.floats(0.8, 1.2))
        coins = draw(st.floats(0.01, 10.0))  # the position's value in the coin at entry
        size = coins * entry / value
        tier = [t for t in raw["markets"][COIN_MARKET]["tiers"] if t["floor"] <= coins][-1]
        leverage = draw(st.floats(1.0, tier["max_leverage"]))
        mode = draw(st.sampled_from(modes))
        position = {"id": f"c{k}", "market": COIN_MARKET, "side": draw(st.sampled_from(["long", "short"])),
                    "size": size, "entry": entry, "leverage": leverage, "mode": mode}
        if mode == "isolated":
            locked += coins / leverage
        raw["positions"].append(position)
    raw.setdefault("collateral", []).append({"asset": COIN_ASSET, "amount": locked + draw(st.floats(0.0, 5.0)),
                                             "market": COIN_MARKET})
    return raw


@st.composite
def with_orders(draw, raw: dict) -> dict:
    """Some of ``raw``'s positions with a stop-loss and/or take-profit around their entry."""
    for position in raw["positions"]:
        if not draw(st.booleans()):
            continue
        entry, long = position["entry"], position["side"] == "long"
        if draw(st.booleans()):
            below = entry * draw(st.floats(0.5, 0.995))
            above = entry * draw(st.floats(1.005, 1.5))
            position["stop_loss"] = below if long else above
        if draw(st.booleans()):
            position["take_profit"] = entry * (draw(st.floats(1.005, 1.5)) if long else draw(st.floats(0.5, 0.995)))
        if ("stop_loss" in position or "take_profit" in position) and draw(st.booleans()):
            position["stop_slippage"] = draw(st.sampled_from([0.0, 0.005, 0.05]))
    return raw


@st.composite
def rich_scenario_dicts(draw, *, collateral: bool = True, coins: bool = False, orders: bool = False, **kwargs) -> dict:
    """:func:`scenario_dicts` with collateral entries, a coin pool of inverse contracts and stop
    orders, as asked."""
    raw = draw(scenario_dicts(**kwargs))
    if coins:
        raw = draw(with_coin_pool(raw, modes=kwargs.get("modes", ("cross", "isolated"))))
    if collateral:
        raw.setdefault("collateral", []).extend(draw(collateral_for(raw)))
    if orders:
        raw = draw(with_orders(raw))
    return raw
