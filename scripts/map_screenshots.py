"""Screenshots of the WebGL map's layers, for the README and for looking at them.

    python -m scripts.map_screenshots [--model fashion-mnist-d16] [--out docs/screenshots]

At 1600x900 (the map itself is saved, not the page), on the model's t-SNE and PCA maps: the whole map
with its density shaded (map-density.png), zoomed in with one image per cell (map-images.png) and
further in with every image (map-images-close.png), the decoded atlas on PCA (map-atlas-pca.png) and
on t-SNE (map-atlas-tsne.png, approximate), the probe dragged over the map (map-probe.png), and the
whole dataset (test and training splits, 70,000 points for Fashion-MNIST) on t-SNE: the whole map
(map-70k.png) and zoomed in until every image shows, the training images fetched as tiles
(map-70k-images.png).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from harness.browser import MAP, MAP_CANVAS, app_server, browser_page, wait_idle, webgl_map_points


def save_map(page, path: Path) -> None:
    page.wait_for_timeout(600)
    shot = Image.open(io.BytesIO(page.locator(MAP).screenshot()))
    shot.convert("RGB").quantize(colors=256).save(path, optimize=True)
    print(path)


def ready(page, url: str) -> dict:
    page.goto(url)
    webgl_map_points(page)
    page.wait_for_function("() => globalThis.__latentExplorerMap.imageLoads > 0 && "
                           "Object.keys(globalThis.__latentExplorer?.decoders ?? {}).length > 0", timeout=120_000)
    wait_idle(page)
    page.mouse.move(0, 0)
    return page.locator(MAP_CANVAS).bounding_box()


def zoom(page, box: dict, at: tuple[float, float], clicks: int) -> None:
    page.mouse.move(box["x"] + at[0] * box["width"], box["y"] + at[1] * box["height"])
    for _ in range(clicks):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(250)
    page.mouse.move(0, 0)  # off the map: no hover card
    page.wait_for_timeout(800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-mnist-d16")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--whole-only", action="store_true", help="only the two screenshots of the whole dataset")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with app_server() as url, browser_page(url, 1600, 900) as page:
        if not args.whole_only:
            layers(page, url, args)
        whole(page, url, args)


def layers(page, url: str, args) -> None:
    """The test map's layers, its atlases and its probe."""
    box = ready(page, f"{url}?model={args.model}&proj=tsne")
    save_map(page, args.out / "map-density.png")
    zoom(page, box, (0.35, 0.4), 3)
    save_map(page, args.out / "map-images.png")
    zoom(page, box, (0.5, 0.5), 3)
    save_map(page, args.out / "map-images-close.png")
    page.locator(MAP).get_by_role("button", name="Reset").click()
    page.locator(MAP).get_by_role("button", name="Atlas").click()
    page.wait_for_function("(el) => Number(el.dataset.atlasPaints || 0) >= 1",
                           arg=page.locator(MAP).element_handle(), timeout=60_000)
    save_map(page, args.out / "map-atlas-tsne.png")

    box = ready(page, f"{url}?model={args.model}&proj=pca")
    page.locator(MAP).get_by_role("button", name="Atlas").click()
    page.wait_for_function("(el) => Number(el.dataset.atlasPaints || 0) >= 1",
                           arg=page.locator(MAP).element_handle(), timeout=60_000)
    save_map(page, args.out / "map-atlas-pca.png")
    page.locator(MAP).get_by_role("button", name="Atlas").click()
    page.locator(MAP).get_by_role("button", name="Probe").click()
    handle = page.locator(".le-map-probe").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 0.25 * box["width"], y - 0.2 * box["height"], steps=20)
    page.mouse.up()
    wait_idle(page)
    save_map(page, args.out / "map-probe.png")


def whole(page, url: str, args) -> None:
    """The whole dataset on t-SNE, whole and zoomed in to its images."""
    box = ready(page, f"{url}?model={args.model}&proj=tsne&split=all")
    save_map(page, args.out / "map-70k.png")
    for _ in range(16):  # in until every visible point shows its image
        if page.locator(MAP).get_attribute("data-layer") == "images":
            break
        zoom(page, box, (0.62, 0.45), 1)
    page.wait_for_function("(el) => el.dataset.layer === 'images' && el.leView.layers.missing === 0",
                           arg=page.locator(MAP).element_handle(), timeout=60_000)
    save_map(page, args.out / "map-70k-images.png")
    print(page.evaluate("() => ({sheets: globalThis.__latentExplorerMap.imageLoads, "
                        "bytes: globalThis.__latentExplorerMap.imageBytes})"))


if __name__ == "__main__":
    main()
