"""margin.numbers: money and prices show no more digits than are known: cents below a million
USDT, whole USDT from there on ("cents on 48 million", issue 23), and the text read back is the
value to within half its last digit."""

from __future__ import annotations

from hypothesis import given, strategies as st

from margin.numbers import money, price

MILLION = 1_000_000.0  # the rule, stated here rather than read from the code under test
AMOUNTS = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


def _read(text: str) -> float:
    return float(text.replace(" USDT", "").replace(",", ""))


@given(AMOUNTS, st.booleans())
def test_money_drops_cents_from_a_million_on(value, signed):
    text = money(value, signed=signed)
    shown = _read(text)
    decimals = len(text.split(" ")[0].partition(".")[2])
    if abs(shown) >= MILLION:
        assert decimals == 0 and abs(shown - value) <= 0.5 + 1e-3
    else:
        assert decimals == 2 and abs(shown - value) <= 0.005 + 1e-9


@given(st.floats(1.0, 1e12))
def test_prices_from_a_million_on_are_whole(value):
    text = price(value)
    assert ("." in text) == (float(text.replace(",", "")) < MILLION)


def test_the_examples():
    assert money(48_213_904.17) == "48,213,904 USDT"
    assert money(-48_213_904.2, signed=True) == "-48,213,904 USDT" and money(2e6, signed=True) == "+2,000,000 USDT"
    assert money(999_999.99) == "999,999.99 USDT" and money(1_000_000) == "1,000,000 USDT"
    assert price(84_368.84) == "84,368.84" and price(1_090_909.09) == "1,090,909"
