"""Numbers for people: money with thousands separators, prices at sensible precision, percents.

Pure text, shared by the engine's lesson explanations and every page.
"""

from __future__ import annotations

import math

WHOLE_FROM = 1_000_000.0  # [USDT] from here on amounts and prices are whole: cents on millions claim too much


def _decimals(value: float, decimals: int) -> int:
    """``decimals`` below :data:`WHOLE_FROM`, none from there on (after rounding to ``decimals``:
    999,999.996 is shown as 1,000,000)."""
    return 0 if abs(round(value, decimals)) >= WHOLE_FROM else decimals


def money(value: float | None, *, signed: bool = False, unit: str = "USDT") -> str:
    """``12,345.67 USDT``; ``+1,200.00 USDT`` with ``signed``; "—" for None or non-finite;
    an amount that rounds to zero is ``0.00`` (no sign); from a million USDT on, whole USDT
    (:data:`WHOLE_FROM`: "48,213,904.17" claims cents no one knows on 48 million).

    >>> money(-1234.5), money(1200, signed=True), money(None), money(-0.001, signed=True)
    ('-1,234.50 USDT', '+1,200.00 USDT', '—', '0.00 USDT')
    >>> money(48_213_904.17), money(-999_999.994), money(999_999.996, signed=True), money(2.5e6, unit="")
    ('48,213,904 USDT', '-999,999.99 USDT', '+1,000,000 USDT', '2,500,000')
    """
    if value is None or not math.isfinite(value):
        return "—"
    if round(value, 2) == 0:
        value = 0.0  # no "-0.00": a loss that rounds to nothing is nothing
    digits = _decimals(value, 2)
    text = f"{value:+,.{digits}f}" if signed and value != 0 else f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()


def price(value: float | None) -> str:
    """A price with the precision its size needs: ``84,000.00``, ``2,412.50``, ``0.3125``;
    whole from a million on (:data:`WHOLE_FROM`).

    >>> price(84000), price(2412.5), price(0.31249), price(None), price(1_090_909.09)
    ('84,000.00', '2,412.50', '0.3125', '—', '1,090,909')
    """
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 1:
        return f"{value:,.{_decimals(value, 2)}f}"
    digits = max(2, 3 - int(math.floor(math.log10(abs(value)))) if value else 2)
    return f"{value:,.{digits}f}"


def quantity(value: float | None) -> str:
    """A position's size [base units] to four significant digits, never in exponent form:
    ``13,000``, ``4,167``, ``0.2018``, ``0.4``.

    >>> quantity(13_000.0), quantity(4_166.67), quantity(0.201782), quantity(0.4), quantity(None)
    ('13,000', '4,167', '0.2018', '0.4', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(fraction: float | None, digits: int = 1, *, signed: bool = False) -> str:
    """``-12.5 %`` from ``-0.125``.

    >>> percent(-0.125), percent(0.05, signed=True), percent(-0.0001, signed=True)
    ('-12.5 %', '+5.0 %', '0.0 %')
    """
    if fraction is None or not math.isfinite(fraction):
        return "—"
    value = fraction * 100
    if round(value, digits) == 0:
        value = 0.0  # "0.0 %", never "+0.0 %" or "-0.0 %"
        signed = False
    return f"{value:+.{digits}f} %" if signed else f"{value:.{digits}f} %"


def known_decimals(known_to: float, digits: int, scale: float = 1.0) -> int:
    """How many decimals a value known to ± ``known_to`` may show (at most ``digits``), when it
    is shown times ``scale`` (100 for a percent): the most whose half unit in the last place
    still covers the uncertainty, so the digits never claim more than is known.

    >>> known_decimals(1e-17, 2, 100), known_decimals(0.0025, 2, 100), known_decimals(0.02, 2, 100)
    (2, 0, 0)
    >>> known_decimals(0.0004, 2, 100)
    1
    """
    uncertainty = abs(known_to) * scale
    for d in range(digits, 0, -1):
        if uncertainty <= 0.5 * 10.0 ** -d:
            return d
    return 0


def percent_known(fraction: float | None, known_to: float, digits: int = 2, *, signed: bool = False) -> str:
    """:func:`percent` with no more decimals than are known (:func:`known_decimals`): an exact
    crossing (``margin.sweep.ShockCrossing``) to ``digits``, a value read off a grid to fewer.

    >>> percent_known(-0.092617, 1e-17, signed=True), percent_known(-0.095, 0.0025, signed=True)
    ('-9.26 %', '-10 %')
    """
    return percent(fraction, known_decimals(known_to, digits, 100.0), signed=signed)
