"""Screenshots of the app as a projector shows it (1600x900), for the README and for looking at it.

    python scripts/screenshots.py [--model NAME] [--out docs/screenshots]

NAME is a model in the picker (default digits); set LATENT_EXPLORER_MODELS to list models outside
trained/. Needs Debian's Chromium and Playwright (see tests/browser.py).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser import app_server, browser_page, click_map_point, open_tab, wait_idle  # noqa: E402

SAVED_WIDTH = 1200  # pixels: README-sized, still legible


def save(page, path: Path) -> None:
    page.wait_for_function("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
    page.wait_for_timeout(500)
    shot = Image.open(io.BytesIO(page.screenshot()))
    shot = shot.resize((SAVED_WIDTH, round(shot.height * SAVED_WIDTH / shot.width)), Image.LANCZOS)
    shot.convert("RGB").quantize(colors=256).save(path, optimize=True)
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digits")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url, browser_page(url) as page:
        if args.model != "digits":
            page.locator('[data-testid="stSelectbox"]').first.click()
            page.get_by_role("option", name=re.compile(f"^{re.escape(args.model)}( |$)")).click()
            wait_idle(page)
        click_map_point(page)
        page.get_by_text("Nearest neighbours in latent space").wait_for()
        save(page, args.out / f"{args.prefix}map.png")
        page.get_by_role("button", name="Edit with sliders").click()
        wait_idle(page)
        save(page, args.out / f"{args.prefix}sliders.png")
        for tab, name in (("Interpolate", "interpolate"), ("Samples", "samples"), ("Decoded plane", "plane"),
                          ("Model card", "model-card")):
            open_tab(page, tab)
            page.wait_for_timeout(1500)  # plotly charts draw after the script finishes
            save(page, args.out / f"{args.prefix}{name}.png")


if __name__ == "__main__":
    main()
