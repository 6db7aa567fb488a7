"""The stage (presentation mode) at a projector's sizes, as the back of a room sees it.

At 1280x720 and 1920x1080: the sidebar is closed, the map (with its legend) and the picked image stand side
by side inside the window, the map shows its points; on Interpolate the filmstrip, the scrubber's picture
and the path's map are in view with the controls folded away; no button's label is cut, and "Leave
presentation" brings the sidebar back.
"""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
from PIL import Image

from harness.browser import CHROMIUM, MAP_CANVAS, app_server, browser_page, open_tab, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]

# Labels that are cut: the text is wider than the box that shows it (Streamlit ends it with an ellipsis).
CUT_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] button')]
  .filter((b) => b.offsetParent !== null)
  .flatMap((b) => [...b.querySelectorAll('p')].filter((p) => p.scrollWidth > p.clientWidth + 1)
  .map((p) => p.textContent))"""


def inside(box: dict, width: int, height: int) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width + 1 and box["y"] + box["height"] <= height + 1


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080)])
def test_the_stage_closes_the_sidebar_and_puts_the_map_and_a_large_image_side_by_side(width, height):
    with app_server() as url, browser_page(f"{url}/?model=fashion-mnist-d16&view=Map&pick=7&present=1",
                                           width, height) as page:
        page.locator(MAP_CANVAS).wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the points paint
        sidebar = page.get_by_test_id("stSidebar").bounding_box()
        assert sidebar is None or sidebar["x"] + sidebar["width"] <= 1  # closed: off the left edge

        canvas = page.locator(MAP_CANVAS).bounding_box()
        image = page.get_by_test_id("stImage").first.locator("img").bounding_box()
        assert inside(canvas, width, height) and inside(image, width, height)
        assert canvas["x"] + canvas["width"] < image["x"]  # side by side, the map on the left
        assert image["width"] >= 0.17 * width and canvas["height"] >= 0.5 * height  # large, for the back of a room
        for row in page.locator(".le-map-legend-row").all():  # every class of the legend is in the window
            assert inside(row.bounding_box(), width, height)
        points = np.asarray(Image.open(io.BytesIO(page.locator(MAP_CANVAS).screenshot())).convert("RGB")).astype(int)
        coloured = (points.max(axis=2) - points.min(axis=2)) > 60
        assert coloured.mean() > 0.05  # the map shows its points, in class colours

        assert page.evaluate(CUT_LABELS_JS) == []
        open_tab(page, "Interpolate")  # the room sees the pictures: filmstrip, scrubber and the path's map in view
        scrubber = page.locator(".le-path canvas.le-image")
        scrubber.wait_for(timeout=60_000)
        page.wait_for_function("() => (window.__latentExplorer?.frames || 0) > 0", timeout=60_000)
        strip = page.get_by_test_id("stImage").first.locator("img").bounding_box()
        assert inside(strip, width, height) and inside(scrubber.bounding_box(), width, height)
        assert inside(page.locator(".le-path input[type=range]").bounding_box(), width, height)
        assert scrubber.bounding_box()["width"] >= 0.17 * width  # as large as the map tab's image
        decoded = np.asarray(Image.open(io.BytesIO(scrubber.screenshot())).convert("L")).astype(int)
        assert decoded.max() - decoded.min() > 100  # the scrubber's picture is painted, not a blank square
        path_map = page.locator(".st-key-interp_map").bounding_box()
        assert path_map["x"] > scrubber.bounding_box()["x"] and path_map["y"] + path_map["height"] / 2 <= height
        page.get_by_text("The path: A → B").click()  # the controls, folded into one line
        wait_idle(page)
        assert page.get_by_text("spherical (slerp)").first.is_visible()  # once cut to "spherical ("
        assert page.evaluate(CUT_LABELS_JS) == []

        page.get_by_role("button", name="Leave presentation").click()
        wait_idle(page)
        page.wait_for_timeout(800)  # the sidebar slides in
        sidebar = page.get_by_test_id("stSidebar").bounding_box()
        assert sidebar["x"] >= 0 and sidebar["width"] > 200
        assert not page.get_by_role("button", name="Leave presentation").count()
