"""Screenshots of the app as a projector shows it (1600x900), for the README and for looking at it.

    python -m scripts.screenshots [--model NAME] [--out docs/screenshots]

NAME is a model in the picker (default digits); set LATENT_EXPLORER_MODELS to list models outside
trained/. Needs Debian's Chromium and Playwright (see harness/browser.py).
"""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

from PIL import Image

from harness.browser import app_server, browser_page, click_map_point, open_tab, wait_idle

SAVED_WIDTH = 1200  # pixels: README-sized, still legible
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def handwritten_three(path: Path) -> Path:
    """A 'photo' of a digit: dark ink on white paper, off-centre and not square, as a user would upload."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (360, 300), (245, 243, 236))
    font = ImageFont.truetype(str(FONT), 220) if FONT.exists() else ImageFont.load_default()
    ImageDraw.Draw(image).text((110, 20), "3", fill=(30, 30, 40), font=font)
    image.save(path, quality=90)
    return path


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
    parser.add_argument("--views", choices=("all", "own"), default="all",
                        help="own: only the upload, attribute and presentation-mode views")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url, browser_page(url) as page:
        if args.model != "digits":
            page.locator('[data-testid="stSelectbox"]').first.click()
            page.get_by_role("option", name=re.compile(f"^{re.escape(args.model)}( |$)")).click()
            wait_idle(page)
        if args.views == "own":
            own_views(page, args.out, args.prefix)
            return
        click_map_point(page)
        page.get_by_text("Nearest neighbours in latent space").wait_for()
        page.mouse.move(5, 5)  # the hover label of the clicked point would cover the legend
        page.wait_for_timeout(500)
        save(page, args.out / f"{args.prefix}map.png")
        page.get_by_role("button", name="Edit with sliders").click()
        wait_idle(page)
        save(page, args.out / f"{args.prefix}sliders.png")
        for tab, name in (("Interpolate", "interpolate"), ("Samples", "samples"), ("Decoded plane", "plane"),
                          ("Model card", "model-card")):
            open_tab(page, tab)
            page.wait_for_timeout(1500)  # plotly charts draw after the script finishes
            save(page, args.out / f"{args.prefix}{name}.png")
        own_views(page, args.out, args.prefix)


def own_views(page, out: Path, prefix: str) -> None:
    """Your own image (uploaded), an attribute vector moved by its slider, and presentation mode."""
    open_tab(page, "My image")
    photo = handwritten_three(out / "three.jpg")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(photo))
    page.get_by_text(f"Showing {photo.name}").wait_for(timeout=30_000)
    photo.unlink()
    wait_idle(page)
    page.wait_for_timeout(1500)
    save(page, out / f"{prefix}my-image.png")
    open_tab(page, "Attributes")
    amount = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').first
    amount.focus()
    for _ in range(20):  # 20 steps of 0.05: the whole difference B - A
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    page.wait_for_timeout(1000)
    save(page, out / f"{prefix}attributes.png")
    page.get_by_text("Presentation mode").click()
    wait_idle(page)
    open_tab(page, "Interpolate")
    page.wait_for_timeout(1500)
    save(page, out / f"{prefix}presentation.png")


if __name__ == "__main__":
    main()
