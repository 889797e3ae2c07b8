"""An account walked through a crash three ways, and what the walk shows: where the money
went, the events on a timeline, and mark against last price (the candle that touched a
liquidation price without liquidating, and the reverse).

Each way starts where it arrives at today's prices from its positions' entries
(:func:`margin.variants.arrived_variants`), as in the lab and the stress lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from margin.account import LIQUIDATED, account_value, compile_account, value_account
from margin.crashes import Crash, crash_path
from margin.fields import ScenarioError
from margin.paths import PricePath, path_matrix
from margin.pools import first_prices, pool_roots, state_pools, take
from margin.roots import Pools
from margin.scenario import Scenario
from margin.settle import Event
from margin.simulate import SimulationResult, simulate
from margin.variants import account_variants, arrived_variants
from margin.walk import Walk

POOL_CHUNK = 4_000_000  # numbers the solver holds at once per pool chunk (pools × members × segments × tiers)

@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MoneySplit:
    """Where the trader's money went by the end of a replay [quote].

    ``start`` is the account's equity when the crash begins (wallet plus unrealized PnL at
    the scenario's prices); ``start + funding_received = kept + taken_by_fund + lost_to_market
    + funding_paid`` (a negative ``lost_to_market`` is a gain). ``paid_by_fund`` and
    ``socialized`` are losses beyond the trader's money, covered by the insurance fund and by
    other traders. ``funding_paid`` and ``funding_received`` are the funding payments out of
    and into the account (:mod:`margin.funding`), each ≥ 0.
    """

    start: float
    kept: float
    taken_by_fund: float
    lost_to_market: float
    paid_by_fund: float
    socialized: float
    funding_paid: float = 0.0
    funding_received: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Replay:
    """An account walked along a crash three ways (``VARIANT_LABELS``)."""

    crash: Crash
    path: PricePath
    last_path: PricePath
    variants: Mapping[str, Scenario]
    results: Mapping[str, SimulationResult]
    arrivals: Mapping[str, Walk]  # each way walked from its entries to today's prices, before the crash

    def equity(self, label: str) -> np.ndarray:
        """Total equity after every step [quote]."""
        trace = self.results[label].trace
        assert trace is not None  # a replay walks with a trace
        return trace.total_equity


def replay(scenario: Scenario, crash: Crash) -> Replay:
    """Simulate the account as built, all cross and all isolated along the crash's mark path,
    each from where it arrives at today's prices (:func:`margin.variants.arrived_variants`).

    The crash's marks are taken as observed (``crossing="report"``): a liquidation is judged
    and filled at the mark of the step that breached, as a venue that saw only those marks
    would; nothing is invented between two steps. Each liquidation also says where the
    straight line between the step before and its own crossed (``Event.crossing``), so the
    page can say both."""
    path = crash_path(crash, scenario, "mark")
    variants = account_variants(scenario)
    arrivals = arrived_variants(scenario)
    results = {label: simulate(variant, path, trace=True, start=arrivals[label].state, crossing="report")
               for label, variant in variants.items()}
    return Replay(crash=crash, path=path, last_path=crash_path(crash, scenario, "last"),
                  variants=variants, results=results, arrivals=arrivals)


def money_split(scenario: Scenario, result: SimulationResult, arrival: Walk | None = None) -> MoneySplit:
    """Where the money went: kept (equity at the end, open positions at the last mark),
    taken by the insurance fund (fees and leftover margin), lost to the market (price moves),
    paid by the fund and socialized."""
    kept = float(result.trace.total_equity[-1]) if result.trace is not None else result.final.balance
    # a coin pool's amounts are in its coin: each counted at its coin's price then (``rate``)
    taken = sum(e.insurance_fund_delta * e.rate for e in result.events if e.insurance_fund_delta > 0)
    paid = -sum(e.insurance_fund_delta * e.rate for e in result.events if e.insurance_fund_delta < 0)
    kept = max(kept, 0.0)
    start = starting_equity(scenario) if arrival is None else account_value(
        scenario, sizes=arrival.state.sizes, margins=arrival.state.margins, cross_wallet=arrival.state.cross_wallet,
        collateral=arrival.state.collateral)
    funding = [e.realized_pnl * e.rate for e in result.events if e.type == "funding"]
    funding_paid = -sum(r for r in funding if r < 0)
    funding_received = sum(r for r in funding if r > 0)
    socialized = result.final.socialized_loss + sum(e.amount * e.rate for e in result.events
                                                    if e.type == "socialized_loss" and e.currency != "USDT")
    return MoneySplit(start=start, kept=kept, taken_by_fund=float(taken),
                      lost_to_market=start + funding_received - kept - float(taken) - funding_paid,
                      paid_by_fund=float(paid), socialized=socialized,
                      funding_paid=float(funding_paid), funding_received=float(funding_received))


def starting_equity(scenario: Scenario) -> float:
    """What the trader owns when the crash begins [quote] (:func:`margin.account.account_value`)."""
    return account_value(scenario)


TIMELINE_TYPES = ("liquidation", "partial_liquidation", "bankruptcy", "socialized_loss")


def timeline_events(events: tuple[Event, ...], types: tuple[str, ...] = TIMELINE_TYPES) -> list[tuple[Event, str]]:
    """Events as the timeline shows them: each engine event of ``types`` with its kind, plus an
    ``insurance_fund_payout`` for every bankruptcy the fund paid something for. Funding
    payments are not points on the timeline (one per position per interval); the money split
    and the event list tell them. Stop orders and collateral sales are points once the
    replay page draws them (pass them in ``types``)."""
    out: list[tuple[Event, str]] = []
    for event in events:
        if event.type not in types:
            continue
        out.append((event, event.type))
        if event.type == "bankruptcy" and event.insurance_fund_delta < 0:
            out.append((event, "insurance_fund_payout"))
    return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WickCheck:
    """For one market of an account along a crash, per step (``(N, P)`` arrays over positions).

    ``mark_breach``: the mark price breaches the position (what liquidation is judged on);
    ``last_breach``: the last price would have; ``touched_not_liquidated``: the candle touched
    the liquidation price but the mark did not; ``liquidated_not_touched``: the reverse.
    ``liquidation_price`` (N, P): the liquidation price before each step's events (NaN when
    closed or elsewhere).
    """

    market: str
    position_ids: tuple[str, ...]
    mark_breach: np.ndarray
    last_breach: np.ndarray
    touched_not_liquidated: np.ndarray
    liquidated_not_touched: np.ndarray
    liquidation_price: np.ndarray


def wick_check(scenario: Scenario, result: SimulationResult, path: PricePath, last_path: PricePath,
               market: str) -> WickCheck:
    """Where the last price of ``market`` crossed a position's liquidation price without the
    mark doing so (and the reverse), judged on the account as it stood before each step."""
    if market not in scenario.markets:
        raise ScenarioError("market", f"unknown market {market!r} (markets: {', '.join(scenario.markets)})")
    trace = result.trace
    if trace is None:
        raise ScenarioError("result", "needs a simulation with trace=True")
    account = compile_account(scenario)
    marks = path_matrix(scenario, path)
    column = list(scenario.markets).index(market)
    lasts = marks.copy()
    lasts[:, column] = path_matrix(scenario, last_path)[:, column]
    # state before each row's events = state after the previous row (the scenario at row 0)
    size = np.vstack([account.size[None, :], trace.size[:-1]])
    margin = np.vstack([account.margin[None, :], trace.isolated_margin[:-1]])
    wallet = np.concatenate([[account.cross_wallet], trace.cross_wallet[:-1]])
    collateral = (None if trace.collateral is None or account.collateral is None
                  else np.vstack([account.collateral[None, :], trace.collateral[:-1]]))
    on_mark = value_account(account, marks, size=size, margin=margin, cross_wallet=wallet, collateral=collateral)
    on_last = value_account(account, lasts, size=size, margin=margin, cross_wallet=wallet, collateral=collateral)
    in_market = (account.market_index == column)[None, :] & (size > 0)
    mark_breach = (on_mark.status >= LIQUIDATED) & in_market
    last_breach = (on_last.status >= LIQUIDATED) & in_market
    liq = _liquidation_price_series(scenario, marks, size, margin, wallet, in_market, collateral)
    return WickCheck(
        market=market, position_ids=tuple(p.id for p in scenario.positions),
        mark_breach=mark_breach, last_breach=last_breach,
        touched_not_liquidated=last_breach & ~mark_breach,
        liquidated_not_touched=mark_breach & ~last_breach,
        liquidation_price=liq,
    )


def wick_checks(model: Replay, market: str,
                progress: Callable[[int, int], None] | None = None) -> dict[str, WickCheck]:
    """:func:`wick_check` of ``market`` for each way of the account (label → check);
    ``progress(done, total)`` is called after each way."""
    out = {}
    for done, (label, result) in enumerate(model.results.items(), 1):
        out[label] = wick_check(model.variants[label], result, model.path, model.last_path, market)
        if progress is not None:
            progress(done, len(model.results))
    return out


def _liquidation_price_series(scenario: Scenario, marks: np.ndarray, size: np.ndarray, margin: np.ndarray,
                              wallet: np.ndarray, in_market: np.ndarray,
                              collateral: np.ndarray | None = None) -> np.ndarray:
    """Liquidation price [quote per base] of each position in the market before every step
    ``(N, P)``, NaN where it is closed, elsewhere or has none: what
    :func:`margin.account.position_liquidation_price` gives for that step's state, bit for bit.

    Every (step, position) at once (:mod:`margin.pools`): a pool is built once per step (the
    market's cross legs share theirs), identical pools along the path are solved once, and
    pools of one width go to the solver together (built alone, each has that width).
    """
    rows, positions = np.nonzero(in_market)
    out = np.full(size.shape, np.nan)
    if rows.size == 0:
        return out
    isolated = np.array([p.is_isolated for p in scenario.positions])
    cross = positions[~isolated[positions]]
    asked = np.where(isolated[positions], positions, cross[0] if cross.size else -1)  # the first cross leg's pool
    key, pool_of = np.unique(np.column_stack([rows, asked]), axis=0, return_inverse=True)
    pool_of = pool_of.ravel()
    pools, held = state_pools(scenario, key[:, 1], size[key[:, 0]], margin[key[:, 0]], wallet[key[:, 0]],
                              marks[key[:, 0]], None if collateral is None else collateral[key[:, 0]])
    here = marks[rows, list(scenario.markets).index(scenario.positions[positions[0]].market)]
    side = np.array([p.sign for p in scenario.positions])[positions]
    width = (pools.size > 0).sum(axis=1)
    for k in np.unique(width):
        group = np.flatnonzero(width == k)
        these = take(pools, group, int(k))
        # the same pool at many steps (an isolated position between its events) is solved once
        kinds = [np.zeros(group.shape[0]) if extra is None else extra.astype(float)
                 for extra in (these.collateral, these.inverse)]  # a pool's collateral slope and its variable
        first, same = np.unique(np.column_stack([these.constant, held[group], these.sign, these.size, these.entry, *kinds]),
                                axis=0, return_index=True, return_inverse=True)[1:]
        local = np.full(pools.constant.shape[0], -1)
        local[group] = same.ravel()
        mine = np.flatnonzero(local[pool_of] >= 0)
        out[rows[mine], positions[mine]] = _first_liquidation(
            take(these, first), held[group][first], local[pool_of[mine]], rows[mine], here[mine], side[mine])
    return out


def _first_liquidation(pools: Pools, held: np.ndarray, pick: np.ndarray, rows: np.ndarray, here: np.ndarray,
                       side: np.ndarray) -> np.ndarray:
    """:func:`margin.pools.first_prices`' liquidation price of pool ``pick[a]`` at step
    ``rows[a]`` from ``here[a]`` for a position of side ``side[a]``, each pool's roots found
    once, each (pool, step, side) asked once, in chunks of about :data:`POOL_CHUNK` numbers."""
    members, tiers = pools.size.shape[1], pools.floors.shape[1]
    per_pool = max(POOL_CHUNK // (members * tiers) ** 2, 1)  # a pool: segments × members × tiers
    roots = np.concatenate([pool_roots(take(pools, slice(low, low + per_pool)), held[low:low + per_pool],
                                       with_bankruptcy=False)[0] for low in range(0, pools.constant.shape[0], per_pool)])
    ask, first, again = np.unique(pick * (2 * (int(rows.max()) + 1)) + rows * 2 + (side > 0), return_index=True,
                                  return_inverse=True)
    per_ask = max(POOL_CHUNK // (members * tiers + roots.shape[1]), 1)
    found = np.empty(ask.shape[0])
    for low in range(0, ask.shape[0], per_ask):
        part = first[low:low + per_ask]
        found[low:low + per_ask] = first_prices(pools, held, here[part], side[part], pick[part],
                                                roots=(roots, None))[0][0]
    return found[again.ravel()]
