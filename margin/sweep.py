"""The account over a grid of prices: the data behind the live charts.

Two grids: the price of one market (every other market held), or a whole-market shock, where
every market moves by the same fraction scaled by its beta: ``price × (1 + beta × shock)``,
floored at 1 % of the price (:func:`shock_multiplier`, the engine's one shock rule). Everything
is one broadcast over the grid, no loop over points or positions.

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


SHOCK_FLOOR = 0.01  # a whole-market shock never takes a market below 1 % of its price [fraction]


def shock_multiplier(shocks: np.ndarray | float, betas: np.ndarray | float) -> np.ndarray:
    """The one shock rule: a market moves by the shock times its beta, ``1 + beta × shock``,
    never below :data:`SHOCK_FLOOR` of its price (a −90 % shock on a market of beta 1.6 would
    otherwise give a negative price). Shape ``shocks.shape + betas.shape``. The price lab's
    sliders, this sweep, the lessons and the crash paths (a market a crash does not carry
    follows BTC by its beta) all use it.

    >>> shock_multiplier(np.array([-0.1, -0.9]), np.array([1.0, 1.6])).round(3).tolist()
    [[0.9, 0.84], [0.1, 0.01]]
    """
    return np.maximum(1.0 + np.multiply.outer(np.asarray(shocks, dtype=float), np.asarray(betas, dtype=float)),
                      SHOCK_FLOOR)


def shock_prices(scenario: Scenario, shocks: np.ndarray,
                 betas: Mapping[str, float] | None = None,
                 base: Mapping[str, float] | None = None) -> np.ndarray:
    """Mark prices (G, M) after each whole-market shock [fraction], scaled per market by beta
    (:func:`shock_multiplier`). Betas default to each market's ``beta``; ``base`` overrides
    the starting prices."""
    start = price_vector(scenario, base)
    beta = np.array([(betas or {}).get(name, m.beta) for name, m in scenario.markets.items()])
    return start * shock_multiplier(shocks, beta)


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
