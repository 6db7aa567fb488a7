"""Tour playback drift: how late a recorded tour's steps play against their recorded times.

    python -m benchmarks.tour_drift [--model digits] [--steps 10] [--gap 2.0] [--rounds 3]
                                    [--out benchmarks/results/tour-drift-cpu.json]

In a real browser (headless Chromium, 1600 x 1000): a tour of ``--steps`` steps ``--gap`` seconds apart (tab
changes and picks, as a presenter makes them) is loaded from its JSON file and played, ``--rounds`` times.
Two figures per step: the server's (when the app applied it, against its recorded time: the caption
"Last playback", from explorer/app/recording.py's drift) and the viewer's (when the page's URL showed it,
watched every animation frame, against the same time counted from the click on Play). The reference is the
clock's own granularity, explorer.app.tour.PLAY_TICK_S: a step is at most one tick plus one rerun late.
Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.app_common import emit, machine
from explorer.app import recording
from explorer.app.tour import PLAY_TICK_S
from harness.browser import app_server, browser_page, wait_idle

VIEWS = ("Map", "Sliders", "Interpolate")
WATCH_JS = """() => {
  const seen = window.__tourSeen = [];
  const t0 = performance.now();
  let last = location.href;
  const tick = () => {
    if (location.href !== last) { last = location.href; seen.push([performance.now() - t0, location.search]); }
    if (seen.length < 10000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def synthetic_tour(model: str, steps: int, gap: float) -> recording.Tour:
    """Steps ``gap`` s apart, each a new tab and a new pick: every step changes what the URL shows."""
    return recording.Tour(model, tuple(recording.Step(k * gap, {"model": model, "view": VIEWS[k % len(VIEWS)],
                                                                "pick": str(k + 1)}) for k in range(steps)))


def play_once(page, tour: recording.Tour, path: Path) -> dict:
    if not page.get_by_role("button", name="Record").is_visible():
        page.get_by_text("Tour:").click()  # open the sidebar's tour expander
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    wait_idle(page)
    page.get_by_role("button", name=re.compile("^Play it")).click()
    page.evaluate(WATCH_JS)
    t0 = time.monotonic()
    page.wait_for_function(f"() => window.__tourSeen.some(([, q]) => q.includes('pick={len(tour.steps)}&') || "
                           f"q.endsWith('pick={len(tour.steps)}'))", timeout=60_000 + 2000 * tour.seconds)
    wait_idle(page)
    page.wait_for_timeout(500)
    seen = page.evaluate("() => window.__tourSeen")
    late = []
    for k, step in enumerate(tour.steps):
        shown = [t for t, q in seen if re.search(rf"[?&]pick={k + 1}(&|$)", q)]
        if shown:
            late.append(max(0.0, shown[0] / 1000 - step.start))
    page.get_by_role("button", name="Leave presentation").click()
    wait_idle(page)
    caption = page.get_by_text(re.compile("Last playback")).first.inner_text()
    median, worst = (float(v) / 1000 for v in re.search(r"(\d+) ms late at the median, (\d+) ms at worst", caption).groups())
    return {"server": {"median_s": median, "max_s": worst}, "page_late_s": late, "wall_s": time.monotonic() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--gap", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tour-drift-cpu.json"))
    args = parser.parse_args()
    tour = synthetic_tour(args.model, args.steps, args.gap)
    rounds = []
    with tempfile.TemporaryDirectory() as folder, app_server() as url, \
            browser_page(f"{url}/?model={args.model}&view=Map", 1600, 1000) as page:
        path = Path(folder) / "tour.json"
        path.write_text(tour.to_json())
        for _ in range(args.rounds):
            rounds.append(play_once(page, tour, path))
    page_late = sorted(v for r in rounds for v in r["page_late_s"])
    server_median = statistics.median(r["server"]["median_s"] for r in rounds)
    result = {
        "benchmark": "tour_drift", "machine": machine(), "model": args.model,
        "tour": {"steps": args.steps, "gap_s": args.gap, "seconds": tour.seconds}, "rounds": args.rounds,
        "tick_s": PLAY_TICK_S,
        "server_late_s": {"median": server_median, "max": max(r["server"]["max_s"] for r in rounds)},
        "page_late_s": {"median": round(statistics.median(page_late), 3), "p90": round(page_late[int(0.9 * len(page_late))], 3),
                        "max": round(page_late[-1], 3), "n": len(page_late), "of": args.steps * args.rounds},
        "page_median_over_tick": round(statistics.median(page_late) / PLAY_TICK_S, 2),
        "playback_wall_over_tour": round(statistics.median(r["wall_s"] for r in rounds) / tour.seconds, 2),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
