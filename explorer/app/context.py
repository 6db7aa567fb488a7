"""What every view needs about the open model, gathered once per run from the caches.

``Context.open`` is the one way to build it: the main page and the fragments that rerun on their own
(the sliders) open the same context, with the same map settings, and nothing is loaded twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from explorer.app import compute, resources, uploads
from explorer.app.resources import Weights
from explorer.checkpoint import Checkpoint
from explorer.download import ENV_VAR
from explorer.embedding import TSNE_PERPLEXITY, Embedding
from explorer.errors import ExplorerError
from explorer.latent import active_units, dimension_order, informative_dimensions, slider_ranges
from explorer.projection import Projection

if TYPE_CHECKING:
    from explorer.model import VAE


@dataclass
class Context:
    path: str  # checkpoint folder, the key of every cache
    checkpoint: Checkpoint
    embedding: Embedding
    projection: str  # the map's key (explorer.projection.KINDS), as the URL and the state hold it
    points: int | None = None  # how many test points the map shows (None: all)
    perplexity: float = TSNE_PERPLEXITY  # t-SNE setting of the map
    split: str = "test"  # which points the map shows: "test", "train" or "all" (state.SPLITS)

    @classmethod
    def open(cls, path: str, projection: str, points: int | None = None,
             perplexity: float = TSNE_PERPLEXITY, split: str = "test") -> Context:
        """The context of the checkpoint at ``path`` with these map settings, from the shared caches."""
        return cls(path, resources.load_checkpoint(path), resources.embedding(path), projection, points, perplexity,
                   split)

    def with_map(self, projection: str, split: str | None = None) -> Context:
        """The same model and settings on another map (the decoded plane needs an invertible one)."""
        return Context(self.path, self.checkpoint, self.embedding, projection, self.points, self.perplexity,
                       self.split if split is None else split)

    @property
    def map_embedding(self) -> Embedding:
        """The codes the map's ids index: the test split's, or the test then the training split's.

        Every other view works on ``embedding`` (the test split); the map and its inspector use this one.
        """
        return self.embedding if self.split == "test" else resources.whole_embedding(self.path)

    @property
    def test_points(self) -> int:
        return len(self.embedding.mu)

    def is_training(self, index: int) -> bool:
        return index >= self.test_points

    def point_name(self, index: int) -> str:
        """'test image #12' or 'training image #40,000' for a map id."""
        if self.is_training(index):
            return f"training image #{index - self.test_points}"
        return f"test image #{index}"

    def image_of(self, index: int) -> np.ndarray | None:
        """(1, C, H, W) image of a map id, or None when its split's images are not on this machine."""
        if not self.is_training(index):
            return None if self.images is None else self.images[index : index + 1]
        try:
            images = resources.train_images(self.checkpoint)
        except ExplorerError:
            return None
        j = index - self.test_points
        return images[j : j + 1] if j < len(images) else None

    @cached_property
    def shown(self) -> np.ndarray:
        """Sorted map ids of the points on the map: a subset of the test split, the training split, or both."""
        if self.split != "test":  # the subset setting is for the test map; the others show their split whole
            start = 0 if self.split == "all" else self.test_points
            return np.arange(start, len(self.map_embedding.mu))
        n = len(self.embedding.mu)
        return compute.map_subset(n, n if self.points is None else self.points)

    @property
    def latent_dim(self) -> int:
        return self.checkpoint.model_config.latent_dim

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.checkpoint.class_names

    @cached_property
    def map(self) -> Projection:
        """The map: what it can place, invert and claim (explorer.projection); fitted ones are computed once."""
        return resources.map_of(self.path, self.projection, self.points, self.perplexity, self.split)

    @property
    def coords(self) -> np.ndarray:
        """(N, 2) map coordinates; on a t-SNE or UMAP of a subset, NaN off the map."""
        return self.map.coords

    @property
    def model(self) -> VAE:
        """The VAE, loaded on first use: a view that draws only the map never waits for torch."""
        return resources.model(self.checkpoint)

    @cached_property
    def weights(self) -> Weights:
        """The decoder as the page runs it (packed once per model for every session)."""
        return resources.weights(self.path)

    @cached_property
    def dark_background(self) -> bool:
        """Whether the model's images are light ink on dark (MNIST-like): how uploads and drawings are prepared."""
        typical = compute.decode(self.model, self.embedding.mu.mean(axis=0))[0]  # (C, H, W)
        return uploads.is_dark_background(self.checkpoint.dataset, typical)

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
