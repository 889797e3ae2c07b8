"""``python -m margin``: the engine from the command line (see the scenario format).

Every command writes JSON to standard output and exits 0; bad input exits 2 with one line on
standard error naming the field, never a traceback. The commands are listed here, once; the
benchmarks are commands too, in modules of their own (``margin.cli.bench_*``), outside the
engine's modules.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from margin.cli import bench_cascade, bench_engine, bench_stress
from margin.cli.bench_timing import REPEATS
from margin.cli.commands import (
    clean, command_cascade, command_evaluate, command_liq, command_simulate, command_stress,
)
from margin.fields import ScenarioError
from margin.stress import MODELS

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ScenarioError("arguments", message)


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
    p = commands.add_parser("cascade", help="a liquidation cascade in one market (JSON input, see README)")
    p.add_argument("input", help="cascade input JSON file, or - for standard input")
    p.set_defaults(run=command_cascade)
    _stress_parser(commands)
    p = commands.add_parser("bench", help="time the engine against the plain reference loops")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    _repeats_argument(p, REPEATS)
    p.set_defaults(run=lambda args: bench_engine.run_engine_benchmarks(quick=args.quick, echo=sys.stderr,
                                                                       repeats=args.repeats))
    p = commands.add_parser("cascade-bench", help="time the cascade: 100,000 traders, 50-shock tipping curve")
    p.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    _repeats_argument(p, None)
    p.set_defaults(run=lambda args: bench_cascade.run_cascade_benchmarks(quick=args.quick, echo=sys.stderr,
                                                                         repeats=args.repeats))
    p = commands.add_parser("stress-bench", help="time and peak memory of a 10,000-path stress run")
    p.add_argument("--paths", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=1_000)
    p.add_argument("--positions", type=int, default=10)
    p.add_argument("--horizon-days", type=float, default=1.0)
    p.add_argument("--quick", action="store_true", help="1,000 paths, for a smoke run")
    _repeats_argument(p, REPEATS)
    p.set_defaults(run=bench_stress.command)
    return parser


def _repeats_argument(parser: argparse.ArgumentParser, default: int | None) -> None:
    parser.add_argument("--repeats", type=_repeats, default=default,
                        help=f"runs of every case, CPU and wall time each (min and median; default {default or 15})")


def _repeats(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= 1_000:
        raise argparse.ArgumentTypeError(f"must be in [1, 1000], got {value}")
    return value


def _stress_parser(commands: Any) -> None:
    p = commands.add_parser("stress", help="odds of liquidation, wipe-out and bankruptcy over random paths")
    p.add_argument("scenario", help="scenario file, or - for standard input")
    p.add_argument("--paths", type=int, default=2_000, help="number of paths (default 2,000)")
    p.add_argument("--steps", type=int, default=288, help="steps per path (default 288)")
    p.add_argument("--horizon-days", type=float, default=1.0, help="horizon [days] (default 1)")
    p.add_argument("--model", choices=MODELS, default="normal", help="shock distribution (default normal)")
    p.add_argument("--dof", type=float, default=3.0, help="Student-t degrees of freedom ν > 2 (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--vol", action="append", metavar="MARKET=VOL", help="annual volatility [fraction], e.g. BTCUSDT=0.6")
    p.add_argument("--corr", action="append", metavar="A:B=RHO", help="correlation of a pair, e.g. BTCUSDT:ETHUSDT=0.9")
    p.set_defaults(run=command_stress)


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
        json.dump(clean(output), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: the reader left, nothing to report
        sys.stderr.close()
    return 0


__all__ = ["EXIT_BAD_INPUT", "build_parser", "main"]
