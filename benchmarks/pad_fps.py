"""Frame rate of the live views in headless Chromium: a continuous drag, images painted, server runs, decode time.

    python -m benchmarks.pad_fps [--seconds 6] [--models digits fashion-mnist-d16 fashion-mnist-d2]

For each model: open the Sliders tab (the live pad), press on the most informative slider and sweep it back
and forth for --seconds, then release; then the same over the 2-D pad and with the probe on the PCA map.
Reports, per drag: images painted per second, mouse moves per second (the input rate), server runs during
the drag and after the release, and the in-page decode time per image (median and p90, performance.now()
around the JS decode). Prints JSON and writes benchmarks/results/pad-fps-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

from harness.browser import CHROMIUM, app_server, browser_page, open_tab, wait_idle
from harness.live import decode_times, drag, open_live, release

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pad-fps-cpu.json"
DEFAULT_MODELS = ("digits", "fashion-mnist-d16", "fashion-mnist-d2")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(page, selector: str, seconds: float, along: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    during = drag(page, box, seconds, along=along)
    times = decode_times(page, during["decodes_before"])
    runs_on_release = release(page)
    return {
        "drag_s": round(during["seconds"], 2),
        "images_per_s": round(during["frames"] / during["seconds"], 1),
        "mouse_moves_per_s": round(during["moves"] / during["seconds"], 1),
        "server_runs_during_drag": during["runs_during_drag"],
        "server_runs_on_release": runs_on_release,
        "decode_ms_median": round(statistics.median(times), 3) if times else None,
        "decode_ms_p90": round(percentile(times, 0.9), 3) if times else None,
        "decodes": len(times),
    }


def bench_model(url: str, name: str, seconds: float) -> dict:
    with browser_page(f"{url}/?model={name}") as page:
        open_live(page, "Sliders", ".le-sliders input[type=range]")
        blob = int(page.locator(".le-loader").first.get_attribute("data-bytes"))
        result = {"model": name, "weights_bytes": blob,
                  "slider": measure(page, ".le-sliders input[type=range]", seconds, "x"),
                  "pad_2d": measure(page, ".le-sliders canvas.le-plane", seconds, "xy")}
        open_tab(page, "Map")
        page.get_by_text("Probe in a large view").click()
        wait_idle(page)
        open_live(page, "", ".le-probe canvas.le-map")
        result["probe_pca"] = measure(page, ".le-probe canvas.le-map", seconds, "xy")
        return result


def chromium_version() -> str:
    try:
        return subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each continuous drag (at least 5)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    models = [m for m in args.models if (ROOT / "trained" / m / "model.safetensors").is_file()]
    with app_server() as url:
        results = [bench_model(url, name, args.seconds) for name in models]
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "browser": chromium_version(),
                          "headless": True},
              "method": "Playwright mouse drag (press, sweep, release) in headless Chromium against a local "
                        "`streamlit run`; runs counted from the server's ScriptFinished messages on the websocket; "
                        "images from the live views' paint counter; decode time = performance.now() around the JS "
                        "decode.",
              "results": results}
    text = json.dumps(report, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
