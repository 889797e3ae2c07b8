"""One entry point for exchange exports: detect the venue and endpoint from the JSON's shape.

A user pastes what their exchange returned for positions and balance: one paste holding one
or several JSON documents, an object ``{"positions": …, "account": …}``, or several pastes or
files (a mapping of names to text). Each document is recognised by its shape:

=========== ============================================ ==========================
venue       positions                                    balance
=========== ============================================ ==========================
Binance     ``positionRisk`` v2/v3 (a list of rows with  ``account`` v2/v3
            ``positionAmt``)                             (``totalWalletBalance``, ``assets``)
Bybit v5    ``position/list`` (``retCode``, ``result``   ``wallet-balance``; ``account/info``
            with ``category`` and ``list``)              optional, for the margin mode
OKX v5      ``account/positions`` (``code``, ``data``    ``account/balance`` (``details``);
            rows with ``pos``)                           ``public/instruments`` optional
Hyperliquid ``clearinghouseState`` (``assetPositions``,  the same document
            ``marginSummary``)
=========== ============================================ ==========================

Nothing is fetched: no network, no API keys. An error response an exchange sent instead of
data (Binance ``{"code": -2015, …}``, Bybit ``retCode`` ≠ 0, OKX ``code`` ≠ ``"0"``) is refused
with the exchange's own message.

>>> paste = '{"positions": [], "account": {"totalWalletBalance": "10"}}'
>>> try:
...     read_exchange_export(paste)
... except ScenarioError as err:
...     print(err)
positions: no open position in this export (the wallet holds 10.00 USDT); the lab needs at least one open position to show anything. Export again while a position is open, or build one in the Account builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from margin.imports import binance, bybit, hyperliquid, okx
from margin.imports.accounts import EXCHANGE_NAMES, ExportedAccount, no_open_position, to_scenario
from margin.imports.documents import parse_documents
from margin.scenario import ScenarioError

EXCHANGES = tuple(EXCHANGE_NAMES)
MAX_PASTES = 4
READERS: dict[str, Callable[[Mapping[str, Any]], ExportedAccount]] = {
    "binance": binance.read, "bybit": bybit.read, "okx": okx.read, "hyperliquid": hyperliquid.read,
}
# An object holding several exports: {"positions": …, "account": …} (keys in this order of reading)
COMBINED_PARTS = ("positions", "account", "balance", "wallet", "info", "instruments")
COMBINED_KEYS = frozenset(COMBINED_PARTS) | {"venue", "exchange"}
EXPECTED = ("expected Binance positionRisk or account, Bybit v5 position/list or wallet-balance, "
            "OKX v5 account/positions or account/balance, or Hyperliquid clearinghouseState")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """An imported account: the ``scenario`` dict (valid for ``scenario_from_dict``), the
    ``notes`` on what was assumed, in plain English, the ``exchange`` it came from, the
    ``endpoints`` read, and the ``venue`` preset whose rules it carries."""

    scenario: dict[str, Any]
    notes: tuple[str, ...]
    exchange: str
    endpoints: tuple[str, ...]
    venue: str


@dataclass(frozen=True, slots=True)
class Document:
    """One recognised JSON document: its ``exchange`` (``None`` for an empty list, whose shape
    says nothing), ``endpoint``, content and where it came from (``label``)."""

    exchange: str | None
    endpoint: str
    payload: Any
    label: str


def _describe(payload: Any) -> str:
    if isinstance(payload, Mapping):
        keys = ", ".join(repr(str(k)[:30]) for k in list(payload)[:6])
        more = ", …" if len(payload) > 6 else ""
        return f"an object with keys {keys}{more}" if payload else "an empty object"
    if isinstance(payload, list):
        return f"a list of {len(payload)} item{'s' if len(payload) != 1 else ''}"
    return f"a JSON {type(payload).__name__}"


def _unrecognised(payload: Any, label: str, what: str = "an export the lab can read") -> ScenarioError:
    return ScenarioError(label, f"is not {what}: {EXPECTED}; got {_describe(payload)}")


def _refuse_error_response(payload: Mapping[str, Any], label: str) -> None:
    code, message = None, None
    if "retCode" in payload and payload.get("retCode") != 0:
        code, message = payload.get("retCode"), payload.get("retMsg")
    elif "data" in payload and "code" in payload and payload.get("code") not in ("0", 0):
        code, message = payload.get("code"), payload.get("msg")
    elif set(payload) <= {"code", "msg"} and isinstance(payload.get("code"), int) and payload["code"] < 0:
        code, message = payload.get("code"), payload.get("msg")
    if code is not None:
        raise ScenarioError(label, (
            f"is an error the exchange sent instead of data (code {' '.join(str(code).split())[:20]}: {str(message)[:200]!r}); "
            "export again once the request succeeds"))


def _bybit_endpoint(payload: Mapping[str, Any], label: str) -> str:
    result = payload.get("result")
    if isinstance(result, Mapping):
        if "marginMode" in result:
            return "account/info"
        entries = result.get("list")
        if isinstance(entries, list):
            entries = [e for e in entries if isinstance(e, Mapping)]
            if "category" in result or any("positionIdx" in e or "avgPrice" in e for e in entries):
                return "position/list"
            if any("coin" in e or "accountType" in e for e in entries):
                return "wallet-balance"
    raise _unrecognised(payload, label, "a Bybit response the lab can read")


def _okx_endpoint(payload: Mapping[str, Any], label: str) -> str:
    entries = [e for e in payload["data"] if isinstance(e, Mapping)]
    if not payload["data"] or any("pos" in e and "instId" in e for e in entries):
        return "positions"  # a balance always has one entry; an empty list is no position
    if any("details" in e or "totalEq" in e for e in entries):
        return "balance"
    if any("ctVal" in e for e in entries):
        return "instruments"
    raise _unrecognised(payload, label, "an OKX response the lab can read")


def identify(payload: Any, label: str) -> Document:
    """Which exchange and endpoint a parsed JSON document is, from its shape alone.

    >>> identify([{"symbol": "BTCUSDT", "positionAmt": "0.1"}], "paste").endpoint
    'positionRisk'
    >>> identify({"retCode": 0, "result": {"category": "linear", "list": []}}, "paste").exchange
    'bybit'
    """
    if isinstance(payload, list):
        if not payload:
            return Document(None, "positionRisk", payload, label)
        if all(isinstance(r, Mapping) and "positionAmt" in r and "symbol" in r for r in payload):
            return Document("binance", "positionRisk", payload, label)
        raise _unrecognised(payload, label)
    if not isinstance(payload, Mapping):
        raise _unrecognised(payload, label)
    _refuse_error_response(payload, label)
    if "assetPositions" in payload:
        return Document("hyperliquid", "clearinghouseState", payload, label)
    if "retCode" in payload and "result" in payload:
        return Document("bybit", _bybit_endpoint(payload, label), payload, label)
    if "code" in payload and isinstance(payload.get("data"), list):
        return Document("okx", _okx_endpoint(payload, label), payload, label)
    if "totalWalletBalance" in payload or ("assets" in payload and "positions" in payload):
        return Document("binance", "account", payload, label)
    raise _unrecognised(payload, label)


def _venue(value: Any, where: str) -> str | None:
    if value is None:
        return None
    name = str(value).strip().lower()
    if name not in EXCHANGES:
        raise ScenarioError(where, f"must be one of {', '.join(EXCHANGES)}, got {str(value)[:40]!r}")
    return name


def _pastes(source: Mapping[str, str | bytes] | str | bytes) -> list[tuple[str, str | bytes]]:
    if isinstance(source, (str, bytes)):
        return [("paste", source)]
    if not isinstance(source, Mapping) or not source:
        raise ScenarioError("export", "needs the text of one or more pastes or files")
    if len(source) > MAX_PASTES:
        raise ScenarioError("export", f"has {len(source)} pastes or files; at most {MAX_PASTES} are read")
    pastes = []
    for name, data in source.items():
        if not isinstance(data, (str, bytes)):
            raise ScenarioError(str(name), f"must be text or bytes, got {type(data).__name__}")
        pastes.append((str(name)[:80], data))
    return pastes


def _parts(document: Any, label: str) -> tuple[list[tuple[Any, str]], str | None]:
    """A combined object split into its exports (strings in it parsed too), and its venue hint."""
    if not (isinstance(document, Mapping) and document and set(document) <= COMBINED_KEYS
            and any(k in document for k in COMBINED_PARTS)):
        return [(document, label)], None
    parts = []
    for key in COMBINED_PARTS:
        if key in document:
            value = document[key]
            inner = parse_documents(value, f"{label}.{key}") if isinstance(value, (str, bytes)) else [value]
            parts += [(doc, f"{label}.{key}") for doc in inner]
    hint = _venue(document.get("venue", document.get("exchange")), f"{label}.venue")
    return parts, hint


def _documents(source: Mapping[str, str | bytes] | str | bytes) -> tuple[list[Document], list[str]]:
    documents, hints = [], []
    for name, data in _pastes(source):
        parsed = parse_documents(data, name)
        for index, document in enumerate(parsed):
            label = name if len(parsed) == 1 else f"{name} (document {index + 1})"
            parts, hint = _parts(document, label)
            hints += [hint] if hint else []
            documents += [identify(payload, where) for payload, where in parts]
    return documents, hints


def _exchange(documents: list[Document], wanted: list[str]) -> str:
    found: dict[str, Document] = {}
    for document in documents:
        if document.exchange is not None:
            found.setdefault(document.exchange, document)
    if len(found) > 1:
        listed = "; ".join(f"{d.label} is {EXCHANGE_NAMES[e]} {d.endpoint}" for e, d in found.items())
        raise ScenarioError("export", f"mixes exchanges ({listed}); paste one exchange's exports")
    for venue in wanted:
        for exchange, document in found.items():
            if exchange != venue:
                raise ScenarioError("venue", (f"is {venue!r}, but {document.label} looks like "
                                              f"{EXCHANGE_NAMES[exchange]} {document.endpoint}"))
    if len(set(wanted)) > 1:
        raise ScenarioError("venue", f"is given twice, as {' and '.join(sorted(set(wanted)))}")
    chosen = next(iter(found), None) or (wanted[0] if wanted else None)
    if chosen is None:
        raise no_open_position(None)
    return chosen


def read_exchange_export(source: Mapping[str, str | bytes] | str | bytes, venue: str | None = None) -> ImportResult:
    """Turn what an exchange exported for positions and balance into a scenario.

    ``source`` is one paste (text or bytes) or a mapping of paste or file names to their text;
    ``venue`` (``"binance"``, ``"bybit"``, ``"okx"``, ``"hyperliquid"``) is optional and only
    checked against what the shapes say. Raises :class:`ScenarioError` naming the field for
    anything it cannot map; see the module and the venue modules for what is assumed.
    """
    documents, hints = _documents(source)
    named = _venue(venue, "venue")
    wanted = ([named] if named is not None else []) + hints
    exchange = _exchange(documents, wanted)
    by_endpoint: dict[str, Any] = {}
    for document in documents:
        if document.exchange is None and exchange != "binance":
            raise ScenarioError(document.label, f"is an empty list, which is not a {EXCHANGE_NAMES[exchange]} export")
        if document.endpoint in by_endpoint:
            raise ScenarioError(document.label, (
                f"is a second {document.endpoint} export; paste one positions and one balance export"))
        by_endpoint[document.endpoint] = document.payload
    account = READERS[exchange](by_endpoint)
    scenario, notes = to_scenario(account)
    return ImportResult(scenario=scenario, notes=tuple(notes), exchange=exchange,
                        endpoints=account.endpoints, venue=scenario["venue"])
