"""One type per map: what each can place, invert and claim, without a model or the app."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import projection
from explorer.embedding import Embedding, fit_pca


def embedding(n: int = 300, d: int = 4, seed: int = 0, tsne: np.ndarray | None = None) -> Embedding:
    rng = np.random.default_rng(seed)
    mu = (rng.standard_normal((n, d)) * np.linspace(2.0, 0.2, d)).astype(np.float32)
    components, mean, explained = fit_pca(mu)
    return Embedding(mu=mu, logvar=np.zeros_like(mu), labels=np.zeros(n, np.int64),
                     pca=((mu - mean) @ components.T).astype(np.float32), pca_components=components, pca_mean=mean,
                     pca_explained_variance_ratio=explained, tsne=tsne)


def test_pca_places_new_codes_exactly_where_the_data_would_go_and_maps_back_onto_its_plane():
    emb = embedding()
    pca = projection.make("pca", emb)
    assert pca.exact and pca.metric and pca.invertible
    np.testing.assert_allclose(pca.place(emb.mu), emb.pca, atol=1e-5)
    xy = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    np.testing.assert_allclose(pca.place(pca.inverse(xy)), xy, atol=1e-5)  # the plane maps back onto itself
    z = pca.inverse(xy)
    np.testing.assert_allclose(pca.inverse(pca.place(z)), z, atol=1e-5)
    assert "% of variance" in pca.axis_titles()[0]


def test_the_latent_plane_is_the_identity_and_only_for_2d_models():
    emb = embedding(d=2)
    plane = projection.make("latent", emb)
    assert plane.exact and plane.invertible
    np.testing.assert_array_equal(plane.place(emb.mu[:3]), emb.mu[:3])
    np.testing.assert_array_equal(plane.inverse(emb.mu[:3]), emb.mu[:3])
    with pytest.raises(ValueError, match="2-D models"):
        projection.make("latent", embedding(d=4))


@pytest.mark.parametrize("key", ["tsne", "umap"])
def test_fitted_maps_place_approximately_among_neighbours_and_have_no_inverse(key):
    emb = embedding()
    rng = np.random.default_rng(1)
    coords = (emb.mu[:, :2] * 3 + rng.normal(scale=0.01, size=(len(emb.mu), 2))).astype(np.float32)  # a stand-in map
    fitted = projection.make(key, emb, coords)
    assert not (fitted.exact or fitted.metric or fitted.invertible)
    assert "not metric" in fitted.axis_titles()[0]
    with pytest.raises(projection.NotInvertible, match="no inverse"):
        fitted.inverse(np.zeros((1, 2)))
    placed = fitted.place(emb.mu[7])[0]  # an encoded code lands among its own neighbours
    nearest = np.argsort(np.linalg.norm(emb.mu - emb.mu[7], axis=1))[: projection.PLACEMENT_NEIGHBOURS]
    np.testing.assert_allclose(placed, coords[nearest].mean(axis=0), atol=1e-5)
    local = fitted.local_code(coords[7])[0]  # and a spot stands for the mean code of the points nearest it
    near_spot = np.argsort(np.linalg.norm(coords - coords[7], axis=1))[: projection.PLACEMENT_NEIGHBOURS]
    np.testing.assert_allclose(local, emb.mu[near_spot].mean(axis=0), atol=1e-5)


def test_a_map_of_a_subset_places_only_among_the_points_it_shows():
    emb = embedding()
    coords = emb.mu[:, :2].copy()
    coords[::2] = np.nan  # a t-SNE of half the points
    fitted = projection.make("tsne", emb, coords)
    xy = fitted.place(emb.mu[0])  # point 0 itself is not on this map
    assert np.isfinite(xy).all()
    np.testing.assert_array_equal(fitted.shown, np.arange(1, len(emb.mu), 2))


def test_make_says_what_is_missing():
    emb = embedding()
    with pytest.raises(ValueError, match="compute them first"):
        projection.make("tsne", emb)  # no cached t-SNE, none given
    with pytest.raises(ValueError, match="choose one of"):
        projection.make("isomap", emb)
    with pytest.raises(ValueError, match="expected"):
        projection.make("umap", emb, np.zeros((3, 2)))
    cached = embedding(tsne=np.ones((300, 2), np.float32))
    assert projection.make("tsne", cached).coords.shape == (300, 2)


def test_available_maps_follow_the_model():
    assert projection.available(2)[-1] == "latent"
    assert "latent" not in projection.available(8)
    assert projection.available(8)[:2] == ("pca", "tsne")
