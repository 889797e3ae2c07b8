"""The crash replay's numbers: the account walked along a crash each way of
:func:`margin.variants.variant_labels` (as built, all cross, all isolated, and "collateral in
USDT" where the wallet holds coins), up to a step.

Pure (no Streamlit) and tested directly; the caches and the worker runs are in
``ui/replay/session.py``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from margin.crashes import CUSTOM_ID, Crash, custom_crash, load_crash
from margin.replay import MoneySplit, Replay, WickCheck, money_split, replay, timeline_events, wick_checks
from margin.fields import ScenarioError
from margin.scenario import Scenario, scenario_from_dict  # noqa: F401 (doctests)
from margin.numbers import money, percent, price
from margin.variants import USDT_COLLATERAL_LABEL
from ui.common.text import md
from ui.lab.collateral import held_as_usdt, moving_markets
from ui.lab.sliders import in_sentence
from ui.lab.words import describe_events
from ui.common.words import join_words, position_labels
from margin.presets import market_label

TIMELINE_KINDS = {  # engine event type (plus the payout) -> words on the timeline
    "liquidation": "Liquidation",
    "partial_liquidation": "Partial liquidation",
    "bankruptcy": "Bankruptcy",
    "insurance_fund_payout": "Insurance-fund payout",
    "socialized_loss": "Socialized loss",
}


def duration_text(minutes: float) -> str:
    """``"45 min"``, ``"3 h 15 min"``, ``"2 d 4 h"``.

    >>> duration_text(45), duration_text(195), duration_text(3120), duration_text(0)
    ('45 min', '3 h 15 min', '2 d 4 h', '0 min')
    """
    minutes = int(round(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {rest} min" if rest else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TimelinePoint:
    variant: str
    kind: str  # a key of TIMELINE_KINDS
    row: int
    hours: float
    text: str


def timeline_points(model: Replay) -> list[TimelinePoint]:
    """Every event of every variant as a point on the timeline (payouts included)."""
    out = []
    minutes = model.crash.step_minutes
    for label, result in model.results.items():
        labels = position_labels(model.variants[label])
        for event, kind in timeline_events(result.events):
            who = labels.get(event.position, event.position)
            if kind == "insurance_fund_payout":
                text = f"{who}: the insurance fund paid {money(-event.insurance_fund_delta)}"
            elif kind == "bankruptcy":
                text = f"{who}: {money(event.amount)} lost beyond its margin"
            elif kind == "socialized_loss":
                text = f"{who}: {money(event.amount)} socialized"
            else:
                text = f"{who} {TIMELINE_KINDS[kind].lower()} at {price(event.price)} USDT"
            out.append(TimelinePoint(variant=label, kind=kind, row=event.row,
                                     hours=event.row * minutes / 60.0, text=text))
    return out


def event_lines(model: Replay, upto: int) -> list[tuple[int, str]]:
    """What happened up to step ``upto``, in time order: (row, sentence with time and variant).
    What each way of the account lost on the way from its entries to today's prices comes
    first, at row −1: the crash starts from where each arrives."""
    lines: list[tuple[int, int, str]] = []
    for order, (label, result) in enumerate(model.results.items()):
        scenario = model.variants[label]
        labels = position_labels(scenario)
        arrival = [e for e in model.arrivals[label].events]
        for sentence in describe_events(arrival, scenario, labels):
            lines.append((-1, order, f"**Before the crash**, on the way from the entries to today's prices · "
                                     f"*{label}*: {md(sentence)}"))
        rows = sorted({e.row for e in result.events if e.row <= upto})
        for row in rows:
            in_row = [e for e in result.events if e.row == row]
            when = duration_text(row * model.crash.step_minutes)
            for sentence in describe_events(in_row, scenario, labels):
                lines.append((row, order, f"**{when}** · *{label}*: {md(sentence)}"))
    lines.sort(key=lambda item: (item[0], item[1]))
    return [(row, text) for row, _, text in lines]


def latest_event(model: Replay, upto: int) -> str:
    """The last thing that happened up to step ``upto``, for the live line under the player
    (the full list is further down the page); or when the first event is still to come.

    >>> from margin.presets import load_story
    >>> model = replay(scenario_from_dict(load_story("default")), load_crash("2020-03-12"))
    >>> latest_event(model, 0)[:50]
    'Latest: **Before the crash**, on the way from the '
    """
    lines = event_lines(model, upto)
    if lines:
        return f"Latest: {lines[-1][1]}"
    later = [p.row for p in timeline_points(model) if p.row > upto]
    if later:
        return f"Nothing has been liquidated yet; the first event comes at {duration_text(min(later) * model.crash.step_minutes)}."
    return "Nothing has been liquidated, and nothing will be in this crash."


def equity_takeaway(model: Replay, upto: int) -> str:
    """Which variant holds up best so far, in words."""
    now = {label: float(model.equity(label)[upto]) for label in model.results}
    start = {label: float(model.equity(label)[0]) for label in model.results}
    best = max(now, key=now.get)
    worst = min(now, key=now.get)
    when = duration_text(upto * model.crash.step_minutes)
    if math.isclose(now[best], now[worst], abs_tol=0.005):
        return (f"After {when} every way holds {money(now[best])} ({ways_text(model)}): the way the account is "
                f"held has made no difference yet.")
    return (f"After {when}: {in_sentence(best)} holds the most, {money(now[best])} (from {money(start[best])}); "
            f"{in_sentence(worst)} the least, {money(now[worst])}.")


def ways_text(model: Replay) -> str:
    """The ways this replay walks, in a sentence: ``as built, all cross and all isolated``."""
    return join_words([in_sentence(label) for label in model.results])


def _first_liquidation(model: Replay, label: str, upto: int) -> str:
    """When one way's first liquidation came, up to step ``upto``, or that none has."""
    events = [e for e in model.results[label].events if e.type in ("liquidation", "partial_liquidation")]
    done = [e for e in events if e.row <= upto]
    if not done:
        return "nothing has been liquidated yet" if events else "nothing is liquidated in this crash"
    first = done[0]
    who = position_labels(model.variants[label]).get(first.position, first.position)
    return (f"the {who} was liquidated after {duration_text(first.row * model.crash.step_minutes)}, at a mark of "
            f"{price(first.price)} USDT")


def collateral_takeaway(model: Replay, upto: int) -> str | None:
    """The account as built against "collateral in USDT" up to step ``upto``, in words (plain
    text: show it through ``md``); None when the replay has no fourth way (the wallet holds only
    USDT)."""
    if USDT_COLLATERAL_LABEL not in model.results:
        return None
    built = model.variants["As built"]
    now = {label: money(float(model.equity(label)[upto])) for label in ("As built", USDT_COLLATERAL_LABEL)}
    return (f"Collateral in USDT is this account with {held_as_usdt(built)}: the same money when the crash begins, "
            f"none of it falling with the market. Now as built holds {now['As built']}, with USDT collateral "
            f"{now[USDT_COLLATERAL_LABEL]}. As built, {_first_liquidation(model, 'As built', upto)}; with USDT "
            f"collateral, {_first_liquidation(model, USDT_COLLATERAL_LABEL, upto)}. As built the collateral falls "
            f"with {moving_markets(built)}: in the cross pool a fall costs a long twice (the position and the "
            f"collateral behind it) and is a hedge for a short.")


def money_takeaway(splits: Mapping[str, MoneySplit]) -> str:
    """Where the money went, in words, comparing the variants."""
    parts = []
    for label, s in splits.items():
        text = f"{in_sentence(label)} kept {money(s.kept)} of {money(s.start)}"
        if s.taken_by_fund > 0.005:
            text += f", the insurance fund took {money(s.taken_by_fund)}"
        if s.paid_by_fund > 0.005:
            text += f" and paid {money(s.paid_by_fund)} of losses beyond margin"
        if s.socialized > 0.005:
            text += f", {money(s.socialized)} was socialized"
        if s.funding_paid > 0.005 or s.funding_received > 0.005:
            text += f"; it paid {money(s.funding_paid)} of funding and received {money(s.funding_received)}"
        parts.append(text)
    best = max(splits, key=lambda k: splits[k].kept)
    return f"By the end, {'; '.join(parts)}. Keeping the most: {in_sentence(best)}."


def wick_sentences(model: Replay, market: str, checks: Mapping[str, WickCheck], upto: int) -> list[str]:
    """The mark-versus-last story up to step ``upto``, in words.

    The headline case ("the candle touched my price but I was not liquidated") is told for the
    learner's own positions when it happened; otherwise for the deepest wick so far, as what a
    position liquidated between the two prices would have seen. The reverse (liquidated on the
    mark while the candle stayed above) is told when it happened.
    """
    column = model.path.markets.index(market)
    mark = model.path.marks[: upto + 1, column]
    last = model.last_path.marks[: upto + 1, column]
    minutes = model.crash.step_minutes
    name = md(market_label(market))
    out: list[str] = []
    told = set()
    for label, check in checks.items():
        labels = position_labels(model.variants[label])
        hits = np.argwhere(check.touched_not_liquidated[: upto + 1])
        for row, i in hits:
            pid = check.position_ids[i]
            if pid in told:
                continue
            told.add(pid)
            out.append(
                f"**The candle touched my price but I was not liquidated** ({in_sentence(label)}, {md(labels[pid])}): "
                f"at {duration_text(row * minutes)} the last price fell to {price(last[row])} USDT, past the "
                f"liquidation price {price(check.liquidation_price[row, i])}, but the mark was "
                f"{price(mark[row])}. Liquidation is judged on the mark, so the position stayed open.")
        for row, i in np.argwhere(check.liquidated_not_touched[: upto + 1]):
            pid = check.position_ids[i]
            if ("reverse", pid) in told:
                continue
            told.add(("reverse", pid))
            out.append(
                f"**The reverse** ({in_sentence(label)}, {md(labels[pid])}): at {duration_text(row * minutes)} the mark "
                f"fell to {price(mark[row])} USDT, past the liquidation price "
                f"{price(check.liquidation_price[row, i])}, while the last price was still {price(last[row])}: "
                f"liquidated although the candle never reached the price.")
    gap = (mark - last) / mark
    deepest = int(np.argmax(gap))
    if not any("touched my price" in s for s in out) and gap[deepest] > 1e-6:
        out.append(
            f"Deepest {name} wick so far: at {duration_text(deepest * minutes)} the last price touched "
            f"{price(last[deepest])} USDT while the mark stayed at {price(mark[deepest])} "
            f"({percent(gap[deepest])} higher). A long liquidated anywhere between the two saw the candle "
            f"touch its price and was **not** liquidated: liquidation is judged on the mark.")
    dips = np.flatnonzero(gap < -1e-6)
    if dips.size and not any(s.startswith("**The reverse**") for s in out):
        row = int(dips[np.argmin(gap[dips])])
        out.append(
            f"And the reverse: at {duration_text(row * minutes)} the mark dipped to {price(mark[row])} USDT "
            f"below the last price {price(last[row])}; a long liquidated between the two was liquidated "
            f"although no candle reached its price.")
    if not out:
        out.append(f"So far the {name} last price has not gone below the mark: no wick yet.")
    return out


def replay_summary(model: Replay) -> str:
    """One line: how deep the crash goes for each market of the account."""
    parts = []
    for j, name in enumerate(model.path.markets):
        low = model.path.marks[:, j].min() / model.path.marks[0, j] - 1
        parts.append(f"{md(market_label(name))} {percent(low, signed=True)}")
    return f"Deepest mark move in this crash: {join_words(parts)} (from the account's own prices)."


def splits(model: Replay) -> dict[str, MoneySplit]:
    return {label: money_split(model.variants[label], result, model.arrivals[label])
            for label, result in model.results.items()}


# ----------------------------------------------------------------------------- cached


IMPORTED_ID = "imported"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ImportedCandles:
    """Real candles read from an upload: the crash they make, the files' digest (its cache
    key) and what was assumed on the way, in words."""

    digest: str
    crash: Crash
    notes: tuple[str, ...]


def imported_candles(trades: bytes, name: str, marks: bytes | None = None,
                     marks_name: str | None = None) -> ImportedCandles:
    """Kline CSVs (Binance's public data archive layout) as a crash (:func:`margin.imports.read_klines`);
    raises :class:`~margin.fields.ScenarioError` naming the row and column."""
    from margin.imports import read_klines

    crash = read_klines(trades, mark=marks, file_name=name or "klines.csv",
                        mark_file_name=marks_name or "markPriceKlines.csv")
    digest = hashlib.sha256(trades + b"\0" + (marks or b"")).hexdigest()
    notes = tuple(str(n) for n in (crash.parameters or {}).get("notes", ()))
    return ImportedCandles(digest=digest, crash=crash, notes=notes)


def crash_key(crash_id: str, custom: Mapping[str, Any], imported: ImportedCandles | None) -> tuple[tuple, Crash]:
    """The crash to replay and the key that names it in the caches: a shipped id, the custom
    crash's parameters, or the imported files' digest."""
    if crash_id == CUSTOM_ID:
        return (CUSTOM_ID, custom_key(custom)), custom_crash(**dict(custom))
    if crash_id == IMPORTED_ID:
        if imported is None:
            raise ScenarioError("crash", "no candles have been imported")
        return (IMPORTED_ID, imported.digest), imported.crash
    return (crash_id,), load_crash(crash_id)


def position_steps(scenario: Scenario, crash: Crash) -> int:
    """How big a replay is: steps × positions (what its walk and its check cost grow with)."""
    return crash.n_steps * max(len(scenario.positions), 1)


def custom_key(custom: Mapping[str, Any]) -> tuple:
    """The custom crash's parameters as a hashable key (the betas as sorted pairs).

    >>> custom_key({"drop": 0.3, "betas": {"SOLUSDT": 1.6, "BTCUSDT": 1.0}})
    (('betas', (('BTCUSDT', 1.0), ('SOLUSDT', 1.6))), ('drop', 0.3))
    """
    return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, Mapping) else v) for k, v in custom.items()))


def replay_checks(scenario: Scenario, crash: Crash, market: str,
                  progress: Callable[[int, int], None]) -> dict[str, WickCheck]:
    """:func:`margin.replay.wick_checks` of the account's replay along ``crash``, walked here."""
    return wick_checks(replay(scenario, crash), market, progress)
