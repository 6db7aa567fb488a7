"""A looping path A -> B -> C -> A in a real browser: drawn on the map, and scrubbed live round the loop."""

from __future__ import annotations

import importlib.util
from urllib.parse import urlencode

import pytest

from harness.browser import CHROMIUM, app_server, browser_page
from harness.live import image_data_url, open_live

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]

STEPS = 6  # per leg: 3 legs give 16 frames
LOOP = {"model": "digits", "view": "Interpolate", "a": "test:111", "b": "test:238", "via": "test:282", "loop": "1",
        "steps": str(STEPS)}
SCRUB = ".le-path input[type=range]"
IMAGE = ".le-path canvas.le-image"

# The map's path trace and its labels, as plotly drew them.
PATH_ON_MAP_JS = """() => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const path = gd._fullData.find((t) => t.name === 'path');
        if (path) return {x: Array.from(path.x), y: Array.from(path.y),
                          labels: (gd.layout.annotations || []).map((a) => a.text)};
    }
    return null;
}"""


def test_a_looping_path_is_drawn_on_the_map_and_scrubbed_round_to_a():
    with app_server() as url, browser_page(f"{url}/?{urlencode(LOOP)}", 1280, 720) as page:
        open_live(page, "", SCRUB)
        drawn = page.evaluate(PATH_ON_MAP_JS)
        assert drawn is not None and len(drawn["x"]) == 3 * (STEPS - 1) + 1
        assert (drawn["x"][0], drawn["y"][0]) == pytest.approx((drawn["x"][-1], drawn["y"][-1]))  # back at A
        assert drawn["labels"] == ["<b>A</b>", "<b>B</b>", "<b>C</b>"]
        assert page.locator(SCRUB).first.get_attribute("max") == "3"  # three legs
        at_a = image_data_url(page, IMAGE)
        page.locator(SCRUB).first.focus()
        page.keyboard.press("PageUp")  # off A, then all the way round
        assert image_data_url(page, IMAGE) != at_a
        page.keyboard.press("End")
        page.wait_for_timeout(300)
        assert image_data_url(page, IMAGE) == at_a
        assert "C → A" in page.locator(".le-path .le-caption").first.inner_text()
