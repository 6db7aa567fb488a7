"""What every view needs about the open model, gathered once per run from the caches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from explorer.app import compute, resources
from explorer.checkpoint import Checkpoint
from explorer.download import ENV_VAR
from explorer.embedding import TSNE_PERPLEXITY, Embedding
from explorer.errors import ExplorerError
from explorer.latent import active_units, dimension_order, informative_dimensions, slider_ranges

PROJECTIONS = {"pca": "PCA", "tsne": "t-SNE (not metric)", "umap": "UMAP (not metric)",
               "latent": "latent plane (z1, z2)"}
# Maps fitted to the data alone: they cannot place a new point or be inverted, so new points sit among their
# nearest encoded neighbours (labelled approximate) and the live probe is not offered.
FITTED = ("tsne", "umap")
SHORT_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP", "latent": "the latent plane"}


@dataclass
class Context:
    path: str  # checkpoint folder, the key of every cache
    checkpoint: Checkpoint
    embedding: Embedding
    projection: str  # a key of PROJECTIONS
    points: int | None = None  # how many test points the map shows (None: all)
    perplexity: float = TSNE_PERPLEXITY  # t-SNE setting of the map

    @cached_property
    def shown(self) -> np.ndarray:
        """Sorted indices of the test points on the map."""
        n = len(self.embedding.mu)
        return compute.map_subset(n, n if self.points is None else self.points)

    @property
    def latent_dim(self) -> int:
        return self.checkpoint.model_config.latent_dim

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.checkpoint.class_names

    @cached_property
    def coords(self) -> np.ndarray:
        """(N, 2) map coordinates in the chosen projection; on a t-SNE or UMAP of a subset, NaN off the map."""
        fitted = None
        if self.projection == "tsne":
            fitted = resources.tsne(self.path, self.points, self.perplexity)
        elif self.projection == "umap":
            fitted = resources.umap(self.path, self.points)
        return compute.map_coords(self.embedding, self.projection, fitted)

    @property
    def map_name(self) -> str:
        """'t-SNE', 'UMAP', 'PCA': the projection's name inside a sentence."""
        return SHORT_NAMES[self.projection]

    @property
    def approximate(self) -> bool:
        """Whether new points can only be placed among their neighbours on this map (t-SNE, UMAP)."""
        return self.projection in FITTED

    @cached_property
    def kl(self) -> np.ndarray:
        return compute.kl_per_dim(self.checkpoint.metrics, self.embedding)

    @cached_property
    def dim_order(self) -> np.ndarray:
        return dimension_order(self.kl)

    @cached_property
    def informative(self) -> np.ndarray:
        """Dimensions whose average KL is above the collapse threshold: the sliders show these."""
        return informative_dimensions(self.kl)

    @cached_property
    def active_units(self) -> np.ndarray:
        """Burda et al.'s active units, from the variance of the test split's posterior means."""
        return active_units(self.embedding.mu)

    @cached_property
    def ranges(self) -> np.ndarray:
        return slider_ranges(self.embedding.mu)

    @cached_property
    def _images(self) -> tuple[np.ndarray | None, str | None]:
        try:
            images = resources.test_images(self.checkpoint)
        except ExplorerError as err:
            return None, missing_data_message(self.checkpoint.dataset, err)
        if len(images) != len(self.embedding.mu):
            return None, (f"The test images on disk ({len(images)}) do not match the model's map "
                          f"({len(self.embedding.mu)} points); original images are not shown.")
        return images, None

    @property
    def images(self) -> np.ndarray | None:
        """The test images in map order, or None when the dataset is not on this machine."""
        return self._images[0]

    @property
    def images_message(self) -> str | None:
        """Why there are no original images, and how to get them."""
        return self._images[1]


def missing_data_message(dataset: str, err: Exception) -> str:
    folder_hint = f"put its four .gz files in a folder and set {ENV_VAR} to that folder"
    hint = {
        "fashion-mnist": f"`sudo apt-get install dataset-fashion-mnist`, or {folder_hint}",
        "mnist": folder_hint,
    }.get(dataset, f"restore {dataset}")
    first_line = str(err).splitlines()[0]
    return f"The original images are not on this machine ({first_line}). To see them: {hint}, then reload."
