"""Encoding and 2-D projections for the map."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from explorer.config import ModelConfig
from explorer import projection
from explorer.checkpoint import load_embedding, save_embedding
from explorer.embedding import compute_embedding, fit_pca, fit_umap, umap_available
from explorer.errors import CheckpointError
from explorer.model import VAE


def test_pca_matches_sklearn_up_to_sign():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(300, 6)) * np.array([5, 3, 1, 1, 0.5, 0.1])
    components, mean, ratio = fit_pca(mu)
    ref = PCA(n_components=2).fit(mu)
    np.testing.assert_allclose(np.abs(components), np.abs(ref.components_), atol=1e-4)
    np.testing.assert_allclose(ratio, ref.explained_variance_ratio_, rtol=1e-4)
    assert ratio[0] > ratio[1]


def test_pca_map_points_go_back_to_latent_space_on_the_plane():
    torch.manual_seed(0)
    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=4, architecture="mlp", hidden_dims=(16,))).eval()
    images = np.random.default_rng(1).random((50, 1, 8, 8), dtype=np.float32)
    emb = compute_embedding(model, images, np.arange(50) % 3, tsne=False)
    pca = projection.make("pca", emb)
    np.testing.assert_allclose(pca.place(emb.mu), emb.pca, atol=1e-5)
    xy = np.array([[0.3, -0.2], [1.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(pca.place(pca.inverse(xy)), xy, atol=1e-5)


def test_one_dimensional_latents_still_give_a_plane():
    components, _, ratio = fit_pca(np.random.default_rng(0).normal(size=(20, 1)))
    assert components.shape == (2, 1) and ratio[1] == 0


def test_embedding_round_trip_and_corrupt_file(tmp_path):
    torch.manual_seed(0)
    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=3, architecture="mlp", hidden_dims=(16,))).eval()
    images = np.random.default_rng(2).random((40, 1, 8, 8), dtype=np.float32)
    emb = compute_embedding(model, images, np.arange(40) % 4, tsne=True, seed=0)
    assert emb.tsne.shape == (40, 2)
    save_embedding(tmp_path, emb)
    back = load_embedding(tmp_path)
    for name in ("mu", "logvar", "labels", "pca", "tsne", "pca_components"):
        np.testing.assert_array_equal(getattr(back, name), getattr(emb, name))
    (tmp_path / "embedding.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="recomputed"):
        load_embedding(tmp_path)


@pytest.mark.skipif(not umap_available(), reason="needs umap-learn (in requirements-dev.txt)")
def test_umap_is_seeded_and_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=8.0, size=(3, 6))
    mu = np.concatenate([c + rng.normal(size=(60, 6)) for c in centres]).astype(np.float32)
    a, b = fit_umap(mu, seed=1), fit_umap(mu, seed=1)
    assert a.shape == (180, 2) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    means = np.stack([a[k * 60 : (k + 1) * 60].mean(axis=0) for k in range(3)])
    spread = max(np.linalg.norm(a[k * 60 : (k + 1) * 60] - means[k], axis=1).mean() for k in range(3))
    gaps = [np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread  # three separate clusters stay three clusters on the map
