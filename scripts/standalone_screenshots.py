"""Screenshots of the offline explorer at 1280x720 for the README and talks: docs/screenshots/standalone-<model>.png.

    python -m scripts.standalone_screenshots [--models digits fashion-mnist-d16]

Each file is built by explorer.standalone, opened from file:// in headless Chromium, a point picked, A and B
set, the scrubber moved half-way (so the path shows on the map) and the mouse left hovering over a point.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from explorer import standalone
from harness.browser import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 720}
PICKS = (0.30, 0.72)  # the A and B points: the ones nearest these fractions of the map, along its diagonal


def nearest_point(page, fx: float, fy: float) -> int:
    return page.evaluate(f"""() => {{ const r = document.querySelector('canvas.le-map-canvas').getBoundingClientRect();
        const tx = r.left + {fx} * r.width, ty = r.top + {fy} * r.height; let best = 0, d = Infinity;
        for (let i = 0; i < JSON.parse(document.getElementById('le-data').textContent).n; i++) {{
          const [x, y] = __standalone.pointOnScreen(i); const e = (x - tx) ** 2 + (y - ty) ** 2;
          if (e < d) {{ d = e; best = i; }} }} return best; }}""")


def shoot(page, model: str, folder: Path) -> Path:
    html = Path(folder) / f"{model}.html"
    standalone.write(ROOT / "trained" / model, html)
    page.goto(html.as_uri())
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
    a, b = (nearest_point(page, f, f) for f in PICKS)
    page.mouse.click(*page.evaluate(f"__standalone.pointOnScreen({a})"))
    page.get_by_role("button", name="Set A").click()
    page.mouse.click(*page.evaluate(f"__standalone.pointOnScreen({b})"))
    page.get_by_role("button", name="Set B").click()
    scrub = page.locator("input.le-scrub").bounding_box()
    page.mouse.click(scrub["x"] + scrub["width"] * 0.5, scrub["y"] + scrub["height"] / 2)
    hover = nearest_point(page, 0.62, 0.35)
    page.mouse.move(*page.evaluate(f"__standalone.pointOnScreen({hover})"))
    page.wait_for_timeout(300)
    out = OUT / f"standalone-{model}.png"
    page.screenshot(path=str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["digits", "fashion-mnist-d16"])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport=VIEWPORT)
        for model in args.models:
            print(shoot(page, model, Path(folder)))
        browser.close()


if __name__ == "__main__":
    main()
