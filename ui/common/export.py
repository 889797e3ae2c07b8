"""Exports: a simulation's event log as CSV.

The lab and the replay list what happened on the way; the download button
(:func:`ui.shell.widgets.event_log_button`) offers the same events as a CSV file a spreadsheet opens (one row per event, amounts in USDT). Scenario files
are downloaded from the account builder; charts as PNG from Plotly's own toolbar (camera icon).

>>> from margin.simulate import Event
>>> e = Event(step=3, row=3, type="liquidation", position="btc-long", market="BTCUSDT", mode="cross",
...           price=84368.84, size=1.0, realized_pnl=1368.84, fee=421.84, insurance_fund_delta=421.84)
>>> print(events_csv([e]).decode().splitlines()[1])
3,liquidation,btc-long,BTCUSDT,cross,84368.84,1.0,1368.84,421.84,421.84,0.0
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Mapping, Sequence

from ui.common.text import csv_cell

COLUMNS = ("step", "type", "position", "market", "mode", "price", "size", "realized_pnl", "fee",
           "insurance_fund_delta", "amount")


def _row(event: Any) -> Mapping[str, Any]:
    if isinstance(event, Mapping):
        return event
    return event.as_dict()


def events_csv(events: Iterable[Any], *, extra: Mapping[str, Any] | None = None,
               leading: Sequence[str] = ()) -> bytes:
    """The events (``margin.simulate.Event`` or their ``as_dict()``) as UTF-8 CSV bytes, columns
    :data:`COLUMNS` (the command line's event fields plus ``mode`` and ``amount``), preceded by
    any ``extra`` columns (e.g. ``{"variant": "As built"}``) repeated on every row and by the
    rows' own ``leading`` fields. A header row even when there are no events."""
    extra = dict(extra or {})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*extra, *leading, *COLUMNS])
    for event in events:
        row = _row(event)
        writer.writerow([*extra.values(), *(_plain(row.get(name, "")) for name in (*leading, *COLUMNS))])
    return buffer.getvalue().encode("utf-8")


def _plain(value: Any) -> Any:
    """numpy scalars as plain numbers (``repr`` keeps every digit); names never a formula."""
    item = getattr(value, "item", None)
    return csv_cell(item() if callable(item) else value)


__all__ = ["COLUMNS", "events_csv"]
