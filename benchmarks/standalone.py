"""The offline explorer (explorer/standalone.py) per shipped model: file size, first paint, slider-drag rate.

    python -m benchmarks.standalone [--models digits fashion-mnist-d2 fashion-mnist-d16] [--repeats 3]
                                    [--seconds 3] [--out benchmarks/results/standalone-cpu.json]

Headless Chromium at 1280 x 720, the file opened from file:// with every other request refused. Per model:
  size          bytes of the HTML file (and MB), against the 10 MB email budget (standalone.EMAIL_BUDGET_BYTES);
  first paint   performance.now() in the page at the animation frame after the map's first draw (time from
                navigation start), median of ``--repeats`` opens in fresh tabs, and as a ratio against a bare
                HTML page (one rAF after load) opened the same way in the same run;
  drag rate     the first slider dragged by the real mouse from end to end and back for ``--seconds``; the
                decoded picture hashed (FNV-1a of its pixels) every requestAnimationFrame: picture changes per
                second (goal >= 30), with the frames per second the page ran at and the mouse moves Playwright
                managed to send (a ceiling: no move, no new picture); and the page's own #selftest drag (one
                input event per animation frame, the driver out of the loop).
Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.app_common import emit, launch_browser, machine
from explorer import standalone

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 720}
GOAL_CHANGES_PER_S = 30.0  # the floor for a live slider
DRAG_STEP_PX = 6  # mouse moves this far per event: a brisk drag (a slider is ~120 px wide)
BARE_PAGE = ("<!doctype html><html><body><p>bare</p><script>"
             "requestAnimationFrame(() => { window.__painted = performance.now(); });</script></body></html>")
HASH_LOOP_JS = """() => { const s = globalThis.__standalone; s.changes = 0; s.ticks = 0; s.stopTicks = false;
  let last = s.hash(); s.t0 = performance.now();
  const tick = () => { const h = s.hash(); s.ticks += 1; if (h !== last) s.changes += 1; last = h;
    if (!s.stopTicks) requestAnimationFrame(tick); else s.t1 = performance.now(); };
  requestAnimationFrame(tick); }"""


def offline_context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    refused = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                  else (refused.append(route.request.url), route.abort()))
    return context, refused


def first_paint_ms(context, url: str, expression: str) -> float:
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(f"() => ({expression}) != null", timeout=60_000, polling=20)
    value = page.evaluate(expression)
    page.close()
    return float(value)


def drag_rate(context, url: str, seconds: float) -> dict:
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
    box = page.locator("input[data-dim]").first.bounding_box()
    y = box["y"] + box["height"] / 2
    left, right = box["x"] + 4, box["x"] + box["width"] - 4
    page.mouse.move(left, y)
    page.mouse.down()
    page.evaluate(HASH_LOOP_JS)
    x, direction, start, moves = left, 1, time.monotonic(), 0
    while time.monotonic() - start < seconds:
        moves += 1
        x += direction * DRAG_STEP_PX
        if not left <= x <= right:
            direction, x = -direction, min(max(x, left), right)
        page.mouse.move(x, y)
    page.mouse.up()
    page.evaluate("__standalone.stopTicks = true")
    page.wait_for_function("__standalone.t1 != null")
    stats = page.evaluate("({changes: __standalone.changes, ticks: __standalone.ticks, "
                          "ms: __standalone.t1 - __standalone.t0})")
    page.close()
    elapsed = stats["ms"] / 1000
    return {"changes_per_s": round(stats["changes"] / elapsed, 1), "frames_per_s": round(stats["ticks"] / elapsed, 1),
            "mouse_moves_per_s": round(moves / elapsed, 1), "seconds": round(elapsed, 2), "goal_changes_per_s": GOAL_CHANGES_PER_S,
            "meets_goal": stats["changes"] / elapsed >= GOAL_CHANGES_PER_S}


def selftest_rate(context, url: str) -> dict:
    """The page's own #selftest drag: one input event per animation frame, so the driver's event rate is out of it."""
    page = context.new_page()
    page.goto(url + "#selftest")
    page.wait_for_selector(".le-selftest", timeout=60_000)
    banner = page.locator(".le-selftest")
    out = {"changes_per_s": float(banner.get_attribute("data-rate")), "pass": banner.get_attribute("data-pass") == "true",
           "max_pixel_difference_from_torch": int(banner.get_attribute("data-max-diff"))}
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["digits", "fashion-mnist-d2", "fashion-mnist-d16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/standalone-cpu.json"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    result = {"benchmark": "standalone", "machine": machine(), "viewport": VIEWPORT,
              "email_budget_bytes": standalone.EMAIL_BUDGET_BYTES, "thumbnails_max": standalone.THUMBNAILS_MAX,
              "models": {}}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        bare = Path(folder) / "bare.html"
        bare.write_text(BARE_PAGE)
        browser = launch_browser(p)
        context, refused = offline_context(browser)
        for model in args.models:
            out = Path(folder) / f"{model}.html"
            t0 = time.perf_counter()
            size = standalone.write(ROOT / "trained" / model, out)
            build_s = time.perf_counter() - t0
            paints, bares = [], []
            for _ in range(args.repeats):  # alternately, so a noisy machine slows both alike
                paints.append(first_paint_ms(context, out.as_uri(), "__standalone?.firstMapMs"))
                bares.append(first_paint_ms(context, bare.as_uri(), "window.__painted"))
            paint, bare_ms = statistics.median(paints), statistics.median(bares)
            result["models"][model] = {
                "bytes": size, "mb": round(size / 2**20, 2), "under_email_budget": size <= standalone.EMAIL_BUDGET_BYTES,
                "build_s": round(build_s, 2),
                "first_map_paint_ms": {"median": round(paint, 1), "samples": [round(v, 1) for v in paints]},
                "bare_page_paint_ms": {"median": round(bare_ms, 1), "samples": [round(v, 1) for v in bares]},
                "first_paint_ratio_to_bare": round(paint / bare_ms, 1),
                "slider_drag_real_mouse": drag_rate(context, out.as_uri(), args.seconds),
                "slider_drag_in_page": selftest_rate(context, out.as_uri()),
            }
        browser.close()
    result["network_requests_refused"] = refused
    emit(result, args.out)


if __name__ == "__main__":
    main()
