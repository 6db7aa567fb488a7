"""End to end in a real browser (Debian's Chromium driven by Playwright): what a user does first."""

from __future__ import annotations

import importlib.util

import pytest

from harness.browser import CHROMIUM, app_server, browser_page, click_map_point, open_tab, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]


def image_sources(page, caption: str) -> list[str]:
    """src of the images whose caption contains ``caption``."""
    return page.evaluate(
        """(caption) => [...document.querySelectorAll('[data-testid="stImage"]')]
            .filter(el => el.innerText.includes(caption))
            .map(el => el.querySelector('img').getAttribute('src'))""", caption)


def test_click_inspect_slide_and_interpolate():
    with app_server() as url, browser_page(url) as page:
        assert page.get_by_text("Click a point on the map").is_visible()
        click_map_point(page)
        page.get_by_text("reconstruction (decoded mu)").wait_for()
        assert page.get_by_text("original", exact=True).is_visible()
        assert len(image_sources(page, "original")) == 1

        page.get_by_role("button", name="Edit with sliders").click()
        wait_idle(page)
        page.get_by_text("Server: decode on release").click()  # Streamlit's sliders (the live pad: test_live_browser)
        wait_idle(page)
        page.get_by_text("decoded from the sliders").wait_for()
        before = image_sources(page, "decoded from the sliders")
        slider = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').first
        slider.focus()
        for _ in range(15):
            slider.press("ArrowRight")
        wait_idle(page)
        page.wait_for_function(
            """(before) => [...document.querySelectorAll('[data-testid="stImage"]')]
                .some(el => el.innerText.includes('decoded from the sliders')
                            && el.querySelector('img').getAttribute('src') !== before)""",
            arg=before[0], timeout=30_000)

        open_tab(page, "Interpolate")
        page.get_by_text("10 frames").wait_for()
        steps = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').first
        steps.focus()
        for _ in range(3):
            steps.press("ArrowRight")
        wait_idle(page)
        page.get_by_text("13 frames").wait_for(timeout=30_000)
        assert page.get_by_text("filmstrip, A on the left").is_visible()
        assert page.get_by_role("button", name="GIF").is_visible()
