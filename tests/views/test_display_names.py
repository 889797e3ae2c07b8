"""Names the pages show for exchanges and venues are in characters every common font has: the
circled S of Binance's "USDⓈ-M" draws as an empty box in many (issue 23), so it is "USDS-M"
wherever it is displayed (a source's citation keeps Binance's own spelling)."""

from __future__ import annotations

import pytest

from margin.imports.accounts import EXCHANGE_NAMES
from margin.presets import load_venue, venue_ids
from ui.builder.model import EXCHANGE_TITLES


def _shown() -> list[tuple[str, str]]:
    names = [(f"EXCHANGE_NAMES[{k}]", v) for k, v in EXCHANGE_NAMES.items()]
    names += [(f"EXCHANGE_TITLES[{k}]", v) for k, v in EXCHANGE_TITLES.items()]
    names += [(f"assets/venues/{v}.json name", str(load_venue(v)["name"])) for v in venue_ids()]
    return names


@pytest.mark.parametrize("where, name", _shown())
def test_every_displayed_name_is_in_plain_characters(where, name):
    assert name.isascii(), f"{where}: {name!r} has a character common fonts may lack"


def test_binance_reads_usds_m():
    assert EXCHANGE_NAMES["binance"] == "Binance USDS-M" and "USDS-M" in str(load_venue("binance")["name"])
