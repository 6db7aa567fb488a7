"""The standalone HTML file in headless Chromium, opened from file:// with every network request refused:
the map is painted in class colours, a slider dragged with the mouse decodes torch's picture, a click sets
the sliders to the point's mu, the probe and the A-B scrubber decode where they should, and the tour ends
on its last stop. Pictures are compared with torch's mean image (sigmoid output * 255) pixel by pixel."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
import time

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import checkpoint as ckpt
from explorer import standalone
from harness.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.test_standalone import DIGITS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
LEVELS = 2.0  # levels of 255 between the page's picture and torch's (the page rounds; float64 vs float32 sums)
CODE_TOLERANCE = 1e-4  # latent units between the page's z and the one expected (float32 data, float64 maths)
TOUR = [{"z": [0.5] * 8, "caption": "first stop", "seconds": 0.3, "hold": 1.0},
        {"z": [0.0] * 8, "caption": "on the way", "seconds": 0.3, "through": True},  # a recorded drag's sample
        {"z": [-1.0, 1.0, 0.0, 2.0, 0.0, -0.5, 0.0, 1.5], "caption": "last </script> stop", "seconds": 0.3}]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("standalone") / "digits.html"
    path.write_text(standalone.build(DIGITS, tour=TOUR), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model():
    return ckpt.load(DIGITS).model


@pytest.fixture
def page(exported):
    """The exported file in Chromium at 1280x720, with any request that is not for a file refused and recorded."""
    from playwright.sync_api import sync_playwright

    attempted = []

    def refuse(route):
        if route.request.url.startswith("file:"):
            return route.continue_()
        attempted.append(route.request.url)
        return route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.route("**/*", refuse)
            tab = context.new_page()
            errors = []
            tab.on("pageerror", lambda err: errors.append(str(err)))
            tab.goto(exported.as_uri())
            tab.wait_for_function("document.body.dataset.ready === 'true'", timeout=30_000)
            yield tab
            assert not errors, errors
            assert attempted == [], f"the page tried to reach the network: {attempted}"
        finally:
            browser.close()


def embedded(page) -> dict:
    return page.evaluate("JSON.parse(document.getElementById('le-data').textContent)")


def picture(page) -> np.ndarray:
    """The decoded picture's own pixels (its canvas is the image's size), grey channel, (H, W)."""
    rgba = page.evaluate("""() => { const c = document.querySelector('canvas.le-image');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""")
    return np.array(rgba, float).reshape(8, 8, 4)[..., 0]


def torch_picture(model, z) -> np.ndarray:
    with torch.no_grad():
        return model.decode(torch.tensor([z], dtype=torch.float32))[0, 0].numpy() * 255


def assert_torchs_picture(page, model, z=None):
    z = page.evaluate("__standalone.z()") if z is None else z
    assert np.abs(picture(page) - torch_picture(model, z)).max() <= LEVELS


def settle(page) -> None:
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def lonely_point(page, exclude=()) -> tuple[int, float, float]:
    """The point farthest from its nearest neighbour on screen: a click there can only be about it."""
    n = embedded(page)["n"]
    xy = np.array(page.evaluate(f"Array.from({{length: {n}}}, (_, i) => __standalone.pointOnScreen(i))"))
    gaps = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(n) * 1e9
    order = np.argsort(-gaps.min(axis=1))
    i = next(int(k) for k in order if int(k) not in exclude)
    return i, float(xy[i, 0]), float(xy[i, 1])


def test_the_map_is_painted_in_the_class_colours(page):
    box = page.locator("canvas.le-map-canvas").bounding_box()
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB")).astype(int)
    background = np.array([0x15, 0x17, 0x1C])
    inked = np.abs(shot - background).sum(-1) > 60
    assert inked.sum() > 2000, f"only {inked.sum()} painted pixels on the map"
    colours = [np.array([int(c["colour"][k:k + 2], 16) for k in (1, 3, 5)]) for c in embedded(page)["classes"]]
    near = [(np.abs(shot - c).sum(-1) < 60).sum() for c in colours]
    assert all(count > 10 for count in near), f"pixels per class colour: {near}"
    assert page.evaluate("__standalone.firstMapMs") > 0


def test_a_slider_dragged_with_the_mouse_decodes_torchs_picture_on_the_way(page, model):
    slider = page.locator("input[data-dim]").first
    dim = int(slider.get_attribute("data-dim"))
    box = slider.bounding_box()
    before, z0 = picture(page), page.evaluate("__standalone.z()")
    page.evaluate("""() => { const s = globalThis.__standalone; s.changes = 0; let last = s.hash();
        const tick = () => { const h = s.hash(); if (h !== last) s.changes += 1; last = h;
                             if (!s.stopTicks) requestAnimationFrame(tick); }; requestAnimationFrame(tick); }""")
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=40)
    page.mouse.up()
    settle(page)
    changes = page.evaluate("__standalone.stopTicks = true, __standalone.changes")
    z1 = page.evaluate("__standalone.z()")
    assert z1[dim] > z0[dim] and [v for k, v in enumerate(z1) if k != dim] == [v for k, v in enumerate(z0) if k != dim]
    assert changes >= 10, f"the picture changed on {changes} frames of a 40-step drag"
    assert np.abs(picture(page) - before).max() > 20
    assert_torchs_picture(page, model, z1)


def test_a_click_on_a_point_sets_the_sliders_to_its_mu(page, model):
    i, x, y = lonely_point(page)
    page.mouse.click(x, y)
    settle(page)
    mu = ckpt.load_embedding(DIGITS).mu[i]
    assert page.evaluate("__standalone.picked()") == i
    assert np.allclose(page.evaluate("__standalone.z()"), mu, atol=CODE_TOLERANCE)
    shown = {int(s.get_attribute("data-dim")): float(s.input_value()) for s in page.locator("input[data-dim]").all()}
    assert all(abs(shown[d] - mu[d]) < CODE_TOLERANCE for d in shown)
    assert_torchs_picture(page, model, mu)


def test_the_probe_decodes_the_pca_plane_at_the_spot_it_is_dropped(page, model):
    x0, y0 = page.evaluate("__standalone.probeOnScreen()")
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 70, y0 - 50, steps=10)
    page.mouse.up()
    settle(page)
    data, box = embedded(page), page.locator("canvas.le-map-canvas").bounding_box()
    (ex0, ex1, ey0, ey1), side = data["map"]["extent"], box["width"]
    spot = [ex0 + (x0 + 70 - box["x"]) / side * (ex1 - ex0), ey1 - (y0 - 50 - box["y"]) / side * (ey1 - ey0)]
    emb = ckpt.load_embedding(DIGITS)
    expected = emb.pca_mean + np.asarray(spot) @ emb.pca_components
    assert np.allclose(page.evaluate("__standalone.z()"), expected, atol=1e-3)  # 1e-3: a mouse lands on whole pixels
    assert_torchs_picture(page, model, expected)


def test_the_scrubber_decodes_the_straight_path_from_a_to_b(page, model):
    mu = ckpt.load_embedding(DIGITS).mu
    a, ax, ay = lonely_point(page)
    page.mouse.click(ax, ay)
    page.get_by_role("button", name="Set A").click()
    b, bx, by = lonely_point(page, exclude={a})
    page.keyboard.down("Shift")  # shift-click: B
    page.mouse.click(bx, by)
    page.keyboard.up("Shift")
    scrub = page.locator("input.le-scrub")
    box = scrub.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.98, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2, steps=15)
    page.mouse.up()
    settle(page)
    t = float(scrub.input_value())
    assert 0.2 < t < 0.6
    expected = (1 - t) * mu[a] + t * mu[b]
    assert np.allclose(page.evaluate("__standalone.z()"), expected, atol=CODE_TOLERANCE)
    assert_torchs_picture(page, model, expected)


def test_play_holds_at_a_stop_for_its_hold_then_moves_on(page):
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("document.querySelector('.le-tour').dataset.holding === 'true'", timeout=10_000)
    held_from = time.monotonic()
    page.wait_for_timeout(500)  # halfway through the first stop's hold: still there, still playing
    assert page.evaluate("__standalone.z()") == TOUR[0]["z"]
    assert page.locator(".le-tour").get_attribute("data-playing") == "true"
    page.wait_for_function("document.querySelector('.le-tour').dataset.playing === 'false'", timeout=10_000)
    assert time.monotonic() - held_from >= TOUR[0]["hold"]
    assert page.evaluate("__standalone.z()") == TOUR[-1]["z"]


def test_the_tour_ends_on_its_last_stop_by_next_and_by_play(page, model):
    tour = page.locator(".le-tour")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    settle(page)
    assert page.evaluate("__standalone.z()") == TOUR[-1]["z"] and "last </script> stop" in tour.inner_text()
    assert "stop 2 of 2" in tour.inner_text()  # Next skipped the drag's sample, which is not counted
    page.get_by_role("button", name="Play").click()  # from the last stop it starts over and plays both
    page.wait_for_function("document.querySelector('.le-tour').dataset.playing === 'false'", timeout=10_000)
    settle(page)
    assert np.allclose(page.evaluate("__standalone.z()"), TOUR[-1]["z"], atol=1e-12)
    assert_torchs_picture(page, model, TOUR[-1]["z"])
