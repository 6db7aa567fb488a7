"""A recorded tour in a real browser: a slider drag is recorded with its timing, saved as JSON, and played
back on the stage: the page moves the slider as the presenter did (the picture changes frame after frame)
and the tour ends on the recorded final state.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from harness.browser import CHROMIUM, app_server, browser_page, open_tab, wait_idle
from harness.live import drag_and_release, open_live, release, settle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
SLIDER = ".le-sliders input[type=range]"
IMAGE = ".le-sliders canvas.le-image"
DRAG_S = 2.0

# Counts the frames on which the live image's pixels changed, hashing it every animation frame.
COUNT_CHANGES_JS = """(selector) => {
  const state = window.__tourChanges = { changes: 0, last: null, on: true };
  const tick = () => {
    const canvas = document.querySelector('.le-sliders canvas.le-image') ||
      [...document.querySelectorAll('*')].map((e) => e.shadowRoot?.querySelector(selector)).find(Boolean);
    if (canvas) {
      const url = canvas.toDataURL();
      if (state.last !== null && url !== state.last) state.changes += 1;
      state.last = url;
    }
    if (state.on) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_a_recorded_slider_drag_plays_back_in_the_page_and_ends_on_the_recorded_state():
    with app_server() as url, browser_page(f"{url}/?model=digits&view=Sliders", 1600, 1000) as page:
        open_live(page, "", SLIDER)
        page.get_by_text("Tour:").click()
        page.get_by_role("button", name="Record").click()
        settle(page)
        assert drag_and_release(page, SLIDER, DRAG_S) >= 1  # the release reached the server
        open_tab(page, "Map")
        page.get_by_role("button", name="Stop recording").click()
        wait_idle(page)
        with page.expect_download() as saved:
            page.get_by_role("button", name="Save", exact=True).click()
        tour = json.loads(open(saved.value.path(), encoding="utf-8").read())
        dragged = [s for s in tour["steps"] if s.get("gesture")]
        assert len(dragged) == 1 and dragged[0]["gesture"]["source"] == "sliders", tour["steps"]
        samples = dragged[0]["gesture"]["samples"]
        assert len(samples) >= 10 and samples[-1][0] >= 0.8 * DRAG_S * 1000  # the drag, with its timing
        final = tour["steps"][-1]["params"]

        open_tab(page, "Sliders")
        page.locator(".le-sliders button", has_text="Random").click()  # somewhere else before playing
        wait_idle(page)
        page.get_by_role("button", name="Play it").click()
        page.locator(SLIDER).first.wait_for(timeout=30_000)  # the tour opens the Sliders tab on the stage
        page.evaluate(COUNT_CHANGES_JS, IMAGE)
        page.wait_for_function("() => new URL(location.href).searchParams.get('view') === 'Map'",
                               timeout=30_000 + 1000 * DRAG_S)
        changes = page.evaluate("() => { window.__tourChanges.on = false; return window.__tourChanges.changes; }")
        assert changes >= 10  # the drag played back as a moving picture, not a jump to its end
        wait_idle(page)
        page.wait_for_timeout(500)
        params = dict(p.split("=", 1) for p in page.url.split("?", 1)[1].split("&"))
        assert params["z"].replace("%2C", ",") == final["z"] and params["view"] == final["view"]
        assert page.evaluate("() => window.__latentExplorer.replays") == 1


def test_a_recorded_drag_of_the_maps_probe_plays_back_on_the_map():
    from harness.browser import MAP, webgl_map_points

    with app_server() as url, browser_page(f"{url}/?model=digits&view=Map", 1600, 1000) as page:
        webgl_map_points(page)
        page.wait_for_function("() => Object.keys(globalThis.__latentExplorer?.decoders ?? {}).length > 0",
                               timeout=60_000)
        page.get_by_text("Tour:").click()
        page.get_by_role("button", name="Record").click()
        settle(page)
        page.locator(MAP).get_by_role("button", name="Probe").click()
        handle = page.locator(".le-map-probe")
        handle.wait_for()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        for k in range(1, 41):
            page.mouse.move(x - 3 * k, y + 2 * k)
            page.wait_for_timeout(30)
        release(page)
        end = page.locator(MAP).evaluate("(el) => el.leView.probe.at")  # the spot, in the map's own frame
        page.get_by_role("button", name="Stop recording").click()
        wait_idle(page)
        with page.expect_download() as saved:
            page.get_by_role("button", name="Save", exact=True).click()
        tour = json.loads(open(saved.value.path(), encoding="utf-8").read())
        [dragged] = [s for s in tour["steps"] if s.get("gesture")]
        assert dragged["gesture"]["source"] == "map" and len(dragged["gesture"]["samples"]) >= 10

        page.locator(MAP).get_by_role("button", name="Probe").click()  # the probe off: playback turns it on
        wait_idle(page)
        page.get_by_role("button", name="Play it").click()
        for _ in range(150):  # the stage draws the map anew: ask the page's current map each time
            if page.locator(MAP).get_attribute("data-replayed"):
                break
            page.wait_for_timeout(200)
        assert page.locator(MAP).get_attribute("data-replayed"), "the probe's drag was not played back"
        assert int(page.locator(MAP).get_attribute("data-probe-frames")) >= 10  # the drag, frame by frame
        again = page.locator(MAP).evaluate("(el) => el.leView.probe.at")  # the stage's map is larger: same spot
        assert abs(again[0] - end[0]) < 1e-3 and abs(again[1] - end[1]) < 1e-3  # where the presenter let go
