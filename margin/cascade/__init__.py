"""A liquidation cascade in one market: a crowd of synthetic traders, rounds of forced selling.

A **stylized model**, vectorized over traders (no Python loop over them):

* Every trader holds one position in the same market, opened at the current price ``P0``.
  Traders differ only by side, leverage, size and margin mode. An isolated trader can lose
  its margin; a cross trader also has an extra wallet buffer behind the position (a fraction
  of its margin). Maintenance margin follows the market's tiers, judged on the mark.
* An initial shock moves the price to ``P0 × (1 + shock)``. Every trader whose liquidation
  price is crossed is liquidated at that price, all at once (one **round**). Their forced
  orders (longs sell, shorts buy) move the price through the order book: ``depth`` [quote] of
  forced selling moves it 1 % (``"linear"``), or 1 % × √(selling / depth) (``"sqrt"``).
  The impact is permanent and counts all forced selling so far, measured at ``P0`` (in base
  units, as a book's depth is), and applies to the shocked price:
  ``P_(r+1) = P_shock × (1 − 1 % × f(sold_r / depth))`` (a buy pushes up the same way).
  Nobody else trades: no new buyers, no funding, no hedging, one mark price for all.
* Rounds repeat until a round liquidates nobody new (or ``max_rounds``).

Because the impact depends only on the cumulative forced selling, one more liquidation can
only push the price further the same way: the cascade is a monotone fixed-point iteration,
so a larger initial shock never ends at a smaller final drop, and with no impact the final
drop equals the shock.

Traders are sorted once by liquidation price; a round is then one ``searchsorted`` against
cumulative sums, O(log N).

>>> from margin.scenario import Market, Tier
>>> market = Market(name="BTCUSDT", price=100.0, tiers=(Tier(floor=0.0, mmr=0.005),))
>>> crowd = build_crowd(market, CrowdParams(n_traders=1_000, seed=1))
>>> calm = run_cascade(crowd, shock=-0.05, depth=math.inf)
>>> round(calm.final_drop, 6)
-0.05
>>> run_cascade(crowd, shock=-0.05, depth=100_000.0).final_drop < -0.05
True
"""
import math  # noqa: F401 (the doctest above)

from margin.scenario import Market, Tier  # noqa: F401 (the doctest above)
from margin.cascade.crowd import (
    LEVERAGE_BUCKETS, LEVERAGE_EDGES, MAX_TRADERS, Crowd, CrowdParams, Trader, build_crowd, leverage_bucket,
    leverage_bucket_labels, with_traders,
    liquidation_price, maintenance_margin,
)
from margin.cascade.learner import learner_fate, learner_path
from margin.cascade.rounds import (
    IMPACTS, RUNAWAY_RATIO, SETTLEMENTS, CascadeResult, Round, TippingCurve, TraderOutcome,
    final_price_fixed_point, price_factor, run_cascade, tipping_point,
)
from margin.cascade.spec import CascadeInput, CascadeRun, cascade_input_from_dict, named_traders, run_spec

__all__ = [
    "CascadeInput", "CascadeResult", "CascadeRun", "Crowd", "CrowdParams", "IMPACTS", "LEVERAGE_BUCKETS",
    "LEVERAGE_EDGES", "MAX_TRADERS", "RUNAWAY_RATIO", "Round", "SETTLEMENTS", "TippingCurve", "TraderOutcome",
    "build_crowd", "cascade_input_from_dict", "final_price_fixed_point", "learner_fate", "learner_path",
    "leverage_bucket", "leverage_bucket_labels", "liquidation_price", "maintenance_margin", "price_factor", "run_cascade",
    "named_traders", "run_spec", "tipping_point", "Trader", "with_traders",
]
