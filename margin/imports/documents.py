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
from typing import Any, Mapping

from margin.fields import MAX_FILE_BYTES, MAX_NESTING, ScenarioError, decode_text, json_decoder, nesting_depth
from margin.fields import number as checked_number

MAX_IMPORT_BYTES = MAX_FILE_BYTES  # one paste or file; an account export is a few kilobytes
MAX_DEPTH = MAX_NESTING  # exchange exports nest 4 to 6 levels; anything deeper is not one
MAX_DOCUMENTS = 8  # JSON documents one after another in one paste

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
    position = _SPACE.match(text).end()
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
    return checked_number(value, where)


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
