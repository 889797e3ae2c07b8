"""Dashboard in a real Chromium: move the shock slider with the keyboard and read the event list."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.conftest import step_slider

pytestmark = pytest.mark.browser


def _shock(page: Page):
    return page.locator('[data-testid="stSlider"]').filter(has_text="Whole-market shock").get_by_role("slider")


def test_keyboard_shock_step_liquidates_and_the_event_list_says_so(app_url: str, page: Page):
    page.goto(app_url)  # the price lab is the default page, served at the root
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    # the event list of the account as built: the column under its heading
    as_built = page.locator('[data-section="What happened on the way, as built"]')
    expect(as_built.get_by_role("heading", name="What happened on the way, as built")).to_be_visible()
    expect(as_built.get_by_text("Nothing was liquidated on the way.")).to_be_visible()
    expect(as_built.get_by_text(re.compile("liquidated at"))).to_have_count(0)

    thumb = _shock(page)
    thumb.focus()
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")
    for _ in range(20):  # 20 steps of 0.5 %: a -10 % shock, past the pool's -9.26 % threshold
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(33)  # a held key repeats about 30 times a second
    # On a loaded machine Streamlit's page can drop the last step of a burst (1 to 3 bursts in
    # 10 with both cores busy): step on, as a learner would, until the box says -10 %.
    for _ in range(10):
        page.wait_for_timeout(1500)
        if box.input_value() == "-10.0":
            break
        thumb.focus()
        page.keyboard.press("ArrowLeft")
    expect(box).to_have_value("-10.0")

    event = as_built.get_by_text(re.compile(r"BTC long liquidated at [\d,.]+ USDT .*the cross pool fell below maintenance"))
    expect(event).to_be_visible()
    expect(as_built.get_by_text(re.compile(r"SOL long closed with it at [\d,.]+ USDT"))).to_be_visible()
    expect(as_built.get_by_text("Nothing was liquidated on the way.")).to_have_count(0)

    page.keyboard.press("Home")  # all the way down: nothing new can happen to a closed pool
    expect(page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")).to_have_value("-90.0")
    expect(event).to_be_visible()


def test_steps_update_the_lab_in_place_and_a_market_step_moves_its_own_marks(app_url: str, page: Page):
    """The lab's text, charts and slider marks are changed in place (ui/shell/live_html.py): the
    elements stay, their numbers change. A market slider's step moves the marks under it."""
    page.goto(app_url)
    happening = page.locator('[data-section="What is happening"]')
    expect(happening).to_contain_text("a cushion of 15,553.00 USDT")
    happening.evaluate("(el) => { el.__kept = true; }")
    thumb = _shock(page)
    thumb.focus()
    for _ in range(4):  # -2 %
        page.keyboard.press("ArrowLeft")
    expect(page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")).to_have_value("-2.0")
    expect(happening).not_to_contain_text("a cushion of 15,553.00 USDT")
    assert happening.evaluate("(el) => el.__kept === true"), "the text was rebuilt, not updated in place"

    sol_marks = page.locator('[data-live-region="strip.SOLUSDT"]')
    expect(sol_marks).to_contain_text("after the shock 174.24")  # 180 × (1 − 1.6 × 2 %): SOL moves 1.6 times the market
    sol = page.locator('[data-testid="stSlider"]').filter(has_text="SOL price").get_by_role("slider")
    sol_box = page.locator('[data-testid="stNumberInput"]').filter(has_text="SOL exact").locator("input")
    step_slider(page, sol, sol_box, 10, "179.0")  # ten steps of 0.1 USDT down, to 179.0
    expect(sol_marks).to_contain_text("after the shock 173.27")  # 179 × (1 − 1.6 × 2 %)
    expect(page.locator('[data-live-region="strip.BTCUSDT"]')).to_contain_text("after the shock 98,000.00")


def _watch_elements(page: Page) -> list:
    """Record, from the page's websocket, each element Streamlit sends (its type and, for a
    widget, its key) and each finished run (``("finished", status)``)."""
    seen: list = []

    def on_frame(payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except Exception:  # not every frame is a ForwardMsg
            return
        if msg.WhichOneof("type") == "script_finished":
            seen.append(("finished", msg.script_finished))
        elif msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            kind = element.WhichOneof("type")
            widget_id = getattr(getattr(element, kind), "id", "")
            seen.append((kind, widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else ""))  # "$$ID-<hash>-<key>"

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return seen


def _one_step(page: Page, seen: list) -> list:
    """Press ArrowLeft on the focused slider; the elements its fragment run sent."""
    seen.clear()
    page.keyboard.press("ArrowLeft")
    deadline = time.monotonic() + 20
    while ("finished", ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY) not in seen:
        assert time.monotonic() < deadline, f"no fragment run finished: {seen}"
        page.wait_for_timeout(20)
    return [item for item in seen if item[0] != "finished"]


def test_a_step_sends_only_what_it_changes(app_url: str, page: Page):
    """A shock step sends the shock slider, its box, the (unchanged) places of its marks and of
    the live region that says what the step changed, and one update of the lab's regions; a market step sends that market's slider, its box and one
    update. No other slider, box, button or the radio is sent again, and no run of the whole app."""
    seen = _watch_elements(page)
    page.goto(app_url)
    expect(page.locator('[data-live-region="text"] [data-section="What is happening"]')).to_be_visible()
    _shock(page).focus()
    assert _one_step(page, seen) == [("slider", "lab.shock.slider"), ("number_input", "lab.shock.input"),
                                     ("html", ""), ("html", ""), ("bidi_component", "lab.live")]
    page.locator('[data-testid="stSlider"]').filter(has_text="SOL price").get_by_role("slider").focus()
    assert _one_step(page, seen) == [("slider", "lab.price.SOLUSDT.slider"),
                                     ("number_input", "lab.price.SOLUSDT.input"),
                                     ("bidi_component", "lab.live.SOLUSDT")]
    expect(page.locator('[data-live-region="strip.SOLUSDT"]')).to_contain_text("after the shock 178.46")  # 179.9 x (1 - 1.6 x 0.5 %)


def _type_shock(page: Page, value: str) -> None:
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Shock, exact").locator("input")
    box.fill(value)
    box.press("Enter")
    expect(box).to_have_value(value)


def test_a_liquidation_stays_after_the_shock_goes_back_and_reset_restores_it(app_url: str, page: Page):
    page.goto(app_url)
    positions = page.locator('[data-section="Positions, as built"]')
    expect(positions).to_contain_text("healthy")
    _type_shock(page, "-15.0")
    expect(positions).not_to_contain_text("healthy")
    expect(positions.get_by_text(re.compile(r"closed at [\d,.]+ USDT"))).to_have_count(2)
    _type_shock(page, "0.0")
    happening = page.locator('[data-section="What is happening"]')
    expect(happening).to_contain_text("You went to a shock of -15.0 %, then to a shock of 0.0 %: the cross pool "
                                      "was liquidated on the way to a shock of -15.0 %")
    expect(positions).not_to_contain_text("healthy")  # still closed, back at the account's own prices
    expect(positions.get_by_text(re.compile(r"closed at [\d,.]+ USDT"))).to_have_count(2)
    page.get_by_role("button", name="Reset").click()
    expect(positions.get_by_text(re.compile("healthy"))).to_have_count(2)
    expect(happening).not_to_contain_text("You went to")


def test_a_decimal_typed_in_the_builders_size_cell_is_the_size_in_the_account(app_url: str, page: Page):
    """On the default account the Size column holds whole numbers (1 BTC, 240 SOL). Typed into
    that cell, 0.5 must be 0.5 BTC in the account, not 5 (an integer column drops the point)."""
    page.goto(f"{app_url}/builder")
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    in_use = page.locator(".st-key-builder-in_use")
    expect(in_use).to_contain_text("BTC long: 1 BTC at an entry of 83,000 USDT, 20× cross")
    grid.locator('[data-testid="glide-cell-1-0"]').focus()  # the first position's name: the grid has the keyboard
    for _ in range(3):  # Name → Market → Side → Size
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # open the cell's editor, holding the size as it is
    editor = page.locator("input.gdg-input")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("1")
    editor.press("Control+A")
    editor.press_sequentially("0.5")  # typed key by key, as a learner does
    editor.press("Enter")
    expect(in_use).to_contain_text("BTC long: 0.5 BTC at an entry of 83,000 USDT, 20× cross")
    expect(grid.locator('[data-testid="glide-cell-4-0"]')).to_have_text("0.5")
    expect(page.get_by_text(re.compile(r"size: must be"))).to_have_count(0)


@pytest.mark.parametrize("present", [False, True], ids=["1280x800", "presenter-1280x720"])
def test_the_builders_tables_show_every_column_whole(app_url: str, page: Page, present: bool):
    """Both tables, an isolated position with its margin among them: no header or cell cut
    short, no column pushed out of sight, on a laptop and on a projector in presenter mode."""
    from margin.presets import load_story
    from tests.conftest import cut_short
    from ui.common.link_codec import encode

    raw = load_story("isolated-lottery-ticket")
    if present:
        page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/?v={encode({'scenario': raw, 'page': 'builder', 'controls': {}})}"
              + ("&present=1" if present else ""))
    expect(page.get_by_role("heading", name="Account builder")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(4)  # positions, stop orders, markets, collateral
    page.wait_for_function("document.fonts.status === 'loaded'")
    page.wait_for_timeout(500)
    assert cut_short(page) == []
