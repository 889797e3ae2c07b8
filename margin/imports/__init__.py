"""The trader's own data: exchange exports into scenarios, exchange candles into crash paths.

Pure and offline: nothing here opens a network connection or needs an API key. The user
pastes (or uploads) what their exchange returned, and gets either a scenario dict in the
``margin-scenario/1`` format or a :class:`~margin.crashes.Crash` for the crash replay.

- :func:`read_exchange_export`: Binance USDⓈ-M ``positionRisk`` + ``account``, Bybit v5
  ``position/list`` + ``wallet-balance``, OKX v5 ``account/positions`` + ``account/balance``,
  Hyperliquid ``clearinghouseState``, detected from the JSON's shape. Returns an
  :class:`ImportResult` with the scenario and plain-English notes on what was assumed.
- :func:`read_klines`: a kline CSV in the layout of Binance's public data archive
  (data.binance.vision), optionally with its mark-price klines, as a crash path.

Every problem raises :class:`~margin.scenario.ScenarioError` naming the field, row or column.

>>> result = read_exchange_export({
...     "positions.json": '[{"symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "-0.01",'
...                       ' "entryPrice": "95000", "markPrice": "96000", "notional": "-960",'
...                       ' "isolatedWallet": "0", "positionInitialMargin": "96"}]',
...     "account.json": '{"totalWalletBalance": "500", "assets": [{"asset": "USDT", "walletBalance": "500"}]}'})
>>> result.exchange, result.venue, result.scenario["positions"][0]["side"]
('binance', 'binance', 'short')
>>> result.scenario["positions"][0]["leverage"]
10
"""

from margin.imports.documents import MAX_DEPTH, MAX_IMPORT_BYTES
from margin.imports.exports import EXCHANGES, ImportResult, identify, read_exchange_export
from margin.imports.klines import MAX_KLINE_BYTES, MAX_KLINE_ROWS, read_klines

__all__ = [
    "EXCHANGES", "ImportResult", "MAX_DEPTH", "MAX_IMPORT_BYTES", "MAX_KLINE_BYTES", "MAX_KLINE_ROWS",
    "identify", "read_exchange_export", "read_klines",
]
