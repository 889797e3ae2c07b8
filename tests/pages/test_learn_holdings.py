"""AppTest: issue 27's two lessons on the learn page. Before the prediction the account's facts
show what the question needs (the BTC collateral and its haircut; each stop's trigger); a wrong
answer made of the typical mistake is told why with the engine's numbers, and the right one is
accepted."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support import learn_app, open_lesson, shown


def _check(at: AppTest, lesson_id: str, value: float) -> AppTest:
    if at.session_state[f"learn.result.{lesson_id}"] if f"learn.result.{lesson_id}" in at.session_state else None:
        at.button(key=f"learn.retry.{lesson_id}").click().run()
    at.number_input(key=f"learn.answer.{lesson_id}.widget").set_value(value).run()
    at.button(key=f"learn.check.{lesson_id}").click().run()
    assert not at.exception, at.exception
    return at


def _wrong_then_right(at: AppTest, lesson_id: str, wrong: float, right: float, told: tuple[str, ...]) -> None:
    """The typical mistake ``wrong`` is told each line of ``told``; then ``right`` is accepted."""
    _check(at, lesson_id, wrong)
    said = _said(at)
    assert [line for line in told if line not in said] == []
    _check(at, lesson_id, right)
    assert not at.error and at.success[0].value.startswith(f"**Right: the engine says {right:,.2f}")


def _tables(at: AppTest) -> str:
    """The account's facts: HTML tables (ui/learn/facts.py), readable at 390 px."""
    return "\n".join(h.proto.body for h in at.get("html") if 'class="ml-facts ' in h.proto.body)


def _said(at: AppTest) -> str:
    return shown("\n".join([e.value for e in at.error] + [s.value for s in at.success] + [m.value for m in at.markdown]))


def test_the_collateral_lesson_counts_the_btc_wallet_falling_with_the_long():
    at = open_lesson(learn_app(), "collateral-crashes")
    facts = _tables(at)
    assert "BTC" in facts and "95 % of its price (a 5 % haircut)" in facts  # the wallet is not only USDT
    _wrong_then_right(at, "collateral-crashes", 3_015.08, 30_848.33, (  # the collateral counted as fixed USDT
        "You said 3,015.08 USDT per BTC; the engine says 30,848.33 USDT per BTC.",
        "if the wallet held the 57,000.00 USDT as USDT"))


def test_the_stop_lesson_takes_the_margin_not_the_stop_beyond_it():
    at = open_lesson(learn_app(), "stop-never-fires")
    facts = _tables(at)
    assert "94,000.00" in facts and "3,200.00" in facts  # each stop's trigger, before the prediction
    _wrong_then_right(at, "stop-never-fires", 4_000.0, 4_500.0, (  # both stops trusted to fire
        "You said 4,000.00 USDT; the engine says 4,500.00 USDT.",
        "4,000.00 USDT is what would be left if both stops fired at their triggers",
        "the BTC long was liquidated at 95,477.39 before its stop at 94,000.00 was reached"))


def test_the_builder_keeps_where_each_stop_sits_hidden_while_the_stop_lesson_waits():
    from tests.support import goto

    at = open_lesson(learn_app(), "stop-never-fires")
    at.button(key="learn.open.stop-never-fires").click().run()
    goto(at, "pages/builder.py")
    assert not at.exception, at.exception
    text = "\n".join([t.value for t in at.text] + [m.value for m in at.markdown])
    assert "94,000" in text  # the stop itself is a fact of the account
    assert "can never fire" not in text and "Where each stop sits" not in text
    goto(at, "pages/price_lab.py")
    at.number_input(key="learn.answer.stop-never-fires.widget").set_value(4_500.0).run()
    at.button(key="learn.check.stop-never-fires.panel").click().run()
    goto(at, "pages/builder.py")
    text = "\n".join([t.value for t in at.text] + [m.value for m in at.markdown])
    assert "its stop-loss at 94,000.00 can never fire" in text


def test_the_builder_keeps_every_story_hidden_while_a_lesson_waits():
    """A story says what happens (the collateral story names the liquidation price the lesson
    asks for): the builder shows none while a lesson waits, as the sidebar does, and the
    account's own story is back once the prediction is checked."""
    from margin.presets import load_story, story_ids
    from teach.verdicts import expected
    from tests.support import goto
    from ui.shell.state import SCENARIO_KEY

    stories = [str(load_story(s).get("story")) for s in story_ids() if load_story(s).get("story")]
    at = open_lesson(learn_app(), "collateral-crashes")
    at.button(key="learn.open.collateral-crashes").click().run()
    own = str(at.session_state[SCENARIO_KEY].get("story"))  # the lesson's account tells its own story
    goto(at, "pages/builder.py")
    assert not at.exception, at.exception
    shown_text = "\n".join([c.value for c in at.caption] + [m.value for m in at.markdown]
                           + [t.value for t in at.text_area])
    assert not [s for s in stories if s[:60] in shown_text.replace("\\$", "$")]
    assert "waits until you have checked your prediction" in shown_text
    goto(at, "pages/price_lab.py")
    at.number_input(key="learn.answer.collateral-crashes.widget").set_value(expected("collateral-crashes")).run()
    at.button(key="learn.check.collateral-crashes.panel").click().run()
    goto(at, "pages/builder.py")
    assert [t.value for t in at.text_area if t.label == "Story of this account"] == [own]
