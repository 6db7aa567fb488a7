"""The Interpolate view's paths through several points, as the page shows them (AppTest, digits model)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from explorer import paths
from explorer.app import compute, images
from explorer.app.state import EndKind
from explorer.checkpoint import load, load_embedding
from streamlit.testing.v1 import AppTest

from tests.app_support import APP, DIGITS, open_app, pixels

GAP = 2  # pixels between filmstrip tiles (images.strip's default)
STEPS = 5  # per leg


def download(at, media, label: str) -> bytes:
    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    return media.by_url(button.proto.url)


def tiles(at, media) -> np.ndarray:
    """The filmstrip the page shows, cut back into its frames: (N, H, W) grey uint8."""
    strip = pixels(download(at, media, "Strip"))
    side = strip.shape[0]
    count = (strip.shape[1] + GAP) // (side + GAP)
    assert count * side + (count - 1) * GAP == strip.shape[1]
    return np.stack([strip[:, k * (side + GAP): k * (side + GAP) + side] for k in range(count)])


def shown(model, z: np.ndarray, side: int) -> np.ndarray:
    """How the page draws the decoded ``z`` (D,) as a filmstrip frame ``side`` pixels high."""
    decoded = compute.decode(model, z)
    return images.upscale(images.to_uint8(decoded)[0], side // decoded.shape[-1])


def frames_csv(at, media) -> list[dict]:
    return list(csv.DictReader(io.StringIO(download(at, media, "Path").decode())))


@pytest.fixture(scope="module")
def digits():
    return load(DIGITS).model, load_embedding(DIGITS).mu


def with_c(c_kind: EndKind = EndKind.TEST):
    at = open_app(DIGITS, "Interpolate")
    at.slider(key="w:interp_steps").set_value(STEPS).run()
    at.button(key="interp_add").click().run()
    at.segmented_control(key="w:c_kind").set_value(c_kind).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def near(image: np.ndarray, expected: np.ndarray) -> bool:
    return image.shape == expected.shape and int(np.abs(image.astype(int) - expected.astype(int)).max()) <= 1


def test_adding_c_makes_the_filmstrip_go_through_b_to_c(media, digits):
    model, mu = digits
    at = with_c()
    assert any("9 frames" in m.value and "C = test image #2" in m.value for m in at.markdown)
    frames = tiles(at, media)
    assert len(frames) == 2 * (STEPS - 1) + 1
    side = frames.shape[1]
    assert near(frames[STEPS - 1], shown(model, mu[1], side))  # the leg boundary is B
    assert near(frames[-1], shown(model, mu[2], side))  # and the path ends at C
    assert not near(frames[STEPS], shown(model, mu[1], side))


def test_a_loop_goes_through_c_and_returns_to_a(media, digits):
    model, mu = digits
    at = with_c()
    at.toggle(key="w:interp_loop").set_value(True).run()
    frames = tiles(at, media)
    side = frames.shape[1]
    assert len(frames) == 3 * (STEPS - 1) + 1
    assert near(frames[2 * (STEPS - 1)], shown(model, mu[2], side))  # the middle leg boundary is C
    assert near(frames[-1], shown(model, mu[0], side)) and near(frames[0], frames[-1])
    expected = paths.path_through(mu[[0, 1, 2]], STEPS, "linear", loop=True).z
    rows = frames_csv(at, media)
    np.testing.assert_allclose([[float(r[f"z{d + 1}"]) for d in range(mu.shape[1])] for r in rows], expected,
                               atol=1e-4)
    assert [r["waypoint"] for r in rows if r["waypoint"]] == ["A", "B", "C", "A"]


def test_removing_c_takes_the_later_point_up_one_place(media):
    at = with_c()
    at.button(key="interp_add").click().run()
    at.number_input(key="w:d_index").set_value(7).run()
    at.button(key="remove_c").click().run()
    assert not at.exception
    assert any("9 frames" in m.value and "C = test image #7" in m.value for m in at.markdown)


def spacing(frames: np.ndarray) -> float:
    steps = paths.pixel_steps(frames.astype(np.float64))
    return float(steps.max() / steps.min())


def test_equal_pixel_steps_even_out_the_frames_the_view_shows(media):
    at = open_app(DIGITS, "Interpolate")
    at.slider(key="w:interp_steps").set_value(12).run()
    at.segmented_control(key="w:b_kind").set_value(EndKind.PRIOR).run()
    at.button(key="interp_add").click().run()
    at.toggle(key="w:interp_loop").set_value(True).run()
    before = spacing(tiles(at, media))
    at.toggle(key="w:interp_equal_pixels").set_value(True).run()
    after = spacing(tiles(at, media))
    print(f"digits, A = test 0, B = prior seed 2, C = test 2, loop, 12 steps per leg: max/min pixel step "
          f"{before:.2f} at equal t, {after:.2f} with equal pixel steps")
    assert after < 1.5 < before, (before, after)


def test_equal_pixel_steps_are_worked_out_once_per_path_not_on_every_rerun(monkeypatch):
    spaced = []
    respace = paths.respace_by_pixels
    monkeypatch.setattr(paths, "respace_by_pixels", lambda *a, **k: spaced.append(1) or respace(*a, **k))
    at = open_app(DIGITS, "Interpolate")
    at.slider(key="w:interp_steps").set_value(11).run()
    at.toggle(key="w:interp_equal_pixels").set_value(True).run()
    first = len(spaced)
    at.button(key="interp_step").click().run()  # a rerun that leaves the path as it was
    at.button(key="interp_step").click().run()
    assert first == 1 and len(spaced) == 1
    at.slider(key="w:interp_steps").set_value(12).run()  # a new path is spaced anew
    assert len(spaced) == 2 and not at.exception


def test_the_profile_shows_the_core_functions_values(media, digits):
    _, mu = digits
    at = with_c(c_kind=EndKind.PRIOR)
    figure = json.loads([c for c in at.get("plotly_chart") if "distance to the nearest" in c.proto.spec][0].proto.spec)
    distance, density = (np.asarray(t["y"], float) for t in figure["data"][:2])
    path = paths.path_through(np.stack([mu[0], mu[1], compute.prior_sample(mu.shape[1], 3)]), STEPS).z
    np.testing.assert_allclose(distance, paths.data_distance(path, mu), rtol=1e-5)
    np.testing.assert_allclose(density, paths.prior_log_density(path), rtol=1e-5)
    rows = frames_csv(at, media)
    np.testing.assert_allclose([float(r["distance_to_data"]) for r in rows], distance, rtol=1e-4)
    assert distance[0] == pytest.approx(0.0, abs=1e-4) and distance[-1] > distance[0]  # a prior draw is off the data


def test_a_leg_can_be_spherical_while_the_others_follow_the_path_s_mode(media, digits):
    _, mu = digits
    at = with_c()
    at.segmented_control(key="w:leg0_mode").set_value("spherical").run()
    assert not at.exception
    rows = frames_csv(at, media)
    expected = paths.path_through(mu[[0, 1, 2]], STEPS, ("spherical", "linear")).z
    np.testing.assert_allclose([[float(r[f"z{d + 1}"]) for d in range(mu.shape[1])] for r in rows], expected,
                               atol=1e-4)


def test_a_copied_link_keeps_each_leg_s_own_interpolation(media, digits):
    _, mu = digits
    at = with_c()
    at.segmented_control(key="w:leg1_mode").set_value("spherical").run()
    url = dict(at.query_params)
    assert url["legs"] == "2:spherical" and url["interp"] == "linear"  # B -> C is leg 2; A -> B follows the path
    copy = AppTest.from_file(str(APP), default_timeout=120)
    copy.query_params.update(url)
    copy.run()
    assert not copy.exception and copy.segmented_control(key="w:leg1_mode").value == "spherical"
    rows = frames_csv(copy, media)
    expected = paths.path_through(mu[[0, 1, 2]], STEPS, ("linear", "spherical")).z
    np.testing.assert_allclose([[float(r[f"z{d + 1}"]) for d in range(mu.shape[1])] for r in rows], expected,
                               atol=1e-4)
