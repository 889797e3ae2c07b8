"""Reading pasted exchange JSON safely, and reading fields out of it with their names.

An exchange export is untrusted text. Before it reaches :func:`json.loads` it is checked for
size (1 MB), encoding (UTF-8), nesting depth (64 levels, counted without recursion, so a
hostile ``[[[[…`` cannot exhaust the stack) and the non-JSON constants ``NaN`` and
``Infinity`` that Python's parser would otherwise accept. Every problem is a
:class:`~margin.scenario.ScenarioError` that names where it is.

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
import math
import re
from typing import Any, Mapping

import numpy as np

from margin.scenario import ScenarioError

MAX_IMPORT_BYTES = 1_000_000  # one paste or file; an account export is a few kilobytes
MAX_DEPTH = 64  # exchange exports nest 4 to 6 levels; anything deeper is not one
MAX_DOCUMENTS = 8  # JSON documents one after another in one paste

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_CONSTANT = re.compile(r"(?<![\w.+-])(-?Infinity|NaN)(?![\w.])")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"[ \t\n\r]*")
_OPENERS = (ord("["), ord("{"))
_CLOSERS = (ord("]"), ord("}"))


def decode_text(data: str | bytes, label: str, limit: int = MAX_IMPORT_BYTES) -> str:
    """The text of a paste or file, refused over ``limit`` bytes or when it is not UTF-8."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ScenarioError(label, f"is {size:,} bytes; the limit is {limit:,} ({limit / 1e6:g} MB)")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ScenarioError(label, f"is not UTF-8 text ({err.reason} at byte {err.start})") from None
    return data.lstrip("\ufeff")


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line} column {column}"


def _blank_strings(text: str) -> str:
    """The text with every string literal's inside replaced by spaces (same length), so
    brackets and words inside strings are not counted as structure."""
    return _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)


def _check_structure(text: str, label: str) -> None:
    skeleton = _blank_strings(text)
    constant = _CONSTANT.search(skeleton)
    if constant:
        raise ScenarioError(label, f"is not valid JSON: {constant.group()} at "
                            f"{_line_column(text, constant.start())} (JSON has no NaN or Infinity)")
    codes = np.frombuffer(skeleton.encode("utf-32-le"), dtype=np.uint32)
    step = np.isin(codes, _OPENERS).astype(np.int64) - np.isin(codes, _CLOSERS).astype(np.int64)
    depth = np.cumsum(step)
    if depth.size and depth.max() > MAX_DEPTH:
        where = int(np.argmax(depth > MAX_DEPTH))
        raise ScenarioError(label, f"nests deeper than {MAX_DEPTH} levels (at {_line_column(text, where)}); "
                            "no exchange export does")


def parse_documents(data: str | bytes, label: str) -> list[Any]:
    """Every JSON document in a paste, in order (one, or several one after another)."""
    text = decode_text(data, label)
    if not text.strip():
        raise ScenarioError(label, "is empty: paste the JSON the exchange returned")
    _check_structure(text, label)
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = _SPACE.match(text).end()
    while position < len(text):
        if len(documents) == MAX_DOCUMENTS:
            raise ScenarioError(label, f"holds more than {MAX_DOCUMENTS} JSON documents")
        try:
            document, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as err:
            raise ScenarioError(label, f"is not valid JSON: {err.msg} at line {err.lineno} "
                                f"column {err.colno}") from None
        except RecursionError:  # the depth check makes this unreachable; belt and braces
            raise ScenarioError(label, f"nests deeper than {MAX_DEPTH} levels") from None
        except ValueError as err:  # an integer over Python's 4,300-digit limit
            raise ScenarioError(label, f"is not JSON the lab can read: {str(err)[:120]}") from None
        documents.append(document)
        position = _SPACE.match(text, end).end()
    return documents


# ----------------------------------------------------------------------------- fields


def _where(where: str, key: str | int) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(where, f"must be a JSON object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value)[:40] if isinstance(value, (str, bool, int, float)) else type(value).__name__


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
        raise ScenarioError(here, f"must be a list, got {_kind(value)}")
    return [mapping(item, _where(here, i)) for i, item in enumerate(value)]


def text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = required(obj, key, where)
    if not isinstance(value, str):
        raise ScenarioError(_where(where, key), f"must be a string, got {_kind(value)}")
    return value


def to_number(value: Any, where: str) -> float:
    """A finite number from a JSON number or a string holding a decimal number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ScenarioError(where, f"must be a number, got {_kind(value)}")
    if isinstance(value, str):
        if not value.strip():
            raise ScenarioError(where, "is empty; a number is needed")
        if not _DECIMAL.fullmatch(value.strip()):
            raise ScenarioError(where, f"must be a number, got {value[:40]!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the largest float
        number = math.inf
    if not math.isfinite(number):
        raise ScenarioError(where, f"must be a finite number, got {str(value)[:40]}")
    return number


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
