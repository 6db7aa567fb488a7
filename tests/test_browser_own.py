"""In a real browser: a copied URL restores the view in a fresh context, and drawing on the canvas is encoded."""

from __future__ import annotations

import importlib.util

import pytest

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, app_server, click_map_point, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
SLIDERS = '[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]'


def slider_values(page) -> list[str]:
    return [s.input_value() for s in page.locator(SLIDERS).all()]


def test_a_copied_url_restores_pick_and_slider_values_in_a_fresh_browser_context():
    from playwright.sync_api import sync_playwright

    with app_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
            page.goto(url)
            wait_idle(page)
            click_map_point(page)
            picked = page.locator('[data-testid="stMain"] h3').first.inner_text().split(" ")[0]  # "#123"
            page.get_by_role("button", name="Edit with sliders").click()
            wait_idle(page)
            page.locator(SLIDERS).first.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            wait_idle(page)
            page.wait_for_function("() => location.search.includes('z=')")
            page.wait_for_timeout(1000)  # the fragment's rerun writes the URL after the slider lands
            shared, values = page.url, slider_values(page)

            fresh = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
            fresh.goto(shared)
            wait_idle(fresh)
            fresh.get_by_text("decoded from the sliders").wait_for()
            assert slider_values(fresh) == values
            fresh.get_by_role("tab", name="Map").click()
            wait_idle(fresh)
            assert fresh.locator('[data-testid="stMain"] h3').first.inner_text().startswith(picked)
        finally:
            browser.close()


def test_drawing_on_the_canvas_shows_a_reconstruction():
    from playwright.sync_api import sync_playwright

    with app_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(url + "/?view=My+image")
            wait_idle(page)
            canvas = page.locator('canvas[aria-label="drawing canvas"]')
            canvas.wait_for()
            box = canvas.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
            page.mouse.move(x, y)
            page.mouse.down()
            for k in range(1, 21):  # a vertical stroke: a "1"
                page.mouse.move(x, y + k * box["height"] * 0.03)
            page.mouse.up()
            page.get_by_text("reconstruction (decoded mu)").wait_for(timeout=30_000)
            assert page.get_by_text("Showing your drawing.png").is_visible()
        finally:
            browser.close()
