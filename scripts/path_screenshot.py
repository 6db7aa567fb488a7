"""A screenshot of the Interpolate view with a path A -> B -> C -> A (looping), at 1280x720.

    python -m scripts.path_screenshot [--out docs/screenshots] [--model digits]

Saves interpolate-path.png (the path's frames, filmstrip and profile: the view scrolled to its
caption), interpolate-path-controls.png (the view's top: the points and options) and
interpolate-path-map.png (the animation and the path on the map). Needs Debian's Chromium and Playwright.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlencode

from harness.browser import app_server, browser_page, wait_idle

WIDTH, HEIGHT = 1280, 720
# Three far-apart digits of the PCA map (a 7, a 4 and a 0), so the loop is a triangle on it.
PATH = {"view": "Interpolate", "a": "test:111", "b": "test:238", "via": "test:282", "loop": "1", "steps": "8"}
HEADER = 70  # CSS pixels of Streamlit's header bar, which covers the top of the main area


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--model", default="digits")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url, browser_page(f"{url}/?{urlencode({'model': args.model, **PATH})}", WIDTH, HEIGHT) as page:
        wait_idle(page)
        page.wait_for_selector(".js-plotly-plot")
        page.wait_for_timeout(1500)  # the plots and the in-page decoder paint
        page.screenshot(path=str(args.out / "interpolate-path-controls.png"))
        page.locator('[data-testid="stMarkdownContainer"]', has_text="from A =").first.evaluate(
            "el => el.scrollIntoView({block: 'start'})")
        page.locator('[data-testid="stMain"]').evaluate(f"el => el.scrollBy(0, -{HEADER})")
        page.wait_for_timeout(500)
        page.screenshot(path=str(args.out / "interpolate-path.png"))
        page.locator(".js-plotly-plot").last.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(500)
        page.screenshot(path=str(args.out / "interpolate-path-map.png"))


if __name__ == "__main__":
    main()
