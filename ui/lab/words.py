"""The price lab in words: when each close happened on the learner's path, the events, what
is wrong with the account at its own prices, and what is happening now, every sentence from
the numbers the page shows."""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from margin.numbers import money, percent, price, quantity
from margin.presets import market_label
from margin.scenario import Scenario
from margin.settle import Event
from margin.stops import KIND_WORDS, event_sentence
from margin.variants import isolated_funding
from margin.walk import entry_prices, start_walk
from ui.lab.collateral import collateral_comparison
from ui.lab.model import LabHistory, PositionView, VariantView, change_between, run_variant
from ui.lab.sweep import SweepView, nearest_mark, shock_text
from ui.lab.sliders import in_sentence
from ui.common.words import join_words, position_labels, verb as _verb

ORDER_EVENTS = ("stop_loss", "take_profit", "collateral_sale")  # told by margin.stops.event_sentence


def waypoint_words(history: LabHistory, index: int) -> str:
    """A turn of the path in words: ``"a shock of −15.0 %"``, ``"BTC at 70,000.00 USDT"``."""
    point = history.waypoints[index]
    if index == 0:
        return "the account's own prices"
    before = history.waypoints[index - 1]
    change = change_between(before, point)
    if change is not None and change[0] != "shock":
        return f"{market_label(change[0])} at {price(point.price_map()[change[0]])} USDT"
    text = f"a shock of {percent(point.shock, signed=True)}"
    moved = [n for n, v in point.prices if before.price_map().get(n) != v]
    if moved:
        text += " with " + join_words([f"{market_label(n)} at {price(point.price_map()[n])} USDT" for n in moved])
    return text


def moment_words(history: LabHistory, index: int) -> str:
    """When an event happened, for its sentence: before the learner moved anything, or on
    the way to a turn of the path."""
    if index == 0:
        return "before you moved anything, on the way from the positions' entries to today's prices"
    return f"on the way to {waypoint_words(history, index)}"


def path_words(history: LabHistory) -> str | None:
    """The learner's path so far in one clause, or None before the first move:
    ``"you went to a shock of −15.0 %, then back to a shock of 0.0 %"``."""
    if len(history.waypoints) <= 1:
        return None
    turns = [waypoint_words(history, k) for k in range(1, len(history.waypoints))]
    if len(turns) > 5:
        turns = turns[:2] + [f"{len(turns) - 4} more turns"] + turns[-2:]
    words = "you went to " + turns[0]
    for turn in turns[1:]:
        words += f", then to {turn}"
    return words


# ----------------------------------------------------------------------------- events in words


def _partial_kind(e: Event, scenario: Scenario) -> str:
    """How the venue's style cut this part: down a risk tier, in fixed orders, or a slice."""
    rules = scenario.rules
    if rules.liquidation == "tier_step_down":
        tiers = "one risk tier" if rules.tier_steps == 1 else f"{rules.tier_steps} risk tiers"
        return f"stepped down {tiers}"
    if rules.liquidation == "fixed_chunks":
        orders = max(1, round(e.size * e.price / rules.chunk_notional))
        return f"{orders:,} order{'s' if orders != 1 else ''} of {money(rules.chunk_notional)}"
    return "partial liquidation"


def _close_sentence(e: Event, scenario: Scenario, who: str, unit: str, cross_rows_told: set[int]) -> str:
    """One close in words: a slice, a partial close, the cross pool (once per row, then "with it"),
    or an isolated position; ``cross_rows_told`` gains the row of a cross pool's first close."""
    realized = money(e.realized_pnl, signed=True)
    if e.type == "partial_liquidation" and scenario.rules.liquidation == "slice_then_full":
        text = (f"{who}: {quantity(e.size)} {unit} closed at {price(e.price)} USDT (a first slice of "
                f"{percent(scenario.rules.partial_fraction, 0)}, {realized} realized); the rest is closed "
                f"at a later step if it is still below maintenance")
    elif e.type == "partial_liquidation":
        pool = "the cross pool" if e.mode == "cross" else "its margin"
        text = (f"{who}: {quantity(e.size)} {unit} closed at {price(e.price)} USDT ({_partial_kind(e, scenario)}, "
                f"{realized} realized) to lift {pool} back above maintenance")
    elif e.mode == "cross" and e.row in cross_rows_told:
        text = f"{who} closed with it at {price(e.price)} USDT ({realized} realized): one pool, one fate"
    elif e.mode == "cross":
        cross_rows_told.add(e.row)
        text = (f"{who} liquidated at {price(e.price)} USDT ({realized} realized): the cross pool "
                f"fell below maintenance, so every cross position was closed")
    else:
        text = (f"{who} (isolated) liquidated at {price(e.price)} USDT ({realized} realized): "
                f"its own margin fell below maintenance; nothing else was touched")
    return text


def describe_events(events: Sequence[Event], scenario: Scenario, labels: Mapping[str, str],
                    when: Sequence[str] | None = None) -> list[str]:
    """What happened on the path, in order, one sentence per close and one per funding time
    (who paid and who received how much).

    A loss beyond margin (``bankruptcy``) and its socialized remainder are told in the sentence
    of the close that caused them. ``when``, one per event, starts each close's sentence
    ("On the way to a shock of −15.0 %: ...").
    """
    sentences: list[str] = []
    last_close: dict[tuple[str, int], int] = {}  # (position, row) -> sentence index
    fund_told: set[tuple[str, int]] = set()  # closes whose sentence said what the fund paid
    cross_rows_told: set[int] = set()
    funding_row: dict[str, int] = {}  # the funding time being told: its row and sentence index
    for e in events:
        who = labels.get(e.position, e.position)
        unit = market_label(e.market)
        if e.type in ("liquidation", "partial_liquidation"):
            text = _close_sentence(e, scenario, who, unit, cross_rows_told) + money_clause(e)
            if e.from_fund or e.socialized:
                fund_told.add((e.position, e.row))
            if when is not None:
                moment = when[events.index(e)] if isinstance(events, list) else when[list(events).index(e)]
                text = f"{moment[0].upper()}{moment[1:]}: {text}"
            last_close[(e.position, e.row)] = len(sentences)
            sentences.append(text)
        elif e.type in ORDER_EVENTS:  # a stop-loss, take-profit or collateral sale: the engine's words
            text = event_sentence(e, who) or e.type
            if when is not None:
                moment = when[events.index(e)] if isinstance(events, list) else when[list(events).index(e)]
                text = f"{moment[0].upper()}{moment[1:]}: {text}"
            sentences.append(text)
        elif e.type in ("bankruptcy", "socialized_loss") and (e.position, e.row) in fund_told:
            continue  # the close's own sentence said it, with the sum
        elif e.type == "bankruptcy":
            paid = -e.insurance_fund_delta
            clause = f"its loss beyond margin, {money(e.amount)}, was paid by the insurance fund"
            if paid < e.amount - 0.005:
                clause = (f"its loss beyond margin was {money(e.amount)}; the insurance fund paid "
                          f"{money(paid)}")
            _attach(sentences, last_close, e, who, clause)
        elif e.type == "socialized_loss":
            clause = (f"{money(e.amount)} the fund could not pay was socialized "
                      f"(taken from profitable traders by auto-deleveraging)")
            _attach(sentences, last_close, e, who, clause)
        elif e.type == "funding":
            verb = "paid" if e.realized_pnl < 0 else "received"
            part = f"{who} {verb} {money(abs(e.realized_pnl))}"
            if funding_row.get("row") == e.row:  # one sentence per funding time
                sentences[funding_row["index"]] += f", {part}"
            else:
                funding_row.update(row=e.row, index=len(sentences))
                sentences.append(f"Funding: {part}")
    return [s + "." for s in sentences]


def money_clause(e: Event) -> str:
    """Where a close's money went beyond its realized PnL (which its sentence states), part by
    part from the event's own fields, and what they add to: ``Event.money_change``, what the
    close changed the account's money by. Empty when the realized PnL is all of it.

    >>> from margin.ledger import Event
    >>> print(money_clause(Event(type="liquidation", step=0, row=1, position="sol", market="SOLUSDT", mode="isolated",
    ...     price=171.86, size=240.0, realized_pnl=-2177.56, fee=253.11, insurance_fund_delta=462.44, to_fund=209.33)))
    ; 253.11 USDT liquidation fee and 209.33 USDT of margin left above it went to the insurance fund: the account's money changed by -2,177.56 - 253.11 - 209.33 = -2,640.00 USDT
    """
    parts = [(e.fee, "-"), (e.to_fund, "-"), (e.from_fund, "+"), (e.socialized, "+")]
    if not any(round(v, 2) for v, _ in parts):
        return ""
    said = []
    if round(e.fee, 2):
        said.append(f"{money(e.fee)} liquidation fee")
    if round(e.to_fund, 2):
        said.append(f"{money(e.to_fund)} of margin left above {'it' if said else 'the fee'}")
    text = f"; {join_words(said)} went to the insurance fund" if said else ";"
    covered = []
    if round(e.from_fund, 2):
        covered.append(f"the insurance fund paid {money(e.from_fund)}")
    if round(e.socialized, 2):
        covered.append(f"{money(e.socialized)} more was socialized (taken from profitable traders by auto-deleveraging)")
    if covered:
        text += (", and " if said else " ") + f"of the loss beyond its margin {join_words(covered)}"
    sums = f"{money(e.realized_pnl, unit='').strip()}" + "".join(
        f" {sign} {money(abs(v), unit='').strip()}" for v, sign in parts if round(v, 2))
    change = money(e.money_change, signed=True).lstrip("+")
    return f"{text}: the account's money changed by {sums} = {change}"


def _attach(sentences: list[str], last_close: dict[tuple[str, int], int], e: Event, who: str, clause: str) -> None:
    index = last_close.get((e.position, e.row))
    if index is None:
        sentences.append(f"{who}: {clause}")
    else:
        sentences[index] += f"; {clause}"


def account_warnings(scenario: Scenario) -> list[str]:
    """What is already wrong with the account at its own prices (the dashboard warns, not refuses).

    A pool that is below maintenance at today's prices would have been liquidated on the way
    there from the positions' entries: the lab starts with it closed, at its liquidation price.
    """
    out = []
    labels = position_labels(scenario)
    arrived = start_walk(scenario)
    entries = entry_prices(scenario)
    closed = {e.position: e for e in arrived.events if e.type == "liquidation"}
    cross_closed = [p for p in scenario.positions if not p.is_isolated and p.id in closed]
    if cross_closed:
        first = closed[cross_closed[0].id]
        out.append(f"On the way from the positions' entries to today's prices the cross pool would have fallen "
                   f"below maintenance (when {market_label(first.market)} reached {price(first.price)} USDT, from "
                   f"{price(entries[first.market])}): the lab starts with {join_words([labels[p.id] for p in cross_closed])} "
                   f"closed.")
    for p in scenario.positions:
        if p.is_isolated and p.id in closed:
            e = closed[p.id]
            out.append(f"{labels[p.id]} (isolated) would have been liquidated on the way from its entry at "
                       f"{price(p.entry)} USDT to today's {price(scenario.markets[p.market].price)} USDT, at "
                       f"{price(e.price)} USDT: the lab starts with it closed.")
    # In USDT: the linear positions' margins against the wallet and the collateral the USDT
    # pool counts (at its value today); an inverse position's margin is in its coin, from its pool.
    needed = sum(p.margin if p.is_isolated else p.initial_margin for p in scenario.positions if not p.is_inverse)
    collateral = sum(c.value(scenario.markets[c.market].price) for c in scenario.collateral if not c.coin_pool)
    if needed > (scenario.balance + collateral) * (1 + 1e-9):
        funds = (f"The wallet ({money(scenario.balance)}) and its collateral ({money(collateral)} counted)"
                 if collateral else f"The wallet ({money(scenario.balance)})")
        out.append(f"{funds} would not have covered the initial margin of these positions ({money(needed)}) "
                   "when they were opened.")
    return out


def isolated_short_words(scenario: Scenario) -> str | None:
    """Said when the wallet cannot pay every isolated margin of "all isolated"
    (:func:`margin.variants.isolated_funding`): the margins were cut to what it holds.

    >>> from margin.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"balance": 0, "markets": {"BTC": {"price": 60000, "mmr": 0.005}},
    ...     "collateral": [{"asset": "BTC", "amount": 1, "market": "BTC", "haircut": 0.05}],
    ...     "positions": [{"id": "l", "market": "BTC", "side": "long", "size": 1, "entry": 60000,
    ...                    "leverage": 10, "mode": "cross"}]})
    >>> print(isolated_short_words(s))
    All isolated: an isolated margin is paid in USDT from the balance, which holds 0.00 USDT against the 6,000.00 USDT these margins would be (0 % of it); each margin is cut to its share, so all isolated is as risky as this balance allows. Collateral in other coins counts in the cross pool only.
    """
    funded, wallet, wanted = isolated_funding(scenario)["USDT"]
    if funded >= 1.0 - 1e-9:
        return None
    coins = " Collateral in other coins counts in the cross pool only." if any(
        not c.coin_pool for c in scenario.collateral) else ""
    return (f"All isolated: an isolated margin is paid in USDT from the balance, which holds {money(wallet)} "
            f"against the {money(wanted)} these margins would be ({percent(funded, digits=0)} of it); "
            f"each margin is cut to its share, so all isolated is as risky as this balance allows.{coins}")


def what_is_happening(views: Mapping[str, VariantView], sweeps: Mapping[str, SweepView],
                      shock: float, history: LabHistory | None = None) -> list[str]:
    """A few plain sentences about where the learner's path has brought the account, computed
    from the numbers the page shows."""
    built = views["As built"]
    isolated = views["All isolated"]
    out: list[str] = []
    if history is not None:
        out += _history_sentences(history, built)
    out += _prologue_sentences(views)
    cross_positions = [p for p in built.positions if p.mode == "cross"]
    if built.cross_open:
        open_cross = [p for p in cross_positions if p.size > 0]
        winners = [p for p in open_cross if p.unrealized_pnl > 0]
        losers = [p for p in open_cross if p.unrealized_pnl < 0]
        cushion = built.cross_equity - built.cross_maintenance
        pool = (f"the shared pool has {money(built.cross_equity)} of equity against "
                f"{money(built.cross_maintenance)} of maintenance margin")
        if winners and losers:
            out.append(f"In cross, {_pnl_list(winners)} {_verb(winners, 'is', 'are')} holding up "
                       f"{_pnl_list(losers)}: {pool}, a cushion of {money(cushion)}.")
        elif losers:
            out.append(f"In cross, {_pnl_list(losers)} {_verb(losers, 'is', 'are')} draining the "
                       f"shared pool: {pool}, a cushion of {money(cushion)}.")
        elif winners:
            out.append(f"In cross, every open position is in profit ({_pnl_list(winners)}): {pool}.")
        mark = nearest_mark(sweeps["As built"], shock, {"cross pool"})
        if mark is not None:
            out.append(f"From here, a whole-market shock of {shock_text(mark)} (now "
                       f"{percent(shock, signed=True)}) would liquidate the cross pool.")
    usdt = collateral_comparison(views, sweeps, shock)
    if usdt:
        out.append(usdt)
    short = isolated_short_words(built.scenario)
    if short:
        out.append(short)
    iso_lost = [p for p in isolated.positions if p.status in ("liquidated", "bankrupt")]
    iso_kept = [p for p in isolated.positions if p.size > 0]
    if iso_lost and iso_kept:
        out.append(f"All isolated, each position stands on its own margin: {join_words([p.label for p in iso_lost])} "
                   f"{_verb(iso_lost, 'is', 'are')} closed, but {join_words([p.label for p in iso_kept])} "
                   f"{_verb(iso_kept, 'lives', 'live')} on.")
    elif iso_lost:
        out.append("All isolated, every position has been closed on its own margin too.")
    out.append(_comparison(built, isolated))
    equities = ", ".join(f"{in_sentence(v.label)} {money(v.total_equity)}" for v in views.values())
    out.append(f"Equity now: {equities}.")
    return out


def _history_sentences(history: LabHistory, built: VariantView) -> list[str]:
    """The learner's path so far and what it closed, as built: closes are final."""
    path = path_words(history)
    if path is None:
        return []
    walk = built.walk
    labels = position_labels(walk.scenario)
    told = []
    cross_told = False
    for event, move in zip(walk.events, walk.event_moves):
        if event.type not in ("liquidation", *KIND_WORDS) or move == 0:
            continue
        where = waypoint_words(history, history.waypoint_of_move[move])
        if event.type in KIND_WORDS:
            told.append(f"the {labels[event.position]}'s {KIND_WORDS[event.type]} closed it on the way to {where}, at "
                        f"{price(event.price)} USDT")
        elif event.mode == "cross":
            if cross_told:
                continue
            cross_told = True
            told.append(f"the cross pool was liquidated on the way to {where}, when {market_label(event.market)} "
                        f"was at {price(event.price)} USDT")
        else:
            told.append(f"the {labels[event.position]} (isolated) was liquidated on the way to {where}, at "
                        f"{price(event.price)} USDT")
    if not told:
        return [f"So far {path}; nothing has been liquidated on the way."]
    text = f"{path[0].upper()}{path[1:]}: {join_words(told)}."
    return [text + " A liquidation is final: moving the prices back does not reopen a closed position "
                   "(Reset starts again from the account's own prices)."]


def _prologue_sentences(views: Mapping[str, VariantView]) -> list[str]:
    """What the walk from the positions' entries to today's prices closed, per variant: the
    comparison holds every variant to the same history."""
    out = []
    for view in views.values():
        closed = [p for p in view.positions if p.closed_before_moves]
        if closed:
            # a stop or take-profit that filled on the way is an order, not a liquidation
            parts = [f"the {p.label} was already "
                     f"{p.status.replace('closed by ', 'closed by its ') if p.status.startswith('closed by') else 'liquidated'}"
                     f" at {price(p.closed_at)} USDT" for p in closed]
            out.append(f"{view.label}: on the way from the entries to today's prices {join_words(parts)}, "
                       f"so {in_sentence(view.label)} starts without {_verb(closed, 'it', 'them')}.")
    return out


def _comparison(built: VariantView, isolated: VariantView) -> str:
    """Which way holds more equity now, and why, from the equity and the closes the page shows."""
    a, b = built.total_equity, isolated.total_equity
    by_id = {p.id: p for p in built.positions}
    margins = {p.id: p.margin for p in isolated.scenario.positions}
    subsidy = "".join(f" {view.label} counts {money(view.insurance_paid)} of losses beyond margin that the "
                      f"insurance fund paid." for view in (built, isolated) if view.insurance_paid > 0.005)
    if abs(a - b) < 0.005:
        return f"As built and all isolated hold the same equity now, {money(a)}.{subsidy}"
    only_iso = [p for p in isolated.positions if p.size <= 0 and by_id[p.id].size > 0]
    only_built = [p for p in built.positions if p.size <= 0
                  and next(q for q in isolated.positions if q.id == p.id).size > 0]
    reasons = []
    for p in only_iso:
        kept = by_id[p.id]
        if b > a and kept.unrealized_pnl < 0:
            reasons.append(f"on its own margin the {p.label} was liquidated and lost at most that margin "
                           f"({money(margins[p.id])}), while in one pool it is still open, "
                           f"{money(-kept.unrealized_pnl)} under water, carried by the others")
        elif a > b:
            reasons.append(f"on its own margin the {p.label} was liquidated, while in one pool the others kept it open")
    if only_built and b > a:
        reasons.append(f"as built, one pool's loss took the {join_words([p.label for p in only_built])} with it, "
                       f"while isolated each loss stopped at its own margin")
    why = f": {'; '.join(reasons)}" if reasons else ""
    if a > b:
        return f"Here sharing helps: as built holds {money(a)}, all isolated {money(b)}{why}.{subsidy}"
    return f"Here isolation holds more: all isolated {money(b)}, as built {money(a)}{why}.{subsidy}"


def _pnl_list(positions: Sequence[PositionView], limit: int = 3) -> str:
    """The largest PnLs by name, the rest summed: "the BTC long's +17,000.00 USDT and 4 more
    (+1,234.00 USDT together)"."""
    ranked = sorted(positions, key=lambda p: abs(p.unrealized_pnl), reverse=True)
    named = [f"the {p.label}'s {money(p.unrealized_pnl, signed=True)}" for p in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        named.append(f"{len(rest)} more ({money(sum(p.unrealized_pnl for p in rest), signed=True)} together)")
    return join_words(named)


def lab_views(history: LabHistory, drawn: str | None = None) -> dict[str, VariantView]:
    """Every variant where the learner's path has brought them (keys: as built, all cross, all
    isolated, and collateral in USDT where the lab shows it), each event told with when it
    happened on the path. Only variant ``drawn`` (every one when None) gets its equity-sharing
    pools: the page draws one variant's charts, and shows of the others their columns."""
    views = {}
    for label, walk in history.walks.items():
        when = [moment_words(history, history.waypoint_of_move[move]) for move in walk.event_moves]
        view = run_variant(label, walk, history.start_equity[label], drawn=drawn is None or label == drawn)
        events = tuple(describe_events(walk.events, walk.scenario, position_labels(walk.scenario), when))
        views[label] = replace(view, events=events)
    return views


def step_announcement(before: LabHistory | None, after: LabHistory, built: VariantView,
                      base: Mapping[str, float]) -> str:
    """What one step changed, in one or two sentences for the lab's polite live region (a
    screen reader says it after the slider's value): each close the step made, as built, at the
    shock where it happened (its fill price against the slider's price, by the market's beta),
    or that nothing was closed and how near the riskiest pool is. ``""`` when nothing moved.
    """
    if before is None or before.waypoints == after.waypoints:
        return ""  # a first draw, or a rerun that moved nothing: nothing to say
    walk = after.walks["As built"]
    told = len(before.walks["As built"].events) if before is not None and before.account_key == after.account_key else None
    fresh = [e for e in walk.events[told:] if e.type in ("liquidation", "partial_liquidation", *KIND_WORDS)] \
        if told is not None else []
    labels = position_labels(walk.scenario)
    now = f"Shock {percent(after.shock, signed=True)}"
    if not fresh:
        ratio = (f"; margin ratio of the {built.risk_pool} {percent(built.risk_ratio)} (liquidated at 100 %)"
                 if built.risk_ratio is not None and built.risk_pool else "")
        return f"{now}: nothing was liquidated on this step{ratio}."
    parts, cross_said = [], False
    for e in fresh:
        beta = walk.scenario.markets[e.market].beta
        at = (f" at a shock of {percent((e.price / base[e.market] - 1.0) / beta, 2, signed=True)}"
              if beta and base.get(e.market) else "")
        if e.type in KIND_WORDS:
            parts.append(f"{labels.get(e.position, e.position)} closed by its {KIND_WORDS[e.type]}{at}, at "
                         f"{price(e.price)} USDT")
        elif e.mode == "cross" and not cross_said:
            cross_said = True
            parts.append(f"cross pool liquidated{at}: {labels.get(e.position, e.position)} closed at {price(e.price)} USDT")
        elif e.mode == "cross":
            parts.append(f"{labels.get(e.position, e.position)} closed with it at {price(e.price)} USDT")
        else:
            parts.append(f"{labels.get(e.position, e.position)} (isolated) liquidated{at}, at {price(e.price)} USDT")
    return f"{now}: {'; '.join(parts)}."
