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
