"""The nearest-neighbour thumbnails as a person sees them: the same width each, captions that never touch."""

from __future__ import annotations

import importlib.util

import pytest

from tests.app_support import ROOT
from harness.browser import CHROMIUM, app_server, browser_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
MODEL = ROOT / "trained" / "fashion-mnist-d16"
# Every image with a "#<id> <class>" caption: its box and its caption's box, in page pixels.
THUMBNAILS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImageCaption"]')]
    .filter(c => /^#\\d+ /.test(c.innerText))
    .map(c => { const img = c.parentElement.querySelector('img') || c.closest('[data-testid="stElementContainer"]')
                    .querySelector('img');
                const i = img.getBoundingClientRect(), t = c.getBoundingClientRect();
                return {text: c.innerText, img: [i.left, i.top, i.width, i.height], cap: [t.left, t.top, t.width, t.height]}; })"""


def overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.skipif(not (MODEL / "model.safetensors").is_file(), reason="needs trained/fashion-mnist-d16")
@pytest.mark.parametrize("width, height", [(1280, 720), (1600, 900)])
def test_neighbour_thumbnails_are_one_width_and_their_captions_stay_apart(width, height):
    # #5907 is a T-shirt/top: its neighbours' captions are long ones
    with app_server() as url, browser_page(f"{url}/?model={MODEL.name}&pick=5907", width, height) as page:
        page.get_by_text("Nearest neighbours in latent space").wait_for()
        page.wait_for_timeout(1000)
        thumbs = page.evaluate(THUMBNAILS_JS)
    assert len(thumbs) == 8, thumbs
    widths = {round(t["img"][2]) for t in thumbs}
    assert len(widths) == 1 and widths.pop() >= 56, thumbs  # one size, large enough to see
    boxes = [t["cap"] for t in thumbs] + [t["img"] for t in thumbs]
    clashes = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if overlap(a, b)]
    assert not clashes, clashes
    assert all(t["cap"][2] <= t["img"][2] + 1 for t in thumbs)  # a caption wraps within its image's width
