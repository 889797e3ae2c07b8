"""The account over a grid of prices: the data behind the live charts, and the exact shocks
at which its pools are liquidated or bankrupt.

Two grids: the price of one market (every other market held), or a whole-market shock, where
every market moves by the same fraction scaled by its beta: ``price × (1 + beta × shock)``,
floored at 1 % of the price (:func:`shock_multiplier`, the engine's one shock rule). Everything
is one broadcast over the grid, no loop over points or positions.

A grid only brackets where a pool fails. :func:`shock_crossings` solves it: along the shock,
every price is piecewise linear (the floor bends it) and so is every pool's equity less its
maintenance (tiers bend it where a notional crosses a floor), so between those bends the
crossing is one division, then confirmed by the engine's own status on both sides.

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

from margin.account import (
    BANKRUPT, LIQUIDATED, CompiledAccount, Valuation, compile_account, price_vector, value_account,
)
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


# ----------------------------------------------------------------------------- exact crossings


@dataclass(frozen=True, slots=True, kw_only=True)
class ShockCrossing:
    """A whole-market shock at which a pool's state changes.

    The pool (``position``: an isolated position's id, or ``None`` for the cross pool) is
    ``kind`` ("liquidation": liquidated or worse; "bankruptcy": no equity left) at ``shock``
    [fraction] itself and on the side ``beyond`` says (−1: the shocks below, +1: above, up to
    the next crossing), and not at ``shock − beyond × known_to``: the engine's own status,
    checked on both sides. ``known_to`` [fraction] is therefore how well the crossing is known
    (a few 1e-16 when solved); no display may claim more digits than it.
    """

    shock: float
    known_to: float
    kind: str
    position: str | None
    beyond: int


CROSSING_KINDS = {"liquidation": LIQUIDATED, "bankruptcy": BANKRUPT}  # kind: the status from which it holds
MAX_POLISH = 100  # bisection steps at most; a solved crossing needs a handful


def shock_crossings(scenario: Scenario, *, low: float = -0.99, high: float = 0.99,
                    betas: Mapping[str, float] | None = None, base: Mapping[str, float] | None = None,
                    account: CompiledAccount | None = None) -> tuple[ShockCrossing, ...]:
    """Every shock in ``[low, high]`` [fraction] at which a pool of the account as it stands
    (the cross pool, each isolated position) becomes or stops being liquidated or bankrupt,
    ordered by shock. Betas and starting prices as in :func:`sweep_shock`.

    Along the shock each mark is ``price × max(1 + beta × shock, SHOCK_FLOOR)``, linear but for
    the floor's bend, and a pool's equity less its maintenance is linear in the marks but for
    the bends where a notional crosses a tier's floor (mark basis). Between consecutive bends
    everything is linear, so each crossing is solved there in closed form; the engine's status
    then confirms it on both sides, bisecting to the neighbouring floats where rounding left
    it a hair off. A crossing exactly at ``low`` or ``high`` is not reported.

    >>> from margin.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"balance": 1000, "markets": {"BTC": {"price": 100, "mmr": 0.01}},
    ...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 100, "entry": 100,
    ...                    "leverage": 10, "mode": "cross"}]})
    >>> [(c.kind, round(c.shock, 12), c.beyond, c.known_to < 1e-15) for c in shock_crossings(s)]
    [('bankruptcy', -0.1, -1, True), ('liquidation', -0.090909090909, -1, True)]

    Parameters
    ----------
    scenario : Scenario
        The account as it stands (every position open).
    low, high : float [fraction]
        The range of shocks searched.
    betas : mapping of str to float, optional
        A beta per market; default each market's own.
    base : mapping of str to float [quote per base], optional
        The marks the shock starts from; default the scenario's.

    Returns
    -------
    tuple of ShockCrossing
        Ordered by ``shock``.
    """
    account = account or compile_account(scenario)
    start = price_vector(scenario, base)
    beta = np.array([(betas or {}).get(name, m.beta) for name, m in scenario.markets.items()], dtype=float)
    points = _bends(account, start, beta, float(low), float(high))
    valuation = value_account(account, start * shock_multiplier(points, beta))
    brackets = []  # (inside, outside, guess, column, level, kind, position)
    for position, column in _pools(scenario, account):
        equity = valuation.position_equity[:, column]
        for kind, level in CROSSING_KINDS.items():
            gap = equity - valuation.position_maintenance[:, column] if kind == "liquidation" else equity
            holds = valuation.status[:, column] >= level
            for k in np.flatnonzero(holds[:-1] != holds[1:]):
                a, b = float(points[k]), float(points[k + 1])
                guess = a + (b - a) * gap[k] / (gap[k] - gap[k + 1]) if gap[k] != gap[k + 1] else b
                inside, outside = (b, a) if holds[k + 1] else (a, b)
                brackets.append((inside, outside, min(max(guess, a), b), column, level, kind, position))
    found = _polish(account, start, beta, brackets)
    found = [c for c in found if low < c.shock < high]
    return tuple(sorted(found, key=lambda c: (c.shock, c.kind)))


def _bends(account: CompiledAccount, start: np.ndarray, beta: np.ndarray, low: float, high: float) -> np.ndarray:
    """``low``, ``high`` and every shock between them where a price or a maintenance margin
    bends: a market reaching the floor, a position's notional crossing a tier floor (mark
    basis; reachable only above the price floor), ascending."""
    points = [low, high]
    for j in np.flatnonzero(beta != 0.0):
        points.append((SHOCK_FLOOR - 1.0) / beta[j])
        if account.entry_basis:
            continue
        for i in np.flatnonzero(account.market_index == j):
            floors = account.floors[i, 1:]
            multiple = floors[np.isfinite(floors)] / (account.size[i] * start[j])
            points.extend(((multiple[multiple >= SHOCK_FLOOR] - 1.0) / beta[j]).tolist())
    return np.unique(np.clip(np.array(points, dtype=float), low, high))


def _pools(scenario: Scenario, account: CompiledAccount) -> list[tuple[str | None, int]]:
    """(pool, a column of the valuation that holds it): the cross pool by its first position,
    then each isolated position."""
    cross = np.flatnonzero(~account.isolated)
    pools: list[tuple[str | None, int]] = [(None, int(cross[0]))] if cross.size else []
    return pools + [(scenario.positions[i].id, int(i)) for i in np.flatnonzero(account.isolated)]


def _polish(account: CompiledAccount, start: np.ndarray, beta: np.ndarray,
            brackets: list[tuple]) -> list[ShockCrossing]:
    """Narrow every bracket (``inside`` in the state, ``outside`` not) with the engine's status
    at once: first the solved guess, then a point a hair from it toward the outside, then
    halving, until the two ends are neighbouring floats."""
    if not brackets:
        return []
    inside = np.array([b[0] for b in brackets])
    outside = np.array([b[1] for b in brackets])
    guess = np.array([b[2] for b in brackets])
    column = np.array([b[3] for b in brackets], dtype=np.intp)
    level = np.array([b[4] for b in brackets])
    rows = np.arange(len(brackets))
    for step in range(MAX_POLISH):
        open_ = np.abs(inside - outside) > 2 * np.spacing(np.maximum(np.abs(inside), np.abs(outside)))
        if not open_.any():
            break
        if step == 0:
            probe = guess
        elif step == 1:
            probe = guess + np.sign(outside - guess) * 1e-14
        else:
            probe = inside + (outside - inside) / 2
        between = open_ & ((probe - inside) * (probe - outside) <= 0)
        probe = np.where(between, probe, inside + (outside - inside) / 2)
        status = value_account(account, start * shock_multiplier(probe, beta)).status[rows, column]
        holds = status >= level
        inside = np.where(open_ & holds, probe, inside)
        outside = np.where(open_ & ~holds, probe, outside)
    return [ShockCrossing(shock=float(inside[n]), known_to=float(abs(inside[n] - outside[n])), kind=b[5],
                          position=b[6], beyond=-1 if inside[n] < outside[n] else 1)
            for n, b in enumerate(brackets)]
