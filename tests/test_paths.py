"""Paths through several latent points, without a model: a synthetic decoder stands in for one."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from explorer.latent import interpolate, slerp
from explorer.paths import (
    data_distance,
    nearest_other_distance,
    path_through,
    pixel_steps,
    prior_log_density,
    respace_by_pixels,
)

POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])


def stretching_decoder(z: np.ndarray) -> np.ndarray:
    """A nonlinear 'decoder' whose picture changes ever faster along z0: equal t gives very unequal steps."""
    z = np.asarray(z, np.float64)
    return np.stack([np.exp(3.0 * z[:, 0]), np.exp(3.0 * z[:, 1]), np.sin(z[:, 0])], axis=1)


def ratio(steps: np.ndarray) -> float:
    return float(steps.max() / steps.min())


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_two_points_give_todays_interpolation(mode):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5), rng.normal(size=5)
    path = path_through(np.stack([a, b]), 9, mode)
    np.testing.assert_allclose(path.z, interpolate(a, b, 9, mode), atol=1e-6)
    assert path.waypoint_frames.tolist() == [0, 8]


def test_the_path_passes_through_every_point_at_the_leg_boundaries():
    path = path_through(POINTS, 5)
    assert len(path.z) == 2 * 4 + 1 and path.waypoint_frames.tolist() == [0, 4, 8]
    np.testing.assert_allclose(path.z[path.waypoint_frames], POINTS, atol=1e-6)
    np.testing.assert_allclose(path.z[2], [0.5, 0.0], atol=1e-6)  # halfway along the first leg


def test_a_loop_closes_back_to_the_first_point():
    path = path_through(POINTS, 4, loop=True)
    assert path.legs == 3 and len(path.z) == 3 * 3 + 1
    np.testing.assert_allclose(path.z[-1], POINTS[0], atol=1e-6)
    np.testing.assert_allclose(path.z[path.waypoint_frames[2]:], interpolate(POINTS[2], POINTS[0], 4), atol=1e-6)


def test_each_leg_has_its_own_interpolation():
    points = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0]])
    path = path_through(points, 7, ("spherical", "linear"))
    np.testing.assert_allclose(path.z[:7], slerp(points[0], points[1], 7), atol=1e-5)
    np.testing.assert_allclose(path.z[6:], interpolate(points[1], points[2], 7, "linear"), atol=1e-6)


def test_bad_paths_are_refused():
    with pytest.raises(ValueError):
        path_through(POINTS[:1], 5)
    with pytest.raises(ValueError):
        path_through(POINTS, 5, ("linear",))  # two legs, one mode
    with pytest.raises(ValueError):
        path_through(POINTS, 1)


@pytest.mark.parametrize("loop", [False, True])
def test_equal_pixel_steps_even_out_a_stretching_decoder(loop):
    path = path_through(POINTS, 10, loop=loop)
    before = pixel_steps(stretching_decoder(path.z))
    respaced, after = respace_by_pixels(path, POINTS, stretching_decoder, loop=loop)
    assert ratio(before) > 3.0
    assert ratio(after) < 1.2, after
    assert len(respaced.z) == len(path.z) and respaced.legs == path.legs
    np.testing.assert_allclose(after, pixel_steps(stretching_decoder(respaced.z)))
    np.testing.assert_allclose(respaced.z[respaced.waypoint_frames], path.z[path.waypoint_frames], atol=1e-6)
    assert np.all(np.diff(respaced.position) > 0)  # still forward along the same curve


def test_a_leg_that_changes_the_picture_more_gets_more_frames():
    points = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0]])  # pixel lengths e^1.5 - 1 and e^3 - 1
    respaced, _ = respace_by_pixels(path_through(points, 10), points, stretching_decoder)
    first, second = np.diff(respaced.waypoint_frames)
    assert first + second == 18 and first < second / 3


def test_distance_to_the_nearest_code():
    codes = np.array([[0.0, 0.0], [10.0, 0.0]])
    path = np.array([[1.0, 0.0], [9.0, 0.0], [5.0, 3.0], [0.0, 0.0]])
    np.testing.assert_allclose(data_distance(path, codes), [1.0, 1.0, np.hypot(5, 3), 0.0], atol=1e-9)


def test_distance_matches_the_brute_force_beyond_one_chunk():
    rng = np.random.default_rng(1)
    path, codes = rng.normal(size=(600, 4)), rng.normal(size=(300, 4))
    brute = np.linalg.norm(path[:, None] - codes[None], axis=2).min(axis=1)
    np.testing.assert_allclose(data_distance(path, codes), brute, atol=1e-6)


def test_prior_log_density_is_the_standard_normal_in_nats():
    z = np.random.default_rng(2).normal(size=(7, 5))
    np.testing.assert_allclose(prior_log_density(z), multivariate_normal(np.zeros(5), np.eye(5)).logpdf(z))
    assert prior_log_density(np.zeros((1, 2)))[0] == pytest.approx(-np.log(2 * np.pi))


def test_the_nearest_other_code_is_never_the_code_itself():
    codes = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    assert sorted(nearest_other_distance(codes, 3).tolist()) == [3.0, 3.0, 4.0]


def wiggling_decoder(z: np.ndarray) -> np.ndarray:
    """A picture that wiggles back and forth within a step: its arc length far exceeds the frames' distances."""
    z = np.asarray(z, np.float64)
    return np.stack([np.exp(2.0 * z[:, 0]), 0.4 * np.sin(45.0 * z[:, 0]), z[:, 1]], axis=1)


def test_refining_by_the_frames_own_distances_never_makes_the_spacing_worse():
    path = path_through(POINTS, 10)
    _, by_arc = respace_by_pixels(path, POINTS, wiggling_decoder, refinements=0)
    _, refined = respace_by_pixels(path, POINTS, wiggling_decoder)
    assert ratio(refined) <= ratio(by_arc)
