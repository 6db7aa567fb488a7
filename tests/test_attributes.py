"""Attribute vectors: the direction between groups, moving along it, and its consistency measure."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app import attributes


def test_members_are_the_points_with_the_chosen_labels():
    labels = np.array([0, 1, 2, 1, 0])
    assert attributes.members(labels, [1]).tolist() == [1, 3]
    assert attributes.members(labels, [0, 2]).tolist() == [0, 2, 4]
    assert attributes.members(labels, []).tolist() == []


def test_the_direction_goes_from_group_a_mean_to_group_b_mean():
    mu = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0]])
    d = attributes.direction(mu, np.array([0, 1]), np.array([2, 3]))
    assert d.tolist() == [-1.0, 5.0]
    assert np.allclose(attributes.move(mu[[0, 1]].mean(axis=0), d, 1.0), mu[[2, 3]].mean(axis=0))
    with pytest.raises(ValueError, match="at least one"):
        attributes.direction(mu, np.array([], int), np.array([2]))


def test_moving_by_several_amounts_gives_a_path():
    path = attributes.move(np.zeros(3), np.array([1.0, 0.0, -1.0]), np.array([-1.0, 0.0, 2.0]))
    assert path.shape == (3, 3) and path[0].tolist() == [-1, 0, 1] and path[2].tolist() == [2, 0, -2]


def test_closer_share_counts_the_images_that_approach_the_target():
    target = np.ones((1, 2, 2))
    before = np.zeros((4, 1, 2, 2))
    after = np.stack([np.full((1, 2, 2), v) for v in (0.5, 1.0, -1.0, 0.0)])
    assert attributes.closer_share(before, after, target) == 0.5  # two moved closer; one away, one stayed


def test_a_real_direction_is_consistent_and_chance_is_not():
    """A 'decoder' that draws the first code value as brightness: moving A towards B brightens every image."""
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(-2, 0.3, (50, 4)), rng.normal(2, 0.3, (50, 4))]).astype(np.float32)
    decode = lambda z: np.repeat(z[:, :1, None, None], 3, axis=2).repeat(3, axis=3)  # noqa: E731  (M, 1, 3, 3)
    d = attributes.direction(mu, np.arange(50), np.arange(50, 100))
    share, chance = attributes.consistency(decode, mu, np.arange(50), np.arange(50, 100), d)
    assert share == 1.0 and chance < 0.9


def test_the_consistency_sample_is_bounded_and_fixed():
    idx = np.arange(10_000)
    first = attributes.sample(idx)
    assert len(first) == attributes.CONSISTENCY_SAMPLE and np.array_equal(first, attributes.sample(idx))
    assert attributes.sample(idx[:5]).tolist() == [0, 1, 2, 3, 4]


def test_random_directions_have_the_same_length():
    d = np.array([3.0, 4.0], np.float32)
    assert np.linalg.norm(attributes.random_like(d, 1)) == pytest.approx(5.0)
