"""In a real browser: a copied URL restores the view in a fresh context, and drawing on the canvas is encoded."""

from __future__ import annotations

import importlib.util
import re

import pytest

from harness.browser import CHROMIUM, CHROMIUM_FLAGS, app_server, click_map_point, wait_idle

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
            page.get_by_text("Server: decode on release").click()  # Streamlit's own sliders
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
            fresh.get_by_text("Server: decode on release").click()
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


EDGE_PX = 3
NUDGES = [(dx, dy) for dx in (-EDGE_PX, 0, EDGE_PX) for dy in (-EDGE_PX, 0, EDGE_PX)]
# Every data point of the first plotly chart: [id, x, y] in page pixels (traces with customdata: the classes).
MAP_POINTS_JS = """() => {
    const gd = document.querySelectorAll('.js-plotly-plot')[0];
    const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
    const L = gd._fullLayout;
    return gd._fullData.filter(t => t.customdata).flatMap(t => Array.from(t.x, (x, j) =>
        [t.customdata[j], box.left + L.xaxis.d2p(x), box.top + L.yaxis.d2p(t.y[j])]));
}"""


def inside(polygon: list[tuple[float, float]], x: float, y: float) -> bool:
    """Ray casting: is (x, y) inside the closed polygon?"""
    hit = False
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


@pytest.mark.parametrize("tool", ["Box Select", "Lasso Select"])
def test_a_box_or_lasso_on_the_plotly_map_selects_the_points_inside_and_becomes_an_attribute_group(tool):
    """The Plotly renderer of the main map (the WebGL one: tests/test_browser_map.py)."""
    from harness.browser import browser_page, open_tab, use_plotly_map

    with app_server() as url, browser_page(url) as page:
        use_plotly_map(page)
        page.locator(".js-plotly-plot").first.hover()  # the mode bar shows on hover
        page.locator(f'.modebar-btn[data-title="{tool}"]').first.click()
        area = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
        cx, cy = area["x"] + area["width"] * 0.65, area["y"] + area["height"] * 0.4
        rx, ry = area["width"] * 0.15, area["height"] * 0.2
        if tool == "Box Select":
            path = [(cx - rx, cy - ry), (cx + rx, cy - ry), (cx + rx, cy + ry), (cx - rx, cy + ry)]
            strokes = [path[0], path[2]]
        else:  # a hexagon drawn stroke by stroke
            path = [(cx + rx * c, cy + ry * s) for c, s in ((1, 0), (0.5, 0.87), (-0.5, 0.87), (-1, 0),
                                                             (-0.5, -0.87), (0.5, -0.87))]
            strokes = path + [path[0]]
        points = page.evaluate(MAP_POINTS_JS)
        # Plotly starts the shape where the drag passes its threshold, a pixel or two from the press: points
        # within EDGE_PX of the outline may fall either way; all others must.
        surely_in = sum(all(inside(path, x + dx, y + dy) for dx, dy in NUDGES) for _, x, y in points)
        maybe_in = sum(any(inside(path, x + dx, y + dy) for dx, dy in NUDGES) for _, x, y in points)
        assert surely_in >= 5  # the shape covers part of the cloud

        page.mouse.move(*strokes[0])
        page.mouse.down()
        for start, end in zip(strokes, strokes[1:]):
            for k in range(1, 11):
                page.mouse.move(start[0] + (end[0] - start[0]) * k / 10, start[1] + (end[1] - start[1]) * k / 10)
        page.mouse.up()
        wait_idle(page)
        page.get_by_text("Export the map").click()
        wait_idle(page)
        caption = page.get_by_text("current selection (").inner_text()
        selected = int(re.search(r"current selection \(([\d,]+) points\)", caption).group(1).replace(",", ""))
        assert surely_in <= selected <= maybe_in

        open_tab(page, "Attributes")
        page.get_by_role("button", name=f"Use the map's selection ({selected:,} points)").last.click()
        wait_idle(page)
        page.get_by_text(f"{selected:,} points selected on the map.").wait_for(timeout=30_000)
        assert page.get_by_text("Consistency of the direction").is_visible()
