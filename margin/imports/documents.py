"""Reading pasted exchange JSON safely, and reading fields out of it with their names.

An exchange export is untrusted text, read with the checks of every door (:mod:`margin.fields`):
size (1 MB), encoding (UTF-8), nesting depth (counted without recursion, so a hostile
``[[[[…`` cannot exhaust the stack), no ``NaN`` or ``Infinity``. Every problem is a
:class:`~margin.fields.ScenarioError` that names where it is.

Exchanges send decimals as strings (``"0.41047590"``); :func:`number` reads either form.

>>> parse_documents('{"a": "1.5"} [2]', "paste")
[{'a': '1.5'}, [2]]
>>> number({"markPrice": "0.41047590"}, "markPrice", "positionRisk[0]")
0.4104759
>>> try:
...     number({"markPrice": "abc"}, "markPrice", "positionRisk[0]")
... except ScenarioError as err:
...     print(err)
positionRisk[0].markPrice: must be a number, got 'abc'
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from margin.fields import MAX_FILE_BYTES, MAX_NESTING, ScenarioError, decode_text, json_decoder, nesting_depth
from margin.fields import number as checked_number
from margin.limits import MAX_ID_CHARS

MAX_IMPORT_BYTES = MAX_FILE_BYTES  # one paste or file; an account export is a few kilobytes
MAX_DEPTH = MAX_NESTING  # exchange exports nest 4 to 6 levels; anything deeper is not one
MAX_DOCUMENTS = 8  # JSON documents one after another in one paste
MIN_EXPORT_NUMBER, MAX_EXPORT_NUMBER = 1e-18, 1e18  # |a nonzero number| an export may hold: no amount, price,
# size or rate lies outside, and a ratio of two (leverage = notional / margin) stays finite
MAX_TIME_MS = 253_402_300_799_999  # an exchange's timestamp [ms since 1970]: the last of the year 9999

_SPACE = re.compile(r"[ \t\n\r]*")


def parse_documents(data: str | bytes, label: str) -> list[Any]:
    """Every JSON document in a paste, in order (one, or several one after another), read
    with the checks of every door (:mod:`margin.fields`: size, UTF-8, depth, no NaN)."""
    text = decode_text(data, label, limit=MAX_IMPORT_BYTES).lstrip("\ufeff")
    if not text.strip():
        raise ScenarioError(label, "is empty: paste the JSON the exchange returned")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ScenarioError(label, f"nests {depth:,} levels deep; the limit is {MAX_DEPTH}, and no exchange export "
                            "comes near it")
    decoder = json_decoder()
    documents: list[Any] = []
    position = _after_space(text, 0)
    while position < len(text):
        if len(documents) == MAX_DOCUMENTS:
            raise ScenarioError(label, f"holds more than {MAX_DOCUMENTS} JSON documents")
        try:
            document, end = decoder.raw_decode(text, position)
        except ScenarioError as err:
            raise ScenarioError(label, f"is not valid JSON: {err.problem}") from None
        except json.JSONDecodeError as err:
            raise ScenarioError(label, f"is not valid JSON: {err.msg} at line {err.lineno} "
                                f"column {err.colno}") from None
        documents.append(document)
        position = _after_space(text, end)
    return documents


def _after_space(text: str, start: int) -> int:
    """Where the white space from ``start`` on ends (``_SPACE`` matches the empty run too)."""
    found = _SPACE.match(text, start)
    return found.end() if found else start


# ----------------------------------------------------------------------------- fields


def _where(where: str, key: str | int) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(where, f"must be a JSON object, got {kind_of(value)}")
    return value


def kind_of(value: Any) -> str:
    """A value from an export as a message shows it: short, on one line (``'BOTH'``, ``a list``)."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value)[:40] if isinstance(value, (str, bool, int, float)) else type(value).__name__


def listing(values: Iterable[Any], most: int = 8) -> str:
    """Names from an export for a message: each short and on one line, at most ``most`` of them.

    >>> listing(["BTC", "ETH"]), listing(["BTC" * 20, "ETH\\nUSD"]), listing(range(12), most=3), listing([])
    ('BTC, ETH', 'BTCBTCBTCBTCBTCBTCBTCBTCBTCBTC…, ETH USD', '0, 1, 2 and 9 more', 'none')
    """
    names = [" ".join(str(value).split()) for value in values]
    shown = [name if len(name) <= 30 else name[:30] + "…" for name in names[:most]]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return (", ".join(shown) + more) or "none"


def required(obj: Mapping[str, Any], key: str, where: str) -> Any:
    """``obj[key]``, or an error naming the missing field."""
    if key not in obj or obj[key] is None:
        raise ScenarioError(_where(where, key), "is missing")
    return obj[key]


def rows(obj: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    """A list of objects under ``key``."""
    value = required(obj, key, where)
    here = _where(where, key)
    if not isinstance(value, list):
        raise ScenarioError(here, f"must be a list, got {kind_of(value)}")
    return [mapping(item, _where(here, i)) for i, item in enumerate(value)]


def text(obj: Mapping[str, Any], key: str, where: str) -> str:
    """The name in ``obj[key]`` (a symbol, a margin mode): a string of at most
    :data:`~margin.limits.MAX_ID_CHARS` printable characters, so that a message quoting it
    stays one short line.

    >>> text({"symbol": "BTCUSDT"}, "symbol", "positionRisk[0]")
    'BTCUSDT'
    >>> try:
    ...     text({"symbol": "BTC\\nUSDT"}, "symbol", "positionRisk[0]")
    ... except ScenarioError as err:
    ...     print(err)
    positionRisk[0].symbol: must be a name of printable characters, got 'BTC\\nUSDT'
    """
    value = required(obj, key, where)
    if not isinstance(value, str):
        raise ScenarioError(_where(where, key), f"must be a string, got {kind_of(value)}")
    if len(value) > MAX_ID_CHARS:
        raise ScenarioError(_where(where, key), f"must be at most {MAX_ID_CHARS} characters, got {len(value):,}")
    if not value.isprintable():  # a line break, a control or an invisible character
        raise ScenarioError(_where(where, key), f"must be a name of printable characters, got {kind_of(value)}")
    return value


def to_number(value: Any, where: str) -> float:
    """A finite number from a JSON number or a string holding a decimal number, 0 or of a size
    an export can hold ([:data:`MIN_EXPORT_NUMBER`, :data:`MAX_EXPORT_NUMBER`]): a subnormal
    such as ``"1e-320"`` would make a ratio of it infinite, a 40-digit one is no amount.

    >>> to_number("-0.0134", "unrealizedPnl"), to_number(0, "pos")
    (-0.0134, 0.0)
    >>> try:
    ...     to_number("1e-320", "positionRisk[0].positionInitialMargin")
    ... except ScenarioError as err:
    ...     print(err)
    positionRisk[0].positionInitialMargin: is 1e-320, too close to 0 for any amount, price or rate (the smallest an export may hold is 1e-18); is the export damaged?
    """
    result = checked_number(value, where)
    size = abs(result)
    shown = value.strip() if isinstance(value, str) else f"{result:.6g}"  # as sent: 1e-320 prints as 9.99989e-321
    if size > MAX_EXPORT_NUMBER:
        raise ScenarioError(where, f"is {shown}, larger than any amount, price or rate (the limit is "
                            f"{MAX_EXPORT_NUMBER:g}); is the export damaged?")
    if 0 < size < MIN_EXPORT_NUMBER:
        raise ScenarioError(where, f"is {shown}, too close to 0 for any amount, price or rate (the smallest "
                            f"an export may hold is {MIN_EXPORT_NUMBER:g}); is the export damaged?")
    return result


def optional_time(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    """The exchange's timestamp in ``obj[key]`` [ms since 1970] (a JSON number or a digit
    string); ``None`` when absent, null or ``""``. One no date can be made of is refused.

    >>> optional_time({"updateTime": 1720736417660}, "updateTime", "positionRisk[0]")
    1720736417660
    >>> optional_time({"uTime": "1735689000000"}, "uTime", "positions.data[0]")
    1735689000000
    >>> try:
    ...     optional_time({"time": "9" * 40}, "time", "clearinghouseState")
    ... except ScenarioError as err:
    ...     print(err)
    clearinghouseState.time: must be a time in milliseconds since 1970 up to the year 9999, got a number of 40 digits
    """
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    here = _where(where, key)
    digits = value.strip() if isinstance(value, str) else value
    if isinstance(digits, str) and digits.isascii() and digits.isdigit():
        digits = int(digits)
    if isinstance(digits, float) and digits.is_integer():
        digits = int(digits)
    if not isinstance(digits, int) or isinstance(digits, bool):
        raise ScenarioError(here, f"must be a time in milliseconds since 1970, got {kind_of(value)}")
    if not 0 <= digits <= MAX_TIME_MS:
        shown = f"a number of {len(str(abs(digits)))} digits" if abs(digits) > MAX_TIME_MS else f"{digits:,}"
        raise ScenarioError(here, f"must be a time in milliseconds since 1970 up to the year 9999, got {shown}")
    return digits


def number(obj: Mapping[str, Any], key: str, where: str, *, positive: bool = False) -> float:
    """The number in ``obj[key]`` (a string or a JSON number) [the field's unit]."""
    value = to_number(required(obj, key, where), _where(where, key))
    if positive and value <= 0:
        raise ScenarioError(_where(where, key), f"must be > 0, got {value:g}")
    return value


def optional_number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    """The number in ``obj[key]``; ``None`` when absent, null or ``""`` (the exchanges' "not
    applicable")."""
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return to_number(value, _where(where, key))
