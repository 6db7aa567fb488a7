"""The whole dataset on the app's map: first paint, pan and zoom redraws, image tiles, server memory.

    python -m benchmarks.map_whole [--model fashion-mnist-d16] [--repeats 4] [--seconds 4] [--sessions 5]
                                   [--out benchmarks/results/map-whole-cpu.json]

One `streamlit run` server, headless Chromium (software WebGL) at 1600 x 900, the PCA map of ``--model``
in four forms, each opened once first (the server's caches: codes, PCA, the image sheet) and then
``--repeats`` times each, alternately (the order reversed every round, so the ratios hold on a noisy machine):
  webgl-10k   the WebGL map of the test split (the app's default)
  webgl-70k   the WebGL map of both splits (``split=all``: 70,000 points for Fashion-MNIST)
  plotly-10k  the Plotly map of the test split (``map=plotly``), the map this app drew before the WebGL one
  plotly-70k  the Plotly map of both splits
For each open, in a new tab of one browser profile (a returning user: Streamlit's static files cached):
  first paint   navigation -> the first animation frame with every point of the map drawn;
  redraws/s     steps of a pan and zoom done in the page, each waited for until drawn (the WebGL map: its
                "draw" event and the next frame, its image layers included; Plotly: Plotly.relayout's
                promise and the next frame), over ``--seconds``, as benchmarks/map_fps.py does on bare pages.
Then, on webgl-70k: zoomed in (mouse wheel) until every visible point shows its own image, the tiles of
training images the page asks for: requests, bytes, and the time from the first request to the last image.
Server memory (VmRSS, VmHWM from /proc): after the warm-up, then with ``--sessions`` tabs open at once on
the 70,000-point map, each with its tiles fetched.
Goals (issue 12): first paint of webgl-70k at most 1.5x the 10,000-point map (webgl-10k and plotly-10k
are both reported); redraws per second of the WebGL map at 70,000 at least 2.5x Plotly's. Prints one JSON
object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.app_common import MAP_PAINTED_JS, emit, launch_browser, machine, memory_mb, wait_map_painted
from harness.browser import MAP, MAP_CANVAS, app_process, wait_idle

VIEWPORT = {"width": 1600, "height": 900}
FORMS = {"webgl-10k": "", "webgl-70k": "&split=all", "plotly-10k": "&map=plotly", "plotly-70k": "&map=plotly&split=all"}

# One pan-and-zoom step drawn, as in map_fps.py: a view that drifts and zooms in, then back, for 40 steps.
WEBGL_STEPS = """async (el, seconds) => {
  const plot = el.leView.plot;
  const step = (k) => new Promise((resolve) => {
    plot.subscribe('draw', () => requestAnimationFrame(() => requestAnimationFrame(resolve)), 1);
    const phase = k % 40, out = phase < 20 ? phase : 40 - phase;
    plot.zoomToLocation([0.01 * out, 0.005 * out], 1 - 0.01 * out);
  });
  for (let k = 0; k < 5; k++) await step(k);
  const t0 = performance.now();
  let k = 5;
  while (performance.now() - t0 < seconds * 1000) await step(k++);
  return {steps: k - 5, ms: performance.now() - t0, layer: el.dataset.layer};
}"""

PLOTLY_STEPS = """async (seconds) => {
  const gd = document.querySelector('.js-plotly-plot');
  const L = gd._fullLayout, x0 = L.xaxis.range.slice(), y0 = L.yaxis.range.slice();
  const step = async (k) => {
    const phase = k % 40, out = phase < 20 ? phase : 40 - phase;
    const w = (x0[1] - x0[0]) / 2, h = (y0[1] - y0[0]) / 2, f = 1 - 0.01 * out;
    const cx = (x0[0] + x0[1]) / 2 + 0.01 * out * w, cy = (y0[0] + y0[1]) / 2 + 0.005 * out * h;
    await Plotly.relayout(gd, {'xaxis.range': [cx - w * f, cx + w * f], 'yaxis.range': [cy - h * f, cy + h * f]});
    await new Promise(requestAnimationFrame);
  };
  for (let k = 0; k < 5; k++) await step(k);
  const t0 = performance.now();
  let k = 5;
  while (performance.now() - t0 < seconds * 1000) await step(k++);
  return {steps: k - 5, ms: performance.now() - t0};
}"""


def open_form(context, url: str, seconds: float | None) -> tuple[object, dict]:
    """A new tab on ``url``: (the page, {first_paint_s, points, redraws_per_s})."""
    page = context.new_page()
    start = time.time()
    page.goto(url, wait_until="commit")
    painted = wait_map_painted(page)
    out = {"first_paint_s": round(painted["epoch_ms"] / 1000 - start, 3), "points": painted["points"]}
    if seconds:
        wait_idle(page)
        page.mouse.move(0, 0)
        if "map=plotly" in url:
            steps = page.evaluate(PLOTLY_STEPS, seconds)
        else:
            steps = page.locator(MAP).evaluate(WEBGL_STEPS, seconds)
            out["layer"] = steps["layer"]
        out["redraws_per_s"] = round(steps["steps"] / steps["ms"] * 1000, 2)
    return page, out


def fetch_tiles(page) -> dict:
    """Zoom in at a crowded spot until every visible point shows its image; what the tiles cost."""
    wait_idle(page)
    box = page.locator(MAP_CANVAS).bounding_box()
    el = page.locator(MAP).element_handle()
    before = page.evaluate("() => globalThis.__latentExplorerMap.imageBytes")
    page.mouse.move(box["x"] + 0.55 * box["width"], box["y"] + 0.5 * box["height"])
    t0 = None
    for _ in range(40):
        if page.locator(MAP).get_attribute("data-layer") == "images":
            break
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(250)
    page.mouse.move(0, 0)
    page.wait_for_function("(el) => el.dataset.layer === 'images'", arg=el, timeout=30_000)
    try:
        page.wait_for_function("(el) => Number(el.dataset.tileRequests || 0) > 0", arg=el, timeout=5_000)
        t0 = time.perf_counter()
    except Exception:  # every visible image was in the sheet already
        pass
    page.wait_for_function("(el) => el.leView.layers.missing === 0 && el.leView.layers.drawn > 0", arg=el,
                           timeout=60_000, polling=20)
    return {"requests": int(page.locator(MAP).get_attribute("data-tile-requests") or 0),
            "tile_bytes": page.evaluate("() => globalThis.__latentExplorerMap.imageBytes") - before,
            "images_drawn": page.locator(MAP).evaluate("(el) => el.leView.layers.drawn"),
            "request_to_images_s": None if t0 is None else round(time.perf_counter() - t0, 2)}


def median(rows: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-mnist-d16")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/map-whole-cpu.json"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[dict]] = {form: [] for form in FORMS}
    with sync_playwright() as p, app_process() as (url, server):
        browser = launch_browser(p)
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(MAP_PAINTED_JS)
        urls = {form: f"{url}/?model={args.model}&proj=pca{extra}" for form, extra in FORMS.items()}
        warm = {}
        for form, address in urls.items():  # the server's caches fill once; not counted
            page, warm[form] = open_form(context, address, None)
            wait_idle(page, 300_000)
            page.close()
        memory = {"warm": memory_mb(server.pid)}
        order = list(FORMS)
        for r in range(args.repeats):
            for form in order if r % 2 == 0 else order[::-1]:
                page, row = open_form(context, urls[form], args.seconds)
                samples[form].append(row)
                page.close()
        pages = []
        tiles = []
        for _ in range(args.sessions):  # separate profiles: separate sessions, all open at once
            ctx = browser.new_context(viewport=VIEWPORT)
            ctx.add_init_script(MAP_PAINTED_JS)
            page, _ = open_form(ctx, urls["webgl-70k"], None)
            tiles.append(fetch_tiles(page))
            pages.append((ctx, page))
        memory[f"{args.sessions}_sessions_70k"] = memory_mb(server.pid)
        for ctx, _ in pages:
            ctx.close()
        browser.close()

    def ratio(a: str, b: str, key: str) -> float:
        return round(median(samples[a], key) / median(samples[b], key), 2)

    report = {
        "benchmark": "map_whole", "model": args.model, "machine": machine(), "viewport": VIEWPORT,
        "repeats": args.repeats, "seconds": args.seconds, "warm_up": warm,
        "forms": {form: {"first_paint_s": median(rows, "first_paint_s"),
                         "redraws_per_s": median(rows, "redraws_per_s"), "points": rows[0]["points"],
                         "samples": rows} for form, rows in samples.items()},
        "first_paint_70k_over_webgl_10k": ratio("webgl-70k", "webgl-10k", "first_paint_s"),
        "first_paint_70k_over_plotly_10k": ratio("webgl-70k", "plotly-10k", "first_paint_s"),
        "redraws_webgl_over_plotly_at_70k": ratio("webgl-70k", "plotly-70k", "redraws_per_s"),
        "redraws_webgl_over_plotly_at_10k": ratio("webgl-10k", "plotly-10k", "redraws_per_s"),
        "tiles": {"first_session": tiles[0], "sessions": tiles},
        "memory_mb": memory,
        "goals": {"first_paint_ratio_max": 1.5, "redraws_ratio_at_70k_min": 2.5},
    }
    emit(report, args.out)


if __name__ == "__main__":
    main()
