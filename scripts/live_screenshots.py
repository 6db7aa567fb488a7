"""Screenshots of the live views at 1600x900: the sliders with the 2-D pad, and the probe on the PCA map.

    python -m scripts.live_screenshots [--model fashion-mnist-d16] [--out docs/screenshots]

Writes pad.png and probe.png (README-sized). Each is taken after a real drag, so what it shows is what
the in-page decoder painted. Needs Debian's Chromium and Playwright (see harness/browser.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.screenshots import save
from harness.browser import app_server, browser_page, open_tab, wait_idle
from harness.live import open_live, release


def drag_to(page, selector: str, fx: float, fy: float) -> None:
    """Press in the middle of the element, move to (fx, fy) of its box in steps, release."""
    box = page.locator(selector).first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=20)
    release(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-mnist-d16")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url, browser_page(f"{url}/?model={args.model}") as page:
        open_live(page, "Sliders", ".le-sliders canvas.le-plane")
        drag_to(page, ".le-sliders canvas.le-plane", 0.3, 0.4)  # the footwear corner: a crisp image
        page.wait_for_timeout(500)
        save(page, args.out / "pad.png")
        open_tab(page, "Map")
        page.get_by_text("Probe in a large view").click()
        wait_idle(page)
        open_live(page, "", ".le-probe canvas.le-map")
        drag_to(page, ".le-probe canvas.le-map", 0.3, 0.35)
        page.wait_for_timeout(500)
        save(page, args.out / "probe.png")


if __name__ == "__main__":
    main()
