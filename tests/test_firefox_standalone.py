"""The standalone HTML file in headless Firefox (Playwright cannot drive a stock Firefox; harness/firefox.py
speaks WebDriver BiDi to it): opened from file://, it asks for nothing but itself, its #selftest drag passes
(>= 30 picture changes a second, torch's picture at the end), its banner is green on a screenshot, and a
slider dragged with the real mouse decodes torch's picture."""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
from PIL import Image

from explorer import standalone
from harness.firefox import FIREFOX, firefox
from tests.test_browser_standalone import LEVELS, torch_picture
from tests.test_standalone import DIGITS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(FIREFOX is None, reason="needs Firefox: apt-get install -y firefox-esr"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="needs websockets (comes with Playwright)"),
]
PASS_GREEN = np.array([0x1E, 0x7D, 0x32])  # .le-pass in standalone_page/page.css
MIN_CHANGES_PER_S = 30.0  # the picture must change at least this often during a drag


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("standalone-firefox") / "digits.html"
    path.write_text(standalone.build(DIGITS), encoding="utf-8")
    return path


def test_firefox_runs_the_page_offline_and_its_selftest_passes(exported):
    with firefox() as browser:
        browser.open(exported.as_uri() + "#selftest", 1280, 720)
        banner = None
        for _ in range(100):
            banner = browser.value("(() => { const b = document.querySelector('.le-selftest'); "
                                   "return b && {...b.dataset, text: b.textContent}; })()")
            if banner:
                break
            browser.value("new Promise((r) => setTimeout(r, 100))")
        assert banner, "the self-test never finished"
        assert banner["pass"] == "true", banner["text"]
        assert float(banner["rate"]) >= MIN_CHANGES_PER_S and int(banner["maxDiff"]) <= LEVELS
        shot = np.asarray(Image.open(io.BytesIO(browser.screenshot())).convert("RGB")).astype(int)
        assert (np.abs(shot[-30:] - PASS_GREEN).sum(-1) < 30).mean() > 0.5, "no green PASS banner on the screenshot"
        outside = [u for u in browser.requested() if not u.startswith(("file:", "data:", "about:"))]
        assert outside == [], f"the page asked the network for {outside}"


def test_a_slider_dragged_with_the_real_mouse_in_firefox_decodes_torchs_picture(exported):
    from explorer import checkpoint as ckpt

    with firefox() as browser:
        browser.open(exported.as_uri(), 1280, 720)
        for _ in range(100):
            if browser.value("document.body.dataset.ready === 'true'"):
                break
            browser.value("new Promise((r) => setTimeout(r, 100))")
        box = browser.value("(() => { const r = document.querySelector('input[data-dim]').getBoundingClientRect(); "
                            "return [r.left, r.top, r.width, r.height]; })()")
        z0 = browser.value("__standalone.z()")
        y = box[1] + box[3] / 2
        browser.drag((box[0] + box[2] / 2, y), (box[0] + box[2] * 0.9, y), steps=20, step_ms=16)
        browser.value("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        z1 = browser.value("__standalone.z()")
        assert z1 != z0
        rgba = np.array(browser.value("(() => { const c = document.querySelector('canvas.le-image'); "
                                      "return Array.from(c.getContext('2d').getImageData(0, 0, 8, 8).data); })()"))
        got = rgba.reshape(8, 8, 4)[..., 0].astype(float)
        assert np.abs(got - torch_picture(ckpt.load(DIGITS).model, z1)).max() <= LEVELS
