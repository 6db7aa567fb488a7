"""Screenshots of the Explain view, for the README and for looking at it.

    python -m scripts.explain_screenshots [--models digits fashion-mnist-d16] [--out docs/screenshots]

For each model, at 1600x900 (a laptop) and 1280x720 (a projector): the view opened on a test image, then
after one pen stroke across it: the page as it opens (explain-<model>.png, explain-<model>-720.png) and
the whole view, its terms and bars included (explain-<model>-view.png, at 1600x900); then, at 1280x720,
each of the four steps of the talk mode (explain-<model>-step<N>.png).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from harness.browser import app_server, browser_page, wait_idle

PICKS = {"digits": 12, "fashion-mnist-d16": 7}


def stroke(page) -> None:
    pad = page.locator(".le-x-pad").bounding_box()
    page.mouse.move(pad["x"] + 0.2 * pad["width"], pad["y"] + 0.25 * pad["height"])
    page.mouse.down()
    for k in range(1, 16):
        page.mouse.move(pad["x"] + (0.2 + 0.04 * k) * pad["width"], pad["y"] + (0.25 + 0.035 * k) * pad["height"])
        page.wait_for_timeout(20)
    page.mouse.up()
    page.mouse.move(0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(PICKS))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url:
        for width, height, suffix in ((1600, 900, ""), (1280, 720, "-720")):
            with browser_page(url, width, height) as page:
                for model in args.models:
                    page.goto(f"{url}/?model={model}&view=Explain&pick={PICKS.get(model, 0)}")
                    page.locator(".le-explain").wait_for(timeout=60_000)
                    page.wait_for_function("(el) => Number(el.dataset.encodes || 0) > 0",
                                           arg=page.locator(".le-explain").element_handle(), timeout=60_000)
                    wait_idle(page)
                    stroke(page)
                    page.wait_for_timeout(600)
                    path = args.out / f"explain-{model}{suffix}.png"
                    shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
                    shot.convert("RGB").quantize(colors=256).save(path, optimize=True)
                    print(path)
                    if suffix:  # the talk mode's four steps, at the projector's size
                        page.get_by_role("button", name="Steps").click()
                        for step in range(1, 5):
                            page.wait_for_timeout(900)  # the fade and the scroll to the step
                            shot = Image.open(io.BytesIO(page.screenshot()))
                            shot.convert("RGB").quantize(colors=256).save(
                                args.out / f"explain-{model}-step{step}.png", optimize=True)
                            page.keyboard.press("ArrowRight")
                        page.keyboard.press("Escape")
                    if not suffix:  # a viewport tall enough for the whole view, then back
                        page.set_viewport_size({"width": width, "height": 2000})
                        page.wait_for_timeout(500)
                        view = Image.open(io.BytesIO(page.locator(".le-explain").screenshot()))
                        page.set_viewport_size({"width": width, "height": height})
                        view.convert("RGB").quantize(colors=256).save(args.out / f"explain-{model}-view.png", optimize=True)


if __name__ == "__main__":
    main()
