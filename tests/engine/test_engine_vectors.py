"""Published worked examples (tests/data/exchange-examples.json, sources named in the file),
through the Python API and through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from margin import liquidation_prices, scenario_from_dict
from tests.paths import DATA, ROOT

VECTORS = json.loads((DATA / "exchange-examples.json").read_text())
TOLERANCE = VECTORS["tolerance"]
CASES = [pytest.param(v, id=v["id"]) for v in VECTORS["vectors"]]


def test_the_vector_file_is_not_empty():
    assert len(VECTORS["vectors"]) >= 5
    assert all(v["source"] for v in VECTORS["vectors"])


@pytest.mark.parametrize("vector", CASES)
def test_vector_through_the_python_api(vector):
    results = {lp.id: lp for lp in liquidation_prices(scenario_from_dict(vector["scenario"]))}
    assert set(results) == set(vector["expected"])
    for position_id, expected in vector["expected"].items():
        got = results[position_id]
        assert got.liquidation_price == pytest.approx(expected["liquidation_price"], abs=TOLERANCE)
        assert got.bankruptcy_price == pytest.approx(expected["bankruptcy_price"], abs=TOLERANCE)


@pytest.mark.parametrize("vector", CASES)
def test_vector_through_the_command_line(vector, tmp_path):
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps(vector["scenario"]))
    run = subprocess.run([sys.executable, "-m", "margin", "liq", str(scenario_file)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    out = {p["id"]: p for p in json.loads(run.stdout)["positions"]}
    assert [p["id"] for p in json.loads(run.stdout)["positions"]] == [p["id"] for p in vector["scenario"]["positions"]]
    for position_id, expected in vector["expected"].items():
        assert out[position_id]["liquidation_price"] == pytest.approx(expected["liquidation_price"], abs=TOLERANCE)
        assert out[position_id]["bankruptcy_price"] == pytest.approx(expected["bankruptcy_price"], abs=TOLERANCE)


def test_vector_from_standard_input():
    vector = VECTORS["vectors"][0]
    run = subprocess.run([sys.executable, "-m", "margin", "liq", "-"], input=json.dumps(vector["scenario"]),
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    (position,) = json.loads(run.stdout)["positions"]
    assert position["liquidation_price"] == pytest.approx(vector["expected"]["btc"]["liquidation_price"], abs=TOLERANCE)
