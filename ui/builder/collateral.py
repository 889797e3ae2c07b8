"""The account builder's collateral table, without Streamlit: the account's collateral other
than USDT (:mod:`margin.collateral`) as the editor gets it and back, every cell kept as typed so
validation names it (``Collateral 1, amount: ...``)."""

from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

import pandas as pd

from margin.scenario import Scenario
from ui.builder.model import blank, exact_number, fraction_of, percent_of

COLLATERAL_COLUMNS = ("asset", "amount", "market", "haircut")


def collateral_frame(raw: Mapping[str, Any]) -> pd.DataFrame:
    """The account's collateral other than USDT as the editor gets it: asset, amount, the
    market that prices it, the haircut [%] (see :func:`positions_frame` for the float columns).

    >>> frame = collateral_frame({"collateral": [{"asset": "BTC", "amount": 1, "market": "BTCUSDT", "haircut": 0.05}]})
    >>> frame.to_dict("records")
    [{'asset': 'BTC', 'amount': 1.0, 'market': 'BTCUSDT', 'haircut': 5.0}]
    """
    rows = [{"asset": c.get("asset"), "amount": c.get("amount"), "market": c.get("market"),
             "haircut": percent_of(c.get("haircut") or 0.0)} for c in raw.get("collateral") or []]
    frame = pd.DataFrame(rows, columns=list(COLLATERAL_COLUMNS))
    return frame.astype({"amount": "float64", "haircut": "float64"})


def rows_to_collateral(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Collateral table rows back to entries; blank cells stay blank (None) so validation names
    them (``collateral[0].amount``), a blank haircut is none, a wholly blank row is dropped.

    >>> rows_to_collateral([{"asset": " ETH ", "amount": 2.0, "market": "ETHUSDT", "haircut": 10.0},
    ...                     {"asset": None, "amount": float("nan"), "market": None, "haircut": None}])
    [{'asset': 'ETH', 'amount': 2.0, 'market': 'ETHUSDT', 'haircut': 0.1}]
    """
    out = []
    for row in rows:
        values = {c: (None if blank(row.get(c)) else row.get(c)) for c in COLLATERAL_COLUMNS}
        if all(v is None for v in values.values()):
            continue
        entry: dict[str, Any] = {"asset": values["asset"].strip() if isinstance(values["asset"], str) else values["asset"],
                                 "amount": None if values["amount"] is None else float(values["amount"]),
                                 "market": values["market"]}
        if values["haircut"] is not None and float(values["haircut"]) != 0.0:
            entry["haircut"] = fraction_of(float(values["haircut"]))
        out.append(entry)
    return out


def with_collateral(raw: Mapping[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``raw`` holding ``entries`` as its collateral (none: the field left out, as before)."""
    out = copy.deepcopy(dict(raw))
    if entries:
        out["collateral"] = entries
    else:
        out.pop("collateral", None)
    return out


def collateral_lines(scenario: Scenario) -> list[str]:
    """Each collateral entry of the account in use, in words, every number as stored, with
    where it counts (text, never markup: the asset's name is the learner's).

    >>> from margin.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"balance": 0, "markets": {"BTCUSDT": {"price": 60000, "mmr": 0.005}},
    ...     "collateral": [{"asset": "BTC", "amount": 1, "market": "BTCUSDT", "haircut": 0.05}], "positions": []})
    >>> collateral_lines(s)
    ['Collateral: 1 BTC priced by BTCUSDT, counted at 95 % of its price in the cross pool (a 5 % haircut)']
    """
    lines = []
    for c in scenario.collateral:
        text = f"Collateral: {exact_number(c.amount)} {c.asset} priced by {c.market}, "
        if c.coin_pool:
            text += f"the wallet of the inverse contracts that settle in {c.asset}"
        else:
            text += (f"counted at {exact_number(percent_of(1.0 - c.haircut))} % of its price in the cross pool "
                     f"(a {exact_number(percent_of(c.haircut))} % haircut)")
        lines.append(text)
    return lines
