"""The input boundary: every file, link, upload and table cell is read and checked here.

One place for the rules that every door applies: reading at most so many bytes, UTF-8 text,
JSON nested at most :data:`MAX_NESTING` deep with no NaN or Infinity, finite numbers within
their documented ranges, text of bounded length. A problem raises :class:`ScenarioError`,
whose message names the field: ``positions[1].size: must be > 0, got -3``. The command line
turns it into exit 2 and one line on standard error; a page shows it and keeps the account.

>>> number("12.5", "x", low=0)
12.5
>>> number(float("nan"), "positions[0].size")
Traceback (most recent call last):
...
margin.fields.ScenarioError: positions[0].size: must be a number, got NaN
>>> parse_json("[" * 100 + "]" * 100, "scenario")
Traceback (most recent call last):
...
margin.fields.ScenarioError: scenario: is nested 100 levels deep; the limit is 32
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping
from margin.limits import (  # noqa: F401  (the bounds live in margin.limits)
    MAX_FILE_BYTES, MAX_NESTING, MAX_NUMBER_DIGITS, MAX_NAME_CHARS, MAX_PRICE, MAX_TEXT_CHARS, MIN_PRICE,
)

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")  # what a number in text looks like


class ScenarioError(ValueError):
    """Bad input. ``str(err)`` is one line: ``<field>: <problem>``."""

    def __init__(self, field_name: str, problem: str):
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}")

    def __reduce__(self):  # so that one raised in a worker process reaches the page whole
        return type(self), (self.field, self.problem)


def fmt(value: float) -> str:
    """A number for a message: ``3``, ``0.005``, ``1e+20``.

    >>> fmt(3.0), fmt(0.005), fmt(1e20)
    ('3', '0.005', '1e+20')
    """
    return f"{value:g}"


# ----------------------------------------------------------------------------- values


def number(value: Any, where: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, integer: bool = False) -> float:
    """``value`` as a finite float within [low, high] (open ends with ``low_open`` /
    ``high_open``); a string holding a number is read. ``integer``: a whole number.

    >>> number(3, "n", low=0, low_open=True), number("1e3", "n", high=1e3)
    (3.0, 1000.0)
    >>> number(0, "size", low=0, low_open=True)
    Traceback (most recent call last):
    ...
    margin.fields.ScenarioError: size: must be > 0, got 0
    """
    if isinstance(value, bool) or value is None or not isinstance(value, (int, float, str)):
        kind = "nothing" if value is None else type(value).__name__
        raise ScenarioError(where, f"must be a number, got {kind}")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_DIGITS + 10:
            raise ScenarioError(where, f"must be a number, got text of {len(text):,} characters")
        if not text:
            raise ScenarioError(where, "is empty; a number is needed")
        if not _DECIMAL.fullmatch(text):
            raise ScenarioError(where, f"must be a number, got {_quote(text)}")
        value = float(text)
    try:
        result = float(value)
    except OverflowError:
        raise ScenarioError(where, "must be a finite number, got a number too large to hold") from None
    if math.isnan(result):
        raise ScenarioError(where, "must be a number, got NaN")
    if math.isinf(result):
        raise ScenarioError(where, f"must be finite, got {result}")
    if low is not None and (result < low or (low_open and result == low)):
        raise ScenarioError(where, f"must be {'>' if low_open else '≥'} {fmt(low)}, got {fmt(result)}")
    if high is not None and (result > high or (high_open and result == high)):
        raise ScenarioError(where, f"must be {'<' if high_open else '≤'} {fmt(high)}, got {fmt(result)}")
    if integer and not result.is_integer():
        raise ScenarioError(where, f"must be a whole number, got {fmt(result)}")
    return result


def price_field(value: Any, where: str) -> float:
    """A price [quote per base]: > 0, at least 1e-9 and at most 1e9.

    >>> price_field("0.5", "markets.X.price")
    0.5
    """
    price = number(value, where, low=0.0, low_open=True, high=MAX_PRICE)
    if price < MIN_PRICE:
        raise ScenarioError(where, f"must be at least {fmt(MIN_PRICE)}, got {fmt(price)}")
    return price


def whole(value: Any, where: str, low: int, high: int) -> int:
    """A whole number in [low, high].

    >>> whole(7.0, "seed", 0, 10), whole(2**62 + 1, "seed", 0, 2**63 - 1)
    (7, 4611686018427387905)
    """
    if isinstance(value, int) and not isinstance(value, bool):  # exactly, however large
        if not low <= value <= high:
            raise ScenarioError(where, f"must be in [{low:,}, {high:,}], got {value:,}")
        return value
    result = number(value, where, integer=True)
    if not low <= result <= high:
        raise ScenarioError(where, f"must be in [{low:,}, {high:,}], got {fmt(result)}")
    return int(result)


def rate(value: Any, where: str, *, allow_one: bool = False) -> float:
    """A fraction in [0, 1) (or [0, 1] with ``allow_one``).

    >>> rate(0.004, "mmr")
    0.004
    """
    fraction = number(value, where)
    if fraction < 0 or fraction > 1 or (fraction == 1 and not allow_one):
        raise ScenarioError(where, f"must be in [0, 1{']' if allow_one else ')'}, got {fmt(fraction)}")
    return fraction


def choice(value: Any, where: str, allowed: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``allowed``."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in allowed:
        return value
    options = " or ".join(repr(a) for a in allowed)
    raise ScenarioError(where, f"must be {options}, got {_quote(value)}")


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise ScenarioError(where, f"must be an object, got {type(value).__name__}")
    return value


def text(value: Any, where: str, *, max_chars: int = MAX_NAME_CHARS, allow_empty: bool = False) -> str:
    """A piece of text a person wrote: a string of at most ``max_chars`` characters, no
    control characters but newlines and tabs (it is shown as text, never as markup).

    >>> text("SOL long", "id")
    'SOL long'
    >>> text("x" * 200, "name")
    Traceback (most recent call last):
    ...
    margin.fields.ScenarioError: name: must be at most 120 characters, got 200
    """
    if not isinstance(value, str):
        raise ScenarioError(where, f"must be text, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ScenarioError(where, "must not be empty")
    if len(value) > max_chars:
        raise ScenarioError(where, f"must be at most {max_chars:,} characters, got {len(value):,}")
    bad = next((c for c in value if (ord(c) < 32 and c not in "\n\t") or 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        raise ScenarioError(where, f"must not hold the control character U+{ord(bad):04X}")
    return value


def known_fields(raw: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
    """Refuse a key of the object ``raw`` (at path ``where``; "" for the top) that is not one of
    ``allowed``, naming its path: a misspelt field is an error, never silently ignored. The
    nearest known name is suggested.

    >>> known_fields({"size": 1, "stop_los": 90}, "positions[2]", ("size", "stop_loss"))
    Traceback (most recent call last):
    ...
    margin.fields.ScenarioError: positions[2].stop_los: unknown field (did you mean 'stop_loss'?)
    """
    allowed = tuple(allowed)
    for key in raw:
        if key in allowed:
            continue
        shown = str(key)[:60]
        shown = "".join(c if c.isprintable() else "?" for c in shown)
        path = f"{where}.{shown}" if where else shown
        near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.75)
        raise ScenarioError(path, "unknown field" + (f" (did you mean {near[0]!r}?)" if near else ""))


def plain_json(value: Any, where: str, depth: int = 0) -> None:
    """Check that ``value`` is plain JSON a person may attach to a document (notes): finite
    numbers, text of bounded length, at most 8 levels and 1,000 items a list."""
    if depth > 8:
        raise ScenarioError(where, "is nested too deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(where, "must hold finite numbers only")
    if isinstance(value, str):
        text(value, where, max_chars=MAX_TEXT_CHARS, allow_empty=True)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            plain_json(v, f"{where}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:1000]):
            plain_json(v, f"{where}[{i}]", depth + 1)
        if len(value) > 1000:
            raise ScenarioError(where, "holds more than 1,000 items")
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise ScenarioError(where, f"must be plain JSON, got {type(value).__name__}")


def _quote(value: Any) -> str:
    """A bad value for a message: short, and only the value's own characters (a page shows
    the message as text, never as markup)."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "…"


# ----------------------------------------------------------------------------- documents


def size_words(limit: int) -> str:
    """``"1,000,000 bytes (1 MB)"``.

    >>> size_words(1_000_000), size_words(200_000_000)
    ('1,000,000 bytes (1 MB)', '200,000,000 bytes (200 MB)')
    """
    return f"{limit:,} bytes ({limit / 1e6:g} MB)"


def read_bytes(source: str | Path, *, limit: int = MAX_FILE_BYTES, what: str = "scenario") -> bytes:
    """The bytes of file ``source`` (``"-"``: standard input), at most ``limit`` of them; a
    larger file, a folder or an unreadable path is refused with a message naming ``what``."""
    if str(source) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise ScenarioError(what, f"standard input holds more than {size_words(limit)}; that is the limit")
        return data
    path = Path(source)
    try:
        if path.is_dir():
            raise ScenarioError(what, f"{str(path)!r} is a folder, not a file")
        size = path.stat().st_size
        if size > limit:
            raise ScenarioError(what, f"file is {size:,} bytes; the limit is {size_words(limit)}")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise ScenarioError(what, f"cannot read {str(path)!r}: {err.strerror or err}") from None
    if len(data) > limit:
        raise ScenarioError(what, f"file is more than {size_words(limit)}, the limit")
    return data


def decode_text(data: bytes | str, what: str = "scenario", *, limit: int = MAX_FILE_BYTES) -> str:
    """``data`` as text: at most ``limit`` bytes of UTF-8 (a BOM is dropped)."""
    if len(data) > limit:
        raise ScenarioError(what, f"is {len(data):,} bytes; the limit is {size_words(limit)}")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScenarioError(what, f"is not UTF-8 text ({err.reason} at byte {err.start:,})") from None


def nesting_depth(text_: str) -> int:
    """How deep JSON arrays and objects nest in ``text_`` (brackets inside strings do not
    count), in one pass, without parsing: a deep document is refused before ``json`` would
    recurse into it.

    >>> nesting_depth('{"a": [1, {"b": "[[["}]}')
    3
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text_:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> float:
    raise ScenarioError("JSON", f"holds {name}, which is not a number JSON allows")


def json_decoder(*, nan_to_field: bool = False) -> json.JSONDecoder:
    """The JSON decoder every door uses: no NaN or Infinity (or, with ``nan_to_field``, read
    as floats for the field's own check to refuse by name), no integer of more than
    :data:`MAX_NUMBER_DIGITS` digits. Check :func:`nesting_depth` before decoding."""
    return json.JSONDecoder(parse_constant=_constant_as_float if nan_to_field else _reject_constant,
                            parse_int=_int)


def _constant_as_float(name: str) -> float:
    return float(name.lower().replace("infinity", "inf"))


def parse_json(data: bytes | str, what: str = "scenario", *, limit: int = MAX_FILE_BYTES,
               max_nesting: int = MAX_NESTING, nan_to_field: bool = False) -> Any:
    """``data`` (UTF-8 bytes or text, at most ``limit`` bytes) parsed as JSON: nested at most
    ``max_nesting`` deep, without NaN, Infinity or integers of more than
    :data:`MAX_NUMBER_DIGITS` digits. With ``nan_to_field`` NaN and Infinity are read as
    floats, so that the field's own check refuses them and names the field."""
    source = decode_text(data, what, limit=limit)
    depth = nesting_depth(source)
    if depth > max_nesting:
        raise ScenarioError(what, f"is nested {depth:,} levels deep; the limit is {max_nesting}")
    try:
        return json_decoder(nan_to_field=nan_to_field).decode(source)
    except ScenarioError as err:
        raise ScenarioError(what, f"is not valid JSON: {err.problem}") from None
    except json.JSONDecodeError as err:
        raise ScenarioError(what, f"is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except (ValueError, RecursionError) as err:
        raise ScenarioError(what, f"is not valid JSON: {str(err).splitlines()[0][:120]}") from None


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ScenarioError("JSON", f"holds an integer of {len(digits):,} digits; the limit is {MAX_NUMBER_DIGITS}")
    return int(digits)


__all__ = [
    "MAX_FILE_BYTES", "MAX_NAME_CHARS", "MAX_NESTING", "MAX_TEXT_CHARS", "ScenarioError", "choice",
    "decode_text", "fmt", "json_decoder", "known_fields", "mapping", "nesting_depth", "number", "parse_json",
    "plain_json", "price_field", "rate", "read_bytes",
    "size_words", "text", "whole",
]
