"""What the map's in-page layers cost, in the running app: bytes to the page, server runs, paint times.

    python -m benchmarks.map_layers [--models digits fashion-mnist-d16] [--out benchmarks/results/map-layers-cpu.json]

For each model, a fresh page of `streamlit run` in headless Chromium (software WebGL, 1600 x 900):
- bytes per model: every websocket byte the page receives from opening until the first run is idle, and
  the parts of it that are the map's points, its image sheet and the decoder's weights (their blobs'
  sizes, from the page's loaders);
- per pan or zoom: websocket bytes and server runs over 20 wheel zooms and 20 drags (the view is the
  page's own business: both should be 0);
- the images layer: milliseconds per repaint (median, p90) of the density layer (whole map), the sampled
  images (zoomed in 1.5x and more) and every image (zoomed in further), as the page times them;
- the decoded atlas, on PCA and on t-SNE: milliseconds from the start of a grid to its last cell
  (median, p90, over repaints after pans), its busy milliseconds, and the cells in it; scaled to a 20 x 20
  grid (the grid is 20 cells along the longer side: 20 x 16 on this 5:4 map). The reference, taken in
  the same run alternately with the page's repaints: torch decoding the same 400 latent points in one
  batch in this process (the server's decoded plane does that, and then still has to send the picture).
Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.app_common import emit, machine
from harness.browser import MAP, MAP_CANVAS, app_server, browser_page, wait_idle, webgl_map_points, wire


def quantiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"median": round(statistics.median(values), 1),
            "p90": round(float(np.percentile(values, 90)), 1), "n": len(values)}


def blob_bytes(page) -> dict:
    reg = page.evaluate("() => ({map: globalThis.__latentExplorerMap.bytes, images: globalThis.__latentExplorerMap.imageBytes})")
    decoder = page.locator(".le-loader").first.get_attribute("data-bytes")
    return {"points": reg["map"], "images": reg["images"], "decoder": int(decoder) if decoder else 0}


def gestures(page, box: dict, zooms: int, drags: int) -> None:
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    for k in range(zooms):
        page.mouse.wheel(0, -60 if k % 2 == 0 else 60)
        page.wait_for_timeout(120)
    for k in range(drags):
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + (25 if k % 2 == 0 else -25), cy + 10, steps=5)
        page.mouse.up()
        page.wait_for_timeout(120)


def layer_times(page, box: dict) -> dict:
    """Repaint times of the images layer, by what it drew, while zooming in step by step and panning."""
    root = page.locator(MAP)
    xy = np.array([(x, y) for _, x, y in webgl_map_points(page)])
    centre = xy[np.argmin(np.linalg.norm(xy - np.median(xy, axis=0), axis=1))]  # zoom into the crowd
    for _ in range(12):
        page.mouse.move(*centre)
        page.mouse.wheel(0, -40)
        page.wait_for_timeout(250)
        gestures(page, box, 0, 2)
    page.locator(MAP).get_by_role("button", name="Reset").click()
    page.wait_for_timeout(800)
    times = root.evaluate("(el) => el.leView.layers.ms")
    return {kind: {**quantiles([t["ms"] for t in times if t["kind"] == kind]),
                   "images_drawn_max": max([t["drawn"] for t in times if t["kind"] == kind], default=0)}
            for kind in ("density", "sampled", "images", "points")}


def atlas_times(page, box: dict, model, repaints: int) -> dict:
    import torch

    from explorer.app import compute

    root = page.locator(MAP)
    root.get_by_role("button", name="Atlas").click()
    page.wait_for_function("(el) => Number(el.dataset.atlasPaints || 0) >= 1", arg=root.element_handle(), timeout=60_000)
    torch_ms = []
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for k in range(repaints):
        before = int(root.get_attribute("data-atlas-paints"))
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + (30 if k % 2 == 0 else -30), cy, steps=4)
        page.mouse.up()
        page.wait_for_function("([el, n]) => Number(el.dataset.atlasPaints) > n", arg=[root.element_handle(), before],
                               timeout=60_000)
        z = np.asarray(root.evaluate("""(el) => { const v = el.leView, f = v.maths.screenFrame();
            const box = v.canvas.getBoundingClientRect(), out = [];
            for (let r = 0; r < 20; r++) for (let c = 0; c < 20; c++) {
              const nx = ((c + 0.5) * box.width / 20 - f.x.offset) / f.x.gain;
              const ny = ((r + 0.5) * box.height / 20 - f.y.offset) / f.y.gain;
              out.push(Array.from(v.maths.latentAt(nx, ny)));
            } return out; }"""), np.float32)
        t0 = time.perf_counter()
        with torch.no_grad():
            compute.decode(model, z)
        torch_ms.append(1000 * (time.perf_counter() - t0))
    runs = root.evaluate("(el) => el.leView.atlas.ms")[1:]  # the first grid waits for the page to settle
    cells = runs[-1]["cells"] if runs else 0
    ms = [r["ms"] for r in runs]
    per_400 = [r["ms"] * 400 / r["cells"] for r in runs]
    root.get_by_role("button", name="Atlas").click()
    return {"cells": cells, "repaint_ms": quantiles(ms), "busy_ms": quantiles([r["busy"] for r in runs]),
            "repaint_ms_per_20x20": quantiles(per_400), "torch_batch_ms_400": quantiles(torch_ms),
            "page_over_torch": round(statistics.median(per_400) / statistics.median(torch_ms), 1) if ms else None}


def measure(model_name: str, repaints: int) -> dict:
    from explorer.checkpoint import load
    from explorer.app import resources

    model = load(resources.TRAINED / model_name).model
    out = {"model": model_name}
    with app_server() as url, browser_page(url + f"?model={model_name}&proj=pca", 1600, 900) as page:
        webgl_map_points(page)
        page.wait_for_function("() => globalThis.__latentExplorerMap.imageLoads > 0 && "
                               "Object.keys(globalThis.__latentExplorer?.decoders ?? {}).length > 0", timeout=120_000)
        wait_idle(page)
        page.wait_for_timeout(1000)
        out["bytes_on_open"] = {"websocket": wire(page).received, **blob_bytes(page)}
        box = page.locator(MAP_CANVAS).bounding_box()
        received, runs = wire(page).received, wire(page).runs
        gestures(page, box, 20, 20)
        page.wait_for_timeout(1500)
        out["per_40_pans_and_zooms"] = {"websocket_bytes": wire(page).received - received,
                                        "server_runs": wire(page).runs - runs}
        out["images_layer_ms"] = layer_times(page, box)
        out["atlas_pca"] = atlas_times(page, box, model, repaints)
    with app_server() as url, browser_page(url + f"?model={model_name}&proj=tsne", 1600, 900) as page:
        webgl_map_points(page)
        page.wait_for_function("() => Object.keys(globalThis.__latentExplorer?.decoders ?? {}).length > 0",
                               timeout=120_000)
        wait_idle(page)
        out["atlas_tsne"] = atlas_times(page, page.locator(MAP_CANVAS).bounding_box(), model, repaints)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["digits", "fashion-mnist-d16"])
    parser.add_argument("--repaints", type=int, default=8)
    parser.add_argument("--out", default="benchmarks/results/map-layers-cpu.json")
    args = parser.parse_args()
    results = [measure(m, args.repaints) for m in args.models]
    emit({"machine": machine(), "method": __doc__.split("\n\n", 2)[2].strip(), "results": results}, Path(args.out))


if __name__ == "__main__":
    main()
