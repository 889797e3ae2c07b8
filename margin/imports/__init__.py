"""The trader's own data: exchange exports into scenarios.

Pure and offline: nothing here opens a network connection or needs an API key. The user
pastes (or uploads) what their exchange returned, and gets a scenario dict in the
``margin-scenario/1`` format.

- :func:`read_exchange_export`: Binance USDⓈ-M ``positionRisk`` + ``account``, Bybit v5
  ``position/list`` + ``wallet-balance``, OKX v5 ``account/positions`` + ``account/balance``,
  Hyperliquid ``clearinghouseState``, detected from the JSON's shape. Returns an
  :class:`ImportResult` with the scenario and plain-English notes on what was assumed.

Every problem raises :class:`~margin.scenario.ScenarioError` naming the field.

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

__all__ = [
    "EXCHANGES", "ImportResult", "MAX_DEPTH", "MAX_IMPORT_BYTES", "identify", "read_exchange_export",
]
