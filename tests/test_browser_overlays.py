"""What is drawn over the map shows on top of its points, as a person sees it: checked by pixels.

Plotly paints every SVG trace beneath the WebGL canvas of the points, whatever the trace order: the star
of an uploaded image once sat invisible under the map while every test that looked for its trace passed.
Here the map is screenshotted three times with its axes frozen: as shown, with the points hidden (the
overlay alone), and with everything hidden. The overlay's pixels are where the second differs from the
third; the share of them that the first shows unchanged is what a viewer sees of it.
"""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
from PIL import Image

from explorer.app.plots import PATH_COLOUR
from explorer.checkpoint import load_embedding
from explorer.data import load_dataset
from tests.app_support import ROOT
from harness.browser import CHROMIUM, app_server, browser_page, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
MODEL = ROOT / "trained" / "fashion-mnist-d16"  # 10,000 points: a dense cloud to hide things in
DIFFERENT = 40  # summed RGB difference above which two pixels differ
SHOWN_AT_LEAST = 0.9  # share of the overlay's pixels a viewer must see
OVERLAY_RGB = np.array([int(PATH_COLOUR[i:i + 2], 16) for i in (1, 3, 5)])  # what the app draws overlays in

# Freeze the axes (hiding traces would rescale them), then report which traces are points (with ids).
FREEZE_JS = """(selector) => {
    const gd = document.querySelector(selector);
    const L = gd._fullLayout;
    return window.Plotly.relayout(gd, {'xaxis.range': L.xaxis.range.slice(), 'yaxis.range': L.yaxis.range.slice(),
                                       'xaxis.autorange': false, 'yaxis.autorange': false})
        .then(() => gd._fullData.map(t => Boolean(t.customdata)));
}"""
# 'legendonly', not false: the legend keeps its entries, so the plot area keeps its size.
HIDE_JS = """([selector, indices]) => window.Plotly.restyle(document.querySelector(selector), {visible: 'legendonly'},
                                                        indices)"""
MAP = ".js-plotly-plot"  # the view's map: its only plotly chart, or the one in the element keyed as given


def plot_area(page, plot: str) -> np.ndarray:
    page.wait_for_timeout(500)  # a frame or two after the restyle
    png = page.locator(f"{plot} .nsewdrag").first.screenshot()  # scrolled into view
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int32)


def shown_share(page, plot: str = MAP, debug=None) -> tuple[float, int]:
    """(share of the overlay's pixels seen unchanged on the map ``plot``, how many pixels the overlay has)."""
    is_point = page.evaluate(FREEZE_JS, plot)
    points = [i for i, p in enumerate(is_point) if p]
    overlays = [i for i, p in enumerate(is_point) if not p]
    assert points and overlays, is_point
    shown = plot_area(page, plot)
    page.evaluate(HIDE_JS, [plot, points])
    alone = plot_area(page, plot)
    page.evaluate(HIDE_JS, [plot, overlays])
    empty = plot_area(page, plot)
    # The overlay's solid pixels: drawn in its own colour where the empty map is not. Its anti-aliased rim
    # blends with whatever lies beneath (white, or a point), so it is left out of both counts.
    solid = np.abs(alone - OVERLAY_RGB).sum(axis=2) <= DIFFERENT
    overlay = solid & (np.abs(alone - empty).sum(axis=2) > DIFFERENT)
    seen = np.abs(shown - alone).sum(axis=2) <= DIFFERENT
    if debug is not None:
        Image.fromarray(np.concatenate([shown, alone, empty], axis=1).astype(np.uint8)).save(debug)
    return float(seen[overlay].mean()), int(overlay.sum())


def densest_test_image(tmp_path) -> str:
    """A PNG of the test image nearest the middle of the PCA map, where the points are thickest."""
    pca = load_embedding(MODEL).pca
    index = int(np.argmin(np.linalg.norm(pca - np.median(pca, axis=0), axis=1)))
    image = load_dataset("fashion-mnist", test_only=True).test.images[index, 0]
    path = tmp_path / "item.png"
    Image.fromarray((image * 255).round().astype(np.uint8)).save(path)
    return str(path)


@pytest.mark.skipif(not (MODEL / "model.safetensors").is_file(), reason="needs trained/fashion-mnist-d16")
def test_an_uploaded_images_star_is_drawn_over_the_points(tmp_path):
    pytest.importorskip("explorer.idx")
    try:
        upload = densest_test_image(tmp_path)
    except Exception as err:  # noqa: BLE001 - no Fashion-MNIST here: the star needs an image from the dense part
        pytest.skip(f"needs Fashion-MNIST on disk ({err})")
    with app_server() as url, browser_page(f"{url}/?model={MODEL.name}&view=My+image", 1280, 720) as page:
        page.get_by_test_id("stMain").locator('input[type="file"]').set_input_files(upload)  # not the tour's
        wait_idle(page)
        page.wait_for_selector(".js-plotly-plot .nsewdrag")
        share, pixels = shown_share(page, debug=tmp_path / "star.png")
    assert pixels > 100  # the star and its label are there to be seen
    assert share >= SHOWN_AT_LEAST, f"only {share:.0%} of the star's pixels show above the points"


@pytest.mark.skipif(not (MODEL / "model.safetensors").is_file(), reason="needs trained/fashion-mnist-d16")
def test_the_interpolation_path_is_drawn_over_the_points():
    with app_server() as url, browser_page(f"{url}/?model={MODEL.name}&view=Interpolate", 1280, 720) as page:
        plot = ".st-key-interp_map .js-plotly-plot"  # the map, below the path's profile chart
        page.wait_for_selector(f"{plot} .nsewdrag")
        share, pixels = shown_share(page, plot)
    assert pixels > 100
    assert share >= SHOWN_AT_LEAST, f"only {share:.0%} of the path's pixels show above the points"
