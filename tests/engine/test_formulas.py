"""Every formula the glossary prints is right in general: read from the printed LaTeX
(:mod:`tests.formulas`) and evaluated on random accounts (Hypothesis) against the engine."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.account import compile_account, evaluate, margin_ratio, position_liquidation_price, value_account
from margin.scenario import scenario_from_dict
from margin.simulate import simulate
from margin.stress.results import VariantStress
from margin.sweep import shock_prices
from tests.formulas import evaluate as run, latex_to_python
from tests.strategies import paths_for, scenario_dicts

GLOSSARY = json.loads((Path(__file__).resolve().parents[2] / "assets" / "glossary.json").read_text(encoding="utf-8"))
FORMULAS = {t["anchor"]: t["formula"] for t in GLOSSARY["terms"] if t.get("formula")}
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def holds(latex: str, names: dict, truth: bool | None = None) -> None:
    """Every clause of ``latex`` with ``names``: a clause ``k = …`` of a name not given defines
    it; an equation must hold (to rounding); an inequality must be as true as ``truth``."""
    names = dict(names)
    checks = []
    for clause in latex_to_python(latex):
        left, equals, right = clause.partition(" == ")
        if equals and left.isidentifier() and left not in names:
            names[left] = run(right, names)
        else:
            checks.append(clause)
    assert checks, latex
    for clause in checks:
        left, equals, right = clause.partition(" == ")
        if equals:
            a, b = float(run(left, names)), float(run(right, names))
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9 * (1 + abs(b))), (latex, clause, names)
        else:
            assert bool(run(clause, names)) is truth, (latex, clause, names)


class Largest:
    """``loss[(k)]``: the k-th largest loss (k from 1)."""

    def __init__(self, losses):
        self.sorted = np.sort(np.asarray(losses, dtype=float))[::-1]

    def __getitem__(self, k):
        return float(self.sorted[int(k) - 1])


def _positions(s):
    v = value_account(compile_account(s), np.array([[m.price for m in s.markets.values()]]))
    return v, list(enumerate(s.positions))


def _per_position(s):
    v, positions = _positions(s)
    for i, p in positions:
        mark = s.markets[p.market].price
        yield i, p, v, {"size": p.size, "entry": p.entry, "mark": mark, "price": mark, "side": p.sign,
                        "unrealized_PnL": float(v.unrealized_pnl[0, i])}


def check_notional(s, _):
    for i, _p, v, names in _per_position(s):
        holds(FORMULAS["notional"], {**names, "notional": float(v.notional[0, i])})
        holds(FORMULAS["perpetual-future"], {**names, "notional": float(v.notional[0, i])})


def check_pnl(s, _):
    for i, p, v, names in _per_position(s):
        pnl = float(v.unrealized_pnl[0, i])
        holds(FORMULAS["unrealized-pnl"], {**names, "PnL": pnl})
        holds(FORMULAS["long" if p.sign > 0 else "short"], {**names, f"PnL_{'long' if p.sign > 0 else 'short'}": pnl})


def check_pools(s, _):
    v, positions = _positions(s)
    cross = np.array([not p.is_isolated for _, p in positions])
    iso = ~cross
    upnl = v.unrealized_pnl[0]
    holds(FORMULAS["cross-margin"], {"cross_equity": float(v.cross_equity[0]), "cross_wallet": s.cross_wallet,
                                     "unrealized_PnL": upnl, "sum_cross": lambda a: float(np.sum(a[cross]))})
    margins = np.array([p.margin if p.is_isolated else 0.0 for _, p in positions])
    holds(FORMULAS["wallet-balance"], {"cross_wallet": s.cross_wallet, "balance": s.balance, "margin": margins,
                                       "sum_isolated": lambda a: float(np.sum(a[iso]))})
    holds(FORMULAS["equity"], {"equity": float(v.cross_equity[0]), "wallet": s.cross_wallet,
                               "unrealized_PnL": float(np.sum(upnl[cross]))})
    for i, p in positions:
        if p.is_isolated:
            names = {"margin": p.margin, "unrealized_PnL": float(upnl[i]), "isolated_equity": float(v.position_equity[0, i])}
            holds(FORMULAS["isolated-margin"], names)
            holds(FORMULAS["equity"], {**names, "wallet": p.margin, "equity": names["isolated_equity"]})
    equity, mm = float(v.cross_equity[0]), float(v.cross_maintenance[0])
    if cross.any() and equity > 0:
        holds(FORMULAS["margin-ratio"], {"margin_ratio": margin_ratio(equity, mm), "MM": mm, "equity": equity})


def check_opening(s, raw):
    for p in raw["positions"]:
        p["mode"] = "isolated"
        p.pop("margin", None)
    raw["balance"] = 1e9
    opened = scenario_from_dict(raw)
    for p in opened.positions:
        holds(FORMULAS["initial-margin"], {"IM": p.margin, "size": p.size, "entry": p.entry, "leverage": p.leverage})
        holds(FORMULAS["leverage"], {"leverage": p.leverage, "notional": p.size * p.entry, "margin": p.margin})


def check_maintenance(s, _):
    for i, p, v, _names in _per_position(s):
        market = s.markets[p.market]
        notional = p.size * (p.entry if s.rules.mm_basis == "entry" else market.price)
        tier = market.tier_for(notional)
        holds(FORMULAS["maintenance-margin"], {"MM": float(v.maintenance_margin[0, i]), "notional": notional,
                                               "mmr_tier": tier.mmr, "cum_tier": tier.cum})
    for market in s.markets.values():
        tiers = market.tiers
        table = {"cum": {n + 1: t.cum for n, t in enumerate(tiers)}, "floor": {n + 1: t.floor for n, t in enumerate(tiers)},
                 "mmr": {n + 1: t.mmr for n, t in enumerate(tiers)}}
        for n in range(2, len(tiers) + 1):
            holds(FORMULAS["maintenance-tiers"], {**table, "n": n})


def check_liquidation_prices(s, _):
    """A position alone in its market within its pool: ``margin`` is what stands behind it
    besides its own PnL, MM its pool's maintenance at the price."""
    v, positions = _positions(s)
    for i, p in positions:
        same = [q for _, q in positions if q.market == p.market and not q.is_isolated and q is not p]
        if not p.is_isolated and same:
            continue
        found = position_liquidation_price(s, i)
        behind = p.margin if p.is_isolated else s.cross_wallet + float(sum(
            v.unrealized_pnl[0, k] for k, q in positions if not q.is_isolated and q is not p))
        for latex, price, name in ((FORMULAS["liquidation-price"], found.liquidation_price, "p_liq"),
                                   (FORMULAS["bankruptcy-price"], found.bankruptcy_price, "p_bankrupt")):
            if price is None:
                continue
            at = evaluate(s, {p.market: price})
            mm = at.positions[i].maintenance_margin if p.is_isolated else at.cross.maintenance_margin
            holds(latex, {name: price, "entry": p.entry, "side": p.sign, "margin": behind, "MM": mm, "size": p.size})


def check_fee(s, raw, path):
    """An isolated full close: its fee against what it had left."""
    result = simulate(s, path)
    for e in result.events:
        p = next(q for q in s.positions if q.id == e.position)
        if e.type == "liquidation" and p.is_isolated:
            left = max(p.margin + e.realized_pnl, 0.0)
            holds(FORMULAS["liquidation-fee"], {"fee": e.fee, "rate": s.rules.liquidation_fee_rate,
                                                "closed_notional": e.size * e.price, "left": left})


def check_shock(s, shock):
    moved = shock_prices(s, np.array([shock]))[0]
    for j, market in enumerate(s.markets.values()):
        names = {"p": market.price, "p_prime": float(moved[j]), "beta": market.beta, "shock": shock}
        holds(FORMULAS["market-shock"], names)
        holds(FORMULAS["beta"], {**names, "Delta_p": float(moved[j]) - market.price, "BTCs_move": shock})


@PROPERTY
@given(raw=scenario_dicts(liquidation=("full",)), data=st.data())
def test_every_glossary_formula_holds_on_random_accounts(raw, data):
    betas = data.draw(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
    for market, beta in zip(raw["markets"].values(), betas):
        market["beta"] = beta
    s = scenario_from_dict(raw)
    for formula_check in (check_notional, check_pnl, check_pools, check_maintenance, check_liquidation_prices):
        formula_check(s, raw)
    check_opening(s, json.loads(json.dumps(raw)))
    check_fee(s, raw, data.draw(paths_for(s, max_steps=40)))
    check_shock(s, data.draw(st.floats(-0.99, 0.99)))


@PROPERTY
@given(losses=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=700), start=st.floats(1.0, 1e6))
def test_the_stress_figures_formulas_hold_on_random_paths(losses, start):
    losses = np.array(losses)
    s = scenario_from_dict({"balance": 100, "markets": {"X": {"price": 1, "mmr": 0.01}},
                            "positions": [{"id": "a", "market": "X", "side": "long", "size": 1, "entry": 1,
                                           "leverage": 1}]})
    final = start - losses
    stress = VariantStress(label="x", scenario=s, start_value=start, final_value=final,
                           liquidated=np.zeros((len(losses), 1), bool),
                           first_liquidation_step=np.full((len(losses), 1), -1), bankrupt=np.zeros(len(losses), bool))
    names = {"loss": Largest(stress.loss), "n": len(losses)}
    holds(FORMULAS["var"], {**names, "VaR": {99: stress.value_at_risk()}})
    holds(FORMULAS["expected-shortfall"], {**names, "ES": {99: stress.expected_shortfall()}})
    for value, wiped in zip(final, stress.wiped_out):
        holds(FORMULAS["wipe-out"], {"final_value": float(value), "start_value": start}, truth=bool(wiped))


CHECKED = {  # every printed formula and the check that evaluates it
    "notional": check_notional, "perpetual-future": check_notional, "unrealized-pnl": check_pnl, "long": check_pnl,
    "short": check_pnl, "cross-margin": check_pools, "wallet-balance": check_pools, "equity": check_pools,
    "isolated-margin": check_pools, "margin-ratio": check_pools, "initial-margin": check_opening,
    "leverage": check_opening, "maintenance-margin": check_maintenance, "maintenance-tiers": check_maintenance,
    "liquidation-price": check_liquidation_prices, "bankruptcy-price": check_liquidation_prices,
    "liquidation-fee": check_fee, "market-shock": check_shock, "beta": check_shock,
    "var": test_the_stress_figures_formulas_hold_on_random_paths,
    "expected-shortfall": test_the_stress_figures_formulas_hold_on_random_paths,
    "wipe-out": test_the_stress_figures_formulas_hold_on_random_paths,
}


def test_every_printed_formula_is_checked():
    assert set(FORMULAS) == set(CHECKED)


def test_the_liquidation_formula_is_not_entry_minus_maintenance_over_size():
    """The issue's case: with the margin twice the maintenance, entry − MM ÷ size happens to give
    the right number; with any other margin it does not, and the printed formula still does."""
    raw = {"balance": 1000, "rules": {"mm_basis": "entry"}, "markets": {"DOGE": {"price": 0.3, "mmr": 0.01}},
           "positions": [{"id": "d", "market": "DOGE", "side": "long", "size": 40_000, "entry": 0.3, "leverage": 50,
                          "mode": "isolated", "margin": 300}]}
    s = scenario_from_dict(raw)
    liq = position_liquidation_price(s, 0).liquidation_price
    assert liq == pytest.approx(0.3 - (300 - 120) / 40_000) and liq != pytest.approx(0.3 - 120 / 40_000)
    holds(FORMULAS["liquidation-price"], {"p_liq": liq, "entry": 0.3, "side": 1, "margin": 300, "MM": 120, "size": 40_000})


def test_the_glossarys_worked_examples_add_up():
    """The arithmetic in the examples ("0.30 − (240 − 120) / 40,000 = 0.297") gives what they say."""
    from tests.formulas import arithmetic_to_python
    import re
    found = 0
    for term in GLOSSARY["terms"]:
        for left, right in re.findall(r"([\d.,()\s−+×/]+?)\s=\s([\d.,]*\d)", term.get("example", "")):
            found += 1
            assert float(run(arithmetic_to_python(left), {})) == pytest.approx(
                float(right.replace(",", "")), abs=0.0005), term["anchor"]
    assert found >= 2
    s = scenario_from_dict(json.loads((Path(__file__).resolve().parents[2] / "assets" / "scenarios"
                                       / "isolated-lottery-ticket.json").read_text()))
    doge = next(i for i, p in enumerate(s.positions) if p.id == "doge-ticket")
    assert round(position_liquidation_price(s, doge).liquidation_price, 3) == 0.297
    assert math.isclose(position_liquidation_price(s, doge).bankruptcy_price, 0.294)


# ----------------------------------------------------------------------------- the lessons' formulas

from teach import check, expected, get_lesson, lessons, measure  # noqa: E402
from teach.lessons import LessonError  # noqa: E402
from teach.quantities import QUANTITIES  # noqa: E402
from teach.verdicts import formula_texts  # noqa: E402
from tests.formulas import arithmetic_to_python  # noqa: E402

WITH_FORMULAS = [lesson.id for lesson in lessons() if lesson.formulas]


def formulas_hold(lesson, context, answer, *, exact=True):
    """Each formula's printed side, with ``price`` the answer, against what it equals."""
    prints = formula_texts(lesson, context, exact=exact)
    equals = formula_texts(lesson, context, exact=exact, side="equals")
    for name in lesson.formulas:
        assert "{" not in prints[name] + equals[name], (lesson.id, name, prints[name])
        left = float(run(arithmetic_to_python(prints[name]), {"price": answer}))
        right = float(run(arithmetic_to_python(equals[name]), {}))
        tolerance = dict(rel=1e-9, abs=1e-9 * (1 + abs(right))) if exact else dict(rel=2e-3, abs=0.02)
        assert left == pytest.approx(right, **tolerance), (lesson.id, name, prints[name], equals[name], answer)


def test_lessons_print_formulas():
    assert {"cross-exposure", "liq-vs-bankruptcy", "maintenance-tiers", "insurance-fund"} <= set(WITH_FORMULAS)


@pytest.mark.parametrize("lesson_id", WITH_FORMULAS)
def test_each_lessons_formulas_are_the_engines_on_its_account_and_are_printed(lesson_id):
    lesson = get_lesson(lesson_id)
    truth = measure(lesson)
    formulas_hold(lesson, truth.context, float(truth.value))
    shown = float(expected(lesson_id))  # as printed: the rounded numbers give the rounded answer
    formulas_hold(lesson, truth.context, shown, exact=False)
    message = check(lesson_id, expected(lesson_id)).message
    for name, text in formula_texts(lesson, truth.context).items():
        assert text in message, (lesson_id, name)  # the formula is in the text the learner reads


@st.composite
def alone_in_its_market(draw, **kwargs):
    """An account and a position of it that is alone in its market within its pool."""
    raw = draw(scenario_dicts(**kwargs))
    s = scenario_from_dict(raw)
    alone = [p.id for p in s.positions if p.is_isolated or not any(
        q is not p and q.market == p.market and not q.is_isolated for q in s.positions)]
    if not alone:
        raw["positions"] = raw["positions"][:1]
        return raw, raw["positions"][0]["id"]
    return raw, draw(st.sampled_from(alone))


def _long(raw):
    for p in raw["positions"]:
        p["side"] = "long"
    return raw


def _levered(raw):
    """At least 2x, on at most its initial margin: a long that can go bankrupt."""
    for p in raw["positions"]:
        p["leverage"] = max(p["leverage"], 2.0)
        p.pop("margin", None)
    raw["balance"] = sum(p["size"] * p["entry"] / p["leverage"] for p in raw["positions"]) + 1_000.0
    return raw


def _thin(raw, data):
    """A wallet of about the positions' initial margin, so that prices of interest exist."""
    opened = sum(p["size"] * p["entry"] / p["leverage"] for p in raw["positions"])
    raw["balance"] = opened * data.draw(st.floats(0.5, 2.0))
    return raw


def _at_entry(raw):
    for p in raw["positions"]:
        p["entry"] = raw["markets"][p["market"]]["price"]
    return raw


def _cross_exposure(data):
    raw, position = data.draw(alone_in_its_market(modes=("cross",), max_positions=4))
    return _thin(raw, data), position


FAMILIES = {  # each lesson's formulas hold for every account of the kind its text speaks of
    "cross-exposure": _cross_exposure,
    "liq-vs-bankruptcy": lambda data: (_levered(_long(data.draw(scenario_dicts(modes=("isolated",), max_positions=1)))),
                                       "p0"),
    "maintenance-tiers": lambda data: (_thin(_long(data.draw(scenario_dicts(modes=("cross",), max_positions=1,
                                                                             mm_basis=("mark",)))), data), "p0"),
    "insurance-fund": lambda data: (_thin(_at_entry(_long(data.draw(scenario_dicts(modes=("cross",),
                                                                                    max_positions=1)))), data), "p0"),
}


def test_every_lesson_with_formulas_has_a_family_of_accounts():
    assert set(FAMILIES) == set(WITH_FORMULAS)


@pytest.mark.parametrize("lesson_id", sorted(FAMILIES))
@PROPERTY
@given(data=st.data())
def test_each_lessons_formulas_hold_on_random_accounts_of_its_kind(data, lesson_id):
    lesson = get_lesson(lesson_id)
    raw, position = FAMILIES[lesson_id](data)
    s = scenario_from_dict(raw)
    spec = {**lesson.quantity, "position": position}
    if lesson.quantity["kind"] == "socialized_loss":  # a gap past the bankruptcy price in one step
        market = s.positions[0].market
        bankruptcy = position_liquidation_price(s, 0).bankruptcy_price
        if bankruptcy is None:
            return
        fill = bankruptcy * data.draw(st.floats(0.3, 0.99))
        spec = {"kind": "socialized_loss", "path": {"prices": {market: [s.markets[market].price, fill]}}}
    try:
        truth = QUANTITIES[spec["kind"]](s, spec)
    except LessonError:
        return  # no such price for this account
    if lesson.quantity["kind"] == "socialized_loss" and "fill" not in truth.context["num"]:
        return  # closed on the way in, before the gap
    formulas_hold(lesson, truth.context, float(truth.value))
