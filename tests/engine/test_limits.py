"""The bounds on expensive requests: one module (margin.limits), every bound in the table of
docs/operations.md, and each door refuses a request past one with a line naming the field and the limit,
at once (nothing is started)."""

from __future__ import annotations

import copy
import json
import re
import time
import tomllib

import pytest

from margin import limits
from margin.cli import main
from tests.engine.test_engine_bad_input import GOOD
from tests.paths import ROOT


def test_every_bound_is_in_the_operations_table_with_its_value():
    doc = (ROOT / "docs" / "operations.md").read_text()
    table = doc[doc.index("## Input bounds"):]
    table = table[: table.index("\n## ", 3)]
    for name in (n for n in vars(limits) if n.isupper()):
        value = getattr(limits, name)
        row = next((line for line in table.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is not in the table of bounds of docs/operations.md"
        small_whole = isinstance(value, float) and value.is_integer() and value < 1e6
        words = f"{value:,}" if isinstance(value, int) else f"{value:,.0f}" if small_whole else f"{value:g}"
        assert row.split("|")[2].strip() == words, (name, words, row)


def test_the_server_takes_no_upload_larger_than_the_bound():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == limits.MAX_UPLOAD_MB


def _scenario(n_positions: int = 2, n_markets: int = 2) -> dict:
    raw = copy.deepcopy(GOOD)
    raw["markets"] = {f"M{k}": {"price": 100, "mmr": 0.01} for k in range(n_markets)}
    raw["balance"] = 1e9
    raw["positions"] = [{"id": f"p{k}", "market": f"M{k % n_markets}", "side": "long", "size": 1, "entry": 100,
                         "leverage": 10, "mode": "cross"} for k in range(n_positions)]
    return raw


@pytest.mark.parametrize("argv_tail, field, words", [
    (["--paths", str(limits.MAX_PATHS), "--steps", str(limits.MAX_STEPS)], "n_paths", "the limit is 200,000,000"),
    (["--paths", str(limits.MAX_PATHS + 1)], "n_paths", "must be in [1, 1,000,000]"),
    (["--steps", str(limits.MAX_STEPS + 1)], "n_steps", "must be in [1, 100,000]"),
    (["--paths", "20000", "--steps", "720"], "n_paths", "20,000 paths × 720 steps × 20 positions"),
])
def test_a_stress_run_past_its_bounds_is_refused_at_once(tmp_path, capsys, argv_tail, field, words):
    (tmp_path / "s.json").write_text(json.dumps(_scenario(20, 5)))
    started = time.perf_counter()
    code = main(["stress", str(tmp_path / "s.json"), *argv_tail])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"{field}: ") and words in err, err
    assert time.perf_counter() - started < 5  # refused before any path is drawn


@pytest.mark.parametrize("raw, field, words", [
    (_scenario(limits.MAX_POSITIONS + 1), "positions", f"the limit is {limits.MAX_POSITIONS}"),
    (_scenario(2, limits.MAX_MARKETS + 1), "markets", f"the limit is {limits.MAX_MARKETS}"),
])
def test_an_account_past_its_bounds_is_refused(tmp_path, capsys, raw, field, words):
    (tmp_path / "s.json").write_text(json.dumps(raw))
    assert main(["liq", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{field}: ") and words in err


def test_a_crowd_past_its_bound_is_refused(tmp_path, capsys):
    source = {"market": {"name": "BTC", "price": 100, "mmr": 0.01}, "crowd": {"n_traders": limits.MAX_TRADERS + 1},
              "depth": 1_000_000, "shock": -0.05}
    (tmp_path / "c.json").write_text(json.dumps(source))
    assert main(["cascade", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crowd.n_traders: ") and re.search(r"2,000,000", err), err
