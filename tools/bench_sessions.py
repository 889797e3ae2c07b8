"""Ten sessions stepping sliders, alone and while another session runs the largest stress test
the stress lab allows (or draws the cascade's largest crowds): the steps' 50th and 95th
percentiles, both ways.

    uv run --extra test python tools/bench_sessions.py [--sessions 10] [--steps 20] [--long stress|cascade]

One server (``app.py`` on loopback), one Chromium, ``--sessions`` pages on the price lab
(the default account), each pressing ArrowLeft on the whole-market shock slider ``--steps``
times, all at once, a pause of ``--pause-ms`` between a page's steps. A step is timed from the
key press to Streamlit's ``script_finished`` for its rerun, read off that page's websocket: the
server's answer, whatever the browser then draws. Then the same again while one more page runs
the stress lab's largest run for the default account (20,000 paths per model, 30 days in
1-hour steps: 14.4 million path-steps per model), which goes to a worker process
(``ui/common/long_runs.py``). With ``--long cascade`` the other page is the market cascade with
its largest crowd (200,000 traders) stepping its Traders slider down 1,000 at a time for as long
as the ten step, each step a new crowd of about 200,000 (drawn in a worker) and its cascade and
tipping curve (drawn in the server). Prints both, and the ratio of the p95s. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from bench_ui import CHROMIUM, CHROMIUM_ARGS, start  # noqa: E402

from margin.limits import MAX_PAGE_TRADERS  # noqa: E402
from margin.presets import load_story  # noqa: E402
from ui.common.link_codec import encode  # noqa: E402

LONG_RUN = {"stress.paths": 20_000, "stress.horizon": 30.0, "stress.step": "1 hour"}


class Session:
    """One browser page on the lab, counting the server's finished runs."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.page, self.finished = page, 0

        def on_frame(payload) -> None:
            if isinstance(payload, (bytes, bytearray)):
                msg = ForwardMsg()
                try:
                    msg.ParseFromString(bytes(payload))
                except Exception:  # not every frame is a ForwardMsg
                    return
                if msg.WhichOneof("type") == "script_finished":
                    self.finished += 1

        page.on("websocket", lambda ws: ws.on("framereceived", on_frame))

    async def load(self, url: str, label: str | None = None, opens: str | None = None) -> None:
        """Open ``url`` and find the slider to step: the lab's shock, or the one labelled ``label``."""
        await self.page.goto(url)
        if opens:  # the slider sits in a closed expander
            await self.page.get_by_text(opens, exact=True).first.click(timeout=120_000)
        self.thumb = (self.page.locator(f'[data-testid="stSlider"] input[aria-label="{label}"]') if label else
                      self.page.locator('[data-testid="stSlider"]').filter(has_text="Whole-market shock")
                      .get_by_role("slider"))
        await self.thumb.wait_for(timeout=120_000)
        await asyncio.sleep(2.0)
        await self.thumb.focus()

    async def steps(self, count: int, pause: float, samples: list[float]) -> None:
        for _ in range(count):
            before = self.finished
            started = time.perf_counter()
            await self.page.keyboard.press("ArrowLeft")
            deadline = started + 60
            while self.finished <= before and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(pause)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


async def run(args) -> None:
    from playwright.async_api import async_playwright

    process, url = start(ROOT / "app.py")
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            sessions = [Session(await browser.new_page(viewport={"width": 1280, "height": 800}))
                        for _ in range(args.sessions)]
            for session in sessions:  # one at a time: ten first runs at once are not what is measured
                await session.load(url)
            alone: list[float] = []
            await asyncio.gather(*(s.steps(args.steps, args.pause_ms / 1000, alone) for s in sessions))

            busy: list[float] = []
            if args.long == "cascade":
                long_note, stepped = await beside_cascades(browser, url, sessions, args, busy)
            else:
                long_note, stepped = await beside_stress(browser, url, sessions, args, busy)
            await browser.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    a50, a95 = percentiles(alone)
    b50, b95 = percentiles(busy)
    print(f"{args.sessions} sessions x {args.steps} shock steps each, {args.pause_ms:g} ms apart")
    print(f"alone:                  p50 {a50:6.0f} ms   p95 {a95:6.0f} ms   ({len(alone)} steps)")
    print(f"with the long run:      p50 {b50:6.0f} ms   p95 {b95:6.0f} ms   ({len(busy)} steps in {stepped:.1f} s)")
    print(f"p95 with / without: {b95 / a95:.2f}x; {long_note}")


async def beside_stress(browser, url: str, sessions: list[Session], args, busy: list[float]) -> tuple[str, float]:
    """The ten step while one more page runs the stress lab's largest run."""
    long_page = await browser.new_page()
    link = encode({"scenario": load_story("default"), "page": "stress", "controls": LONG_RUN})
    await long_page.goto(f"{url}/?v={link}")
    await long_page.get_by_text("Simulating").first.wait_for(timeout=120_000)
    began = time.perf_counter()
    for session in sessions:
        await session.thumb.focus()
    await asyncio.gather(*(s.steps(args.steps, args.pause_ms / 1000, busy) for s in sessions))
    stepped = time.perf_counter() - began
    still = await long_page.get_by_text("Simulating").count() > 0
    await long_page.get_by_text("Each account, normal against fat tails").wait_for(timeout=600_000)
    return (f"the stress run {'was still going' if still else 'had finished'} when the steps ended and took "
            f"{time.perf_counter() - began:.1f} s from its first progress"), stepped


async def beside_cascades(browser, url: str, sessions: list[Session], args, busy: list[float]) -> tuple[str, float]:
    """The ten step while one more page draws the cascade's largest crowds, one after another."""
    cascade = Session(await browser.new_page(viewport={"width": 1280, "height": 800}))
    link = encode({"scenario": load_story("default"), "page": "cascade",
                   "controls": {"cascade.traders": MAX_PAGE_TRADERS}})
    await cascade.load(f"{url}/?v={link}", label="Traders", opens="The crowd")
    crowds: list[float] = []
    stop = asyncio.Event()

    async def draw() -> None:
        while not stop.is_set():
            await cascade.steps(1, 0.0, crowds)

    began = time.perf_counter()
    drawing = asyncio.create_task(draw())
    for session in sessions:
        await session.thumb.focus()
    await asyncio.gather(*(s.steps(args.steps, args.pause_ms / 1000, busy) for s in sessions))
    stepped = time.perf_counter() - began
    stop.set()
    await drawing
    p50, p95 = percentiles(crowds)
    return (f"the cascade page drew {len(crowds)} crowds of about {MAX_PAGE_TRADERS:,} traders meanwhile "
            f"(each step p50 {p50:.0f} ms, p95 {p95:.0f} ms)"), stepped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20, help="steps per session in each phase")
    parser.add_argument("--pause-ms", type=float, default=150.0, help="pause between a session's steps [ms]")
    parser.add_argument("--long", choices=("stress", "cascade"), default="stress",
                        help="what the other session runs: the largest stress run, or the largest crowds")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
