"""The Explain view in a real browser: the page's own encoder and decoder tell the VAE's story as you draw.

Checked as a person would see it and against torch: the page's mu for a test image is torch's; a pen
stroke moves q(z|x)'s ellipse on the map with no server run while drawing; resampling eps changes the
cloud; the printed terms add up (reconstruction + KL = -ELBO) and are torch's for the same draws.
"""

from __future__ import annotations

import importlib.util
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.checkpoint import load
from explorer.data import load_dataset
from explorer.objectives import kl_to_standard_normal
from harness.browser import CHROMIUM, app_server, browser_page, wait_idle, wire
from tests.app_support import DIGITS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="needs Playwright: pip install playwright"),
]
VIEW = ".le-explain"
ELLIPSE_RGB = np.array([0x1F, 0x4E, 0x9E])
PICK = 12


def explained(page) -> dict:
    return page.locator(VIEW).evaluate("(el) => el.leExplain.state")


def wait_encodes(page, more_than: int) -> None:
    page.wait_for_function("([el, n]) => Number(el.dataset.encodes || 0) > n",
                           arg=[page.locator(VIEW).element_handle(), more_than], timeout=60_000)


def printed(page) -> dict[str, float]:
    """The three terms as the page prints them, in nats."""
    out = {}
    for name in ("recon", "kl", "nelbo"):
        text = page.locator(f".le-x-{name} b").inner_text()
        out[name] = float(re.match(r"(-?[\d.]+) nats", text).group(1))
    return out


def map_pixels(page) -> np.ndarray:
    png = page.locator(".le-x-map").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def ellipse_centre(pixels: np.ndarray, inset: list[float] | None) -> np.ndarray:
    """Where the ellipse's blue is on screen, outside the close-up in the corner: the mean of its pixels."""
    blue = np.abs(pixels - ELLIPSE_RGB).sum(axis=2) < 60
    if inset:
        left, top, w, h = (round(v) for v in inset)
        blue[top : top + h + 1, left : left + w + 1] = False
    assert blue.sum() > 20, "no ellipse on the map"
    ys, xs = np.nonzero(blue)
    return np.array([xs.mean(), ys.mean()])


def test_drawing_moves_q_on_the_map_in_the_page_and_the_terms_are_torchs():
    model = load(DIGITS).model
    test = load_dataset("digits", download=False, test_only=True).test
    with app_server() as url, browser_page(f"{url}/?model=digits&view=Explain&pick={PICK}", 1600, 1000) as page:
        page.locator(VIEW).wait_for(timeout=60_000)
        wait_encodes(page, 0)
        wait_idle(page)
        first = explained(page)
        assert first["start"] == f"test image #{PICK}"
        with torch.no_grad():
            mu, logvar = model.encode(torch.from_numpy(test.images[PICK : PICK + 1]))
        np.testing.assert_allclose(first["mu"], mu[0].numpy(), atol=1e-4)  # the page's encoder is torch's
        np.testing.assert_allclose(first["logvar"], logvar[0].numpy(), atol=1e-4)
        before = ellipse_centre(map_pixels(page), first["inset"])

        # A stroke across the pad: the ellipse follows while drawing, and the server hears nothing.
        runs, encodes = wire(page).runs, int(page.locator(VIEW).get_attribute("data-encodes"))
        pad = page.locator(".le-x-pad").bounding_box()
        page.mouse.move(pad["x"] + 0.15 * pad["width"], pad["y"] + 0.2 * pad["height"])
        page.mouse.down()
        for k in range(1, 21):
            page.mouse.move(pad["x"] + (0.15 + 0.035 * k) * pad["width"], pad["y"] + (0.2 + 0.03 * k) * pad["height"])
            page.wait_for_timeout(30)
        mid = int(page.locator(VIEW).get_attribute("data-encodes"))
        page.mouse.up()
        page.wait_for_timeout(800)
        assert mid - encodes >= 5  # encoded again and again during the stroke, not once at its end
        assert wire(page).runs == runs  # all in the page
        drawn = explained(page)
        assert drawn["start"] is None and np.abs(np.subtract(drawn["mu"], first["mu"])).max() > 0.05
        after = ellipse_centre(map_pixels(page), drawn["inset"])
        assert np.linalg.norm(after - before) > 3  # a person sees q(z|x) move on the map

        # The printed terms add up, and they are torch's for the page's own draws of z.
        terms = printed(page)
        assert abs(terms["recon"] + terms["kl"] - terms["nelbo"]) <= 0.1 + 1e-9  # to the printed precision
        x = torch.tensor(drawn["x"], dtype=torch.float32).reshape(1, *model.config.image_shape)
        with torch.no_grad():
            zs = torch.tensor(drawn["zs"], dtype=torch.float32)
            recon = -model.log_likelihood(x.expand(len(zs), -1, -1, -1), model.decode_params(zs))
            mu, logvar = model.encode(x)
            kl = kl_to_standard_normal(mu, logvar).sum()
        np.testing.assert_allclose(drawn["recons"], recon.numpy(), rtol=1e-4, atol=1e-3)
        assert abs(drawn["kl"] - float(kl)) < 1e-3
        assert abs(terms["recon"] - float(recon.mean())) <= 0.05 + 1e-3 and abs(terms["kl"] - float(kl)) <= 0.05 + 1e-3

        # Resampling eps: a new cloud, the same q(z|x).
        page.get_by_role("button", name="Resample ε").click()
        page.wait_for_function("(el) => el.dataset.seed === '2'", arg=page.locator(VIEW).element_handle())
        again = explained(page)
        assert again["mu"] == drawn["mu"] and again["kl"] == drawn["kl"]
        assert np.abs(np.subtract(again["cloud"], drawn["cloud"])).max() > 1e-3
        assert again["recon"] != drawn["recon"]
        assert wire(page).runs == runs

        # The decoder's distribution at mu: a Bernoulli's sample is black and white.
        sample = np.asarray(Image.open(io.BytesIO(page.locator(".le-x-sample-image").screenshot())).convert("L"))
        assert ((sample < 30) | (sample > 225)).mean() > 0.9 and 0.05 < (sample > 128).mean() < 0.95
        assert not page.locator(".le-x-sigma-image").is_visible()  # no sigma image for a Bernoulli decoder

        # IWAE on the server: one run, and the bounds are those of explorer.evaluate for this image.
        from explorer.evaluate import image_bounds

        page.get_by_role("button", name=re.compile("Estimate −log p")).click()
        page.wait_for_function("(el) => el.dataset.iwae", arg=page.locator(VIEW).element_handle(), timeout=60_000)
        assert wire(page).runs == runs + 1
        shown = {name: float(re.match(r"(-?[\d.]+) nats", page.locator(f".le-x-{name} b").inner_text()).group(1))
                 for name in ("iwae-nll", "iwae-nelbo", "gap")}
        elbo, iwae = image_bounds(model, x, 500)
        assert abs(shown["iwae-nll"] + iwae) <= 0.05 + 1e-6 and abs(shown["iwae-nelbo"] + elbo) <= 0.05 + 1e-6
        assert shown["iwae-nll"] <= shown["iwae-nelbo"] and abs(shown["gap"] - (iwae - elbo)) <= 0.05 + 1e-6

        # The user chooses k: the server estimates with that many draws, and the page says which.
        page.locator(".le-x-iwae-k").select_option("10")
        page.get_by_role("button", name=re.compile("Estimate −log p")).click()
        page.wait_for_function("(el) => el.dataset.iwae && el.dataset.iwae.endsWith('-2')",
                               arg=page.locator(VIEW).element_handle(), timeout=60_000)
        assert "IWAE_10" in page.locator(".le-x-iwae-nll").inner_text()
        elbo10, iwae10 = image_bounds(model, x, 10)
        nll10 = float(re.match(r"(-?[\d.]+) nats", page.locator(".le-x-iwae-nll b").inner_text()).group(1))
        assert abs(nll10 + iwae10) <= 0.05 + 1e-6


def darkest(page, selector: str) -> int:
    """The darkest pixel of an element as a person sees it (0 black text, 255 nothing drawn)."""
    png = page.locator(selector).first.screenshot()
    return int(np.asarray(Image.open(io.BytesIO(png)).convert("L")).min())


def test_the_steps_light_one_stage_at_a_time_from_the_keyboard():
    with app_server() as url, browser_page(f"{url}/?model=digits&view=Explain&pick={PICK}", 1280, 720) as page:
        page.locator(VIEW).wait_for(timeout=60_000)
        wait_encodes(page, 0)
        wait_idle(page)
        runs = wire(page).runs
        assert darkest(page, ".le-x-terms") < 80  # all lit before the steps
        page.get_by_role("button", name="Steps").click()
        seen = []
        for _ in range(4):
            page.wait_for_timeout(700)  # the fade, and the scroll to the step
            step = page.locator(VIEW).get_attribute("data-step")
            banner = page.locator(".le-x-banner").inner_text()
            seen.append((step, banner.split("\n")[0], darkest(page, ".le-x-terms"), darkest(page, ".le-x-input")))
            page.keyboard.press("ArrowRight")
        assert [s[0] for s in seen] == ["1", "2", "3", "4"]
        assert [s[1].split(" · ")[1].split()[1] for s in seen] == ["encoder", "sample", "decoder", "loss"]
        assert seen[0][3] < 80 and seen[0][2] > 150  # step 1: the input lit, the loss dimmed
        assert seen[3][2] < 80 and seen[3][3] > 100  # step 4: the loss lit, the input dimmed
        page.keyboard.press("ArrowRight")  # past the last: stays there
        assert page.locator(VIEW).get_attribute("data-step") == "4"
        page.keyboard.press("Escape")
        assert page.locator(VIEW).get_attribute("data-step") == "0" and not page.locator(".le-x-banner").is_visible()
        assert wire(page).runs == runs  # the steps are the page's own


def test_coloured_by_minus_elbo_the_worst_image_is_dark_and_the_best_light_on_screen():
    from explorer.checkpoint import load_embedding, load_scores
    from harness.browser import MAP, MAP_CANVAS, webgl_map_points

    scores, _ = load_scores(DIGITS, len(load_embedding(DIGITS).mu))
    worst, best = int(np.argmax(scores["nelbo"])), int(np.argmin(scores["nelbo"]))
    with app_server() as url, browser_page(f"{url}/?model=digits", 1600, 900) as page:
        webgl_map_points(page)
        wait_idle(page)
        loads = page.evaluate("() => globalThis.__latentExplorerMap.loads")
        page.get_by_text("−ELBO", exact=True).click()
        page.wait_for_function("(el) => el.dataset.colourBy === '−ELBO'", arg=page.locator(MAP).element_handle(),
                               timeout=30_000)
        wait_idle(page)
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)
        canvas = page.locator(MAP_CANVAS)
        png = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(int)

        def colour_at(point_id: int) -> np.ndarray:
            x, y = page.locator(MAP).evaluate("(el, p) => el.leView.plot.getScreenPosition(p)", point_id)
            return np.median(png[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].reshape(-1, 3), axis=0)

        dark, light = colour_at(worst), colour_at(best)  # the test map holds every test image: position = id
        assert dark.sum() < 300 and dark[2] > dark[1]  # viridis' dark purple end
        assert light[0] > 180 and light[1] > 180 and light[2] < 140  # its light yellow end
        assert page.evaluate("() => globalThis.__latentExplorerMap.loads") == loads  # the points were not sent again
        assert "(worst)" in page.locator(".le-map-legend").inner_text()


DROP_JS = """(el, [b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type: "image/png" }));
    el.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


def test_an_image_file_dropped_on_the_pad_is_encoded_and_a_light_photo_is_inverted_for_a_dark_model():
    import base64

    model = load(DIGITS).model
    digit = load_dataset("digits", download=False, test_only=True).test.images[5, 0]  # light ink on black

    def png(pixels: np.ndarray) -> str:
        big = Image.fromarray((pixels * 255).round().astype(np.uint8)).resize((80, 80), Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        big.save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    with app_server() as url, browser_page(f"{url}/?model=digits&view=Explain&pick={PICK}", 1600, 1000) as page:
        page.locator(VIEW).wait_for(timeout=60_000)
        wait_encodes(page, 0)
        wait_idle(page)
        runs = wire(page).runs
        for pixels, name in ((digit, "digit.png"), (1 - digit, "photo.png")):  # as drawn, then dark ink on white
            page.locator(".le-x-pad").evaluate(DROP_JS, [png(pixels), name])
            page.wait_for_function("([el, name]) => el.leExplain.state && el.leExplain.state.dropped === name",
                                   arg=[page.locator(VIEW).element_handle(), name], timeout=10_000)
            page.wait_for_timeout(300)
            state = explained(page)
            x = np.asarray(state["x"]).reshape(8, 8)
            assert np.corrcoef(x.ravel(), digit.ravel())[0, 1] > 0.95  # the dropped digit, the right way round
            with torch.no_grad():
                mu, _ = model.encode(torch.tensor(x, dtype=torch.float32).reshape(1, 1, 8, 8))
            np.testing.assert_allclose(state["mu"], mu[0].numpy(), atol=1e-4)
        assert wire(page).runs == runs  # dropped, encoded and drawn in the page


CODES_RGB = np.array([0xD9, 0x82, 0x2B])


def test_on_pca_the_codes_regions_face_the_priors_and_on_tsne_the_ellipse_is_placed_and_marked_approximate():
    from explorer.checkpoint import load_embedding
    from explorer.prior import aggregate_on_plane
    from explorer.projection import PCA, TSNE

    emb = load_embedding(DIGITS)
    pca = PCA.of(emb)
    holes = aggregate_on_plane(emb.mu, emb.logvar, pca.components, pca.mean)
    with app_server() as url, browser_page(f"{url}/?model=digits&view=Explain&pick={PICK}", 1600, 1000) as page:
        page.locator(VIEW).wait_for(timeout=60_000)
        wait_encodes(page, 0)
        wait_idle(page)
        orange = (np.abs(map_pixels(page) - CODES_RGB).sum(axis=2) < 60).sum()
        assert orange > 200  # the codes' contours are drawn, in their own colour
        note = page.locator(".le-x-map + .le-caption").inner_text()
        assert f"{round(100 * holes.prior_outside)}% of the prior's mass" in note  # the server's figure
        assert "q(z|x) on the PCA map" == page.locator(".le-x-map").locator("xpath=preceding-sibling::*[1]").inner_text()

        page.get_by_test_id("stTabs").get_by_text("t-SNE (not metric)").click()
        page.wait_for_function("(el) => el.leExplain.state && el.leExplain.state.map === 'tsne'",
                               arg=page.locator(VIEW).element_handle(), timeout=60_000)
        wait_idle(page)
        state = explained(page)
        assert "approximate" in page.locator(".le-x-map").locator("xpath=preceding-sibling::*[1]").inner_text()
        assert "Approximate" in page.locator(".le-x-map + .le-caption").inner_text()
        assert not state["ellipse"]["exact"] and state["regions"] is None
        assert (np.abs(map_pixels(page) - CODES_RGB).sum(axis=2) < 60).sum() < 20  # no density of a linear plane here
        # Placed as the server's t-SNE places a new code, among the points the page was sent.
        sent = page.locator(VIEW).evaluate("(el) => el.leExplain.data.points")
        mu_sent = np.asarray(sent["mu"]).reshape(len(sent["x"]), -1)
        tsne = TSNE(mu=mu_sent, coords=np.stack([sent["x"], sent["y"]], axis=1))
        np.testing.assert_allclose(state["ellipse"]["centre"], tsne.place(np.asarray([state["mu"]]))[0], atol=1e-3)
        np.testing.assert_allclose(state["cloud"], tsne.place(np.asarray(state["zs"])), atol=1e-3)


def test_a_slow_model_decodes_a_few_draws_while_the_pen_moves_and_all_of_them_when_it_lifts():
    with app_server() as url, browser_page(f"{url}/?model=fashion-mnist-d16&view=Explain&pick=7", 1600, 1000) as page:
        page.locator(VIEW).wait_for(timeout=60_000)
        wait_encodes(page, 0)
        wait_idle(page)
        full = explained(page)
        assert full["draws"] == 16
        pad = page.locator(".le-x-pad").bounding_box()
        page.mouse.move(pad["x"] + 0.2 * pad["width"], pad["y"] + 0.2 * pad["height"])
        page.mouse.down()
        seen = []
        for k in range(1, 16):
            page.mouse.move(pad["x"] + (0.2 + 0.04 * k) * pad["width"], pad["y"] + (0.2 + 0.04 * k) * pad["height"])
            page.wait_for_timeout(40)
            seen.append(explained(page)["draws"])
        stale = page.locator(".le-x-sample.le-stale").count()
        page.mouse.up()
        page.wait_for_function("(el) => el.leExplain.state.draws === 16", arg=page.locator(VIEW).element_handle())
        if full["fullMs"] > 1000 / 30:  # slower than a frame: the stroke decodes 4 draws and dims the others
            assert min(seen) == 4 and stale == 12
        else:
            assert set(seen) == {16}
        assert page.locator(".le-x-sample.le-stale").count() == 0  # the pen lifted: every draw is drawn again
        done = explained(page)
        assert len(done["zs"]) == 16 and len(done["recons"]) == 16
        assert abs(done["recon"] - float(np.mean(done["recons"]))) < 1e-6
