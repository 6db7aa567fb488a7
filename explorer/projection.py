"""The maps of a latent space: one type per projection, which knows what it can and cannot do.

Every 2-D map of the posterior means answers the same questions: its name, whether it is exact (a new
code lands where the data's own projection would put it) and metric (distances on it mean something),
the coordinates of the encoded set, where a new code goes, and which code a spot of the map stands for.
The app asks the projection instead of comparing names; a notebook can place points without the app:

    proj = projection.make("pca", embedding)
    xy = proj.place(z)          # (M, D) -> (M, 2), exact on PCA
    z_back = proj.inverse(xy)   # (M, 2) -> (M, D), on the PCA plane

t-SNE and UMAP are fitted to the data alone: they cannot place a new code, so ``place`` puts it at the
mean map position of its nearest encoded neighbours, and ``inverse`` is not offered (``local_code``
gives the mean code of the encoded points nearest a spot, which is approximate and labelled so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from explorer.embedding import TSNE_PERPLEXITY, Embedding, fit_tsne, fit_umap, umap_available
from explorer.latent import nearest_neighbours

PLACEMENT_NEIGHBOURS = 5  # a new code on a fitted map sits at the mean position of this many nearest codes


class NotInvertible(ValueError):
    """The map has no inverse: a spot on it stands for no single latent point."""


@dataclass(frozen=True)
class Projection:
    """A 2-D map of the encoded set. ``coords`` is (N, 2); NaN rows are points this map does not show."""

    key: ClassVar[str]  # the name in URLs and caches: "pca", "latent", "tsne", "umap"
    label: ClassVar[str]  # as the map-projection choice shows it
    name: ClassVar[str]  # inside a sentence: "the PCA map is ..."
    exact: ClassVar[bool]  # a new code lands exactly where the data's own projection would put it
    metric: ClassVar[bool]  # distances and cluster sizes on the map mean something
    invertible: ClassVar[bool]  # a spot on the map maps back to one latent point
    fitted: ClassVar[bool] = False  # computed by fitting to the data (seconds to minutes), then cached

    mu: np.ndarray = field(repr=False)  # (N, D) the posterior means the map was made of
    coords: np.ndarray = field(repr=False)  # (N, 2) their map positions

    def place(self, z: np.ndarray) -> np.ndarray:
        """(M, D) or (D,) latent points -> (M, 2) map positions."""
        raise NotImplementedError

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        """(M, 2) map positions -> (M, D) latent points. Raises NotInvertible on fitted maps."""
        raise NotInvertible(f"{self.label} has no inverse: a spot on it stands for no single latent point.")

    def axis_titles(self) -> tuple[str, str]:
        raise NotImplementedError

    def local_code(self, xy: np.ndarray, k: int = PLACEMENT_NEIGHBOURS) -> np.ndarray:
        """(M, 2) map positions -> (M, D): the mean code of the ``k`` shown points nearest each position.

        The exact inverse where there is one is ``inverse``; this is what a fitted map can offer instead.
        """
        xy = np.atleast_2d(np.asarray(xy, np.float64))
        shown = self.shown
        return np.stack([self.mu[shown[nearest_neighbours(self.coords[shown], q, k)]].mean(axis=0) for q in xy])

    @property
    def shown(self) -> np.ndarray:
        """Indices of the points this map shows (a t-SNE of a subset leaves the rest NaN)."""
        return np.flatnonzero(np.isfinite(self.coords[:, 0]))


@dataclass(frozen=True)
class PCA(Projection):
    """The first two principal axes of mu: linear, exact and metric (distances shrink, never grow)."""

    key: ClassVar[str] = "pca"
    label: ClassVar[str] = "PCA"
    name: ClassVar[str] = "PCA"
    exact: ClassVar[bool] = True
    metric: ClassVar[bool] = True
    invertible: ClassVar[bool] = True

    components: np.ndarray = field(default=None, repr=False)  # (2, D) principal axes (rows)
    mean: np.ndarray = field(default=None, repr=False)  # (D,) the origin of the plane
    explained_variance_ratio: np.ndarray = field(default=None, repr=False)  # (2,)

    @classmethod
    def of(cls, embedding: Embedding) -> PCA:
        return cls(mu=embedding.mu, coords=embedding.pca, components=embedding.pca_components,
                   mean=embedding.pca_mean, explained_variance_ratio=embedding.pca_explained_variance_ratio)

    def place(self, z: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(z) - self.mean) @ self.components.T).astype(np.float32)

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        """Points of the PCA plane through the data mean: exact for codes on it, the nearest such point else."""
        return (self.mean + np.atleast_2d(xy) @ self.components).astype(np.float32)

    def axis_titles(self) -> tuple[str, str]:
        return tuple(f"PCA component {i + 1} ({100 * self.explained_variance_ratio[i]:.0f}% of variance)"
                     for i in range(2))


@dataclass(frozen=True)
class LatentPlane(Projection):
    """A 2-D model's latent space itself: the identity, exact, metric and invertible."""

    key: ClassVar[str] = "latent"
    label: ClassVar[str] = "latent plane (z1, z2)"
    name: ClassVar[str] = "the latent plane"
    exact: ClassVar[bool] = True
    metric: ClassVar[bool] = True
    invertible: ClassVar[bool] = True

    @classmethod
    def of(cls, embedding: Embedding) -> LatentPlane:
        if embedding.mu.shape[1] != 2:
            raise ValueError(f"The latent plane is a map only of 2-D models; this one has {embedding.mu.shape[1]} "
                             "dimensions. Use PCA.")
        return cls(mu=embedding.mu, coords=embedding.mu[:, :2])

    def place(self, z: np.ndarray) -> np.ndarray:
        return np.atleast_2d(z)[:, :2].astype(np.float32)

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        return np.atleast_2d(xy).astype(np.float32)

    def axis_titles(self) -> tuple[str, str]:
        return "z1 (latent dimension 1)", "z2 (latent dimension 2)"


@dataclass(frozen=True)
class Fitted(Projection):
    """A neighbour embedding fitted to the data alone: keeps neighbours together, not distances."""

    exact: ClassVar[bool] = False
    metric: ClassVar[bool] = False
    invertible: ClassVar[bool] = False
    fitted: ClassVar[bool] = True
    fit_seconds_per_1000: ClassVar[float]  # on 2 cores, to size the progress message
    fit_min_seconds: ClassVar[float]

    @classmethod
    def fit_coords(cls, mu: np.ndarray, *, seed: int, perplexity: float) -> np.ndarray:
        """(N, D) codes -> (N, 2) map coordinates. ``perplexity`` is t-SNE's; UMAP has none and ignores it."""
        raise NotImplementedError

    @classmethod
    def fit_estimate(cls, n: int, perplexity: float) -> tuple[str, int]:
        """('t-SNE of 10,000 points, perplexity 30', about how many seconds it takes)."""
        seconds = max(cls.fit_min_seconds, round(n * cls.fit_seconds_per_1000 / 1000))
        return f"{cls.name} of {n:,} points{cls._settings(perplexity)}", int(seconds)

    @classmethod
    def _settings(cls, perplexity: float) -> str:
        return ""

    def place(self, z: np.ndarray) -> np.ndarray:
        """Approximate: each code goes to the mean map position of its nearest encoded (and shown) codes."""
        shown = self.shown
        return np.stack([self.coords[shown[nearest_neighbours(self.mu[shown], q, PLACEMENT_NEIGHBOURS)]].mean(axis=0)
                         for q in np.atleast_2d(z)]).astype(np.float32)

    def axis_titles(self) -> tuple[str, str]:
        return f"{self.name} 1 (not metric)", f"{self.name} 2 (not metric)"


@dataclass(frozen=True)
class TSNE(Fitted):
    key: ClassVar[str] = "tsne"
    label: ClassVar[str] = "t-SNE (not metric)"
    name: ClassVar[str] = "t-SNE"
    fit_seconds_per_1000: ClassVar[float] = 6  # about a minute for 10,000 points
    fit_min_seconds: ClassVar[float] = 1

    @classmethod
    def fit(cls, mu: np.ndarray, *, seed: int = 0, perplexity: float = TSNE_PERPLEXITY) -> TSNE:
        return cls(mu=mu, coords=cls.fit_coords(mu, seed=seed, perplexity=perplexity))

    @classmethod
    def fit_coords(cls, mu: np.ndarray, *, seed: int, perplexity: float = TSNE_PERPLEXITY) -> np.ndarray:
        return fit_tsne(mu, seed=seed, perplexity=perplexity)

    @classmethod
    def _settings(cls, perplexity: float) -> str:
        return f", perplexity {perplexity:g}"


@dataclass(frozen=True)
class UMAP(Fitted):
    key: ClassVar[str] = "umap"
    label: ClassVar[str] = "UMAP (not metric)"
    name: ClassVar[str] = "UMAP"
    fit_seconds_per_1000: ClassVar[float] = 4  # 44 s for 10,000, numba's first compilation included
    fit_min_seconds: ClassVar[float] = 15

    @classmethod
    def fit(cls, mu: np.ndarray, *, seed: int = 0) -> UMAP:
        return cls(mu=mu, coords=cls.fit_coords(mu, seed=seed))

    @classmethod
    def fit_coords(cls, mu: np.ndarray, *, seed: int, perplexity: float = TSNE_PERPLEXITY) -> np.ndarray:
        return fit_umap(mu, seed=seed)


KINDS: dict[str, type[Projection]] = {kind.key: kind for kind in (PCA, TSNE, UMAP, LatentPlane)}


def plane_for(latent_dim: int) -> type[Projection]:
    """The invertible map a decoded plane or the 2-D pad uses: the latent plane of a 2-D model, else PCA."""
    return LatentPlane if latent_dim == 2 else PCA


def available(latent_dim: int) -> tuple[str, ...]:
    """The maps a model offers, in menu order: UMAP where umap-learn is installed, the plane for 2-D models."""
    return ("pca", "tsne") + (("umap",) if umap_available() else ()) + (("latent",) if latent_dim == 2 else ())


def make(key: str, embedding: Embedding, coords: np.ndarray | None = None) -> Projection:
    """The projection ``key`` of an embedding; fitted maps take their ``coords`` (else t-SNE's cached ones)."""
    if key not in KINDS:
        raise ValueError(f"Unknown map {key!r}: choose one of {', '.join(KINDS)}.")
    kind = KINDS[key]
    if kind in (PCA, LatentPlane):
        return kind.of(embedding)
    if coords is None and kind is TSNE:
        coords = embedding.tsne
    if coords is None:
        raise ValueError(f"No {kind.name} coordinates were given or cached; compute them first.")
    if coords.shape != (len(embedding.mu), 2):
        raise ValueError(f"{kind.name} coordinates have shape {coords.shape}, expected ({len(embedding.mu)}, 2).")
    return kind(mu=embedding.mu, coords=coords)
