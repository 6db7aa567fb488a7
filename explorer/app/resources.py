"""Where models come from and how they are cached across reruns and sessions.

``st.cache_resource`` holds one frozen model per checkpoint for every session (never mutated);
``st.cache_data`` holds arrays, keyed by the checkpoint and its file's modification time so a retrained
model is never served stale. The test images are a read-only ``cache_resource`` instead: ~31 MB for
Fashion-MNIST would be copied on every rerun by ``cache_data``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas  # noqa: F401 - see below
import streamlit as st

from explorer import checkpoint as ckpt
from explorer import projection
from explorer.app import compute
from explorer.embedding import TSNE_PERPLEXITY, Embedding, TrainCodes, compute_embedding
from explorer.errors import CheckpointError
from explorer.projection import Projection

if TYPE_CHECKING:
    from explorer.model import VAE

# pandas is imported here, once, before any session's script runs (sessions wait for this module's import):
# imported lazily instead (by st.dataframe, in one session's thread), a half-initialised pandas sat in
# sys.modules while plotly, in another session, looked it up without importing it (get_module(should_load=False))
# and failed with "partially initialized module 'pandas' has no attribute 'Series'" when many opened at once.
# ~0.2 s of start-up.
REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINED = REPO_ROOT / "trained"
MODELS_ENV = "LATENT_EXPLORER_MODELS"  # extra folders (os.pathsep-separated) whose checkpoints the app may open
DEFAULT_MODEL = "digits"  # opens offline: its data ships with scikit-learn


def model_roots() -> list[Path]:
    """Folders whose checkpoints the app lists and may open: trained/ and those in $LATENT_EXPLORER_MODELS."""
    extra = [Path(p).expanduser().resolve() for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    return [TRAINED.resolve(), *extra]


def ignored_model_roots() -> list[str]:
    """What in $LATENT_EXPLORER_MODELS gives no model, and why: one sentence each, for the sidebar."""
    said = []
    for root in model_roots()[1:]:
        if not root.exists():
            said.append(f"{root} does not exist")
        elif root.is_file():
            said.append(f"{root} is a file; give the folder that holds checkpoint folders")
        elif not ckpt.is_checkpoint(root) and not ckpt.list_checkpoints(root):
            said.append(f"{root} holds no checkpoint (a folder with {ckpt.CONFIG_FILE} and {ckpt.WEIGHTS_FILE})")
    return said


def available_models() -> list[Path]:
    """Every checkpoint folder directly under an allowed root (a root may itself be a checkpoint)."""
    found: list[Path] = []
    for root in model_roots():
        candidates = [root] if ckpt.is_checkpoint(root) else ckpt.list_checkpoints(root)
        found += [p.resolve() for p in candidates if p.resolve() not in found]
    return found


def resolve_typed_path(text: str) -> Path:
    """A folder path typed by the user, accepted only if it is a checkpoint inside an allowed root."""
    path = Path(text.strip()).expanduser()
    if not path.is_absolute():
        path = REPO_ROOT / path
    path = path.resolve()
    roots = model_roots()
    if not any(path == root or root in path.parents for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise CheckpointError(
            f"{path} is outside the folders this app may open ({allowed}). Move the checkpoint into trained/, "
            f"or start the app with {MODELS_ENV}=<folder> to allow another folder."
        )
    if not ckpt.is_checkpoint(path):
        ckpt.read_config(path)  # raises the core's message: no such folder, no config.json, ...
        raise CheckpointError(f"{path} has {ckpt.CONFIG_FILE} but no {ckpt.WEIGHTS_FILE}; its training has not "
                              "finished an epoch. Pick another model.")
    return path


@functools.cache
def _one_torch_thread() -> None:
    """Once per server: a small decoder is fastest single-threaded; 2 threads cost 10-100x here."""
    import torch

    torch.set_num_threads(1)


def model(checkpoint: ckpt.Checkpoint) -> VAE:
    """The checkpoint's model, read on first use (the page draws its map before torch is imported)."""
    loaded = checkpoint.model
    _one_torch_thread()
    return loaded


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def version(path: str) -> tuple[float, float]:
    """When the checkpoint's weights and cached map were last written: part of every cache key derived from
    them, so a model retrained in place is never answered from the old one's cache."""
    return _mtime(Path(path) / ckpt.WEIGHTS_FILE), _mtime(Path(path) / ckpt.EMBEDDING_FILE)


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def _load_checkpoint(path: str, weights_mtime: float) -> ckpt.Checkpoint:
    return ckpt.load(path, lazy=True)  # its weights are read (and checked) on first use: see model()


def load_checkpoint(path: str) -> ckpt.Checkpoint:
    """The checkpoint at ``path`` (frozen model, eval mode), loaded once per file version for all sessions."""
    return _load_checkpoint(path, _mtime(Path(path) / ckpt.WEIGHTS_FILE))


@st.cache_resource(show_spinner="Reading the test images...", max_entries=4)
def _test_images(dataset: str, data_dir: str | None, image_size: int | None, labels: str | None = None,
                 class_names: str | None = None) -> np.ndarray:
    from explorer.data import load_dataset  # here, not at the top: it imports scikit-learn (~1 s at start-up)

    data = load_dataset(dataset, data_dir=data_dir, image_size=image_size, download=False, test_only=True,
                        labels=labels, class_names=class_names)
    images = data.test.images
    images.flags.writeable = False  # shared by every session: nobody may change it
    return images


def test_images(checkpoint: ckpt.Checkpoint) -> np.ndarray:
    """(N, C, H, W) test images in the embedding's order. Raises DataError (with what to do) when not on disk."""
    tc = checkpoint.train_config
    return _test_images(checkpoint.dataset, tc.data_dir, tc.image_size, tc.labels, tc.class_names)


@st.cache_data(show_spinner="Encoding the test set for the map...", max_entries=8)
def _embedding(path: str, embedding_mtime: float) -> Embedding:
    checkpoint = load_checkpoint(path)
    if checkpoint.embedding_path.is_file():
        return ckpt.load_embedding(checkpoint.path)
    from explorer.data import load_dataset  # imports scikit-learn: only when the embedding must be computed

    tc = checkpoint.train_config
    test = load_dataset(checkpoint.dataset, data_dir=tc.data_dir, image_size=tc.image_size, download=False,
                        test_only=True, labels=tc.labels, class_names=tc.class_names).test
    return compute_embedding(model(checkpoint), test.images, test.labels, tsne=False, seed=tc.seed)


@dataclass(frozen=True)
class Weights:
    """The decoder as the page runs it (explorer/app/pad/decoder.mjs), or why it cannot."""

    blob: bytes | None  # the packed decoder, or None when the page cannot run it
    model_id: str  # the page's name for this decoder (checkpoint and file version)
    unsupported: str | None  # why the page cannot decode this model


@st.cache_resource(show_spinner=False, max_entries=8)
def _weights(path: str, weights_mtime: float) -> Weights:
    from explorer.app.weights_blob import pack, unsupported_reason  # torch.nn: only once a model is used

    model_ = model(load_checkpoint(path))
    reason = unsupported_reason(model_)
    if reason is not None:
        return Weights(None, "", reason)
    model_id = _decoder_id(path, weights_mtime)
    return Weights(pack(model_, model_id=model_id), model_id, None)


def _decoder_id(path: str, weights_mtime: float) -> str:
    return f"{Path(path).name}-{hashlib.sha1(f'{path}@{weights_mtime}'.encode()).hexdigest()[:12]}"


def decoder_id(path: str) -> str:
    """The page's name for the checkpoint's decoder, without loading it (the map asks before torch is imported)."""
    return _decoder_id(path, _mtime(Path(path) / ckpt.WEIGHTS_FILE))


def weights(path: str) -> Weights:
    """The decoder blob of the checkpoint at ``path``, packed once per file version for every session."""
    return _weights(path, _mtime(Path(path) / ckpt.WEIGHTS_FILE))


@st.cache_resource(show_spinner=False, max_entries=4)
def _encoder_weights(path: str, weights_mtime: float) -> Weights:
    from explorer.app.weights_blob import UnsupportedDecoder, pack_encoder

    model_id = _decoder_id(path, weights_mtime)  # the decoder's name: the page pairs them by it
    try:
        return Weights(pack_encoder(model(load_checkpoint(path)), model_id=model_id), model_id, None)
    except UnsupportedDecoder as err:
        return Weights(None, model_id, str(err))


def encoder_weights(path: str) -> Weights:
    """The encoder blob of the checkpoint at ``path`` (the Explain view encodes in the page), packed once."""
    return _encoder_weights(path, _mtime(Path(path) / ckpt.WEIGHTS_FILE))


@st.cache_resource(show_spinner=False, max_entries=4)
def _train_codes(path: str, codes_mtime: float, test_points: int) -> TrainCodes | None:
    return ckpt.load_train_codes(Path(path), test_points)


def train_codes(path: str) -> TrainCodes | None:
    """The training split's codes cached beside the checkpoint (``python -m explorer embed-train``), or None."""
    file = Path(path) / ckpt.TRAIN_CODES_FILE
    return _train_codes(path, _mtime(file) if file.exists() else 0.0, len(embedding(path).mu))


@st.cache_resource(show_spinner=False, max_entries=4)
def _scores(path: str, scores_mtime: float, test_points: int) -> tuple[dict[str, np.ndarray], int] | None:
    return ckpt.load_scores(Path(path), test_points)


def scores(path: str) -> tuple[dict[str, np.ndarray], int] | None:
    """Per test image -ELBO, its terms and the IWAE bound, cached beside the checkpoint (python -m explorer
    score), with the draws they took; None when there are none. Raises CheckpointError for a damaged file."""
    file = Path(path) / ckpt.SCORES_FILE
    return _scores(path, _mtime(file) if file.exists() else 0.0, len(embedding(path).mu))


@st.cache_resource(show_spinner=False, max_entries=4)
def _whole_embedding(path: str, version_: tuple[float, float], codes_mtime: float) -> Embedding:
    test, codes = embedding(path), train_codes(path)
    mu = np.concatenate([test.mu, codes.mu])
    return Embedding(mu=mu, logvar=np.concatenate([test.logvar, codes.logvar]),
                     labels=np.concatenate([test.labels, codes.labels]),
                     pca=((mu - test.pca_mean) @ test.pca_components.T).astype(np.float32),  # the test split's axes
                     pca_components=test.pca_components, pca_mean=test.pca_mean,
                     pca_explained_variance_ratio=test.pca_explained_variance_ratio, tsne=codes.tsne_all)


def whole_embedding(path: str) -> Embedding:
    """The test codes then the training codes as one Embedding (ids 0..N-1 test, N.. training): PCA on the
    test split's axes, t-SNE the whole dataset's. Only for checkpoints with ``train_codes``."""
    file = Path(path) / ckpt.TRAIN_CODES_FILE
    return _whole_embedding(path, version(path), _mtime(file))


@st.cache_resource(show_spinner="Reading the training images...", max_entries=2)
def _train_images(dataset: str, data_dir: str | None, image_size: int | None, labels: str | None = None,
                  class_names: str | None = None) -> np.ndarray:
    from explorer.data import load_dataset

    images = load_dataset(dataset, data_dir=data_dir, image_size=image_size, download=False, labels=labels,
                          class_names=class_names).train.images
    images.flags.writeable = False
    return images


def train_images(checkpoint: ckpt.Checkpoint) -> np.ndarray:
    """(M, C, H, W) training images in the training codes' order (Fashion-MNIST: 188 MB, shared by all sessions)."""
    tc = checkpoint.train_config
    return _train_images(checkpoint.dataset, tc.data_dir, tc.image_size, tc.labels, tc.class_names)


def embedding(path: str) -> Embedding:
    """The checkpoint's cached embedding, or one encoded now (once) when embedding.npz is missing."""
    return _embedding(path, _mtime(Path(path) / ckpt.EMBEDDING_FILE))


@st.cache_data(show_spinner=False, max_entries=16)  # t-SNE and UMAP maps together (8 of each before)
def _fitted_map(path: str, embedding_mtime: float, method: str, points: int, seed: int,
                perplexity: float) -> np.ndarray:
    """(N, 2) t-SNE or UMAP coordinates of the map's subset of ``points``, NaN off the map, under a timed spinner."""
    mu = embedding(path).mu
    shown = compute.map_subset(len(mu), points)
    kind = projection.KINDS[method]
    what, estimate = kind.fit_estimate(len(shown), perplexity)
    with st.spinner(f"Computing {what} (about {estimate} s; done once, then cached for every session)...",
                    show_time=True):
        coords = np.full((len(mu), 2), np.nan, dtype=np.float32)  # NaN: not on this map
        coords[shown] = kind.fit_coords(mu[shown], seed=seed, perplexity=perplexity)
    return coords


def _fit(path: str, method: str, points: int, perplexity: float = 0.0) -> np.ndarray:
    return _fitted_map(path, _mtime(Path(path) / ckpt.EMBEDDING_FILE), method, points,
                       load_checkpoint(path).train_config.seed, float(perplexity))


def map_of(path: str, key: str, points: int | None = None, perplexity: float = TSNE_PERPLEXITY,
           split: str = "test") -> Projection:
    """The map ``key`` of the checkpoint at ``path``; a fitted one over the map's subset of ``points`` (NaN
    elsewhere), computed once per model, subset size, perplexity and seed, for every session.

    The checkpoint's cached t-SNE serves all points at the default perplexity.
    """
    if split != "test":  # the whole dataset: PCA, the latent plane, or its cached t-SNE (default perplexity) or UMAP
        umap = train_codes(path).umap_all if key == projection.UMAP.key else None
        return projection.make(key, whole_embedding(path), umap)
    emb = embedding(path)
    kind = projection.KINDS[key]
    if not kind.fitted:
        return projection.make(key, emb)
    points = len(emb.mu) if points is None else min(points, len(emb.mu))
    if kind is projection.TSNE and emb.tsne is not None and points == len(emb.mu) and perplexity == TSNE_PERPLEXITY:
        return projection.make(key, emb)
    return projection.make(key, emb, _fit(path, key, points, perplexity))
