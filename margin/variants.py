"""The same account three ways: as built, all cross, all isolated.

The price lab, the crash replay and the stress lab show every account these three ways, from
this one definition (labels, and how a position is made cross or isolated).
"""

from __future__ import annotations

from dataclasses import replace

from margin.fields import choice
from margin.scenario import MODES, Scenario, scenario_from_dict  # noqa: F401 (doctests)

VARIANT_LABELS = ("As built", "All cross", "All isolated")


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
    wanted = [p.margin if p.is_isolated else p.initial_margin for p in scenario.positions]
    total = sum(wanted)
    scale = min(1.0, scenario.balance / total) if total > 0 else 1.0
    positions = tuple(
        replace(p, mode="isolated", margin=m * scale) for p, m in zip(scenario.positions, wanted)
    )
    return replace(scenario, positions=positions)


def account_variants(scenario: Scenario) -> dict[str, Scenario]:
    """The account three ways: as built, all cross, all isolated (keys: ``VARIANT_LABELS``)."""
    return dict(zip(VARIANT_LABELS, (scenario, as_mode(scenario, "cross"), as_mode(scenario, "isolated"))))
