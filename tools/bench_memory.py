"""Memory benchmark: heavy and hostile links opened one after another against one server.

    uv run --extra test python tools/bench_memory.py [--rounds 3] [--settle 20] [--hold 4]

Starts ``app.py`` on loopback and, in Chromium, first opens every page once on the default
account and closes it (the server then has its libraries loaded: the *warm start*). Then it
opens each link of :func:`links` in a fresh page (a fresh session), waits until the app has
finished its run, and closes the page (the session ends); ``--rounds`` repeats the sequence.
Then ``--hold`` pages of the heaviest lab at once, to measure what one open session costs.
The server's resident memory is sampled every 0.2 s from ``/proc/<pid>/status``. Prints the
memory at the start, after each link, its peak (``VmHWM``), per held session and, ``--settle``
seconds after the last page closed, its final memory, each against the budget in docs/operations.md,
"Memory" (:data:`BUDGET`). A measurement, not a test: it prints figures and asserts nothing.

The links are the heaviest views the bounds let through (``margin/limits.py``): an account of
the most positions (100) over the most markets (12) on every page, the lab at the ends of its
sliders with a 64-turn path, the replay at step 1,000,000 (clamped to the crash's end), the
cascade's largest crowd (200,000 traders) and the stress lab's largest run for that account.
"""

from __future__ import annotations

import argparse
import copy
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench_ui import CHROMIUM, CHROMIUM_ARGS, start  # noqa: E402

from margin.limits import MAX_MARKETS, MAX_PAGE_TRADERS, MAX_PATH_TURNS, MAX_POSITIONS  # noqa: E402
from margin.presets import load_story  # noqa: E402
from ui.common.link_codec import encode  # noqa: E402


def biggest_account() -> dict:
    """The default story's BTC market copied to the most markets, holding the most positions."""
    raw = load_story("default")
    btc = raw["markets"]["BTCUSDT"]
    raw["name"] = "The largest account a link holds"
    raw["markets"] = {f"M{k:02d}USDT": dict(copy.deepcopy(btc), price=100.0 * (k + 1)) for k in range(MAX_MARKETS)}
    raw["balance"] = 1e7
    raw["positions"] = [
        {"id": f"p{k}", "market": f"M{k % MAX_MARKETS:02d}USDT", "side": "long" if k % 2 else "short",
         "size": 1.0 + k % 7, "entry": 100.0 * (k % MAX_MARKETS + 1) * (1 + (k % 5 - 2) / 50), "leverage": 10,
         "mode": "cross" if k % 3 else "isolated"} for k in range(MAX_POSITIONS)]
    return raw


BUDGET = {"peak": 450.0, "per_session": 30.0, "final_over_warm": 100.0}  # [MB], docs/operations.md "Memory"


def warm_links() -> list[tuple[str, str]]:
    """(page, link text) of every page that computes, on the default account."""
    raw = load_story("default")
    return [(page, encode({"scenario": raw, "page": page, "controls": {}}))
            for page in ("lab", "builder", "replay", "cascade", "stress")]


def links() -> list[tuple[str, str]]:
    """(what, link text) of every heavy view."""
    raw = biggest_account()
    turns = [[-90.0 if k % 2 else 90.0, {"M00USDT": 1e12 if k % 2 else 1e-12}] for k in range(MAX_PATH_TURNS)]
    views = [
        ("lab, 100 positions", "lab", {}),
        ("lab, shock -90 %, a price at 1e12", "lab", {"lab.shock": -90.0, "lab.price.M00USDT": 1e12}),
        ("lab, 64-turn path end to end", "lab", {"lab.path": turns}),
        ("builder, 100 positions", "builder", {}),
        ("replay, step 1,000,000", "replay", {"replay.step": 1e6}),
        (f"cascade, {MAX_PAGE_TRADERS:,} traders", "cascade", {"cascade.traders": MAX_PAGE_TRADERS}),
        ("stress, 5,000 paths x 24 steps x 100 positions", "stress", {"stress.paths": 5_000}),
    ]
    return [(what, encode({"scenario": raw, "page": page, "controls": controls})) for what, page, controls in views]


class Sampler(threading.Thread):
    """The server's resident memory [MB], sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def rss(self, field: str = "VmRSS") -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.2)


def settle(page) -> None:
    """Until the app's run has finished (Streamlit's status widget is gone) and drawn."""
    page.wait_for_timeout(1000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=300_000)
    page.wait_for_timeout(500)


def visit(browser, url: str, text: str) -> float:
    """Open a view in a fresh page, wait for its run, close the page; the seconds it took."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    began = time.perf_counter()
    page.goto(f"{url}/?v={text}")
    settle(page)
    page.close()
    return time.perf_counter() - began


def held_cost(browser, url: str, sampler: Sampler, text: str, count: int) -> float:
    """[MB] per session of ``count`` pages of one view open at once (then closed)."""
    time.sleep(3)
    before = sampler.rss()
    pages = [browser.new_page(viewport={"width": 1280, "height": 800}) for _ in range(count)]
    for page in pages:
        page.goto(f"{url}/?v={text}")
    for page in pages:
        settle(page)
    cost = (sampler.rss() - before) / count
    for page in pages:
        page.close()
    return cost


def against(value: float, budget: float) -> str:
    return f"{value:,.0f} MB (budget {budget:,.0f} MB: {'within' if value <= budget else 'OVER'})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the sequence of links is opened")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds after the last page before the final figure")
    parser.add_argument("--hold", type=int, default=4, help="pages of the heaviest lab open at once")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    process, url = start(ROOT / "app.py")
    sampler = Sampler(process.pid)
    try:
        time.sleep(2)
        start_rss = sampler.rss()
        sampler.start()
        print(f"server at start: {start_rss:,.0f} MB")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _, text in warm_links():
                visit(browser, url, text)
            time.sleep(5)  # the trim after the last session's end (ui/shell/memory.py)
            warm = sampler.rss()
            print(f"warm start (every page opened once on the default account, closed): {warm:,.0f} MB")
            heavy = links()
            for round_ in range(1, args.rounds + 1):
                for what, text in heavy:
                    seconds = visit(browser, url, text)
                    print(f"round {round_}, {what:<48} {seconds:5.1f} s   server {sampler.rss():,.0f} MB")
            per_session = held_cost(browser, url, sampler, heavy[0][1], args.hold) if args.hold else float("nan")
            browser.close()
        time.sleep(args.settle)
        final = sampler.rss()
        peak = max(sampler.peak, sampler.rss("VmHWM"))
        print(f"{len(heavy) * args.rounds} links in {args.rounds} rounds, then {args.hold} at once; every page closed")
        print(f"server peak: {against(peak, BUDGET['peak'])}")
        print(f"one open session of {heavy[0][0]}: {against(per_session, BUDGET['per_session'])}")
        print(f"final, {args.settle:g} s after the last page: {final:,.0f} MB, {final - start_rss:+,.0f} MB from the "
              f"start, {against(final - warm, BUDGET['final_over_warm'])} over the warm start")
    finally:
        sampler.stop.set()
        process.terminate()
        process.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
