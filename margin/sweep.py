"""The account over a grid of prices: the data behind the live charts.

Two grids: the price of one market (every other market held), or a whole-market shock, where
every market moves by the same fraction scaled by its beta: ``price × (1 + beta × shock)``,
floored at 0. Everything is one broadcast over the grid, no loop over points or positions.

>>> from margin.scenario import scenario_from_dict
>>> s = scenario_from_dict({"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 10, "entry": 100,
...                    "leverage": 10, "mode": "cross"}]})
>>> sw = sweep_shock(s, np.array([-0.5, 0.0, 0.5]))
>>> sw.valuation.cross_equity.tolist()
[500.0, 1000.0, 1500.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from margin.account import CompiledAccount, Valuation, compile_account, price_vector, value_account
from margin.scenario import Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class Sweep:
    """The account at each grid point. ``grid`` is a price [quote per base] of ``market``, or a
    shock [fraction] when ``market`` is ``None``; ``prices`` (G, M) are the marks used."""

    grid: np.ndarray
    market: str | None
    prices: np.ndarray
    market_names: tuple[str, ...]
    position_ids: tuple[str, ...]
    valuation: Valuation


def shock_prices(scenario: Scenario, shocks: np.ndarray,
                 betas: Mapping[str, float] | None = None,
                 base: Mapping[str, float] | None = None) -> np.ndarray:
    """Mark prices (G, M) after each whole-market shock [fraction], scaled per market by beta.

    Betas default to each market's ``beta``; ``base`` overrides the starting prices.
    """
    start = price_vector(scenario, base)
    beta = np.array([(betas or {}).get(name, m.beta) for name, m in scenario.markets.items()])
    shocks = np.asarray(shocks, dtype=float)
    return start * np.maximum(1.0 + np.multiply.outer(shocks, beta), 0.0)


def sweep_shock(scenario: Scenario, shocks: np.ndarray, *,
                betas: Mapping[str, float] | None = None,
                base: Mapping[str, float] | None = None,
                account: CompiledAccount | None = None) -> Sweep:
    """The account across whole-market shocks [fraction] (−0.1 = every market down 10 % × beta)."""
    account = account or compile_account(scenario)
    prices = shock_prices(scenario, shocks, betas, base)
    return Sweep(grid=np.asarray(shocks, dtype=float), market=None, prices=prices,
                 market_names=account.market_names,
                 position_ids=tuple(p.id for p in scenario.positions),
                 valuation=value_account(account, prices))


def sweep_price(scenario: Scenario, market: str, grid: np.ndarray, *,
                base: Mapping[str, float] | None = None,
                account: CompiledAccount | None = None) -> Sweep:
    """The account across prices [quote per base] of one market, the others held."""
    account = account or compile_account(scenario)
    grid = np.asarray(grid, dtype=float)
    prices = np.tile(price_vector(scenario, base), (grid.shape[0], 1))
    prices[:, account.market_names.index(market)] = grid
    return Sweep(grid=grid, market=market, prices=prices, market_names=account.market_names,
                 position_ids=tuple(p.id for p in scenario.positions),
                 valuation=value_account(account, prices))
