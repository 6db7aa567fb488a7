"""The full Fashion-MNIST test set (10,000 points) on the map: pan, zoom and click round trips, server memory.

    python -m benchmarks.app_memory [--model fashion-mnist-d16] [--pans 10] [--zooms 10] [--clicks 20]
                                    [--wait-quiet 1500] [--out benchmarks/results/app-memory-cpu.json]

In a real browser (1600x900), on the PCA map of ``--model`` drawn by Plotly (``?map=plotly``: these are
Plotly's gestures; the WebGL map's redraw rate is benchmarks/map_fps.py); every time is taken inside the page:
  pan      a mouse drag (the map's drag mode is pan) of ~120 px: pointerup -> plotly_relayout -> next frame;
           also the longest gap between frames during the drag (smoothness while moving);
  zoom     a mouse-wheel notch over the map (scrollZoom): wheel -> first frame with the new axis ranges, and
           wheel -> plotly_relayout (plotly sends it after a short pause in the wheel) -> next frame;
  relayout Plotly.relayout with new axis ranges (zoom in/out by code): call -> promise -> next frame;
  click    a click on a random visible point: pointerup -> the inspector shows the new point, the script
           has finished and every image on the page is loaded and decoded -> next frame. The first click
           of a server reads the test images (once for all sessions): reported apart from the others.
Long tasks (main thread busy > 50 ms, PerformanceObserver) are counted over the whole session.
Server memory: VmRSS and VmHWM (peak) of the `streamlit run` process from /proc, after each stage:
started, map open, interactions, every other view of the model, the t-SNE map, then a second session
and the other shipped models opened in more sessions. Goal from the issue: server memory < 1.5 GB.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import random

from benchmarks.app_common import (
    MAP_PAINTED_JS,
    Conditions,
    add_common_args,
    emit,
    launch_browser,
    machine,
    memory_mb,
    summary,
    wait_map_painted,
)

from harness.browser import app_process, open_tab, wait_idle

GOAL_MB = 1536.0
VIEWS = ("Sliders", "Interpolate", "Samples", "Decoded plane", "Model card")
OTHER_MODELS = ("fashion-mnist-d2", "digits")

# window.__map: page-side timers for plotly gestures and for click -> inspector.
MAP_JS = """
window.__map = {
  input: null,
  longTasks: [],
  gd() { return document.querySelector('.js-plotly-plot'); },
  range() { const L = this.gd()._fullLayout; return JSON.stringify([L.xaxis.range, L.yaxis.range]); },
  frames() {  // frame-to-frame gaps, and the first frame whose axis ranges differ, until stop() is called
    const gaps = [], start = this.range();
    let last = performance.now(), on = true, moved = null;
    const tick = () => {
      const now = performance.now();
      gaps.push(now - last); last = now;
      if (moved === null && this.range() !== start) moved = now;
      if (on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return () => { on = false; return {maxFrameGap: Math.max(...gaps), moved}; };
  },
  armRelayout() {  // resolves with {input, moved, relayout, paint, maxFrameGap}
    const stop = this.frames();
    this.input = null;
    this.pending = new Promise(resolve => {
      this.gd().once('plotly_relayout', () => {
        const relayout = performance.now();
        requestAnimationFrame(() => resolve({input: window.__map.input, relayout, paint: performance.now(),
                                             ...stop()}));
      });
    });
  },
  relayoutBy(factor) {  // zoom the view about its centre by code; resolves with {input, relayout, paint}
    const gd = this.gd(), L = gd._fullLayout, t = {input: performance.now()};
    const scale = r => { const c = (r[0] + r[1]) / 2, h = (r[1] - r[0]) / 2 * factor; return [c - h, c + h]; };
    return Plotly.relayout(gd, {'xaxis.range': scale(L.xaxis.range), 'yaxis.range': scale(L.yaxis.range)})
      .then(() => { t.relayout = performance.now();
                    return new Promise(r => requestAnimationFrame(() => { t.paint = performance.now(); r(t); })); });
  },
  heading() {
    const h = [...document.querySelectorAll('h3')].find(e => /^#\\d+/.test(e.innerText.trim()));
    return h ? h.innerText.trim() : '';
  },
  armClick() {  // resolves with {input, heading, idle, paint, text} once the inspector shows another point
    const before = this.heading(), app = document.querySelector('[data-testid="stApp"]');
    this.input = null;
    this.pending = new Promise(resolve => {
      const t = {};
      const check = () => {
        if (!t.heading && this.heading() && this.heading() !== before) t.heading = performance.now();
        if (t.heading && app.getAttribute('data-test-script-state') === 'notRunning') {
          obs.disconnect();
          t.idle = performance.now();
          Promise.all([...document.images].map(img => img.decode().catch(() => null))).then(() =>
            requestAnimationFrame(() => resolve({...t, paint: performance.now(), input: window.__map.input,
                                                 text: window.__map.heading()})));
        }
      };
      const obs = new MutationObserver(check);
      obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                                  attributeFilter: ['data-test-script-state']});
    });
  },
  visiblePoint(seed) {  // pixel position of a pseudo-random point inside the plot area
    const gd = this.gd(), L = gd._fullLayout, box = gd.querySelector('.nsewdrag').getBoundingClientRect();
    let s = seed;
    const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
    for (let tries = 0; tries < 1000; tries++) {
      const trace = gd._fullData[Math.floor(rnd() * gd._fullData.length)];
      const k = Math.floor(rnd() * trace.x.length);
      const px = L.xaxis.d2p(trace.x[k]), py = L.yaxis.d2p(trace.y[k]);
      if (px > 10 && py > 10 && px < box.width - 10 && py < box.height - 10)
        return [box.left + px, box.top + py, trace.customdata[k]];
    }
    return null;
  },
};
new PerformanceObserver(list => { for (const e of list.getEntries()) window.__map.longTasks.push(e.duration); })
  .observe({type: 'longtask', buffered: true});
for (const type of ['pointerup', 'wheel'])
  document.addEventListener(type, e => { if (window.__map.input === null) window.__map.input = e.timeStamp; }, true);
"""


def plot_centre(page) -> tuple[float, float]:
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def pans(page, n: int) -> list[dict]:
    out = []
    for i in range(n):
        x, y = plot_centre(page)
        dx, dy = (120, 60) if i % 2 == 0 else (-120, -60)
        page.evaluate("() => window.__map.armRelayout()")
        page.mouse.move(x, y)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(x + dx * k / 10, y + dy * k / 10)
        page.mouse.up()
        t = page.evaluate("() => window.__map.pending")
        out.append({"release_to_painted_ms": t["paint"] - t["input"], "max_frame_gap_ms": t["maxFrameGap"]})
        page.wait_for_timeout(200)
    return out


def wheel_zooms(page, n: int) -> list[dict]:
    out = []
    for i in range(n):
        x, y = plot_centre(page)
        page.mouse.move(x, y)
        page.evaluate("() => window.__map.armRelayout()")
        page.mouse.wheel(0, -200 if i % 2 == 0 else 200)
        t = page.evaluate("() => window.__map.pending")
        out.append({"wheel_to_relayout_painted_ms": t["paint"] - t["input"], "max_frame_gap_ms": t["maxFrameGap"],
                    "wheel_to_first_zoomed_frame_ms": t["moved"] - t["input"]})
        page.wait_for_timeout(200)
    return out


def code_relayouts(page, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = page.evaluate("(f) => window.__map.relayoutBy(f)", 0.6 if i % 2 == 0 else 1 / 0.6)
        out.append(t["paint"] - t["input"])
        page.wait_for_timeout(100)
    return out


def clicks(page, n: int, seed: int) -> tuple[list[dict], int]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate("() => Plotly.relayout(window.__map.gd(), {'xaxis.autorange': true, 'yaxis.autorange': true})")
    page.wait_for_timeout(1000)  # plotly settles before it takes clicks (harness/browser.py)
    out, missed, rng = [], 0, random.Random(seed)
    for _ in range(n):
        point = page.evaluate("(s) => window.__map.visiblePoint(s)", rng.randrange(1, 2**31 - 1))
        page.evaluate("() => window.__map.armClick()")
        page.mouse.click(point[0], point[1])
        try:
            t = page.wait_for_function("() => window.__map.pending", timeout=15_000, polling=50)
            t = page.evaluate("() => window.__map.pending")
        except PlaywrightTimeout:  # the click hit the picked point again or no point: not a round trip
            missed += 1
            continue
        out.append({"click_to_inspector_painted_ms": t["paint"] - t["input"],
                    "click_to_heading_ms": t["heading"] - t["input"], "click_to_script_done_ms": t["idle"] - t["input"],
                    "heading": t["text"]})
        wait_idle(page)
        page.wait_for_timeout(1000)
    return out, missed


def open_page(browser, url: str, model: str):
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    context.add_init_script(MAP_PAINTED_JS)
    context.add_init_script(MAP_JS)
    page = context.new_page()
    page.goto(f"{url}/?map=plotly" if model == "digits" else f"{url}/?model={model}&map=plotly")  # plotly gestures
    wait_map_painted(page)
    wait_idle(page)
    return context, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-mnist-d16")
    parser.add_argument("--pans", type=int, default=10)
    parser.add_argument("--zooms", type=int, default=10)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    add_common_args(parser)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    memory = {}
    with Conditions(args.wait_quiet) as conditions, sync_playwright() as p, app_process() as (url, server):
        browser = launch_browser(p)
        try:
            memory["started"] = memory_mb(server.pid)
            context, page = open_page(browser, url, args.model)
            points = page.evaluate("() => window.__mapPainted.points")
            memory["map_open"] = memory_mb(server.pid)
            pan = pans(page, args.pans)
            zoom = wheel_zooms(page, args.zooms)
            relayout = code_relayouts(page, args.zooms)
            click, missed = clicks(page, args.clicks, args.seed)
            memory["after_pan_zoom_clicks"] = memory_mb(server.pid)
            long_tasks = page.evaluate("() => window.__map.longTasks")
            for view in VIEWS:
                open_tab(page, view)
                page.wait_for_timeout(1000)
            memory["after_every_view"] = memory_mb(server.pid)
            open_tab(page, "Map")
            page.locator('[data-testid="stSidebar"]').get_by_text("t-SNE", exact=True).click()
            wait_idle(page)
            page.wait_for_function("() => window.__map.gd()._fullLayout.xaxis.title.text.includes('t-SNE')")
            memory["after_tsne_map"] = memory_mb(server.pid)
            others = [open_page(browser, url, args.model)]
            memory["after_second_session"] = memory_mb(server.pid)
            for model in OTHER_MODELS:
                others.append(open_page(browser, url, model))
            memory["after_other_models_in_more_sessions"] = memory_mb(server.pid)
            for ctx, _ in others:
                ctx.close()
            context.close()
        finally:
            browser.close()
    peak = max(m["peak_rss_mb"] for m in memory.values())

    def pick(rows, key):
        return summary([r[key] for r in rows])

    results = {
        "model": args.model, "points_on_map": points,
        "pan": {"release_to_painted_ms": pick(pan, "release_to_painted_ms"),
                "max_frame_gap_during_drag_ms": pick(pan, "max_frame_gap_ms")},
        "wheel_zoom": {"wheel_to_first_zoomed_frame_ms": pick(zoom, "wheel_to_first_zoomed_frame_ms"),
                       "wheel_to_relayout_painted_ms": pick(zoom, "wheel_to_relayout_painted_ms"),
                       "max_frame_gap_ms": pick(zoom, "max_frame_gap_ms")},
        "plotly_relayout_zoom_ms": summary(relayout),
        "click_to_inspect": {
            "first_click_ms": round(click[0]["click_to_inspector_painted_ms"], 1),  # reads the test images
            "click_to_inspector_painted_ms": pick(click[1:], "click_to_inspector_painted_ms"),
            "click_to_new_heading_ms": pick(click[1:], "click_to_heading_ms"),
            "click_to_script_done_ms": pick(click[1:], "click_to_script_done_ms"),
            "points_inspected": [c["heading"] for c in click], "clicks_missed": missed},
        "long_tasks_on_map_page": {"count": len(long_tasks), "max_ms": round(max(long_tasks, default=0.0), 1),
                                   "over_200ms": sum(t > 200 for t in long_tasks)},
        "server_memory_mb": memory,
        "server_peak_rss_mb": peak,
        "meets_goal": peak < GOAL_MB,
    }
    emit({"benchmark": "app_memory", "goal_server_memory_mb": GOAL_MB, "machine": machine(),
          **conditions.report(), "results": results}, args.out)


if __name__ == "__main__":
    main()
