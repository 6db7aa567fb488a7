"""Pure latent-space math: interpolation, slider ranges, dimension order, neighbours."""

import numpy as np
import pytest
import torch

from explorer.latent import (
    active_units,
    dimension_order,
    informative_dimensions,
    interpolate,
    nearest_neighbours,
    slider_ranges,
)
from explorer.objectives import kl_to_standard_normal


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_starts_at_a_ends_at_b_with_the_requested_steps(mode):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=6), rng.normal(size=6)
    path = interpolate(a, b, 9, mode)
    assert path.shape == (9, 6)
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, atol=1e-6)


def test_linear_steps_are_evenly_spaced():
    path = interpolate(np.zeros(2), np.array([4.0, 0.0]), 5, "linear")
    np.testing.assert_allclose(path[:, 0], [0, 1, 2, 3, 4])


def test_slerp_keeps_the_norm_where_lerp_cuts_inside():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    spherical = interpolate(a, b, 11, "spherical")
    linear = interpolate(a, b, 11, "linear")
    np.testing.assert_allclose(np.linalg.norm(spherical, axis=1), 3.0, rtol=1e-5)
    assert np.linalg.norm(linear[5]) < 2.2  # the midpoint of the chord, 3 / sqrt(2)


def test_slerp_of_parallel_vectors_falls_back_to_a_straight_line():
    a = np.array([1.0, 1.0])
    path = interpolate(a, 2 * a, 3, "spherical")
    np.testing.assert_allclose(path[1], 1.5 * a, rtol=1e-5)


@pytest.mark.parametrize("steps,mode", [(1, "linear"), (5, "cubic")])
def test_bad_interpolation_requests_are_refused(steps, mode):
    with pytest.raises(ValueError):
        interpolate(np.zeros(2), np.ones(2), steps, mode)


def test_slider_ranges_cover_the_data_and_collapsed_dimensions_still_move():
    rng = np.random.default_rng(1)
    mu = np.stack([rng.normal(2.0, 0.5, 5000), np.zeros(5000)], axis=1)
    ranges = slider_ranges(mu)
    inside = (mu[:, 0] >= ranges[0, 0]) & (mu[:, 0] <= ranges[0, 1])
    assert inside.mean() > 0.99
    assert ranges[0, 0] == pytest.approx(0.5, abs=0.1) and ranges[0, 1] == pytest.approx(3.5, abs=0.1)
    assert ranges[1, 1] - ranges[1, 0] > 0  # a dead dimension still has a usable slider


def test_dimensions_are_ordered_by_kl_and_collapsed_ones_flagged():
    kl = np.array([0.001, 3.0, 0.5, 3.0])
    assert dimension_order(kl).tolist() == [1, 3, 2, 0]
    assert informative_dimensions(kl).tolist() == [False, True, True, True]


def test_active_units_follow_burda_and_can_disagree_with_the_kl_count():
    """Burda et al.: a unit is active when its posterior mean varies across the data, Cov_x(E_q[z]) > 0.01.

    Dimension 0: the mean barely moves, but a shrunken sigma pays KL (informative by KL, not active).
    Dimension 1: the mean moves a little with sigma = 1, costing under 0.01 nats (active, yet "collapsed").
    Dimension 2: both agree that it is used; dimension 3: both agree that it is not.
    """
    rng = np.random.default_rng(0)
    n = 20_000
    mu = np.stack([0.05 * rng.standard_normal(n), 0.12 * rng.standard_normal(n),
                   rng.standard_normal(n), 0.01 * rng.standard_normal(n)], axis=1)
    logvar = np.stack([np.full(n, -4.0), np.zeros(n), np.full(n, -2.0), np.zeros(n)], axis=1)
    kl = kl_to_standard_normal(torch.as_tensor(mu), torch.as_tensor(logvar)).mean(dim=0).numpy()
    assert active_units(mu).tolist() == [False, True, True, False]
    assert informative_dimensions(kl).tolist() == [True, False, True, False]


def test_nearest_neighbours_match_brute_force_and_can_exclude_the_query():
    rng = np.random.default_rng(2)
    codes = rng.normal(size=(200, 4))
    got = nearest_neighbours(codes, codes[7], k=5, exclude=7)
    brute = np.argsort(np.linalg.norm(codes - codes[7], axis=1))[1:6]
    assert got.tolist() == brute.tolist()
    assert len(nearest_neighbours(codes[:3], codes[0], k=10)) == 3
