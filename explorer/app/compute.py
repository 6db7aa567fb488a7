"""Model and array work the views need, with no streamlit: decoding, KL per dimension, map subsets and grids.

Placing codes on a map and mapping spots back is the map's own business (explorer.projection).

These are what the core would offer if it had an app-facing layer; they take plain values and return
NumPy arrays, so they are tested without a browser. torch is imported by the functions that run the
model, not here: the page draws its map before any model is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer.embedding import Embedding
from explorer.metrics import Metrics

if TYPE_CHECKING:
    from explorer.model import VAE

MAP_POINT_CHOICES = (1_000, 2_000, 5_000)  # subsets of the test set the map can show, besides all of it
MAP_SUBSET_SEED = 0  # the same subset of a given size every time, so its t-SNE is cached once
TSNE_PERPLEXITIES = (5.0, 15.0, 30.0, 50.0)
PLANE_STDS = 2.5  # the decoded plane spans the map's mean +- this many standard deviations


def decode(model: VAE, z: np.ndarray) -> np.ndarray:
    """(M, D) or (D,) latent points -> (M, C, H, W) float32 mean images in [0, 1]."""
    return model.decode_array(z)


def reconstruct(model: VAE, images: np.ndarray) -> np.ndarray:
    """(M, C, H, W) -> decoded posterior means (M, C, H, W): what the model keeps of each image."""
    import torch

    x = torch.from_numpy(np.array(images, dtype=np.float32))  # a copy: cached arrays are read-only
    with torch.no_grad():
        mu, _ = model.encode(x)
        return model.decode(mu).numpy()


def encode(model: VAE, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, C, H, W) or (C, H, W) images -> posterior mu and logvar, each (M, D)."""
    import torch

    x = np.array(images, dtype=np.float32)
    with torch.no_grad():
        mu, logvar = model.encode(torch.from_numpy(x[None] if x.ndim == 3 else x))
    return mu.numpy(), logvar.numpy()


def prior_sample(latent_dim: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """One seeded draw from N(0, temperature^2 I): (D,)."""
    return (temperature * np.random.default_rng(seed).standard_normal(latent_dim)).astype(np.float32)


def kl_per_dim_from_posterior(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Average KL(q(z|x) || N(0, I)) per dimension over the encoded set: (N, D) -> (D,) nats."""
    return (0.5 * (mu**2 + np.exp(logvar) - 1.0 - logvar)).mean(axis=0)


def kl_per_dim(metrics: Metrics, embedding: Embedding) -> np.ndarray:
    """KL per dimension from the checkpoint's test metrics, else computed from the cached embedding."""
    recorded = metrics.test.kl_per_dim if metrics.test is not None else None
    if recorded is not None and len(recorded) == embedding.mu.shape[1]:
        return np.asarray(recorded, dtype=np.float64)
    return kl_per_dim_from_posterior(embedding.mu, embedding.logvar)


def map_point_options(n: int) -> list[int]:
    """How many test points the map may show: the fixed choices below n, and all n."""
    return [c for c in MAP_POINT_CHOICES if c < n] + [n]


def map_subset(n: int, points: int) -> np.ndarray:
    """Sorted indices of the ``points`` test images the map shows: a fixed random subset, or all of them."""
    if points >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(MAP_SUBSET_SEED).permutation(n)[:points])


def plane_grid(xy: np.ndarray, side: int, stds: float = PLANE_STDS) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A side x side grid of cell centres over the data's spread on a plane, and its extent (x0, x1, y0, y1).

    Rows run from the top (largest y) down, so the decoded tiles can be laid out as an image.
    """
    centre, spread = xy.mean(axis=0), xy.std(axis=0)
    half = float(stds * max(spread.max(), 1e-6))  # a square extent, so tiles are not stretched
    x0, x1, y0, y1 = centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half
    cell = 2 * half / side
    xs = x0 + cell * (np.arange(side) + 0.5)
    ys = y1 - cell * (np.arange(side) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32), (x0, x1, y0, y1)
