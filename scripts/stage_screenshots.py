"""Screenshots of the stage (presentation mode) at a projector's sizes, for the README and for looking at it.

    python -m scripts.stage_screenshots [--model fashion-mnist-d16] [--views Map Sliders Interpolate Explain]

For each size (1280x720, 1920x1080) and view: the app opened on the stage (?present=1) with a test image
picked, after the page settles: docs/screenshots/stage-<view>-<width>x<height>.png, the window as a room
sees it (not the whole page).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from harness.browser import app_server, browser_page, wait_idle

SIZES = ((1280, 720), (1920, 1080))
SETTLE_MS = 2500  # the map's points and images paint, the live views get their decoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-mnist-d16")
    parser.add_argument("--pick", type=int, default=7)
    parser.add_argument("--views", nargs="+", default=["Map", "Sliders", "Interpolate", "Explain"])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url:
        for width, height in SIZES:
            with browser_page(url, width, height) as page:
                for view in args.views:
                    page.goto(f"{url}/?model={args.model}&view={view}&pick={args.pick}&present=1")
                    page.get_by_test_id("stTabs").wait_for(timeout=60_000)
                    wait_idle(page)
                    page.wait_for_timeout(SETTLE_MS)
                    path = args.out / f"stage-{view.lower()}-{width}x{height}.png"
                    shot = Image.open(io.BytesIO(page.screenshot()))
                    shot.convert("RGB").quantize(colors=256).save(path, optimize=True)
                    print(path)


if __name__ == "__main__":
    main()
