"""The same account three ways: as built, all cross, all isolated; and a fourth, "collateral in
USDT", where its wallet holds collateral a market moves.

The price lab, the crash replay and the stress lab show every account these ways, from this
one definition (labels, which ways an account gets (:func:`variant_labels`), how a position is
made cross or isolated, how the collateral becomes USDT, and where each way arrives at today's
prices). A comparison is only fair if each way has lived through the same prices:
:func:`arrived_variants` walks each from its positions' entries to today's prices, so an
isolated position that would have died on the way is closed at its liquidation price.
"""

from __future__ import annotations

from dataclasses import replace

from margin.fields import choice
from margin.scenario import MODES, Scenario, scenario_from_dict  # noqa: F401 (doctests)
from margin.walk import Walk, scenario_now, start_walk

VARIANT_LABELS = ("As built", "All cross", "All isolated")
USDT_COLLATERAL_LABEL = "Collateral in USDT"  # the fourth way, where the account holds moving collateral
ALL_VARIANT_LABELS = VARIANT_LABELS + (USDT_COLLATERAL_LABEL,)  # every way any account can be shown


def holds_moving_collateral(scenario: Scenario) -> bool:
    """True when the account's USDT pool counts collateral priced by a market (a coin pool's
    wallet margins its own inverse contracts; an entry of amount 0 counts nothing): only then
    does :func:`collateral_in_usdt` differ from the account as built.

    >>> markets = {"BTC": {"price": 100, "mmr": 0.01}}
    >>> [holds_moving_collateral(scenario_from_dict({"balance": 0, "markets": markets, "positions": [],
    ...     "collateral": [{"asset": "BTC", "amount": amount, "market": "BTC"}]})) for amount in (1, 0)]
    [True, False]
    """
    return any(not c.coin_pool and c.amount > 0 for c in scenario.collateral)


def as_mode(scenario: Scenario, mode: str) -> Scenario:
    """The same account with every position in ``mode`` ("cross" or "isolated").

    All isolated: each position gets its initial margin ``size × entry / leverage`` (or its own
    isolated margin if it already had one). Where the wallet cannot fund every margin, the
    margins are scaled down in proportion so that they use the whole balance; the account is
    then as risky as its wallet allows, never funded by money it does not have.

    >>> s = scenario_from_dict({"balance": 100, "markets": {"X": {"price": 10, "mmr": 0.01}},
    ...     "positions": [{"id": "a", "market": "X", "side": "long", "size": 10, "entry": 10,
    ...                    "leverage": 5, "mode": "cross"}]})
    >>> as_mode(s, "isolated").positions[0].margin, as_mode(s, "isolated").cross_wallet
    (20.0, 80.0)
    """
    choice(mode, "mode", MODES)
    if mode == "cross":
        positions = tuple(replace(p, mode="cross", margin=None) for p in scenario.positions)
        return replace(scenario, positions=positions)
    wanted = _isolated_margins(scenario)
    scale = {currency: funded for currency, (funded, _, _) in isolated_funding(scenario).items()}
    positions = tuple(
        replace(p, mode="isolated", margin=m * scale[scenario.currency(p)]) for p, m in zip(scenario.positions, wanted)
    )
    return replace(scenario, positions=positions)


def _isolated_margins(scenario: Scenario) -> list[float]:
    """Each position's margin were it isolated: its own, or its initial margin [its currency]."""
    return [(p.margin or 0.0) if p.is_isolated else p.initial_margin for p in scenario.positions]


def isolated_funding(scenario: Scenario) -> dict[str, tuple[float, float, float]]:
    """For each wallet currency: (the fraction of the isolated margins it funds [0, 1], the
    wallet [currency], the margins all isolated would want [currency]). Isolated margins come
    out of their own currency's wallet: USDT's out of the balance (collateral in other coins
    counts in the cross pool only, as on venues' multi-asset modes), a coin's (inverse
    contracts) out of its collateral entry.

    >>> s = scenario_from_dict({"balance": 10, "markets": {"X": {"price": 10, "mmr": 0.01}},
    ...     "positions": [{"id": "a", "market": "X", "side": "long", "size": 10, "entry": 10,
    ...                    "leverage": 5, "mode": "cross"}]})
    >>> isolated_funding(s)["USDT"]
    (0.5, 10.0, 20.0)
    """
    wanted = _isolated_margins(scenario)
    held = {c.asset: c.amount for c in scenario.collateral if c.coin_pool}
    held["USDT"] = scenario.balance
    funding = {}
    for currency, wallet in held.items():
        total = sum(m for p, m in zip(scenario.positions, wanted) if scenario.currency(p) == currency)
        funding[currency] = (min(1.0, wallet / total) if total > 0 else 1.0, wallet, total)
    return funding


def collateral_in_usdt(scenario: Scenario) -> Scenario:
    """The same account with the collateral of its USDT pool turned into USDT at its collateral
    value today (``amount × price × (1 − haircut)``): the same equity now, none of it moving
    with a market (the comparison "collateral in USDT"). A coin pool's wallet stays: it margins
    its inverse contracts in the coin.

    >>> s = scenario_from_dict({"balance": 0, "markets": {"BTC": {"price": 60_000, "mmr": 0.005}},
    ...     "collateral": [{"asset": "BTC", "amount": 1, "market": "BTC", "haircut": 0.05}],
    ...     "positions": [{"id": "a", "market": "BTC", "side": "long", "size": 1, "entry": 60_000,
    ...                    "leverage": 10}]})
    >>> collateral_in_usdt(s).balance, collateral_in_usdt(s).collateral
    (57000.0, ())
    """
    moved = sum(c.value(scenario.markets[c.market].price) for c in scenario.collateral if not c.coin_pool)
    kept = tuple(c for c in scenario.collateral if c.coin_pool)
    return replace(scenario, balance=scenario.balance + moved, collateral=kept)


def variant_labels(scenario: Scenario) -> tuple[str, ...]:
    """The ways every page compares the account: as built, all cross, all isolated, and
    "collateral in USDT" (:func:`collateral_in_usdt`) only where its pool counts collateral a
    market moves (:func:`holds_moving_collateral`); elsewhere that way would equal "as built".

    >>> markets = {"BTC": {"price": 100, "mmr": 0.01}}
    >>> variant_labels(scenario_from_dict({"balance": 0, "markets": markets, "positions": [],
    ...     "collateral": [{"asset": "BTC", "amount": 1, "market": "BTC"}]}))
    ('As built', 'All cross', 'All isolated', 'Collateral in USDT')
    >>> variant_labels(scenario_from_dict({"balance": 10, "markets": markets, "positions": []}))
    ('As built', 'All cross', 'All isolated')
    """
    return ALL_VARIANT_LABELS if holds_moving_collateral(scenario) else VARIANT_LABELS


def account_variants(scenario: Scenario) -> dict[str, Scenario]:
    """The account each way of :func:`variant_labels` (label → scenario, in that order)."""
    ways = dict(zip(VARIANT_LABELS, (scenario, as_mode(scenario, "cross"), as_mode(scenario, "isolated"))))
    if USDT_COLLATERAL_LABEL in variant_labels(scenario):
        ways[USDT_COLLATERAL_LABEL] = collateral_in_usdt(scenario)
    return ways


def arrived_variants(scenario: Scenario) -> dict[str, Walk]:
    """The account each way of :func:`variant_labels`, each walked from its positions' entries
    to today's prices (:func:`margin.walk.start_walk`): where each arrives, with what closed on
    the way."""
    return {label: start_walk(variant) for label, variant in account_variants(scenario).items()}


def arrived_scenarios(scenario: Scenario) -> dict[str, Scenario]:
    """:func:`arrived_variants` as plain scenarios: each way as it stands on arrival (what is
    still open, its wallet and the insurance fund then), for the engines that start there."""
    return {label: scenario_now(walk) for label, walk in arrived_variants(scenario).items()}
