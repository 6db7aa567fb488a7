"""A room full of people at once: N browser sessions on one server use the map and the sliders for a while.

    python -m benchmarks.app_load [--sessions 20] [--duration 60] [--models digits fashion-mnist-d16]
                                  [--wait-quiet 600] [--out benchmarks/results/app-load-cpu.json]

One server on 127.0.0.1 (harness/browser.py), one Chromium with a context (its own cookies, its own Streamlit
session) per user, driven by asyncio Playwright. All sessions open the app at once (round-robin over
``--models``), click a point on the map (drawn by Plotly: ``?map=plotly``), press "Edit with sliders", switch to the server-side sliders, and
then, until ``--duration`` seconds after the last session has opened, move the top slider with the keyboard
(each press a release) and, every few moves, go back to the map and click another point. Every slider move is
timed inside the page as in app_slider_latency.py (same page-side timer): from the key press to the first
frame showing the new decoded image. Reported: p50/p95 of that round trip under load, errors (page errors,
exceptions shown in the app, waits that timed out; goal: none), and the server's peak memory (VmHWM;
goal: under 2 GB). Bounded: at most MAX_SESSIONS sessions and MAX_DURATION_S seconds, and every wait has a
timeout. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import threading
import time
from pathlib import Path

from benchmarks.app_common import Conditions, _descendants, add_common_args, emit, launch_browser, machine, memory_mb, summary
from benchmarks.app_slider_latency import CAPTION, SLIDER_JS

from harness.browser import IDLE, MAP_POINT_JS, app_process

GOAL_PEAK_MB = 2048
MAX_SESSIONS = 50
MAX_DURATION_S = 300
WAIT_MS = 60_000  # any single wait; one that times out is an error
MOVES_PER_VISIT = 6  # slider moves between two visits to the map
SLIDER = '[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]'


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 1)


class Session:
    def __init__(self, number: int, model: str) -> None:
        self.number, self.model = number, model
        self.moves: list[float] = []  # release -> painted, ms
        self.map_clicks = 0
        self.open_s: float | None = None
        self.errors: list[str] = []  # page errors, failed waits, exceptions shown in the app
        self.page_errors = self.failed_waits = self.app_exceptions = self.other_errors = 0

    def failed(self, err: Exception, where: str) -> None:
        """A wait that timed out, or anything else that went wrong (a locator that found nothing, ...)."""
        kind = "failed_waits" if isinstance(err, (TimeoutError, asyncio.TimeoutError)) or \
            type(err).__name__ == "TimeoutError" else "other_errors"
        self.error(kind, f"{where}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")

    def error(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.errors) < 5:
            self.errors.append(f"{kind}: {text[:300]}")


async def idle(page) -> None:
    """As harness/browser.py wait_idle: the script has finished its run (it may look idle just before a rerun)."""
    await page.wait_for_timeout(300)
    await page.wait_for_selector(IDLE, timeout=WAIT_MS)


async def shown_exceptions(page, s: Session, where: str) -> None:
    count = await page.locator('[data-testid="stException"]').count()
    if count:
        text = await page.locator('[data-testid="stException"]').first.inner_text()
        s.error("app_exceptions", f"{where}: {text}")


async def shown_after_failure(page, s: Session) -> None:
    """After a failed wait: was it an exception shown in the app?"""
    try:
        await shown_exceptions(page, s, "after a failed wait")
    except Exception as err:  # noqa: BLE001
        s.failed(err, "reading the page after a failed wait")


async def click_on_map(page, s: Session) -> None:
    await page.wait_for_selector(".js-plotly-plot .nsewdrag", timeout=WAIT_MS)
    await page.wait_for_timeout(1000)  # plotly settles after a rerun before it takes clicks
    x, y = await page.evaluate(MAP_POINT_JS, [0, s.number + s.map_clicks])  # another class each time
    await page.mouse.click(x, y)
    await idle(page)
    await page.get_by_text("decoded mu").first.wait_for(timeout=WAIT_MS)  # the inspector shows the point
    s.map_clicks += 1
    await shown_exceptions(page, s, "after a click on the map")


async def to_sliders(page, s: Session) -> None:
    await page.get_by_role("button", name="Edit with sliders").click()
    await idle(page)
    server, image = page.get_by_text("Server: decode on release"), page.get_by_text(CAPTION)
    await server.or_(image).first.wait_for(timeout=WAIT_MS)
    if not await image.count():  # the live pad is the default where the page can decode: time the server's sliders
        await server.click()
        await idle(page)
    await page.wait_for_function("() => window.__slider.img() && window.__slider.img().complete", timeout=WAIT_MS)
    await page.locator(SLIDER).first.focus()
    await shown_exceptions(page, s, "on the sliders")


async def timed_move(page, key: str) -> float:
    """As app_slider_latency.timed_move: key press -> first frame with the new decoded image, in ms."""
    await page.evaluate("() => window.__slider.arm()")
    await page.keyboard.press(key)
    t = await asyncio.wait_for(page.evaluate("() => window.__slider.pending"), WAIT_MS / 1000)
    await idle(page)
    return t["paint"] - t["input"]


async def slider_moves(page, s: Session, deadline: float) -> None:
    slider = page.locator(SLIDER).first
    now, low, high = await slider.evaluate("e => [Number(e.value), Number(e.min), Number(e.max)]")
    key = "ArrowRight" if now < (low + high) / 2 else "ArrowLeft"  # away from the nearer end: every press moves
    for _ in range(MOVES_PER_VISIT):
        if time.monotonic() >= deadline:
            return
        s.moves.append(await timed_move(page, key))


async def user(browser, url: str, s: Session, opened: list, all_open: asyncio.Event, end: dict) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    await context.add_init_script(SLIDER_JS)
    page = await context.new_page()
    page.on("pageerror", lambda e: s.error("page_errors", str(e)))
    try:
        start = time.monotonic()
        await page.goto(f"{url}/?map=plotly" if s.model == "digits" else f"{url}/?model={s.model}&map=plotly",
                        timeout=WAIT_MS)  # its clicks go through the plotly chart
        await idle(page)
        await click_on_map(page, s)
        s.open_s = round(time.monotonic() - start, 2)
    except Exception as err:  # noqa: BLE001 - counted and reported
        s.failed(err, "opening")
        await shown_after_failure(page, s)
    finally:
        opened.append(s.number)
        if len(opened) == len(end["sessions"]):
            end["deadline"] = time.monotonic() + end["duration"]
            all_open.set()
    await all_open.wait()
    deadline = end["deadline"]
    while time.monotonic() < deadline and s.open_s is not None:
        try:
            await to_sliders(page, s)
            await slider_moves(page, s, deadline)
            if time.monotonic() >= deadline:
                break
            await page.get_by_role("tab", name="Map").click()
            await idle(page)
            await click_on_map(page, s)
        except Exception as err:  # noqa: BLE001 - counted; the session goes on from the map
            s.failed(err, "using")
            await shown_after_failure(page, s)
            try:
                await page.get_by_role("tab", name="Map").click(timeout=WAIT_MS)
                await idle(page)
                await click_on_map(page, s)
            except Exception as again:  # noqa: BLE001
                s.failed(again, "giving up")
                break
    await context.close()


def other_app_processes() -> list[str]:
    """Chromium, Streamlit and pytest processes that are not this benchmark's (someone else measuring)."""
    ours = _descendants(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if any(word in cmd for word in ("chromium", "streamlit", "pytest")) and "--type=" not in cmd:
            found.append(f"{entry.name}: {cmd[:120]}")
    return found


class MemorySampler:
    """The server's resident memory every ``every_s`` seconds (its peak is VmHWM at the end)."""

    def __init__(self, pid: int, every_s: float = 2.0) -> None:
        self.pid, self.every_s = pid, every_s
        self.rss: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.rss.append(memory_mb(self.pid)["rss_mb"])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


async def load(url: str, sessions: list[Session], duration: float) -> float:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch_browser(p)
        try:
            end = {"sessions": sessions, "duration": duration, "deadline": None}
            all_open, opened = asyncio.Event(), []
            started = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*(user(browser, url, s, opened, all_open, end) for s in sessions)),
                                   timeout=duration + 4 * WAIT_MS / 1000 + 60)
            return time.monotonic() - started
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of use after all sessions opened")
    parser.add_argument("--models", nargs="+", default=["digits", "fashion-mnist-d16"],
                        help="round-robin over the sessions")
    add_common_args(parser)
    args = parser.parse_args()
    n, duration = min(args.sessions, MAX_SESSIONS), min(args.duration, MAX_DURATION_S)
    sessions = [Session(i, args.models[i % len(args.models)]) for i in range(n)]

    with Conditions(args.wait_quiet) as conditions, app_process() as (url, server):
        others_before = other_app_processes()
        with MemorySampler(server.pid) as sampler:
            wall = asyncio.run(load(url, sessions, duration))
        memory = memory_mb(server.pid)
        others_after = other_app_processes()
    moves = [m for s in sessions for m in s.moves]
    errors = {k: sum(getattr(s, k) for s in sessions) for k in ("page_errors", "app_exceptions", "failed_waits", "other_errors")}
    opens = [s.open_s for s in sessions if s.open_s is not None]
    result = {
        "benchmark": "app_load", "sessions": n, "models": args.models, "duration_s": duration,
        "wall_s": round(wall, 1), "server": url,
        "slider_round_trip_ms": {"p50": percentile(moves, 50), "p95": percentile(moves, 95),
                                 **{k: v for k, v in summary(moves).items() if k not in ("samples", "p90")}},
        "slider_moves_per_session": [len(s.moves) for s in sessions],
        "map_clicks": sum(s.map_clicks for s in sessions),
        "open_and_first_click_s": {k: v for k, v in summary(opens, 2).items() if k != "samples"},
        "errors": {**errors, "total": sum(errors.values()),
                   "examples": [f"session {s.number} ({s.model}): {e}" for s in sessions for e in s.errors][:20]},
        "server_memory_mb": {**memory, "rss_samples_max": max(sampler.rss, default=None)},
        "goals": {"errors": 0, "peak_memory_mb_below": GOAL_PEAK_MB,
                  "met": sum(errors.values()) == 0 and memory["peak_rss_mb"] < GOAL_PEAK_MB},
        "other_browsers_servers_tests": {"at_start": others_before, "at_end": others_after},
        "machine": machine(), **conditions.report(),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
