"""The WebGL map in a real browser: a click picks, a lasso selects, the pick is ringed on top, the rest greys,
a class hides from its legend, and the points reach the page once. Checked by what a person sees (pixels)
and by what the server is asked to do (runs), not by the elements alone."""

from __future__ import annotations

import importlib.util
import io
import re

import numpy as np
import pytest
from PIL import Image

from harness.browser import (CHROMIUM, MAP, MAP_CANVAS, app_server, browser_page, click_map_point, click_webgl_point,
                             open_tab, rightmost_webgl_point, wait_idle, webgl_map_points, wire)
from tests.test_browser_own import NUDGES, inside

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
INK = np.array([0x11, 0x11, 0x11])  # the ring around the picked point (map_js/map.css)


def screenshot(page) -> tuple[np.ndarray, dict]:
    """The map's canvas area as a person sees it (RGB), and its box in page pixels."""
    canvas = page.locator(MAP_CANVAS)
    box = canvas.bounding_box()
    png = page.screenshot(clip=box)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int), box


def registry(page) -> dict:
    return page.evaluate("() => ({...globalThis.__latentExplorerMap, maps: undefined, waiting: undefined})")


def runs_since(page, before: int) -> int:
    """Server runs since ``before``, once the websocket's frames have been delivered (a second of quiet)."""
    for _ in range(50):
        if wire(page).runs > before:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(1000)
    return wire(page).runs - before


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def test_a_click_picks_its_point_in_one_run_and_the_points_are_sent_once():
    with app_server() as url, browser_page(url) as page:
        wait_idle(page)
        runs = wire(page).runs
        point_id = click_map_point(page)
        page.locator('[data-testid="stMain"] h3').get_by_text(f"#{point_id} ").wait_for(timeout=30_000)
        assert runs_since(page, runs) == 1
        assert page.locator(MAP).get_attribute("data-marked") == str(point_id)

        page.get_by_role("button", name="Next").click()  # a pick from outside the map moves its ring
        wait_idle(page)
        heading = page.locator('[data-testid="stMain"] h3').first
        page.wait_for_function("([el, id]) => !el.innerText.startsWith(`#${id} `)",
                               arg=[heading.element_handle(), point_id], timeout=30_000)
        next_id = int(re.match(r"#(\d+)", heading.inner_text()).group(1))
        assert next_id != point_id
        assert page.locator(MAP).get_attribute("data-marked") == str(next_id)
        # Reruns later, the points' data reached the page once: the loader ran once, one map is drawn.
        reg = registry(page)
        assert reg["received"] == 1 and reg["loads"] == 1 and reg["views"] == 1


def lonely_inner_point(page) -> tuple[int, float, float]:
    """The point farthest from its nearest neighbour among those well inside the canvas: a click there is its."""
    points = webgl_map_points(page)
    box = page.locator(MAP_CANVAS).bounding_box()
    xy = np.array([(x, y) for _, x, y in points])
    inner = ((xy[:, 0] > box["x"] + 0.2 * box["width"]) & (xy[:, 0] < box["x"] + 0.8 * box["width"])
             & (xy[:, 1] > box["y"] + 0.2 * box["height"]) & (xy[:, 1] < box["y"] + 0.8 * box["height"]))
    gaps = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
    best = int(np.argmax(np.where(inner, gaps.min(axis=1), -1)))
    return points[best]


def test_the_picked_point_is_ringed_on_top_of_the_points():
    with app_server() as url, browser_page(url) as page:
        point_id, x, y = lonely_inner_point(page)
        assert click_webgl_point(page, point_id)
        page.mouse.move(0, 0)  # the hover card away
        page.wait_for_timeout(500)
        pixels, box = screenshot(page)
        cx, cy = x - box["x"], y - box["y"]
        yy, xx = np.mgrid[: pixels.shape[0], : pixels.shape[1]]
        radius = np.hypot(xx - cx, yy - cy)
        ring = (radius > 12.5) & (radius < 14.5)  # the ring's dark stroke: 3 px, from 12 to 15 px out (map.css)
        dark = np.abs(pixels - INK).sum(axis=2) < 60
        assert dark[ring].mean() > 0.6  # a person sees a dark ring all round the point
        assert dark[(radius > 80)].mean() < 0.01  # and no dark smear elsewhere on the map


def test_a_lasso_selects_the_points_inside_greys_the_rest_and_becomes_an_attribute_group():
    with app_server() as url, browser_page(url) as page:
        points = webgl_map_points(page)
        before, box = screenshot(page)
        page.get_by_role("button", name="Lasso").click()
        xs, ys = np.array([p[1] for p in points]), np.array([p[2] for p in points])
        cx, cy = np.median(xs) + 0.15 * (xs.max() - xs.min()), np.median(ys) - 0.1 * (ys.max() - ys.min())
        rx, ry = 0.18 * (xs.max() - xs.min()), 0.2 * (ys.max() - ys.min())
        path = [(cx + rx * c, cy + ry * s) for c, s in ((1, 0), (0.5, 0.87), (-0.5, 0.87), (-1, 0),
                                                         (-0.5, -0.87), (0.5, -0.87))]
        surely_in = {i for i, x, y in points if all(inside(path, x + dx, y + dy) for dx, dy in NUDGES)}
        maybe_in = {i for i, x, y in points if any(inside(path, x + dx, y + dy) for dx, dy in NUDGES)}
        assert len(surely_in) >= 5
        runs = wire(page).runs
        strokes = path + [path[0]]
        page.mouse.move(*strokes[0])
        page.mouse.down()
        for start, end in zip(strokes, strokes[1:]):
            for k in range(1, 11):
                page.mouse.move(start[0] + (end[0] - start[0]) * k / 10, start[1] + (end[1] - start[1]) * k / 10)
                page.wait_for_timeout(16)
        page.mouse.up()
        wait_idle(page)
        assert runs_since(page, runs) == 1  # the whole gesture is one rerun
        selected = int(page.locator(MAP).get_attribute("data-selected"))
        assert len(surely_in) <= selected <= len(maybe_in)

        # Greyed, not hidden: a point outside the selection is still drawn, nearer the white background.
        page.mouse.move(box["x"] + 2, box["y"] + 2)  # no hover card over the map
        page.wait_for_timeout(500)
        after, _ = screenshot(page)
        outside = [(x - box["x"], y - box["y"]) for i, x, y in points if i not in maybe_in
                   and 3 < x - box["x"] < box["width"] - 3 and 3 < y - box["y"] < box["height"] - 3]
        lighter = [after[round(y), round(x)].sum() - before[round(y), round(x)].sum() for x, y in outside[:200]]
        drawn = [before[round(y), round(x)].sum() < 3 * 250 for x, y in outside[:200]]
        assert np.mean(np.array(lighter)[drawn] > 60) > 0.8  # most are paler than before
        still = [after[round(y), round(x)].sum() < 3 * 254 for x, y in outside[:200]]
        assert np.mean(np.array(still)[drawn]) > 0.8  # and still visible against the white

        page.get_by_text("Export the map").click()
        wait_idle(page)
        caption = page.get_by_text("current selection (").inner_text()
        assert int(re.search(r"current selection \(([\d,]+) points\)", caption).group(1).replace(",", "")) == selected
        open_tab(page, "Attributes")
        page.get_by_role("button", name=f"Use the map's selection ({selected:,} points)").last.click()
        wait_idle(page)
        page.get_by_text(f"{selected:,} points selected on the map.").wait_for(timeout=30_000)


def test_a_class_hides_from_the_legend_and_comes_back():
    with app_server() as url, browser_page(url) as page:
        webgl_map_points(page)
        colour = page.evaluate("() => Object.values(globalThis.__latentExplorerMap.maps)[0].header.classes[1].colour")
        target = hex_rgb(colour)

        def share_of_class() -> float:
            page.mouse.move(0, 0)
            page.wait_for_timeout(400)
            pixels, _ = screenshot(page)
            return float((np.abs(pixels - target).sum(axis=2) < 30).mean())

        shown = share_of_class()
        assert shown > 0.001
        runs = wire(page).runs
        legend = page.locator(".le-map-legend-row").nth(1)
        legend.click()
        assert share_of_class() < shown * 0.05  # gone from the map
        legend.click()
        assert share_of_class() > shown * 0.8  # back
        assert wire(page).runs == runs  # all in the page: the server is not asked


def test_the_rightmost_point_helper_finds_a_point_inside_the_canvas():
    """The helper the other browser tests click through must land on a real point, inside the map."""
    with app_server() as url, browser_page(url) as page:
        point_id, x, y = rightmost_webgl_point(page)
        box = page.locator(MAP_CANVAS).bounding_box()
        assert box["x"] < x < box["x"] + box["width"] and box["y"] < y < box["y"] + box["height"]
        ids = [p[0] for p in webgl_map_points(page)]
        assert point_id in ids and len(ids) == len(set(ids))


def test_the_page_asks_nothing_of_the_network_beyond_the_app():
    """Offline in a talk: every request of the page (the map's libraries, fonts, the favicon) goes to the app."""
    with app_server() as url, browser_page(url) as page:
        elsewhere = []
        page.on("request", lambda r: elsewhere.append(r.url)
                if not r.url.startswith((url, "blob:", "data:", "ws://127.0.0.1")) else None)
        page.reload()
        wait_idle(page)
        click_map_point(page)
        page.wait_for_timeout(1000)
        assert not elsewhere


def test_another_model_brings_its_own_points_to_the_map():
    """Found by looking: after switching models the page kept drawing the first model's points."""
    import re as regex

    with app_server() as url, browser_page(url) as page:
        webgl_map_points(page)
        assert page.locator(MAP).get_attribute("data-points") == "359"
        page.locator('[data-testid="stSelectbox"]').first.click()
        page.get_by_role("option", name=regex.compile("^fashion-mnist-d16( |$)")).click()
        wait_idle(page)
        page.wait_for_function("(el) => el.dataset.points === '10000'", arg=page.locator(MAP).element_handle(),
                               timeout=30_000)
        assert page.locator(".le-map-legend-row").first.inner_text().strip() == "T-shirt/top"
        assert len(webgl_map_points(page)) == 10_000


ATLAS_SPOTS_JS = """(root) => {
    const v = root.leView, f = v.maths.screenFrame(), box = v.canvas.getBoundingClientRect();
    return [[0.5, 0.5], [0.2, 0.3], [0.9, 0.8]].map(([u, w]) => {
        const nx = (u * box.width - f.x.offset) / f.x.gain, ny = (w * box.height - f.y.offset) / f.y.gain;
        return { nx, ny, z: Array.from(v.maths.latentAt(nx, ny)) };
    });
}"""


def atlas_painted(page, paints: int) -> None:
    page.wait_for_function("([el, n]) => Number(el.dataset.atlasPaints || 0) >= n",
                           arg=[page.locator(MAP).element_handle(), paints], timeout=30_000)


@pytest.mark.parametrize("proj", ["pca", "tsne"])
def test_the_atlas_paints_the_decoder_beneath_the_points_in_the_page(proj):
    """The atlas toggle: images over the whole window, decoded from the latent point the projection gives
    (exact on PCA, the local mean code on t-SNE), repainted after a zoom, and never a server run."""
    from explorer import projection
    from explorer.checkpoint import load_embedding
    from tests.app_support import DIGITS

    with app_server() as url, browser_page(url + f"?proj={proj}") as page:
        webgl_map_points(page)
        page.wait_for_function("() => Object.keys(globalThis.__latentExplorer?.decoders ?? {}).length > 0",
                               timeout=60_000)
        page.mouse.move(0, 0)
        before, box = screenshot(page)
        runs = wire(page).runs
        page.locator(MAP).get_by_role("button", name="Atlas").click()
        atlas_painted(page, 1)
        after, _ = screenshot(page)
        white = lambda px: (px.min(axis=2) > 245).mean()  # noqa: E731
        assert white(before) > 0.5  # dots on white
        assert white(after) < 0.35  # the decoder's images fill the window (the digits are ink on black)
        badge = page.locator(".le-map-badge").inner_text()
        assert ("exact" in badge) if proj == "pca" else ("approximate" in badge)

        spots = page.locator(MAP).evaluate(ATLAS_SPOTS_JS)
        header = page.evaluate("() => Object.values(globalThis.__latentExplorerMap.maps)[0].header")
        centre, scale = np.array(header["frame"]["centre"]), header["frame"]["scale"]
        xy = np.array([[s["nx"], s["ny"]] for s in spots]) * scale + centre
        emb = load_embedding(DIGITS)
        proj_ = projection.make(proj, emb)
        expected = proj_.inverse(xy) if proj == "pca" else proj_.local_code(xy)
        np.testing.assert_allclose([s["z"] for s in spots], expected, atol=1e-4)

        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -200)  # zoom in: the atlas follows, then repaints for the new window
        atlas_painted(page, 2)
        page.locator(MAP).get_by_role("button", name="Atlas").click()
        page.locator(MAP).get_by_role("button", name="Reset").click()  # the whole map: dots, not images
        page.mouse.move(0, 0)
        page.wait_for_timeout(800)
        off, _ = screenshot(page)
        assert white(off) > 0.5  # off again: dots on white
        assert runs_since(page, runs) == 0  # toggling, painting and zooming all stayed in the page


def map_layer(page, *kinds: str) -> str:
    page.wait_for_function("([el, kinds]) => kinds.includes(el.dataset.layer)",
                           arg=[page.locator(MAP).element_handle(), list(kinds)], timeout=30_000)
    return page.locator(MAP).get_attribute("data-layer")


def pooled(pixels: np.ndarray, side: int) -> np.ndarray:
    """A crop of the screen, averaged down (box filter) to (side, side) grey levels in [0, 1]."""
    grey = Image.fromarray(pixels.mean(axis=2).astype(np.uint8))
    return np.asarray(grey.resize((side, side), Image.Resampling.BOX), np.float64) / 255


def same_picture(seen: np.ndarray, image: np.ndarray) -> bool:
    """Screen pixels pooled to an image's size show that image: correlated, and of its brightness."""
    return np.corrcoef(seen.ravel(), image.ravel())[0, 1] > 0.9 and abs(seen.mean() - image.mean()) < 0.08


def test_zoomed_in_the_map_shows_each_points_own_image_and_hovering_a_larger_one():
    from explorer.data import load_dataset

    test = load_dataset("digits", download=False, test_only=True).test
    with app_server() as url, browser_page(url) as page:
        webgl_map_points(page)
        page.wait_for_function("() => globalThis.__latentExplorerMap.imageLoads > 0", timeout=30_000)
        assert map_layer(page, "points", "density") == "points"  # the whole map: dots
        runs = wire(page).runs
        box = page.locator(MAP_CANVAS).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(3):
            page.mouse.wheel(0, -100)
            page.wait_for_timeout(300)
        assert map_layer(page, "images", "sampled")
        page.mouse.move(box["x"] + 2, box["y"] + box["height"] - 2)  # no hover card
        page.wait_for_timeout(500)
        placed = page.locator(MAP).evaluate("(el) => el.leView.layers.placed")
        pixels, _ = screenshot(page)

        def alone(a) -> bool:  # drawn whole, clear of every other image and of the tool bar
            _, left, top, side = a
            return (top > 50 and left > 4 and left + side < box["width"] - 4 and top + side < box["height"] - 4
                    and all(b is a or left + side + 2 < b[1] - 2 or b[1] + b[3] + 2 < left - 2
                            or top + side + 2 < b[2] - 2 or b[2] + b[3] + 2 < top - 2 for b in placed))

        lone = [a for a in placed if alone(a)]
        assert len(lone) >= 3
        for point_id, left, top, side in lone[:5]:
            seen = pooled(pixels[top : top + side, left : left + side], 8)
            assert same_picture(seen, test.images[point_id, 0])  # the point's own image, in place

        point_id, left, top, side = lone[0]
        page.mouse.move(box["x"] + left + side / 2, box["y"] + top + side / 2)
        card = page.locator(".le-map-card-image")
        card.wait_for(timeout=10_000)
        assert page.locator(".le-map-card").inner_text().strip().startswith(f"test image #{point_id} ")
        big = np.asarray(Image.open(io.BytesIO(card.screenshot())).convert("RGB")).astype(int)
        assert big.shape[0] >= 100  # larger than on the map
        assert same_picture(pooled(big, 8), test.images[point_id, 0])
        assert runs_since(page, runs) == 0  # zooming and hovering stay in the page


def zoom_to_images(page, box) -> None:
    """Wheel in at the map's centre until every visible point shows its own image."""
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):
        if page.locator(MAP).get_attribute("data-layer") == "images":
            return
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(300)
    assert map_layer(page, "images") == "images"


def test_zoomed_in_on_the_training_map_its_images_come_by_tiles_once_each():
    from explorer import checkpoint as ckpt
    from explorer.data import load_dataset
    from tests.app_support import DIGITS

    test_points = len(ckpt.load_embedding(DIGITS).mu)
    train = load_dataset("digits", download=False).train
    with app_server() as url, browser_page(url + "?model=digits&split=train") as page:
        webgl_map_points(page)
        page.wait_for_function("() => globalThis.__latentExplorerMap.imageLoads > 0", timeout=30_000)
        sheet = registry(page)["imageBytes"]
        runs = wire(page).runs
        box = page.locator(MAP_CANVAS).bounding_box()
        zoom_to_images(page, box)
        page.mouse.move(0, 0)  # off the map: no hover card
        # The sheet sent with the map holds a sixth of the training images; the rest come as tiles.
        page.wait_for_function("(el) => el.leView.layers.missing === 0 && el.leView.layers.drawn > 0",
                               arg=page.locator(MAP).element_handle(), timeout=30_000)
        asked = int(page.locator(MAP).get_attribute("data-tile-requests"))
        assert asked >= 1 and registry(page)["imageBytes"] > sheet
        assert runs_since(page, runs) == asked  # one server run per request, none for zooming itself
        page.wait_for_timeout(300)
        placed = page.locator(MAP).evaluate("(el) => el.leView.layers.placed")
        pixels, _ = screenshot(page)
        lone = [a for a in placed if a[2] > 50 and a[1] > 4 and a[1] + a[3] < box["width"] - 4
                and a[2] + a[3] < box["height"] - 4
                and all(b is a or abs(b[1] - a[1]) > a[3] + 6 or abs(b[2] - a[2]) > a[3] + 6 for b in placed)]
        assert len(lone) >= 3 and all(point_id >= test_points for point_id, *_ in placed)  # training points
        for point_id, left, top, side in lone[:5]:
            seen = pooled(pixels[top : top + side, left : left + side], 8)
            assert same_picture(seen, train.images[point_id - test_points, 0])  # its own training image
        # A pan that reveals new ground asks for its cells; the same pan again, over cells the page has, does not.
        def pan_away_and_back() -> None:
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 60, y, steps=5)
            page.wait_for_timeout(400)
            page.mouse.move(x, y, steps=5)
            page.mouse.up()
            page.mouse.move(0, 0)
            page.wait_for_function("(el) => el.leView.layers.missing === 0",
                                   arg=page.locator(MAP).element_handle(), timeout=30_000)

        pan_away_and_back()
        asked = int(page.locator(MAP).get_attribute("data-tile-requests"))
        runs = wire(page).runs
        pan_away_and_back()
        assert int(page.locator(MAP).get_attribute("data-tile-requests")) == asked
        assert runs_since(page, runs) == 0


def test_a_crowded_map_is_shaded_by_density_until_the_images_are_turned_off():
    with app_server() as url, browser_page(url + "?model=fashion-mnist-d16") as page:
        webgl_map_points(page)
        page.mouse.move(0, 0)
        assert map_layer(page, "density") == "density"
        page.wait_for_timeout(300)
        shaded, _ = screenshot(page)
        page.locator(MAP).get_by_role("button", name="Images").click()
        assert map_layer(page, "points") == "points"
        page.wait_for_timeout(300)
        plain, _ = screenshot(page)
        white_then = plain.min(axis=2) > 250
        shaded_now = (shaded.min(axis=2) < 245) & (shaded[..., 2] > shaded[..., 0])  # the density's blue
        assert (white_then & shaded_now).mean() > 0.05  # around the clusters, the white is shaded
        assert (white_then & shaded_now)[:, :10].mean() < 0.01  # and not at the empty edge of the map


def test_the_probe_is_dragged_on_the_map_decoding_live_and_the_server_hears_only_the_release():
    """The handle's image follows every move (frames counted), the server runs 0 times during the drag and
    once after, the image is torch's decoding of the PCA inverse of the spot, and the arrow keys move it."""
    import torch

    from explorer import projection
    from explorer.app import compute
    from explorer.checkpoint import load, load_embedding
    from tests.app_support import DIGITS

    with app_server() as url, browser_page(url) as page:
        webgl_map_points(page)
        page.wait_for_function("() => Object.keys(globalThis.__latentExplorer?.decoders ?? {}).length > 0",
                               timeout=60_000)
        page.locator(MAP).get_by_role("button", name="Probe").click()
        handle = page.locator(".le-map-probe")
        handle.wait_for()
        runs = wire(page).runs
        start = handle.bounding_box()
        x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        frames0 = int(page.locator(MAP).get_attribute("data-probe-frames") or 0)
        for k in range(1, 41):
            page.mouse.move(x - 3 * k, y + 2 * k)
            page.wait_for_timeout(20)
        page.wait_for_timeout(1000)
        assert wire(page).runs == runs  # nothing reached the server while dragging
        frames = int(page.locator(MAP).get_attribute("data-probe-frames")) - frames0
        assert frames >= 30  # the image followed the handle, about one new image per move
        page.mouse.up()
        assert runs_since(page, runs) == 1  # the release, once
        page.get_by_role("button", name="Edit the probe's spot with sliders").wait_for(timeout=30_000)
        moved = handle.bounding_box()
        assert abs(moved["x"] - (start["x"] - 120)) < 3 and abs(moved["y"] - (start["y"] + 80)) < 3

        probe = page.locator(MAP).evaluate("(el) => ({at: el.leView.probe.at, z: el.leView.probe.z})")
        header = page.evaluate("() => Object.values(globalThis.__latentExplorerMap.maps)[0].header")
        xy = np.array(probe["at"]) * header["frame"]["scale"] + np.array(header["frame"]["centre"])
        pca = projection.make("pca", load_embedding(DIGITS))
        np.testing.assert_allclose(probe["z"], pca.inverse(xy[None])[0], atol=1e-4)
        model = load(DIGITS).model
        with torch.no_grad():
            expected = compute.decode(model, np.asarray(probe["z"], np.float32))[0, 0]
        shown = np.asarray(Image.open(io.BytesIO(page.locator(".le-map-probe-image").screenshot())).convert("RGB"))
        assert same_picture(pooled(shown.astype(int), expected.shape[0]), expected)

        runs = wire(page).runs
        before = handle.bounding_box()
        handle.focus()
        for _ in range(5):
            page.keyboard.down("ArrowRight")  # a held key repeats its keydown
            page.wait_for_timeout(30)
        page.keyboard.up("ArrowRight")
        after = handle.bounding_box()
        width = page.locator(MAP_CANVAS).bounding_box()["width"]
        assert after["x"] - before["x"] == pytest.approx(5 * 0.02 * width, abs=2)
        assert runs_since(page, runs) == 1  # one report when the key is let go


def test_the_colour_blind_palette_recolours_points_legend_and_inspector_without_resending_the_points():
    from explorer.app import plots

    def share(pixels: np.ndarray, colour: str) -> float:
        return float((np.abs(pixels - hex_rgb(colour)).sum(axis=2) < 30).mean())

    with app_server() as url, browser_page(url) as page:
        webgl_map_points(page)
        page.mouse.move(0, 0)
        page.wait_for_timeout(300)
        standard, _ = screenshot(page)
        page.get_by_text("Map settings").click()
        page.get_by_text("colour-blind safe").click()
        wait_idle(page)
        swatch = page.locator(".le-map-legend-row .le-map-swatch").first
        page.wait_for_function("(el) => getComputedStyle(el).backgroundColor === 'rgb(230, 159, 0)'",
                               arg=swatch.element_handle(), timeout=30_000)  # Okabe-Ito's orange for class 0
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)
        safe, _ = screenshot(page)
        for old, new in zip(plots.CLASS_COLOURS[:8], plots.COLOUR_BLIND_COLOURS[:8]):
            assert share(standard, old) > 0.0005 and share(safe, old) < share(standard, old) / 10
            assert share(safe, new) > 0.0005
        assert registry(page)["received"] == 1  # recoloured in the page: the points were not sent again
        click_map_point(page)
        swatch = page.locator('[data-testid="stMain"] h3 span[style*="color"]').first  # the pick's class square
        rgb = [int(v) for v in re.findall(r"\d+", swatch.evaluate("(el) => getComputedStyle(el).color"))]
        assert any((hex_rgb(c) == rgb).all() for c in plots.COLOUR_BLIND_COLOURS)


def test_a_link_with_colour_blind_colours_opens_with_them_and_keeps_them():
    with app_server() as url, browser_page(url + "?colours=colour-blind") as page:
        webgl_map_points(page)
        swatch = page.locator(".le-map-legend-row .le-map-swatch").first
        page.wait_for_function("(el) => getComputedStyle(el).backgroundColor === 'rgb(230, 159, 0)'",
                               arg=swatch.element_handle(), timeout=30_000)
        click_map_point(page)
        assert "colours=colour-blind" in page.url  # the shared link carries them on
