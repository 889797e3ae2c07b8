"""AppTest: the account builder's fields for issue 27: collateral entries (asset, amount, the
market that prices it, haircut), inverse markets (contract, contract value) and each position's
stop-loss, take-profit and stop slippage; every bad cell told in words naming the field, the
account kept; where each stop sits against the liquidation said beside the account."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support import app_file, shown


def _builder(story: str = "collateral-crashes-with-you") -> AppTest:
    at = app_file().run().switch_page("pages/builder.py").run()
    at.selectbox(key="builder.story").set_value(story).run()
    at.button(key="builder.load").click().run()
    assert not at.exception, at.exception
    return at


def _edit(at: AppTest, table: str, edited_rows: dict[int, dict], added_rows: list[dict] | None = None) -> AppTest:
    """Type into one of the builder's tables (its edit state, as the browser sends it)."""
    key = f"builder.{table}.{at.session_state['builder.version']}"
    at.session_state[key] = {"edited_rows": edited_rows, "added_rows": added_rows or [], "deleted_rows": []}
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_a_collateral_edit_is_the_accounts_collateral():
    at = _edit(_builder(), "collateral", {0: {"amount": 0.5, "haircut": 10.0}})
    assert not _errors(at), _errors(at)
    assert at.session_state["scenario"]["collateral"] == [{"asset": "BTC", "amount": 0.5, "market": "BTCUSDT",
                                                           "haircut": 0.1}]
    text = "\n".join(t.value for t in at.text)
    assert "Collateral: 0.5 BTC priced by BTCUSDT, counted at 90 % of its price in the cross pool (a 10 % haircut)" in text


def test_a_bad_collateral_cell_is_told_naming_the_field_and_the_account_is_kept():
    at = _builder()
    before = at.session_state["scenario"]
    _edit(at, "collateral", {0: {"haircut": 150.0}})  # 150 % typed past the editor's bound (a paste does)
    assert any(e.startswith("Collateral 1, haircut:") for e in _errors(at)), _errors(at)
    assert at.session_state["scenario"] == before
    _edit(at, "collateral", {0: {"haircut": 5.0, "asset": "USDT"}})
    assert any(e.startswith("Collateral 1, asset: USDT is the account's balance") for e in _errors(at)), _errors(at)
    assert at.session_state["scenario"] == before


def test_a_stop_typed_in_the_positions_table_is_kept_and_placed_against_the_liquidation():
    at = _edit(_builder(), "orders", {0: {"stop_loss": 29_000.0, "stop_slippage": 0.5}})
    assert not _errors(at), _errors(at)
    position = at.session_state["scenario"]["positions"][0]
    assert (position["stop_loss"], position["stop_slippage"]) == (29_000.0, 0.005)
    text = "\n".join(t.value for t in at.text)
    assert "stop-loss at 29,000" in text and "(slippage 0.5 %)" in text
    assert "its stop-loss at 29,000.00 can never fire: the position is liquidated at 30,848.33" in text
    _edit(at, "orders", {0: {"stop_loss": 50_000.0, "stop_slippage": 0.5}})
    assert "its stop-loss at 50,000.00 can fire" in "\n".join(t.value for t in at.text)


def test_a_stop_on_the_wrong_side_is_told_naming_the_position_and_the_field():
    at = _builder()
    before = at.session_state["scenario"]
    _edit(at, "orders", {0: {"stop_loss": 65_000.0}})
    assert any(e.startswith("Position 1 (btc-long), stop_loss: a long's stop-loss must be below its entry")
               for e in _errors(at)), _errors(at)
    assert at.session_state["scenario"] == before


def test_a_market_made_inverse_needs_its_coin_and_says_so():
    at = _builder()
    before = at.session_state["scenario"]
    _edit(at, "markets", {0: {"contract_value": 100.0}})
    errors = _errors(at)
    assert errors and all("Traceback" not in e for e in errors), errors
    assert at.session_state["scenario"] == before  # BTCUSDT settles in USDT's name: refused, in words
    _edit(at, "markets", {0: {"contract_value": None}})
    assert not _errors(at), _errors(at)
