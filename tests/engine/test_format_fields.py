"""No field goes unread (issue 27, item 6): a field the format does not know is refused with its
path, at every level of a scenario and at every door that reads one (file, upload, link, command
line, room push, cascade input); every shipped document still loads; the new fields round-trip
through the writer and a link."""

from __future__ import annotations

import base64
import copy
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings

from margin.cascade import cascade_input_from_dict
from margin.cli import main
from margin.fields import ScenarioError
from margin.presets import load_story, story_ids
from margin.scenario import scenario_from_dict, scenario_to_dict
from tests.paths import ROOT
from tests.strategies import rich_scenario_dicts

GOOD = {"balance": 1_000, "markets": {"BTCUSDT": {"price": 100, "tiers": [{"floor": 0, "mmr": 0.01}]},
                                       "BTCUSD": {"price": 100, "mmr": 0.01, "contract": "inverse"}},
        "collateral": [{"asset": "ETH", "amount": 1, "market": "BTCUSDT", "haircut": 0.1},
                       {"asset": "BTC", "amount": 1, "market": "BTCUSD"}],
        "positions": [{"id": "a", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100, "leverage": 10},
                      {"id": "b", "market": "BTCUSDT", "side": "long", "size": 1, "entry": 100, "leverage": 10},
                      {"id": "c", "market": "BTCUSD", "side": "short", "size": 10, "entry": 100, "leverage": 10,
                       "stop_loss": 120}]}

MISSPELT = [  # (where the field goes, its path in the message)
    (lambda raw: raw.update(collaterall=[]), "collaterall"),
    (lambda raw: raw.setdefault("rules", {}).update(liquidaton="full"), "rules.liquidaton"),
    (lambda raw: raw["markets"]["BTCUSDT"].update(contract_typ="inverse"), "markets.BTCUSDT.contract_typ"),
    (lambda raw: raw["markets"]["BTCUSDT"]["tiers"][0].update(cum=0), "markets.BTCUSDT.tiers[0].cum"),
    (lambda raw: raw["positions"][2].update(stop_los=90), "positions[2].stop_los"),
    (lambda raw: raw["collateral"][1].update(haircutt=0.1), "collateral[1].haircutt"),
]


@pytest.mark.parametrize("misspell, path", MISSPELT)
def test_an_unknown_field_is_refused_with_its_path_at_every_level(misspell, path):
    raw = copy.deepcopy(GOOD)
    misspell(raw)
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    assert caught.value.field == path and caught.value.problem.startswith("unknown field")


def test_the_nearest_known_name_is_suggested():
    raw = copy.deepcopy(GOOD)
    raw["positions"][2]["stop_los"] = 90
    with pytest.raises(ScenarioError, match=r"^positions\[2\]\.stop_los: unknown field \(did you mean 'stop_loss'\?\)$"):
        scenario_from_dict(raw)


def test_a_field_that_would_be_ignored_is_refused():
    for change, words in ((lambda r: r["markets"]["BTCUSDT"].update(contract_value=10), "applies to inverse contracts only"),
                          (lambda r: r["markets"]["BTCUSDT"].update(mmr=0.01), "give 'tiers' or 'mmr', not both"),
                          (lambda r: r["positions"][0].update(margin=5), "applies to isolated positions only")):
        raw = copy.deepcopy(GOOD)
        change(raw)
        with pytest.raises(ScenarioError, match=words):
            scenario_from_dict(raw)


def _bad() -> dict:
    raw = copy.deepcopy(GOOD)
    raw["positions"][2]["stop_los"] = 90
    return raw


def test_the_command_line_refuses_it(tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps(_bad()))
    for command in (["liq", str(tmp_path / "s.json")], ["evaluate", str(tmp_path / "s.json")]):
        assert main(command) == 2
        assert capsys.readouterr().err.startswith("positions[2].stop_los: unknown field")


def test_an_upload_refuses_it():
    from ui.builder.model import handle_upload
    result = handle_upload(json.dumps(_bad()).encode())
    assert result.scenario is None and "stop_los" in result.message and "unknown field" in result.message


def test_a_link_refuses_it():
    from ui.common.link_codec import LinkError, decode
    payload = json.dumps({"scenario": _bad(), "page": "lab", "controls": {}}).encode()
    text = "1." + base64.urlsafe_b64encode(zlib.compress(payload, 9)).rstrip(b"=").decode()
    with pytest.raises(LinkError, match=r"positions\[2\]\.stop_los: unknown field"):
        decode(text)


def test_a_room_push_refuses_it(tmp_path):
    from classroom import RoomError, RoomStore
    store = RoomStore(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    try:
        room = store.open_room()
        with pytest.raises(RoomError) as caught:
            store.push_account(room.code, room.teacher_key, _bad())
        assert caught.value.field == "account.positions[2].stop_los"
    finally:
        store.dispose()


def test_a_cascade_input_refuses_it():
    doc = {"depth": 1_000_000, "shock": -0.05, "scenario": _bad()}
    with pytest.raises(ScenarioError) as caught:
        cascade_input_from_dict(doc)
    assert caught.value.field == "scenario.positions[2].stop_los"
    with pytest.raises(ScenarioError, match=r"^shok: unknown field \(did you mean 'shock'\?\)$"):
        cascade_input_from_dict({"depth": 1_000_000, "shock": -0.05, "shok": -0.1})
    with pytest.raises(ScenarioError, match=r"^market\.prize: unknown field"):
        cascade_input_from_dict({"depth": 1_000_000, "shock": -0.05, "market": {"price": 1, "mmr": 0.01, "prize": 2}})


def test_every_shipped_scenario_still_loads():
    for story in story_ids():
        scenario_from_dict(load_story(story))
    for path in sorted((ROOT / "tests" / "data").glob("*.json")):
        document = json.loads(path.read_text())
        if isinstance(document, dict) and "positions" in document and "markets" in document:
            scenario_from_dict(document)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=rich_scenario_dicts(coins=True, orders=True))
def test_the_new_fields_round_trip_through_the_writer_and_a_link(raw):
    from ui.common.link_codec import decode, encode
    scenario = scenario_from_dict(raw)
    written = scenario_to_dict(scenario)
    assert scenario_from_dict(written) == scenario
    view = decode(encode({"scenario": written, "page": "lab", "controls": {}}))
    assert scenario_from_dict(view["scenario"]) == scenario
