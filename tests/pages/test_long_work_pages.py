"""AppTest: the market cascade's large crowds and the crash replay's long walks and checks run in
the server's worker pool (ui/shell/long_work.py) with the numbers computed here, report
their progress, stop on a cancel, and say so when the server is busy."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from margin.cascade import CrowdParams, build_crowd
from margin.presets import load_story
from margin.replay import replay, wick_checks
from margin.scenario import scenario_from_dict
from tests.support import DATA, open_page, page_text, shown
from ui.shell.long_work import long_runs
from ui.cascade.model import cascade_view, rounds_table
from ui.common.long_runs import LongRuns
from ui.replay.model import imported_candles, wick_sentences

REPLAY, CASCADE = "pages/crash_replay.py", "pages/market_cascade.py"
PAGE_CROWD = dict(leverage_mean=10.0, leverage_max=100.0, long_share=0.6, size_median=5_000.0, cross_share=0.5,
                  cross_buffer=0.5, seed=7)  # the page's defaults


@pytest.fixture
def submitted(monkeypatch):
    """The works the pages hand to the pool, in order (each still runs)."""
    works = []
    submit = LongRuns.submit

    def spy(self, key, work, *args, **options):
        works.append(work.__name__)
        return submit(self, key, work, *args, **options)

    monkeypatch.setattr(LongRuns, "submit", spy)
    return works


def _candles(rows: int):
    """A kline CSV of ``rows`` one-minute candles (a seeded walk), read as the page reads an upload."""
    close = 60_000 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.002, rows)))
    lines = [f"{1_700_000_000_000 + 60_000 * k},{c:.2f},{c * 1.001:.2f},{c * 0.999:.2f},{c:.2f},1,"
             f"{1_700_000_000_000 + 60_000 * k + 59_999},1,1,1,1,0" for k, c in enumerate(close)]
    return imported_candles("\n".join(lines).encode(), "BTCUSDT-1m-2025-10-10.csv")


def test_a_small_crowd_is_drawn_here_and_a_large_one_in_a_worker_with_the_same_numbers(submitted):
    at = open_page(CASCADE)
    assert submitted == []  # 20,000 traders: drawn in the page's own run
    at = open_page(CASCADE, **{"cascade.traders": 150_000})
    assert submitted == ["build_crowd"]
    scenario = scenario_from_dict(load_story("default"))
    crowd = build_crowd(scenario.markets["BTCUSDT"], CrowdParams(n_traders=150_000, **PAGE_CROWD))
    here = cascade_view(scenario, "BTCUSDT", crowd, -0.05, 5e6, "linear").result
    assert at.dataframe[0].value.to_dict("records") == rounds_table(here)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Liquidated"] == f"{here.liquidated_count:,}"
    at.number_input(key="cascade.shock.input").set_value(-12.0).run()  # a new shock on the same crowd
    assert submitted == ["build_crowd"] and {m.label: m.value for m in at.metric}["Initial shock"] == "-12.0 %"


def test_a_long_replay_walks_and_checks_in_a_worker_with_the_same_numbers(submitted, monkeypatch):
    monkeypatch.setattr("ui.replay.session.LONG_REPLAY_STEPS", 0)  # the walk too, not only the check
    raw = json.loads((DATA / "twenty-positions.json").read_text())  # 20 positions x 288 steps: a long check
    at = open_page(REPLAY, **{"scenario": raw, "replay.crash": "2021-05-19", "replay.step": 287})
    assert submitted == ["replay", "replay_checks"]
    scenario = scenario_from_dict(raw)
    from margin.crashes import load_crash
    model = replay(scenario, load_crash("2021-05-19"))
    market = list(model.path.markets)[0]
    text = page_text(at)
    for sentence in wick_sentences(model, market, wick_checks(model, market), 287):
        assert shown(sentence) in text
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any("mark price against last price" in t for t in titles), titles
    equity = {m.label: m.value for m in at.metric if m.label.startswith("Equity")}
    assert len(equity) == 3 and all(v.endswith("USDT") for v in equity.values())
    at.slider(key="replay.step.slider").set_value(100).run()  # a step on: nothing is run again
    assert submitted == ["replay", "replay_checks"] and not at.exception


def _wide_account(n: int) -> dict:
    """The default story's BTC market copied to 12 markets, holding ``n`` positions, a third
    isolated (its check takes about 0.4 s a way on a quiet 2-core VM: long enough to cancel)."""
    raw = load_story("default")
    btc = raw["markets"]["BTCUSDT"]
    raw["markets"] = {"BTCUSDT": btc} | {f"M{k:02d}USDT": dict(btc, price=100.0 * (k + 1)) for k in range(11)}
    raw["balance"] = 1e7
    raw["positions"] = [
        {"id": f"p{k}", "market": list(raw["markets"])[k % 12], "side": "long" if k % 2 else "short",
         "size": 0.1 + k % 7 / 10, "entry": raw["markets"][list(raw["markets"])[k % 12]]["price"] * (1 + (k % 5 - 2) / 50),
         "leverage": 10, "mode": "cross" if k % 3 else "isolated"} for k in range(n)]
    return raw


def test_a_long_check_reports_progress_and_a_cancel_stops_its_worker(submitted):
    seen: list[tuple[int, int]] = []

    def cancel_once_it_moves() -> None:  # what the Cancel button does to the job, once a way is done
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for job in long_runs().jobs():
                seen.append((job.done, job.total))
                if job.done >= 1:
                    job.cancel()
                    return
            time.sleep(0.05)

    watcher = threading.Thread(target=cancel_once_it_moves)
    watcher.start()
    at = open_page(REPLAY, timeout=180, **{"scenario": _wide_account(48), "replay.crash": "imported",
                                            "replay.imported": _candles(20_000)})
    watcher.join()
    assert submitted == ["replay_checks"]  # 48 positions x 20,000 steps: the walk here, the check there
    assert (0, 3) in seen and seen[-1] == (1, 3)  # one way of three checked, then cancelled
    assert any(shown(i.value) == "Cancelled." for i in at.info)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert at.button(key="replay.checks.again") and not any("mark price against last price" in t for t in titles), titles
    deadline = time.monotonic() + 10
    while long_runs().running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert long_runs().running == 0  # its slot is free again
    assert "Equity, as built" in [m.label for m in at.metric]  # the rest of the page is there


def test_a_busy_server_says_so_on_the_cascade_and_the_replay(monkeypatch):
    monkeypatch.setattr(LongRuns, "submit", lambda self, key, work, *args, **options: None)  # every slot taken
    at = open_page(CASCADE, **{"cascade.traders": 150_000})
    assert any(shown(w.value).startswith("The server is busy: 2 long runs are going") for w in at.warning)
    assert not at.metric and at.button(key="cascade.crowd.retry")
    raw = json.loads((DATA / "twenty-positions.json").read_text())
    at = open_page(REPLAY, **{"scenario": raw, "replay.crash": "2021-05-19"})
    assert any(shown(w.value).startswith("The server is busy: 2 long runs are going") for w in at.warning)
    assert "Mark price and last price" in [s.value for s in at.subheader]  # the rest of the page is there
    assert "replay.checks.job" not in at.session_state
