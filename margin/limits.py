"""Every bound on what a door may ask for, in one place: the README's table of bounds is this
module. Each module that checks one imports it from here; a request past a bound is refused
with a message that names the field and the limit (:class:`margin.fields.ScenarioError`).

Sizes are [bytes], texts [characters], money [USDT], prices [USDT per base unit], sizes of
positions [base units]; the rest are counts.
"""

from __future__ import annotations

# documents: every file, paste, upload and link
MAX_FILE_BYTES = 1_000_000  # a scenario, cascade input, upload or unpacked link
MAX_UPLOAD_MB = 5  # what the server accepts in one upload (.streamlit/config.toml server.maxUploadSize)
MAX_NESTING = 32  # JSON arrays and objects inside one another
MAX_NUMBER_DIGITS = 40  # digits of a JSON integer (a larger one is no amount of money)
MAX_NAME_CHARS = 120  # an account's name, a venue's
MAX_ID_CHARS = 80  # a position's id, a market's name
MAX_TEXT_CHARS = 4_000  # a story or note

# an account
MAX_POSITIONS = 100  # positions in one account
MAX_MARKETS = 12  # markets in one account
MIN_PRICE, MAX_PRICE = 1e-9, 1e9  # a mark or an entry
MAX_SHOCK_PERCENT = 90.0  # a whole-market shock a page, a link or a room moves [%, either way]
MAX_SHOCK = MAX_SHOCK_PERCENT / 100  # the same [fraction]
MAX_SIZE = 1e9  # a position's size
MAX_MONEY = 1e12  # balance, isolated margin, a position's notional
MAX_FUND = 1e15  # insurance fund
MAX_BETA = 10.0  # |beta| of a market
MAX_COLLATERAL = 12  # entries of an account's collateral list (one per asset)
MAX_ASSET_CHARS = 20  # a collateral asset's name ("BTC", "USDC")
MAX_CONTRACT_VALUE = 1e6  # an inverse contract's value [USD per contract] (BitMEX 1, Deribit 10, Binance COIN-M 10 or 100)
MAX_STOP_SLIPPAGE = 0.5  # a stop's fill more than 50 % worse than the step's price [fraction]
MAX_FUNDING_RATE = 0.05  # |funding rate| per interval [fraction]; venues cap it at 0.3 % to 3 %
MAX_CLOSE_FEE = 0.05  # the closing-fee reserve's taker rate [fraction]; above 5 % of notional is no venue's
MAX_FILL_DISCOUNT = 0.5  # a liquidation filled more than 50 % away from the mark [fraction]
MAX_TIER_STEPS = 10  # risk tiers a tier_step_down close drops at once (OKX drops 2, Bybit 1)
MAX_LEVERAGE = 1_000.0  # [x]; at least 1
MAX_TIERS = 60  # maintenance tiers of one market
MAX_FLOOR = 1e15  # a tier's notional floor

# price paths and crashes
MAX_PATH_BYTES = 200 * MAX_FILE_BYTES  # a path CSV (a year of minute marks for 5 markets is ~40 MB)
MAX_PATH_ROWS = 2_000_000  # rows of one path (a year of minutes is 525,600)
MAX_CUSTOM_STEPS = 2_000  # steps of a crash built on the replay page
MAX_KLINE_ROWS = 20_000  # candles of an imported kline CSV
MAX_KLINE_BYTES = 5_000_000  # an imported kline CSV

# stress tests
MAX_PATHS = 1_000_000  # paths of one run
MAX_STEPS = 100_000  # steps of one path
MAX_STRESS_WORK = 200_000_000  # paths x steps x open positions of one model (~15 s on a busy 2-core VM)
MAX_LAB_PATH_STEPS = 20_000_000  # paths x steps the stress lab page runs per model
MAX_VOLATILITY = 10.0  # a market's annual volatility [fraction]: 1,000 % a year
MAX_LONG_RUNS = 2  # long runs at once per server process, each in a worker process of its own

# what the pages hand to a worker process rather than compute in the server's own
LONG_CROWD_TRADERS = 100_000  # a larger crowd (200,000: 0.3 s quiet, 0.45 to 1.2 s on a busy 2-core VM)
LONG_REPLAY_STEPS = 1_000_000  # steps x positions of a replay's walk (1,000,000: 0.3 s; 2,000,000: 0.7 to 1.5 s)
LONG_CHECK_STEPS = 2_000  # steps x positions of its mark-against-last check (40,000: 0.06 s; 2,000,000: 2.5 s on a quiet 2-core VM)

# cascades
MAX_TRADERS = 2_000_000  # traders of a cascade's crowd (command line)
MAX_PAGE_TRADERS = 200_000  # traders of the market cascade page (its slider and links)
MAX_SHOCKS = 10_000  # shocks of one tipping curve
MAX_NAMED_TRADERS = 10_000  # traders listed one by one (a class) on top of the drawn crowd
MAX_ROUNDS = 1_000_000  # rounds of one cascade

# shared links
MAX_LINK_CHARS = 6_000  # the encoded view; browsers and chat apps handle URLs of this size
MAX_JSON_BYTES = MAX_FILE_BYTES  # the view unpacked (a zip bomb is refused as it inflates)
MAX_PATH_TURNS = 64  # turns of the lab's path a link carries
MAX_LINK_PATH_ROWS = 50_000  # rows the lab walks for a link's whole path (more turns: coarser rows)

