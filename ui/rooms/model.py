"""A classroom room's screens as numbers and words (pure, no Streamlit): the student's lab at
the room's step, a student's fate in a class cascade in words, the reveal's figures, the join
link, the accounts a teacher may push and the class replay's pace. The room's state itself comes from :mod:`classroom`.

The lab at a step is the price lab's own model (:mod:`ui.lab.model`): the account walks from
its own prices to the room's shock and prices, as built. It depends only on the pushed account
(its canonical JSON text), the shock and the prices, so every student of a room shares one
computation per teacher step (:func:`cached_screen` is bounded and keyed by those).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

from classroom.codes import RoomError
from classroom.market import ClassMarket, check_position
from classroom.questions import numeric_lessons
from margin.numbers import money, percent, price
from margin.presets import load_story, market_label, story_ids
from margin.scenario import Scenario, scenario_from_dict
from margin.scenario_writer import canonical_json
from margin.replay import Replay
from ui.lab.model import VariantView, move_history, new_history, target_prices
from ui.lab.words import describe_events, lab_views
from ui.replay.model import duration_text
from teach.lessons import get_lesson, lesson_scenario
from ui.common.words import position_labels

ROOM_PARAM, SEAT_PARAM, KEY_PARAM = "room", "seat", "key"


account_text = canonical_json  # the account's canonical JSON text (its cache key)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RoomStep:
    """The room's account at one teacher step: the account as built walked to ``prices`` [USDT]
    (the shock applied on top of the sliders' prices, by the lab's rule)."""

    scenario: Scenario
    shock: float  # [fraction]
    prices: Mapping[str, float]  # every market's mark after the shock [USDT]
    view: VariantView


def room_step(account: str, shock: float, slider_prices: Sequence[tuple[str, float]]) -> RoomStep:
    """The lab at the room's step: ``account`` (canonical JSON text), ``shock`` [fraction] and
    the sliders' ``prices`` [USDT] the teacher moved (the others at the account's own)."""
    scenario = scenario_from_dict(json.loads(account))
    sliders = {n: float(m.price) for n, m in scenario.markets.items()} | dict(slider_prices)
    history = move_history(new_history(scenario, account), sliders, shock)
    return RoomStep(scenario=scenario, shock=shock, prices=target_prices(scenario, sliders, shock),
                    view=lab_views(history)["As built"])


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayMoment:
    """The room's account at one step of a crash replay: the crash's name and how far in, each
    market's move from the start [fraction], each way's equity now and at the start [USDT], and
    what the account as built has lost on the way so far, in sentences."""

    crash: str
    label: str
    elapsed: str
    moves: tuple[tuple[str, float], ...]
    equity: tuple[tuple[str, float, float], ...]
    events: tuple[str, ...]


def replay_moment(model: Replay, step: int) -> ReplayMoment:
    """Where the crash replay ``model`` stands at ``step`` (the replay page's own model)."""
    path = model.path
    step = max(0, min(int(step), len(path.steps) - 1))
    moves = tuple((name, float(path.marks[step, k] / path.marks[0, k] - 1.0)) for k, name in enumerate(path.markets))
    equity = tuple((label, float(model.equity(label)[step]), float(model.equity(label)[0])) for label in model.results)
    built = next(iter(model.results))
    scenario = model.variants[built]
    events = [e for e in model.results[built].events if e.row <= step]
    when = [duration_text(e.row * model.crash.step_minutes) for e in events]
    sentences = describe_events(events, scenario, position_labels(scenario), [f"After {w}" for w in when])
    return ReplayMoment(crash=model.crash.name, label=model.crash.label, elapsed=duration_text(step * model.crash.step_minutes),
                        moves=moves, equity=equity, events=tuple(sentences))


def step_words(step: RoomStep) -> str:
    """One line: where the teacher has taken the market."""
    moved = ", ".join(f"{market_label(n)} {price(p)} USDT" for n, p in step.prices.items())
    shock = "no shock" if step.shock == 0 else f"a whole-market shock of {percent(step.shock, signed=True)}"
    return f"The market now: {shock}; {moved}."


def default_notional(market: ClassMarket) -> float:
    """The position form's starting notional [USDT]: valid at every leverage the form offers
    (1x to the teacher's maximum), by the class market's own rule
    (:func:`classroom.market.check_position`: at most wallet × leverage, and the tier's maximum
    leverage at that notional): the smaller of 5,000 and the wallet, halved until the tiers
    allow the maximum leverage.

    >>> from classroom.market import ClassMarket
    >>> default_notional(ClassMarket(wallet=1_000.0)), default_notional(ClassMarket(wallet=1e6, max_leverage=100))
    (1000.0, 5000.0)
    """
    notional = min(5_000.0, market.wallet)
    while notional > 1.0:
        try:
            check_position({"side": "long", "mode": "cross", "leverage": market.max_leverage, "notional": notional}, market)
            return notional
        except RoomError:
            notional /= 2.0
    return notional


def join_url(page_url: str, code: str) -> str:
    """The link a student opens to join: the room page's address with ``?room=<code>``, on the
    same host (and path prefix) the teacher's page was served from.

    >>> join_url("https://lab.example/base/teach_room?room=X&key=secret", "ABC234")
    'https://lab.example/base/join_room?room=ABC234'
    """
    parts = urlsplit(page_url)
    path = parts.path.rsplit("/", 1)[0] + "/join_room"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode({ROOM_PARAM: code}), ""))


def fate_words(fate: Mapping[str, Any]) -> str:
    """A student's fate in a class cascade, in a sentence: whether, when and why."""
    p = fate["position"]
    what = f"{p['leverage']:g}x {p['side']} of {money(p['notional'])}, {p['mode']}"
    behind = ("the whole wallet stood behind it" if p["mode"] == "cross"
              else f"only its margin of {money(p['notional'] / p['leverage'])} stood behind it")
    liq = fate.get("liquidation_price")
    if fate["round"] is None:
        far = f" (it would have been liquidated at {price(liq)} USDT)" if liq else ""
        return f"Survived: your {what} was never liquidated{far}."
    when = "before the shock, on the way from its entry" if fate["before_shock"] else f"in round {fate['round']}"
    at = f" at {price(fate['price'])} USDT" if fate.get("price") is not None else ""
    why = f": the price crossed your liquidation price of {price(liq)} USDT, and {behind}" if liq else ""
    return f"Liquidated {when}{at}{why}. It was a {what}."


def fate_row(fate: Mapping[str, Any]) -> dict[str, str]:
    """A student's fate as the teacher's table shows it: short cells, no sentence.

    >>> fate_row({"position": {"side": "long", "mode": "isolated", "leverage": 25.0, "notional": 20000.0},
    ...           "liquidation_price": 96385.5, "round": 1, "price": 94000.0, "before_shock": False})["Fate"]
    'liquidated in round 1'
    """
    p = fate["position"]
    if fate["round"] is None:
        what = "survived"
    elif fate["before_shock"]:
        what = "liquidated before the shock"
    else:
        what = f"liquidated in round {fate['round']}"
    liq = fate.get("liquidation_price")
    return {"Position": f"{p['leverage']:g}x {p['side']}, {p['mode']}", "Notional [USDT]": f"{p['notional']:,.0f}",
            "Fate": what, "Filled at [USDT]": "" if fate.get("price") is None else price(fate["price"]),
            "Liquidation price [USDT]": "" if liq is None else price(liq)}


def who(participant_id: int, nickname: str, order: Mapping[int, int], show_names: bool) -> str:
    """A student as the teacher's screens show them: the nickname, or "Student n" (anonymous)."""
    return nickname if show_names else f"Student {order.get(participant_id, 0)}"


def histogram_bins(values: Sequence[float], value: float, n_bins: int = 24) -> tuple[float, float]:
    """The histogram's ``(start, size)`` so that the answers and the engine's value fit.

    >>> histogram_bins([90.0, 110.0], 100.0, 4)
    (90.0, 5.0)
    """
    low, high = min([*values, value]), max([*values, value])
    if high == low:
        width = max(abs(value) * 0.01, 1e-9)
        return low - width * n_bins / 2, width
    return low, (high - low) / n_bins


def account_choices() -> dict[str, str]:
    """What the teacher may push to the room: the builder's account, a story preset or a numeric
    lesson's account (choice → label)."""
    choices = {"builder": "The builder's account (this browser)"}
    choices.update({f"story:{s}": f"Story: {load_story(s).get('name', s)}" for s in story_ids()})
    choices.update({f"lesson:{i}": f"Lesson: {get_lesson(i).title}" for i in numeric_lessons()})
    return choices


def chosen_account(choice: str, own: Mapping[str, Any]) -> Mapping[str, Any]:
    """The account of a choice of :func:`account_choices` (``own``: the builder's account).

    >>> chosen_account("story:default", {})["name"], chosen_account("builder", {"name": "mine"})["name"]
    ('A winner keeps a loser alive', 'mine')
    """
    if choice.startswith("story:"):
        return load_story(choice.split(":", 1)[1])
    if choice.startswith("lesson:"):
        return lesson_scenario(get_lesson(choice.split(":", 1)[1]))
    return own


__all__ = ["KEY_PARAM", "default_notional", "ROOM_PARAM", "ReplayMoment", "RoomStep", "replay_moment", "SEAT_PARAM", "account_choices", "account_text", "chosen_account", "fate_row", "fate_words", "histogram_bins",
           "join_url", "room_step", "step_words", "who"]
