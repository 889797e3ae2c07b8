"""The commands of ``python -m margin``: each reads its input through the engine's boundary
(:mod:`margin.fields`), runs the engine and returns a JSON-ready dict."""

from __future__ import annotations

import argparse
import math

from typing import Any, Mapping, Sequence

from margin.account import evaluate, liquidation_prices
from margin.cascade import LEVERAGE_BUCKETS, Round, cascade_input_from_dict, named_traders, run_spec
from margin.fields import ScenarioError, number, parse_json, read_bytes
from margin.scenario import Scenario, load_scenario
from margin.simulate import load_path, simulate
from margin.stops import order_reach
from margin.stress import StressSpec, run_stress, stress_spec


def price_overrides(items: Sequence[str], markets: Sequence[str]) -> dict[str, float]:
    """``--price MARKET=PRICE`` options as prices [quote per base]."""
    prices: dict[str, float] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep:
            raise ScenarioError("--price", f"must look like MARKET=PRICE, got {item[:60]!r}")
        if name not in markets:
            raise ScenarioError(f"--price {name[:40]}", f"unknown market (markets: {', '.join(markets)})")
        prices[name] = number(text, f"--price {name}", low=0.0, low_open=True, high=1e9)
    return prices


def command_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    snapshot = evaluate(scenario, price_overrides(args.price, list(scenario.markets)))
    c = snapshot.cross
    out: dict[str, Any] = {
        "cross": {"wallet": c.wallet, "equity": c.equity, "maintenance_margin": c.maintenance_margin,
                  "margin_ratio": c.margin_ratio, "liquidatable": c.liquidatable},
        "positions": [
            {"id": p.id, "mode": p.mode, "notional": p.notional, "unrealized_pnl": p.unrealized_pnl,
             "maintenance_margin": p.maintenance_margin, "equity": p.equity,
             "liquidatable": p.liquidatable, "status": p.status,
             **({} if p.currency == "USDT" else {"currency": p.currency})}
            for p in snapshot.positions
        ],
    }
    # an account without collateral or coin pools answers exactly as before
    if scenario.collateral:
        out["cross"]["collateral_value"] = c.collateral_value
    if snapshot.coins:
        out["coin_pools"] = [{"asset": k.asset, "wallet": k.wallet, "equity": k.equity,
                              "maintenance_margin": k.maintenance_margin, "margin_ratio": k.margin_ratio,
                              "liquidatable": k.liquidatable, "price": k.price} for k in snapshot.coins]
    return out


def command_liq(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    out: dict[str, Any] = {"positions": [
        {"id": lp.id, "liquidation_price": lp.liquidation_price, "bankruptcy_price": lp.bankruptcy_price}
        for lp in liquidation_prices(scenario)
    ]}
    reach = order_reach(scenario)
    if reach:  # where each stop-loss and take-profit sits against the liquidation (margin.stops)
        out["orders"] = [{"id": r.id, "kind": r.kind, "trigger": r.trigger, "can_fire": r.can_fire,
                          "liquidation_price": r.liquidation_price, "bankruptcy_price": r.bankruptcy_price,
                          "gap_to_bankruptcy": r.gap_to_bankruptcy} for r in reach]
    return out


def command_simulate(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    return simulate(scenario, load_path(args.path), crossing="report").as_dict()  # a path file is observed marks


# ----------------------------------------------------------------------------- cascade


def command_cascade(args: argparse.Namespace) -> dict[str, Any]:
    raw = parse_json(read_bytes(args.input, what="input"), "input", nan_to_field=True)
    return cascade_report(raw)


def cascade_report(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The cascade input ``raw`` run: the JSON answer of ``python -m margin cascade``."""
    run = run_spec(cascade_input_from_dict(raw))
    result, crowd = run.result, run.crowd
    out: dict[str, Any] = {"rounds": [_round_dict(r) for r in result.rounds], "final": {
        "price": result.final_price, "drop": result.final_drop, "initial_shock": result.shock,
        "amplification": result.amplification, "rounds": len(result.rounds) - 1,
        "rounds_with_liquidations": result.active_rounds, "stopped": result.stopped,
        "liquidated_count": result.liquidated_count, "liquidated_notional": result.liquidated_notional,
        "traders": crowd.n_traders, **result.accounting(),
    }}
    if run.curve is not None:
        curve = run.curve
        out["tipping"] = {"shocks": curve.shocks.tolist(), "final_drops": curve.final_drops.tolist(),
                          "rounds": curve.rounds.tolist(), "runaway_shock": curve.runaway_shock}
    if run.spec.scenario is not None:
        out["learner"] = [dict(fate) for fate in run.learner]
    if run.spec.traders:
        out["traders"] = named_traders(run)
    return out


def _round_dict(r: Round) -> dict[str, Any]:
    return {"round": r.round, "price": r.price, "liquidated_count": r.liquidated_count,
            "liquidated_notional": r.liquidated_notional,
            "by_leverage": {label: float(v) for label, v in zip(LEVERAGE_BUCKETS, r.by_leverage) if v}}


# ----------------------------------------------------------------------------- stress


def _pairs(items: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    out = []
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ScenarioError(option, f"must look like NAME=VALUE, got {item[:60]!r}")
        out.append((name, text))
    return out


def spec_from_args(scenario: Scenario, args: argparse.Namespace) -> StressSpec:
    volatility = {name: number(text, f"--vol {name[:40]}") for name, text in _pairs(args.vol, "--vol")}
    correlation = {}
    for name, text in _pairs(args.corr, "--corr"):
        a, sep, b = name.partition(":")
        if not sep:
            raise ScenarioError("--corr", f"must look like MARKET:MARKET=RHO, got {name[:40]}={text[:20]}")
        correlation[(a, b)] = number(text, f"--corr {name[:40]}")
    return stress_spec(scenario, volatility=volatility, correlation=correlation, model=args.model,
                       dof=args.dof, horizon_days=args.horizon_days, n_steps=args.steps,
                       n_paths=args.paths, seed=args.seed)


def command_stress(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    return run_stress(scenario, spec_from_args(scenario, args)).summary()


def clean(value: Any) -> Any:
    """JSON-ready: infinities and NaN become null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


__all__ = ["cascade_report", "clean", "command_cascade", "command_evaluate", "command_liq", "command_simulate",
           "command_stress", "price_overrides", "spec_from_args"]

