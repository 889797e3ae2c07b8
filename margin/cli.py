"""``python -m margin``: the engine from the command line (see the scenario format).

Every command writes JSON to standard output and exits 0; bad input exits 2 with one line on
standard error naming the field, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Sequence

from margin.account import evaluate, liquidation_prices
from margin.scenario import ScenarioError, load_scenario
from margin.simulate import load_path, simulate

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ScenarioError("arguments", message)


def _clean(value: Any) -> Any:
    """JSON-ready: infinities and NaN become null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _price_overrides(items: Sequence[str], markets: Sequence[str]) -> dict[str, float]:
    prices: dict[str, float] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep:
            raise ScenarioError("--price", f"must look like MARKET=PRICE, got {item!r}")
        if name not in markets:
            raise ScenarioError(f"--price {name}", f"unknown market (markets: {', '.join(markets)})")
        try:
            value = float(text)
        except ValueError:
            raise ScenarioError(f"--price {name}", f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ScenarioError(f"--price {name}", f"must be a finite number > 0, got {text}")
        prices[name] = value
    return prices


def command_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    snapshot = evaluate(scenario, _price_overrides(args.price, list(scenario.markets)))
    c = snapshot.cross
    return {
        "cross": {"wallet": c.wallet, "equity": c.equity, "maintenance_margin": c.maintenance_margin,
                  "margin_ratio": c.margin_ratio, "liquidatable": c.liquidatable},
        "positions": [
            {"id": p.id, "mode": p.mode, "notional": p.notional, "unrealized_pnl": p.unrealized_pnl,
             "maintenance_margin": p.maintenance_margin, "equity": p.equity,
             "liquidatable": p.liquidatable, "status": p.status}
            for p in snapshot.positions
        ],
    }


def command_liq(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    return {"positions": [
        {"id": lp.id, "liquidation_price": lp.liquidation_price, "bankruptcy_price": lp.bankruptcy_price}
        for lp in liquidation_prices(scenario)
    ]}


def command_simulate(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    return simulate(scenario, load_path(args.path)).as_dict()


def command_bench(args: argparse.Namespace) -> dict[str, Any]:
    from margin.bench import run_engine_benchmarks
    return run_engine_benchmarks(quick=args.quick, echo=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m margin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = commands.add_parser("evaluate", help="a snapshot of the account at its prices or overrides")
    p.add_argument("scenario", help="scenario file, or - for standard input")
    p.add_argument("--price", action="append", metavar="MARKET=PRICE", help="override a mark price")
    p.set_defaults(run=command_evaluate)
    p = commands.add_parser("liq", help="liquidation and bankruptcy price of every position")
    p.add_argument("scenario")
    p.set_defaults(run=command_liq)
    p = commands.add_parser("simulate", help="walk a price path and apply the liquidation rules")
    p.add_argument("scenario")
    p.add_argument("--path", required=True, help="CSV: step,<MARKET>,... one row per step")
    p.set_defaults(run=command_simulate)
    p = commands.add_parser("bench", help="time the engine against the plain reference loops")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.set_defaults(run=command_bench)
    _register_extra_commands(commands)
    return parser


def _register_extra_commands(commands: Any) -> None:
    """Commands of the other engine modules (cascade, stress), when present."""
    for module_name in ("margin.cascade", "margin.stress"):
        try:
            module = __import__(module_name, fromlist=["register_cli"])
        except ImportError:
            continue
        register = getattr(module, "register_cli", None)
        if register is not None:
            register(commands)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        output = args.run(args)
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    try:
        json.dump(_clean(output), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: the reader left, nothing to report
        sys.stderr.close()
    return 0
