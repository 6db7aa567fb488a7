"""Prior holes: the mixture fitted to the codes, and the measure of which samples look like the data."""

from __future__ import annotations

import numpy as np

from explorer.checkpoint import load, load_embedding
from explorer.prior import fit_mixture, realism
from tests.app_support import DIGITS


def test_bic_picks_the_number_of_clusters_the_codes_have():
    rng = np.random.default_rng(0)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    codes = np.concatenate([c + rng.normal(scale=0.5, size=(300, 2)) for c in centres])
    mixture = fit_mixture(codes, max_components=6)
    assert mixture.components == 3 and min(mixture.bic, key=mixture.bic.get) == 3
    draws = mixture.sample(900, seed=1)
    nearest = np.argmin(((draws[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.bincount(nearest, minlength=3).min() > 200  # every cluster gets its share of the draws
    np.testing.assert_array_equal(draws, mixture.sample(900, seed=1))  # seeded


def test_the_mixtures_samples_look_more_like_the_data_than_the_priors_as_real_codes_do():
    model = load(DIGITS).model
    mu = load_embedding(DIGITS).mu
    mixture = fit_mixture(mu, seed=0)
    assert 1 < mixture.components <= 10
    prior = np.random.default_rng(0).standard_normal((1000, mu.shape[1])).astype(np.float32)
    from_prior = np.median(realism(model, prior, mu))
    from_mixture = np.median(realism(model, mixture.sample(1000, seed=0), mu))
    real = np.median(realism(model, mu[:100], mu[100:]))  # held-out real codes: what the data itself scores
    assert from_mixture < from_prior and real < from_prior


def test_the_samples_view_offers_the_mixture_and_says_which_samples_look_more_like_the_data():
    from tests.app_support import open_app

    at = open_app(DIGITS, "Samples")
    prior_grid = at.get("image")[0].proto
    at.radio(key="sample_prior").set_value("mixture").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("image")[0].proto != prior_grid and "from the mixture" in at.get("image")[0].captions[0]
    caption = [c.value for c in at.caption if c.value.startswith("Which look more like the data?")][0]
    figures = [float(v) for v in __import__("re").findall(r"\*\*([\d.]+)\*\*", caption)]
    assert len(figures) == 3 and figures[1] < figures[0]  # the mixture's draws re-encode nearer the data


def _plane(d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An orthonormal 2-D plane in d dimensions, and a mean that is not the origin."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, 2)))
    return q.T, np.linspace(-0.3, 0.4, d)


def test_codes_that_fill_the_prior_leave_it_no_holes_on_the_plane():
    from explorer.prior import PlaneDensity, aggregate_on_plane

    w, mean = _plane()
    # Every q(z|x) is the prior itself: the aggregate posterior is N(0, I), so 10% of the prior's mass lies
    # outside the codes' 90% region, and that region is the prior's 90% disc.
    agg = aggregate_on_plane(np.zeros((50, 4)), np.zeros((50, 4)), w, mean, grid=96)
    assert abs(agg.prior_outside - 0.1) < 0.02
    np.testing.assert_allclose(agg.prior_centre, -w @ mean)
    r90 = PlaneDensity.prior_radius(0.9)
    assert abs(agg.levels[0.9] - np.exp(-0.5 * r90**2) / (2 * np.pi)) < 0.004  # the density on the 90% circle
    cell = (agg.x[1] - agg.x[0]) * (agg.y[1] - agg.y[0])
    assert abs(agg.density.sum() * cell - 1) < 0.01  # a density: it integrates to one over the grid


def test_codes_in_one_tight_corner_leave_the_prior_a_hole_and_the_density_is_the_projected_mixture():
    from explorer.prior import aggregate_on_plane

    w, mean = _plane(seed=1)
    rng = np.random.default_rng(0)
    mu = np.array([2.0, 2.0, 2.0, 2.0]) + 0.05 * rng.normal(size=(30, 4))
    logvar = np.log(rng.uniform(0.001, 0.01, size=(30, 4)))
    agg = aggregate_on_plane(mu, logvar, w, mean, grid=128)
    assert agg.prior_outside > 0.95  # nearly all of the prior's mass is where no code lies
    # At a grid point, the density is the mean of the codes' projected Gaussians, computed here directly.
    row, col = np.unravel_index(np.argmax(agg.density), agg.density.shape)
    p = np.array([agg.x[col], agg.y[row]])
    expected = 0.0
    for m, lv in zip(mu, logvar):
        cov = w @ np.diag(np.exp(lv)) @ w.T
        diff = p - w @ (m - mean)
        expected += np.exp(-0.5 * diff @ np.linalg.solve(cov, diff)) / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
    assert abs(agg.density[row, col] - expected / len(mu)) <= 1e-9 * expected


def test_most_of_digits_codes_lie_inside_their_own_90_percent_region():
    from explorer.prior import aggregate_on_plane
    from explorer.projection import PCA

    emb = load_embedding(DIGITS)
    pca = PCA.of(emb)
    agg = aggregate_on_plane(emb.mu, emb.logvar, pca.components, pca.mean)
    xy = pca.place(emb.mu)
    cols = np.clip(np.searchsorted(agg.x, xy[:, 0]), 0, len(agg.x) - 1)
    rows = np.clip(np.searchsorted(agg.y, xy[:, 1]), 0, len(agg.y) - 1)
    inside = (agg.density[rows, cols] >= agg.levels[0.9]).mean()
    assert inside > 0.85, inside
    assert agg.levels[0.5] > agg.levels[0.9]  # the 50% region sits inside the 90% one
