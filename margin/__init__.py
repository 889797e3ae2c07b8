"""Margin Lab's engine: cross and isolated margin, liquidation, bankruptcy, cascades.

Pure numpy/pandas; no Streamlit, no Plotly. The scenario file format and the command line are
specified in the project's scenario-format document; ``python -m margin --help`` lists the
commands.
"""

from margin.account import (
    AT_RISK, BANKRUPT, HEALTHY, LIQUIDATED, STATUS_NAMES, CompiledAccount, LiquidationPrice,
    Snapshot, Valuation, classify, compile_account, evaluate, liquidation_prices,
    position_liquidation_price, value_account,
)
from margin.scenario import (
    Market, Position, Rules, Scenario, ScenarioError, Tier, load_scenario, parse_scenario_text,
    scenario_from_dict, scenario_to_dict,
)
from margin.simulate import (
    Event, FinalState, PricePath, SimulationResult, load_path, parse_path_csv, price_path,
    simulate, simulate_reference,
)
from margin.sweep import Sweep, shock_prices, sweep_price, sweep_shock

__all__ = [
    "AT_RISK", "BANKRUPT", "HEALTHY", "LIQUIDATED", "STATUS_NAMES", "CompiledAccount", "Event",
    "FinalState", "LiquidationPrice", "Market", "Position", "PricePath", "Rules", "Scenario",
    "ScenarioError", "SimulationResult", "Snapshot", "Sweep", "Tier", "Valuation", "classify",
    "compile_account", "evaluate", "liquidation_prices", "load_path", "load_scenario",
    "parse_path_csv", "parse_scenario_text", "position_liquidation_price", "price_path",
    "scenario_from_dict", "scenario_to_dict", "shock_prices", "simulate", "simulate_reference",
    "sweep_price", "sweep_shock", "value_account",
]
