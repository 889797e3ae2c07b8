"""The market cascade's numbers and words: the crowd, one cascade, the tipping curve, the learner.

Pure (no Streamlit) and tested directly; the crowd's cache and its worker run are in
``ui/cascade/session.py`` (the crowd is drawn once per market and crowd parameters, a large one
in a worker process; a cascade and a 50-shock curve take milliseconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from margin.account import liquidation_prices
from margin.cascade import (
    LEVERAGE_BUCKETS, RUNAWAY_RATIO, CascadeResult, Crowd, TippingCurve, run_cascade,
    tipping_point,
)
from margin.cascade.deleverage import OutsideCandidates
from margin.cascade.learner import learner_in_cascade
from margin.scenario import Market, Scenario
from margin.numbers import money, percent, price, quantity
from ui.common.words import join_words, position_labels
from margin.presets import market_label

TIPPING_POINTS = 50
TIPPING_MAX = 0.30  # the curve spans shocks of 0.5 % to 30 % in the shock's direction
IMPACT_LABELS = {"linear": "Linear: 1 % per depth", "sqrt": "Square root: 1 % × √(sold / depth)",
                 "none": "No impact (an infinitely deep book)"}
# The model's assumptions, as the page states them
ASSUMPTIONS = (
    "One market. Every trader holds one position in it, opened at today's price; traders differ only "
    "by side, leverage, size and margin mode (a cross trader has some extra wallet behind the position).",
    "Liquidation is judged on one mark price, with the market's maintenance tiers; everyone crossed in a "
    "round is liquidated at once, at that round's price.",
    "Forced orders move the price through a book of fixed depth (linear or square-root impact); the "
    "impact is permanent and nobody else trades: no new buyers, no market makers stepping in, no funding, "
    "no hedges, no time passing.",
    "Your own account is too small to move this price: it rides the crowd's path and does not add to it.",
)


def millions(value: float) -> str:
    """``27.1 M USDT``.

    >>> millions(27_123_000), millions(950_000)
    ('27.1 M USDT', '0.95 M USDT')
    """
    return f"{value / 1e6:,.{1 if abs(value) >= 1e7 else 2}f} M USDT"


def tipping_grid(shock: float) -> np.ndarray:
    """50 shocks from 0.5 % to 30 % in the direction of ``shock`` (down when it is 0)."""
    sign = 1.0 if shock > 0 else -1.0
    return sign * np.linspace(0.005, TIPPING_MAX, TIPPING_POINTS)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeView:
    crowd: Crowd
    result: CascadeResult
    curve: TippingCurve
    learner: list[dict[str, Any]]
    learner_lines: list[tuple[str, float]]  # (position label, liquidation price) in the crowd's market


def cascade_view(scenario: Scenario, market_name: str, crowd: Crowd, shock: float, depth: float,
                 impact: str, fund: float = math.inf, adl: bool = False) -> CascadeView:
    """One cascade at ``shock``, the tipping curve in its direction, and the learner's fate
    (with ``adl``, the learner's winning positions stand in the crowd's ADL queue once the
    insurance ``fund`` [quote] is spent)."""
    rules = scenario.rules

    def run(outside: OutsideCandidates | None) -> CascadeResult:
        return run_cascade(crowd, shock, depth, impact, liquidation_fee_rate=rules.liquidation_fee_rate,
                           settlement=rules.settlement, trigger=rules.liquidation_trigger, insurance_fund=fund,
                           adl=adl, outside=outside)

    result, fate = learner_in_cascade(scenario, market_name, run)
    curve = tipping_point(crowd, tipping_grid(shock), depth, impact, trigger=rules.liquidation_trigger)
    labels = position_labels(scenario)
    lines = []
    for position, lp in zip(scenario.positions, liquidation_prices(scenario)):
        if position.market == market_name and lp.liquidation_price is not None:
            lines.append((labels[position.id], lp.liquidation_price))
    for entry in fate:
        entry["label"] = labels[entry["id"]]
    return CascadeView(crowd=crowd, result=result, curve=curve, learner=fate, learner_lines=lines)


# ----------------------------------------------------------------------------- words


def cascade_takeaway(result: CascadeResult, n_traders: int) -> str:
    """The cascade in one sentence."""
    shock, final = result.shock, result.final_drop
    if shock == 0:
        return "No shock, no cascade: nobody is liquidated at the price they all entered at."
    if result.liquidated_count == 0:
        return (f"A {percent(shock, signed=True)} shock liquidated nobody: every trader's liquidation price "
                f"is further away, so the price stays at {percent(final, signed=True)}.")
    rounds = result.active_rounds
    text = (f"A {percent(shock, signed=True)} shock ended as a {percent(final, signed=True)} move "
            f"(×{result.amplification:.2f} the shock): {rounds} round{'s' if rounds > 1 else ''} of forced "
            f"{'selling' if shock < 0 else 'buying'} liquidated {result.liquidated_count:,} of {n_traders:,} traders "
            f"({millions(result.liquidated_notional)}).")
    if result.amplification < 1.05:
        text += " The book absorbed the forced orders: almost no amplification."
    elif result.amplification >= RUNAWAY_RATIO:
        text += " The cascade ran away: the crowd's own liquidations did most of the damage."
    if result.stopped == "max rounds":
        text += " (It was still going when the round limit stopped it.)"
    return text


def leverage_takeaway(result: CascadeResult, crowd: Crowd) -> str:
    """Which leverage levels died when, in words (from the per-round bucket counts)."""
    counts = np.array([r.count_by_leverage for r in result.rounds])  # (R, B)
    side = 1 if result.shock < 0 else -1  # a fall can only liquidate longs, a rise shorts
    exposed = crowd.side == side
    sizes = np.bincount(crowd.bucket[exposed].astype(np.int64), minlength=len(LEVERAGE_BUCKETS))
    parts = []
    for b in range(len(LEVERAGE_BUCKETS) - 1, -1, -1):
        if sizes[b] == 0:
            continue
        died = counts[:, b]
        share = died.sum() / sizes[b]
        if died.sum() == 0:
            parts.append(f"{LEVERAGE_BUCKETS[b]}: none")
            continue
        rounds = np.flatnonzero(died)
        span = f"round {rounds[0]}" if rounds[0] == rounds[-1] else f"rounds {rounds[0]}–{rounds[-1]}"
        parts.append(f"{LEVERAGE_BUCKETS[b]}: {percent(share, digits=0)} liquidated, in {span}")
    if not parts or result.liquidated_count == 0:
        return "Nobody was liquidated, at any leverage."
    whose = "longs" if side > 0 else "shorts"
    return f"Highest leverage first (shares of the {whose}). " + "; ".join(parts) + "."


def tipping_takeaway(curve: TippingCurve) -> str:
    """Where the cascade runs away, in words."""
    direction = "fall" if curve.shocks[0] < 0 else "rise"
    if curve.runaway_shock is None:
        k = int(np.argmax(curve.amplification))
        return (f"No runaway up to a {percent(abs(curve.shocks[-1]), digits=0)} shock: the final {direction} "
                f"stays below {RUNAWAY_RATIO:g}× the shock everywhere (the most: ×{curve.amplification[k]:.2f} "
                f"at {percent(abs(curve.shocks[k]))}).")
    k = int(np.flatnonzero(curve.shocks == curve.runaway_shock)[0])
    below = k - 1
    text = f"Tipping point near a {percent(abs(curve.runaway_shock))} shock: "
    if below >= 0:
        text += (f"a {percent(abs(curve.shocks[below]))} shock ends at {percent(abs(curve.final_drops[below]))}, "
                 f"but a {percent(abs(curve.shocks[k]))} shock runs away to {percent(abs(curve.final_drops[k]))}.")
    else:
        text += (f"even the smallest shock, {percent(abs(curve.shocks[k]))}, runs away to "
                 f"{percent(abs(curve.final_drops[k]))}.")
    return text


def learner_takeaway(view: CascadeView, market_name: str) -> str:
    """When the learner's positions die, or why they survive.

    >>> fate = lambda label, mode, round_, price: {"label": label, "mode": mode, "round": round_, "price": price}
    >>> view = CascadeView(crowd=None, result=None, curve=None, learner_lines=[], learner=[
    ...     fate("BTC long", "cross", 3, 93000.0), fate("SOL long", "isolated", 0, 180.0), fate("ETH long", "cross", None, None)])
    >>> learner_takeaway(view, "BTCUSDT")
    "In this cascade your BTC long (cross) is liquidated in round 3, at 93,000.00 USDT, and your SOL long (isolated) in round 0, before the shock (on the way from its entry to today's price), at 180.00 USDT. Still open: ETH long."
    """
    died = [f for f in view.learner if f["round"] is not None]
    name = market_label(market_name)
    if not view.learner:
        return "Your account has no positions: nothing of yours is in the crowd."
    return _deaths(view, died, name) + adl_takeaway(view.learner, name)


def adl_takeaway(learner: list[dict[str, Any]], name: str) -> str:
    """The learner's positions auto-deleveraged, in words ("" when none was).

    >>> adl_takeaway([{"label": "BTC short", "adl_size": 1.0, "adl_round": 2, "adl_price": 98_462.1,
    ...                "adl_given_up": 10_462.1}], "BTC")
    " The insurance fund ran dry, so your BTC short was auto-deleveraged in round 2: 1 BTC closed at 98,462.10 USDT, a bankrupt trader's bankruptcy price, giving up 10,462.10 USDT of its profit against the mark."
    """
    hit = [f for f in learner if f.get("adl_size", 0.0) > 0]
    return "".join(
        f" The insurance fund ran dry, so your {f['label']} was auto-deleveraged in round {f['adl_round']}: "
        f"{quantity(f['adl_size'])} {name} closed at {price(f['adl_price'])} USDT, a bankrupt trader's bankruptcy "
        f"price, giving up {money(f['adl_given_up'])} of its profit against the mark." for f in hit)


def _deaths(view: CascadeView, died: list[dict[str, Any]], name: str) -> str:
    """When the learner's positions die, or that the account survives."""
    if not died:
        nearest = ""
        if view.learner_lines:
            label, liq = min(view.learner_lines, key=lambda item: abs(item[1] - view.result.final_price))
            nearest = (f" The price stopped at {price(view.result.final_price)} USDT; your {label} would be "
                       f"liquidated only if it reached {price(liq)} USDT.")
        return f"None of your positions is liquidated in this cascade in {name}.{nearest}"

    def when(f: dict[str, Any]) -> str:
        if f["round"] == 0:
            return "in round 0, before the shock (on the way from its entry to today's price)"
        return f"in round {f['round']}"

    parts = [f"your {f['label']} ({f['mode']}) {'is liquidated ' if k == 0 else ''}{when(f)}, at {price(f['price'])} USDT"
             for k, f in enumerate(died)]
    text = "In this cascade " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]) + "."
    survivors = [f["label"] for f in view.learner if f["round"] is None]
    if survivors:
        text += f" Still open: {join_words(survivors)}."
    return text


def fate_words(fate: dict[str, Any]) -> str:
    """A position's fate in the table: liquidated (when), or survived, and auto-deleveraged.

    >>> fate_words({"round": None, "adl_size": 0.5, "adl_round": 2}), fate_words({"round": 3})
    ('survives; auto-deleveraged in round 2', 'liquidated in round 3')
    """
    if fate["round"] is None:
        words = "survives"
    elif fate.get("before_shock"):
        words = "closed before the shock"
    elif fate.get("event") in ("stop_loss", "take_profit"):  # its own order closed it
        words = f"closed by its {fate['event'].replace('_', '-')} in round {fate['round']}"
    else:
        words = f"liquidated in round {fate['round']}"
    if fate.get("adl_size", 0.0) > 0:
        words += f"; auto-deleveraged in round {fate['adl_round']}"
    return words


def accounting_lines(result: CascadeResult) -> list[str]:
    """Where the liquidated traders' money went, and where the insurance fund ended: what it
    kept, what it paid, and the net of the two, up or down, in words."""
    acc = result.accounting()
    if not acc or result.liquidated_count == 0:
        return []
    kept, paid = acc["insurance_fund_kept"], acc["paid_by_insurance_fund"]
    leftover = kept - acc["fees"]
    if kept <= 0.005:
        lines = ["The insurance fund kept nothing: every liquidated trader's margin was gone by the fill."]
    elif leftover > 0.005:
        lines = [f"The insurance fund kept {money(kept)}: {money(acc['fees'])} of liquidation fees and "
                 f"{money(leftover)} of margin left at liquidation."]
    else:
        lines = [f"The insurance fund kept {money(kept)}, all of it liquidation fees: the fee took whatever "
                 f"margin was left."]
    if acc["returned_to_traders"] > 0.005:
        lines.append(f"Liquidated traders got back {money(acc['returned_to_traders'])}.")
    if acc["deficit"] > 0.005:
        parts = [f"the insurance fund paid {money(paid)}"]
        if acc.get("auto_deleveraged", 0.0) > 0.005:
            ours = acc.get("auto_deleveraged_outside", 0.0)
            mine = f" ({money(ours)} of it from your positions)" if ours > 0.005 else ""
            parts.append(f"auto-deleveraging the most profitable, most leveraged opposite positions covered "
                         f"{money(acc['auto_deleveraged'])}{mine}")
        if acc["socialized"] > 0.005:
            parts.append(f"{money(acc['socialized'])} was socialized")
        lines.append(f"The price gapped past some bankruptcy prices: {money(acc['deficit'])} of losses beyond "
                     f"collateral, of which {join_words(parts)}.")
    net = round(kept, 2) - round(paid, 2)  # of the amounts as written, so the sentence adds up
    if abs(net) < 0.005:
        lines.append("Net, the insurance fund ended where it started: it kept as much as it paid.")
    else:
        lines.append(f"Net, the insurance fund ended {money(abs(net))} {'up' if net > 0 else 'down'} "
                     f"(kept {money(kept)}, paid {money(paid)}): this cascade "
                     f"{'fed' if net > 0 else 'drained'} it.")
    return lines


def rounds_table(result: CascadeResult) -> list[dict[str, Any]]:
    """One row per round for the table on the page."""
    rows = []
    for r in result.rounds:
        rows.append({
            "Round": r.round, "Price [USDT]": r.price,
            "Change [%]": (r.price / result.start_price - 1) * 100,
            "Liquidated": r.liquidated_count,
            "Notional [M USDT]": r.liquidated_notional / 1e6,
        })
    return rows


# ----------------------------------------------------------------------------- the crowd's cache key


def market_key(market: Market) -> tuple:
    """What a crowd depends on in its market: the name, the price, the tiers and the closing-fee
    reserve kept inside them."""
    return (market.name, market.price, tuple((t.floor, t.mmr, t.max_leverage) for t in market.tiers),
            market.close_fee_reserve)
