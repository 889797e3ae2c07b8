"""Memory benchmark: heavy and hostile links opened one after another against one server.

    uv run --extra test python tools/bench_memory.py [--rounds 3] [--settle 20]

Starts ``app.py`` on loopback and, in Chromium, opens each link of :data:`LINKS` in a fresh
page (a fresh session), waits until the app has finished its run, and closes the page (the
session ends). ``--rounds`` repeats the sequence. The server's resident memory is sampled
every 0.2 s from ``/proc/<pid>/status``. Prints the server's memory at the start, after each
link, its peak (``VmHWM``) and, ``--settle`` seconds after the last page closed, its final
memory. A measurement, not a test: it prints figures for this machine and judges nothing.

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
from ui.session.link_codec import encode  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the sequence of links is opened")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds after the last page before the final figure")
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
            opened = 0
            for round_ in range(1, args.rounds + 1):
                for what, text in links():
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    began = time.perf_counter()
                    page.goto(f"{url}/?v={text}")
                    settle(page)
                    seconds = time.perf_counter() - began
                    page.close()
                    opened += 1
                    print(f"round {round_}, {what:<48} {seconds:5.1f} s   server {sampler.rss():,.0f} MB")
            browser.close()
        time.sleep(args.settle)
        final = sampler.rss()
        peak = max(sampler.peak, sampler.rss("VmHWM"))
        print(f"{opened} links in {args.rounds} rounds; every page closed")
        print(f"server peak: {peak:,.0f} MB   final, {args.settle:g} s after the last page: {final:,.0f} MB "
              f"({final - start_rss:+,.0f} MB from the start)")
    finally:
        sampler.stop.set()
        process.terminate()
        process.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
