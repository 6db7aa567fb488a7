"""The live views in a real browser (Debian's Chromium, Playwright): what a user feels while dragging.

Asserted: the image follows the drag (many new images, no server run while the mouse is down), exactly one
server run on release, and the weights are not sent again on reruns. Frame rates are printed (and measured
properly by benchmarks/pad_fps.py), never asserted: this machine is shared.
"""

from __future__ import annotations

import importlib.util

import pytest

from harness.browser import CHROMIUM, app_server, browser_page, open_tab, wait_idle, wire
from harness.live import drag, image_data_url, open_live, release, release_key, runs, stats

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]

DRAG_S = 5.0
SLIDER = ".le-sliders input[type=range]"
IMAGE = ".le-sliders canvas.le-image"


def test_dragging_a_slider_repaints_live_and_reruns_the_server_once_on_release():
    with app_server() as url, browser_page(url) as page:
        open_live(page, "Sliders", SLIDER)
        assert page.get_by_text("Live decoding in this page").is_visible()
        before = image_data_url(page, IMAGE)
        box = page.locator(SLIDER).first.bounding_box()
        during = drag(page, box, DRAG_S)
        after_drag = image_data_url(page, IMAGE)
        on_release = release(page)
        fps = during["frames"] / during["seconds"]
        print(f"\nlive slider drag: {during['frames']} images in {during['seconds']:.1f} s = {fps:.0f} per s "
              f"({during['moves']} mouse moves); server runs during the drag: {during['runs_during_drag']}, "
              f"on release: {on_release}")
        assert after_drag != before  # the image followed the finger
        assert during["frames"] >= 10  # a moving picture, not one update at the end
        assert during["runs_during_drag"] == 0 and during["reports_during_drag"] == 0
        assert on_release == 1

        # Reruns (tab switches are full runs) do not send the weights again.
        received, run_count = wire(page).received, runs(page)
        for tab in ("Map", "Sliders", "Map", "Sliders"):
            open_tab(page, tab)
        page.locator(SLIDER).first.wait_for()
        assert runs(page) - run_count >= 4
        assert stats(page)["loads"] == 1
        blob_bytes = int(page.locator(".le-loader").first.get_attribute("data-bytes"))
        sent = wire(page).received - received
        print(f"{sent:,} bytes over 4 full runs; the weights are {blob_bytes:,} bytes")
        assert sent < blob_bytes  # not even once more

        # The released z is the app's z: Streamlit's own sliders open where the drag ended.
        dragged_to = page.locator(".le-sliders output").first.inner_text()
        page.get_by_text("Server: decode on release").click()
        wait_idle(page)
        assert page.locator('[data-testid="stMain"] [data-testid="stSliderThumbValue"]').first.inner_text() == dragged_to


def test_the_2d_pad_and_the_map_probe_follow_the_pointer():
    with app_server() as url, browser_page(url) as page:
        open_live(page, "Sliders", ".le-sliders canvas.le-plane")
        pad = page.locator(".le-sliders canvas.le-plane").first
        before = image_data_url(page, IMAGE)
        during = drag(page, pad.bounding_box(), 2.0, along="xy")
        assert image_data_url(page, IMAGE) != before and during["runs_during_drag"] == 0
        assert release(page) == 1

        open_tab(page, "Map")
        page.get_by_text("Probe in a large view").click()
        wait_idle(page)
        open_live(page, "", ".le-probe canvas.le-map")
        probe_image = ".le-probe canvas.le-image"
        before = image_data_url(page, probe_image)
        during = drag(page, page.locator(".le-probe canvas.le-map").first.bounding_box(), 2.0, along="xy")
        assert image_data_url(page, probe_image) != before and during["runs_during_drag"] == 0
        assert release(page) == 1
        page.get_by_role("button", name="Edit this spot with sliders").wait_for()


def test_the_arrow_keys_move_the_pad_and_the_server_hears_once_when_the_key_is_let_go():
    with app_server() as url, browser_page(url) as page:
        open_live(page, "Sliders", ".le-sliders canvas.le-plane")
        page.locator(".le-sliders canvas.le-plane").first.focus()
        before, runs_before, frames_before = image_data_url(page, IMAGE), runs(page), stats(page)["frames"]
        for _ in range(8):  # a held key: the browser repeats keydown, then one keyup
            page.keyboard.down("ArrowRight")
        page.keyboard.down("Shift")
        page.keyboard.down("ArrowUp")
        assert runs(page) == runs_before  # nothing reached the server while the keys were down
        # Painting follows the display's frames, so quick repeats share one: at least one new image.
        assert stats(page)["frames"] > frames_before and image_data_url(page, IMAGE) != before
        page.keyboard.up("Shift")
        assert release_key(page, "ArrowUp") == 1


def test_the_interpolation_can_be_scrubbed_live():
    with app_server() as url, browser_page(url) as page:
        open_live(page, "Interpolate", ".le-path input[type=range]")
        image = ".le-path canvas.le-image"
        before = image_data_url(page, image)
        page.locator(".le-path input[type=range]").first.scroll_into_view_if_needed()  # below the path's profile
        during = drag(page, page.locator(".le-path input[type=range]").first.bounding_box(), 2.0)
        assert image_data_url(page, image) != before and during["runs_during_drag"] == 0
        assert release(page) == 1
        assert page.get_by_text("t = ").first.is_visible()
