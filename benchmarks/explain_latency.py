"""The Explain view: from a pen stroke to the updated ellipse and images, and the IWAE estimate per image.

    python -m benchmarks.explain_latency [--models digits fashion-mnist-d16] [--moves 120]
                                         [--out benchmarks/results/explain-latency-cpu.json]

In a real browser (headless Chromium, 1600 x 1000), on the Explain view of each model: ``--moves`` pointer
moves across the drawing pad, 16 ms apart (a 60 Hz pen); for each update the page times the oldest input
not yet drawn to the animation frame that shows its encoding, ellipse, decoded draws and terms
(explain.js: latencies; all 16 draws, or 4 during the stroke on a model whose full update is slower than a
frame, as the view does). Reported: median and p90 ms, updates per stroke move. The reference, in the same
run: the server round trip of the view's one server action on the same page (the IWAE button: click to
the result shown, k = 500), which is what any update through the server would at least cost.
In this process: explorer.evaluate.image_bounds at k = 500 on 20 test images of each model (seconds per
image), against iwae_bound on the same 20 images in one batch (per image), the model card's path.
Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.app_common import emit, machine
from harness.browser import app_server, browser_page, wait_idle

VIEW = ".le-explain"


def quantiles(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 1), "p90": round(float(np.percentile(values, 90)), 1),
            "n": len(values)}


def browser_figures(url: str, model: str, moves: int) -> dict:
    with browser_page(f"{url}/?model={model}&view=Explain", 1600, 1000) as page:
        page.locator(VIEW).wait_for(timeout=60_000)
        page.wait_for_function("(el) => Number(el.dataset.encodes || 0) > 0",
                               arg=page.locator(VIEW).element_handle(), timeout=60_000)
        wait_idle(page)
        pad = page.locator(".le-x-pad").bounding_box()
        encodes = int(page.locator(VIEW).get_attribute("data-encodes"))
        page.mouse.move(pad["x"] + 0.2 * pad["width"], pad["y"] + 0.5 * pad["height"])
        page.mouse.down()
        for k in range(moves):
            phase = k / moves * 2 * np.pi
            page.mouse.move(pad["x"] + (0.5 + 0.3 * np.cos(phase)) * pad["width"],
                            pad["y"] + (0.5 + 0.3 * np.sin(phase)) * pad["height"])
            page.wait_for_timeout(16)
        page.mouse.up()
        page.wait_for_timeout(500)
        latencies = page.locator(VIEW).evaluate("(el) => el.leExplain.latencies")
        updates = int(page.locator(VIEW).get_attribute("data-encodes")) - encodes
        trips = []
        for _ in range(3):
            t0 = time.perf_counter()
            page.get_by_role("button", name=re.compile("Estimate −log p")).click()
            page.wait_for_function("([el, n]) => el.dataset.iwae && el.dataset.iwae.endsWith('-' + n)",
                                   arg=[page.locator(VIEW).element_handle(), len(trips) + 1], timeout=60_000)
            trips.append((time.perf_counter() - t0) * 1000)
        stroke = quantiles(latencies)
        return {"stroke_to_frame_ms": stroke, "updates": updates, "moves": moves,
                "server_round_trip_ms": quantiles(trips),
                "server_round_trip_over_stroke": round(statistics.median(trips) / stroke["median"], 1)}


def iwae_figures(model_name: str, k: int = 500, images: int = 20) -> dict:
    from explorer.checkpoint import load
    from explorer.data import load_dataset
    from explorer.evaluate import image_bounds, iwae_bound

    checkpoint = load(Path("trained") / model_name)
    model = checkpoint.model
    x = torch.as_tensor(load_dataset(checkpoint.dataset, download=False, test_only=True).test.images[:images])
    one = []
    for i in range(images):
        t0 = time.perf_counter()
        image_bounds(model, x[i : i + 1], k)
        one.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    with torch.no_grad():
        iwae_bound(model, x, k, chunk_size=250)
    batched = (time.perf_counter() - t0) / images
    return {"k": k, "images": images, "one_image_s": {"median": round(statistics.median(one), 3),
                                                       "p90": round(float(np.percentile(one, 90)), 3)},
            "batched_per_image_s": round(batched, 3), "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["digits", "fashion-mnist-d16"])
    parser.add_argument("--moves", type=int, default=120)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/explain-latency-cpu.json"))
    args = parser.parse_args()
    report = {"benchmark": "explain_latency", "machine": machine(), "models": {}}
    with app_server() as url:
        for model in args.models:
            report["models"][model] = {"browser": browser_figures(url, model, args.moves)}
    for model in args.models:  # after the server: the CPU is this process's alone
        report["models"][model]["iwae"] = iwae_figures(model)
    emit(report, args.out)


if __name__ == "__main__":
    main()
