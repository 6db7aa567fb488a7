"""Encode a dataset and project its posterior means to 2-D for the map.

The map uses mu, not a sample of z, so points do not jitter between runs. PCA can place new points
(``transform``) and map plane points back into latent space (``inverse_transform``); t-SNE and UMAP (optional,
computed on demand) cannot, and callers must say so in the UI.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from explorer.model import VAE

log = logging.getLogger(__name__)

MAP_DIMS = 2  # the map is a plane
TSNE_PERPLEXITY = 30.0  # the t-SNE setting cached in embedding.npz
OPTIONAL_ARRAYS = ("tsne",)  # fields of Embedding a cached file may lack
UMAP_NEIGHBOURS = 15  # umap-learn's default n_neighbors


@dataclass(frozen=True)
class Embedding:
    """The encoded test split and its 2-D projections (``checkpoint.save_embedding`` writes them)."""

    mu: np.ndarray  # (N, D) posterior means
    logvar: np.ndarray  # (N, D) posterior log-variances
    labels: np.ndarray  # (N,) int64, -1 where unlabelled
    pca: np.ndarray  # (N, 2) mu projected on the first two principal axes
    pca_components: np.ndarray  # (2, D) principal axes (rows), so plane points map back to z
    pca_mean: np.ndarray  # (D,) mean of mu, the origin of the PCA plane
    pca_explained_variance_ratio: np.ndarray  # (2,) share of mu's variance along each axis
    tsne: np.ndarray | None = None  # (N, 2) t-SNE coordinates (not metric, cannot place new points)


@dataclass(frozen=True)
class TrainCodes:
    """The encoded training split (``checkpoint.save_train_codes`` writes them to embedding-train.npz).

    With the test split's Embedding they make maps of the whole dataset: test points first (ids 0..N-1),
    then the training points (ids N..N+M-1). ``tsne_all`` is one t-SNE of both splits in that order (and
    ``umap_all`` one UMAP), so the test, training and whole maps are subsets of one picture; PCA places the training codes on the
    test split's own axes (exact), so the PCA map of the training split is the same plane.
    """

    mu: np.ndarray  # (M, D) posterior means of the training images
    logvar: np.ndarray  # (M, D) their log-variances
    labels: np.ndarray  # (M,) int64, -1 where unlabelled
    tsne_all: np.ndarray | None = None  # (N + M, 2): t-SNE of the test codes then the training codes
    umap_all: np.ndarray | None = None  # (N + M, 2): UMAP of the same, where umap-learn was installed


def encode(
    model: VAE, images: np.ndarray, *, batch_size: int = 1024, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior parameters of every image: (N, C, H, W) -> mu, logvar as (N, D) float32 arrays."""
    import torch  # here: reading a cached map must not pay torch's import (the app paints its map first)

    device = next(model.parameters()).device
    mus, logvars = [], []
    starts = range(0, len(images), batch_size)
    with torch.no_grad():
        for start in tqdm(starts, desc="encode", disable=not progress, leave=False):
            x = torch.as_tensor(images[start : start + batch_size], device=device)
            mu, logvar = model.encode(x)
            mus.append(mu.float().cpu().numpy())
            logvars.append(logvar.float().cpu().numpy())
    return np.concatenate(mus), np.concatenate(logvars)


def fit_pca(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal axes of mu: (components (2, D), mean (D,), explained variance ratio (2,)).

    Exact SVD (no randomness). A 1-D latent space gets a zero second axis, so the map stays a plane.
    """
    mean = mu.mean(axis=0)
    centered = (mu - mean).astype(np.float64)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    variance = s**2
    ratio = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    # Fix each axis' sign so the largest loading is positive: the same model always gives the same map.
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    vt = vt * signs[:, None]
    components = np.zeros((MAP_DIMS, mu.shape[1]))
    explained = np.zeros(MAP_DIMS)
    k = min(MAP_DIMS, len(vt))
    components[:k], explained[:k] = vt[:k], ratio[:k]
    return components.astype(np.float32), mean.astype(np.float32), explained.astype(np.float32)


def umap_available() -> bool:
    """UMAP is optional (umap-learn and numba: ~65 MB); the app offers it where it is installed."""
    return importlib.util.find_spec("umap") is not None


def fit_umap(mu: np.ndarray, *, seed: int = 0, neighbours: int = UMAP_NEIGHBOURS) -> np.ndarray:
    """2-D UMAP of mu: (N, D) -> (N, 2). Seeded (single-threaded then). Not metric, like t-SNE; the first
    call in a process compiles numba code (~15 s), then 10,000 points take ~30-45 s on 2 cores."""
    import warnings

    import umap  # imported here: optional, and its import alone takes seconds

    neighbours = max(2, min(neighbours, len(mu) - 1))
    log.info("UMAP of %d points (%d neighbours)...", len(mu), neighbours)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # seeded: one thread
        reducer = umap.UMAP(n_components=MAP_DIMS, n_neighbors=neighbours, random_state=seed)
        return reducer.fit_transform(mu.astype(np.float32)).astype(np.float32)


def fit_tsne(mu: np.ndarray, *, seed: int = 0, perplexity: float = TSNE_PERPLEXITY,
             method: str = "sklearn") -> np.ndarray:
    """2-D t-SNE of mu: (N, D) -> (N, 2), seeded. ``method``: "sklearn" (Barnes-Hut, about a minute for
    10,000 points on 2 cores) or "opentsne" (FFT-accelerated: as fast at 10,000 points, 4.8x faster at
    70,000, keeping as many neighbours; benchmarks/tsne_speed.py). The test split's cached maps are
    scikit-learn's, as they always were; the whole dataset's is openTSNE's."""
    perplexity = min(perplexity, max(1.0, (len(mu) - 1) / 3))
    log.info("t-SNE of %d points (perplexity %.0f, %s)...", len(mu), perplexity, method)
    mu = mu.astype(np.float32)
    if method == "opentsne":
        from openTSNE import TSNE as OpenTSNE  # imported here, as sklearn's: only fitting needs it

        tsne = OpenTSNE(n_components=MAP_DIMS, perplexity=perplexity, initialization="pca", learning_rate="auto",
                        negative_gradient_method="fft", random_state=seed, n_jobs=-1)
        return np.asarray(tsne.fit(mu), np.float32)
    if method != "sklearn":
        raise ValueError(f"unknown t-SNE method {method!r}: use 'sklearn' or 'opentsne'")
    from sklearn.manifold import TSNE  # imported here: it costs ~1 s, and only this needs it

    tsne = TSNE(n_components=MAP_DIMS, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    return tsne.fit_transform(mu).astype(np.float32)


def whole_dataset_tsne(test_mu: np.ndarray, train_mu: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """One t-SNE of the test codes then the training codes, with openTSNE (140 s for 70,000 codes here)."""
    return fit_tsne(np.concatenate([test_mu, train_mu]), seed=seed, method="opentsne")


def encode_training_split(model: VAE, images: np.ndarray, labels: np.ndarray, test_mu: np.ndarray, *,
                          tsne: bool = True, umap: bool = False, seed: int = 0, progress: bool = False) -> TrainCodes:
    """The training split's codes, and the maps of the whole dataset asked for (t-SNE; UMAP needs umap-learn)."""
    if umap and not umap_available():
        raise ImportError("UMAP needs umap-learn: pip install umap-learn (or leave out --umap)")
    mu, logvar = encode(model, images, progress=progress)
    both = np.concatenate([test_mu, mu])
    return TrainCodes(mu=mu, logvar=logvar, labels=labels.astype(np.int64),
                      tsne_all=whole_dataset_tsne(test_mu, mu, seed=seed) if tsne else None,
                      umap_all=fit_umap(both, seed=seed) if umap else None)


def compute_embedding(
    model: VAE, images: np.ndarray, labels: np.ndarray, *, tsne: bool = True, seed: int = 0, progress: bool = False
) -> Embedding:
    mu, logvar = encode(model, images, progress=progress)
    components, mean, explained = fit_pca(mu)
    return Embedding(
        mu=mu,
        logvar=logvar,
        labels=labels.astype(np.int64),
        pca=((mu - mean) @ components.T).astype(np.float32),
        pca_components=components,
        pca_mean=mean,
        pca_explained_variance_ratio=explained,
        tsne=fit_tsne(mu, seed=seed) if tsne else None,
    )
