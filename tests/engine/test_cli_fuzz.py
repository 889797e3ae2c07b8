"""Hostile and careless input through every command of ``python -m margin``: whatever the
file, the path or the options hold, the command either answers (exit 0, JSON on standard
output) or exits 2 with one line on standard error that names a field. Never a traceback,
never an exception out of ``main``. Hypothesis breaks a good input in every place it can; the
cases the issue saw fail before are listed by hand; a few run in a real process."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from margin.cli import main
from tests.engine.test_engine_bad_input import GOOD
from tests.paths import ROOT

CASCADE = {"market": {"name": "BTC", "price": 100, "mmr": 0.01}, "crowd": {"n_traders": 500, "seed": 1},
           "depth": 1_000_000, "shock": -0.05}
PATH = "step,BTC,ETH\n0,100,10\n1,90,11\n2,95,12\n"
COMMANDS = ("evaluate", "liq", "simulate", "stress", "cascade")

# values a careless or hostile file puts where a number, a name or an object belongs
NASTY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**50, 10**50), st.sampled_from([10**399, -(10**4000)]),  # 5,000 digits: RAW_TOKENS (json cannot write it)
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 1e-300, 5e-324, 0.0, -0.0]),
    st.text(max_size=30), st.sampled_from(["NaN", "1e308", "![](http://host/x.png)", "<img src=x>", "", " ", "\x00"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
RAW_TOKENS = ("NaN", "Infinity", "-Infinity", "1" + "0" * 400, "1" + "0" * 5000, "[" * 5000 + "]" * 5000,
              '"\\ud800"', "1e999", "-", "{}", "[]", '"' + "x" * 5000 + '"')


def _leaves(value, path=()):
    """Every place in a JSON document: (path, value)."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _replace(document, path, value):
    if not path:
        return value
    out = copy.deepcopy(document)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def _delete(document, path):
    out = copy.deepcopy(document)
    target = out
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return out


@st.composite
def broken_documents(draw, good):
    """``good`` broken in one or two places: a value replaced, a key removed or added, a
    token JSON's own parser chokes on spliced in, or the bytes corrupted."""
    document = copy.deepcopy(good)
    for _ in range(draw(st.integers(1, 2))):
        places = [p for p, _ in _leaves(document)]
        path = draw(st.sampled_from(places))
        how = draw(st.sampled_from(["replace", "delete", "add", "token"]))
        if how == "replace" or (how == "delete" and not path):
            document = _replace(document, path, draw(NASTY))
        elif how == "delete":
            document = _delete(document, path)
        elif how == "add" and isinstance(_get(document, path), dict):
            document = _replace(document, (*path, draw(st.text(max_size=8))), draw(NASTY))
        elif how == "token":
            marker = "\u2063TOKEN\u2063"
            text = json.dumps(_replace(document, path, marker))
            return text.replace(json.dumps(marker), draw(st.sampled_from(RAW_TOKENS))).encode()
    data = json.dumps(document, allow_nan=True).encode()
    cut = draw(st.sampled_from(["none", "none", "truncate", "bytes"]))
    if cut == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif cut == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


def _get(document, path):
    for key in path:
        document = document[key]
    return document


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """``main(argv)`` in this process: the exit code, standard output and standard error."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(code: int, out: str, err: str) -> None:
    """An answer, or one line naming a field: never a traceback."""
    assert "Traceback" not in err
    if code == 0:
        json.loads(out)
        return
    assert code == 2, (code, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    field, sep, problem = err.partition(": ")
    assert sep and field.strip() and problem.strip(), err


def _argv(command: str, target: str, path_file: str) -> list[str]:
    if command == "simulate":
        return ["simulate", target, "--path", path_file]
    if command == "stress":
        return ["stress", target, "--paths", "50", "--steps", "8"]
    return [command, target]


FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(data=st.data(), command=st.sampled_from(("evaluate", "liq", "simulate", "stress")))
def test_a_broken_scenario_answers_or_exits_2_naming_a_field(tmp_path, capsys, data, command):
    scenario = tmp_path / "scenario.json"
    scenario.write_bytes(data.draw(broken_documents(GOOD)))
    (tmp_path / "path.csv").write_text(PATH)
    assert_clean(*run_cli(_argv(command, str(scenario), str(tmp_path / "path.csv")), capsys))


@FUZZ
@given(data=st.data())
def test_a_broken_cascade_input_answers_or_exits_2_naming_a_field(tmp_path, capsys, data):
    source = tmp_path / "cascade.json"
    source.write_bytes(data.draw(broken_documents(dict(CASCADE, scenario=GOOD))))
    assert_clean(*run_cli(["cascade", str(source)], capsys))


@FUZZ
@given(rows=st.lists(st.lists(st.one_of(st.sampled_from(["", "x", "NaN", "inf", "-1", "0", "1e308", "1" + "0" * 400]),
                                        st.floats(allow_nan=True).map(repr), st.text(max_size=6)),
                              min_size=0, max_size=4), max_size=5),
       header=st.sampled_from(["step,BTC,ETH", "step,BTC", "step", "step,DOGE", "time,BTC", "", "step,BTC,BTC"]))
def test_a_broken_price_path_answers_or_exits_2_naming_a_field(tmp_path, capsys, rows, header):
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    (tmp_path / "path.csv").write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n")
    assert_clean(*run_cli(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path / "path.csv")], capsys))


OPTION_VALUES = st.sampled_from(["-1", "0", "1e9", "10000000000", "nan", "inf", "x", "", "1" + "0" * 400, "2.5"])


@FUZZ
@given(paths=OPTION_VALUES, steps=OPTION_VALUES, horizon=OPTION_VALUES, dof=OPTION_VALUES,
       seed=OPTION_VALUES, vol=st.sampled_from(["BTC=nan", "BTC=-1", "BTC=1e308", "DOGE=0.5", "BTC", "=1", "BTC=0.5"]),
       corr=st.sampled_from(["BTC:ETH=2", "BTC:ETH=nan", "BTC=0.5", "BTC:DOGE=0.1", "BTC:ETH=0.3"]))
def test_stress_options_answer_or_exit_2_naming_the_option(tmp_path, capsys, paths, steps, horizon, dof, seed, vol, corr):
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    argv = ["stress", str(tmp_path / "ok.json"), "--paths", paths, "--steps", steps, "--horizon-days", horizon,
            "--model", "student_t", "--dof", dof, "--seed", seed, "--vol", vol, "--corr", corr]
    code, out, err = run_cli(argv, capsys)
    assert_clean(code, out, err)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _good_with(text_for_balance: str) -> str:
    return json.dumps(dict(GOOD, balance=123456789)).replace("123456789", text_for_balance)


def _scenario_with(*path, value) -> str:
    return json.dumps(_replace(GOOD, path, value))


# what the issue saw print a traceback or pass as nonsense, each with the field its message names
CASES = {
    "nested 100,000 deep": (_nested(100_000), "scenario"),
    "objects nested 100,000 deep": ('{"a":' * 100_000 + "1" + "}" * 100_000, "scenario"),
    "400-digit integer": (_good_with("1" + "0" * 399), "scenario"),
    "5,000-digit integer": (_good_with("-1" + "0" * 4999), "scenario"),
    "not UTF-8": (b"\xff\xfe{\x00}", "scenario"),
    "binary": (bytes(range(256)) * 8, "scenario"),
    "entry 1e308": (_scenario_with("positions", 0, "entry", value=1e308), "positions[0].entry"),
    "size 1e308": (_scenario_with("positions", 0, "size", value=1e308), "positions[0].size"),
    "balance 1e308": (_scenario_with("balance", value=1e308), "balance"),
    "beta 1e308": (_scenario_with("markets", "BTC", "beta", value=1e308), "markets.BTC.beta"),
    "leverage 1e-300": (_scenario_with("positions", 0, "leverage", value=1e-300), "positions[0].leverage"),
    "NaN in an extra field": (json.dumps(GOOD)[:-1] + ', "notes": {"x": [1, NaN]}}', "notes.x[1]"),
    "mmr 1e-320 rate text": (_scenario_with("markets", "ETH", "mmr", value="0.01abc"), "markets.ETH.mmr"),
    "a name of 100,000 characters": (_scenario_with("name", value="x" * 100_000), "name"),
    "a story of 10,000 characters": (json.dumps(dict(GOOD, story="s" * 10_000)), "story"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_what_once_broke_the_command_line_exits_2_naming_the_field(tmp_path, capsys, case, command):
    content, field = CASES[case]
    source = tmp_path / "input.json"
    if command == "cascade" and field != "scenario":  # the account rides inside the cascade's input
        content = json.dumps(dict(CASCADE, scenario=json.loads(content, parse_constant=float)), allow_nan=True)
        field = f"scenario.{field}" if not field.startswith("scenario") else field
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "path.csv").write_text(PATH)
    code, out, err = run_cli(_argv(command, str(source), str(tmp_path / "path.csv")), capsys)
    assert_clean(code, out, err)
    assert code == 2, out[:200]
    named = "input" if command == "cascade" and field == "scenario" else field
    assert err.startswith(f"{named}: ") or err.startswith(f"{named}"), err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_given_as_the_file(tmp_path, capsys, command):
    code, out, err = run_cli(_argv(command, str(tmp_path), str(tmp_path / "path.csv")), capsys)
    assert_clean(code, out, err)
    assert code == 2 and "is a folder, not a file" in err


@pytest.mark.parametrize("content", [b"\xff\xfestep,BTC\n0,1\n", bytes(range(256)) * 4, b"step,BTC\n0," + b"1" * 400 + b"\n"])
def test_a_price_path_that_is_not_text_or_holds_a_huge_number(tmp_path, capsys, content):
    (tmp_path / "ok.json").write_text(json.dumps(GOOD))
    (tmp_path / "path.csv").write_bytes(content)
    code, out, err = run_cli(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path / "path.csv")], capsys)
    assert_clean(code, out, err)
    assert code == 2 and err.startswith("path")
    code, out, err = run_cli(["simulate", str(tmp_path / "ok.json"), "--path", str(tmp_path)], capsys)
    assert code == 2 and err.startswith("path: ") and "folder" in err


@pytest.mark.parametrize("case", ["nested 100,000 deep", "5,000-digit integer", "binary", "entry 1e308"])
def test_in_a_real_process_one_line_and_exit_2(tmp_path, case):
    content, field = CASES[case]
    source = tmp_path / "input.json"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    run = subprocess.run([sys.executable, "-m", "margin", "liq", str(source)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(f"{field}: "), run.stderr
    assert "Traceback" not in run.stderr


def test_standard_input_nested_deep_in_a_real_process():
    run = subprocess.run([sys.executable, "-m", "margin", "cascade", "-"], input=_nested(100_000),
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 2 and run.stderr.startswith("input: is nested 100,000 levels deep")
