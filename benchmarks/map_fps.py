"""Pan and zoom redraws per second of the map: the app's WebGL map (regl-scatterplot) against Plotly scattergl.

    python -m benchmarks.map_fps [--points 10000 70000 300000] [--seconds 4] [--rounds 2]
                                 [--out benchmarks/results/map-fps-cpu.json]

Each renderer gets a bare page in headless Chromium (software WebGL, the machine's cores shared with
nothing else) holding one scatter of N points in 10 classes: Fashion-MNIST's 10,000 test codes (PCA, from
trained/fashion-mnist-d16) tiled with jitter to 70,000 and 300,000 (synthetic beyond the data), at
900 x 700 CSS pixels, coloured by class. The libraries are the ones the app ships: regl-scatterplot from
explorer/app/map_js/vendor/ (loaded exactly as the app loads it, explorer.app.scatter.vendor_prelude) and
plotly.js from the plotly package (the same major version Streamlit's chart uses).

A redraw is one step of a pan or zoom that the page has finished drawing: the view moves by a small step
(alternately a pan and a zoom, cycling back), and the next step starts when the library reports the frame
drawn (regl-scatterplot's "draw" event; Plotly.relayout's promise, then an animation frame). Steps per
second over ``--seconds`` is the rate a drag could at best be followed at. Renderers alternate within each
round (Plotly, WebGL, then WebGL, Plotly, ...) so the ratio holds on a noisy machine. Also reported: the
time from loading the page to the first painted map. Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.app_common import emit, launch_browser, machine

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_JS = Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js"
SIZE = {"width": 900, "height": 700}
COLOURS = ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC"]

# Both pages expose the same three functions: draw(points) -> ms to the first painted frame, and
# step(k) -> a promise resolved when the k-th view step has been drawn.
REGL_PAGE = """
<!doctype html><html><body style="margin:0"><canvas id="c" style="width:900px;height:700px;display:block"></canvas>
<script>%(prelude)s</script>
<script>
const plot = globalThis.createScatterplot.default({canvas: document.getElementById('c'), width: 900, height: 700,
  backgroundColor: '#ffffff', pointSize: %(size)d, colorBy: 'valueA', pointColor: %(colours)s,
  spatialIndexUseWorker: false});
let drawn = null;
plot.subscribe('draw', () => { if (drawn) { const d = drawn; drawn = null; d(); } });
window.drawPoints = async (x, y, c) => {
  const t0 = performance.now();
  await plot.draw({x: Float32Array.from(x), y: Float32Array.from(y), valueA: Uint16Array.from(c)},
                  {zDataType: 'categorical'});
  await new Promise(requestAnimationFrame);
  return performance.now() - t0;
};
window.step = (k) => new Promise((resolve) => {
  drawn = resolve;
  const phase = k %% 40, out = phase < 20 ? phase : 40 - phase;
  const target = [0.01 * out, 0.005 * out], distance = 1 - 0.01 * out;
  plot.zoomToLocation(target, distance);
});
</script></body></html>
"""

PLOTLY_PAGE = """
<!doctype html><html><body style="margin:0"><div id="p" style="width:900px;height:700px"></div>
<script>%(plotly)s</script>
<script>
const gd = document.getElementById('p');
window.drawPoints = async (x, y, c) => {
  const t0 = performance.now();
  const traces = [];
  for (let k = 0; k < 10; k++) {
    const xs = [], ys = [];
    for (let i = 0; i < c.length; i++) if (c[i] === k) { xs.push(x[i]); ys.push(y[i]); }
    traces.push({type: 'scattergl', mode: 'markers', x: xs, y: ys, marker: {size: %(size)d, color: %(colours)s[k]}});
  }
  await Plotly.newPlot(gd, traces, {width: 900, height: 700, margin: {l: 40, r: 10, t: 10, b: 40},
                                    xaxis: {range: [-1, 1]}, yaxis: {range: [-1, 1]}, showlegend: false},
                       {scrollZoom: true});
  await new Promise(requestAnimationFrame);
  return performance.now() - t0;
};
window.step = async (k) => {
  const phase = k %% 40, out = phase < 20 ? phase : 40 - phase;
  const cx = 0.01 * out, cy = 0.005 * out, half = 1 - 0.01 * out;
  await Plotly.relayout(gd, {'xaxis.range': [cx - half, cx + half], 'yaxis.range': [cy - half, cy + half]});
  await new Promise(requestAnimationFrame);
};
</script></body></html>
"""


def points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) coordinates in [-1, 1] and classes: the shipped Fashion-MNIST map, tiled with jitter beyond 10,000."""
    from explorer.app.scatter import normalise
    from explorer.checkpoint import load_embedding

    emb = load_embedding(ROOT / "trained" / "fashion-mnist-d16")
    rng = np.random.default_rng(seed)
    take = rng.integers(0, len(emb.pca), n) if n > len(emb.pca) else rng.permutation(len(emb.pca))[:n]
    xy = emb.pca[take] + (rng.normal(scale=0.05, size=(n, 2)) * emb.pca.std(axis=0) if n > len(emb.pca) else 0)
    return normalise(xy), emb.labels[take].astype(int)


def page_html(renderer: str, n: int) -> str:
    from explorer.app.scatter import vendor_prelude

    size = 4 if n > 50_000 else 5
    if renderer == "webgl":
        return REGL_PAGE % {"prelude": vendor_prelude(), "size": size, "colours": COLOURS}
    return PLOTLY_PAGE % {"plotly": PLOTLY_JS.read_text(), "size": size, "colours": COLOURS}


def measure(browser, renderer: str, xy: np.ndarray, classes: np.ndarray, seconds: float) -> dict:
    page = browser.new_page(viewport=SIZE)
    try:
        t0 = time.perf_counter()
        page.set_content(page_html(renderer, len(xy)))
        draw_ms = page.evaluate("([x, y, c]) => drawPoints(x, y, c)",
                                [xy[:, 0].tolist(), xy[:, 1].tolist(), classes.tolist()])
        first_paint_s = time.perf_counter() - t0
        steps = page.evaluate("""async (seconds) => {
            for (let k = 0; k < 5; k++) await step(k);  // warm up
            const t0 = performance.now();
            let k = 5;
            while (performance.now() - t0 < seconds * 1000) await step(k++);
            return {steps: k - 5, ms: performance.now() - t0};
        }""", seconds)
        return {"redraws_per_s": round(steps["steps"] / steps["ms"] * 1000, 2), "draw_ms": round(draw_ms),
                "page_to_first_paint_s": round(first_paint_s, 2)}
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 70_000, 300_000])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "map-fps-cpu.json")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            for n in args.points:
                xy, classes = points(n)
                runs = {"plotly": [], "webgl": []}
                for r in range(args.rounds):
                    order = ("plotly", "webgl") if r % 2 == 0 else ("webgl", "plotly")
                    for renderer in order:
                        runs[renderer].append(measure(browser, renderer, xy, classes, args.seconds))
                rate = {k: statistics.median(m["redraws_per_s"] for m in v) for k, v in runs.items()}
                paint = {k: statistics.median(m["draw_ms"] for m in v) for k, v in runs.items()}
                results[str(n)] = {"runs": runs, "redraws_per_s": rate,
                                   "webgl_over_plotly_redraws": round(rate["webgl"] / rate["plotly"], 2),
                                   "draw_ms_median": paint,
                                   "webgl_over_plotly_draw_time": round(paint["webgl"] / paint["plotly"], 2)}
        finally:
            browser.close()
    goal = results.get("70000", {}).get("webgl_over_plotly_redraws")
    emit({"benchmark": "map_fps", "machine": machine(), "method": __doc__.split("\n\n", 2)[2].strip(),
          "goal": "webgl >= 2.5x plotly redraws per second at 70,000 points",
          "meets_goal": None if goal is None else goal >= 2.5, "results": results}, args.out)


if __name__ == "__main__":
    main()
