"""Datasets as (N, C, H, W) float32 arrays in [0, 1]: the built-in ones, or the user's own files.

`load_dataset(name)` takes "digits" (scikit-learn, 8x8, never downloaded), "fashion-mnist" or "mnist"
(the standard 60k/10k split, found on disk or downloaded: see explorer.download), or else a path: a
folder of images (explorer.data_folder) or a .npz/.npy file (explorer.data_arrays). A built-in name
wins over a folder of the same name; write "./digits" for the folder. Datasets without a standard
split (digits and paths) are split with a fixed seed, stratified by label where the classes allow.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from explorer.data_arrays import (ARRAY_LOADERS, UNLABELLED, LabelledImages, class_names_file, images_from_array,
                                  labels_from_array, load_array_file, load_class_names, load_labels_file)
from explorer.data_folder import load_image_folder
from explorer.download import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, fetch_dataset
from explorer.errors import DataError
from explorer.idx import read_idx_pair

logger = logging.getLogger(__name__)

DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IDX_CLASS_NAMES = {"fashion-mnist": FASHION_MNIST_CLASSES, "mnist": DIGIT_CLASSES}
DIGITS_MAX_VALUE = 16.0  # sklearn's digits are counts of 0..16 set pixels per 4x4 block
MIN_IMAGES = 2  # one for each split
PATH_SEPARATORS = "/" + os.sep  # stripped from the end of a dataset path: "data/" is "data"


@dataclass(frozen=True)
class ImageSplit:
    """Images and their labels, in matching order."""

    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64; -1 where unlabelled

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.float32:
            raise ValueError(f"ImageSplit.images must be (N, C, H, W) float32, got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.labels.shape != self.images.shape[:1] or self.labels.dtype != np.int64:
            raise ValueError(f"ImageSplit.labels must be (N,) int64 with N = {len(self.images)}, got "
                             f"{self.labels.dtype} {self.labels.shape}")


@dataclass(frozen=True)
class Dataset:
    """A named dataset with its train and test splits."""

    name: str  # "digits", "fashion-mnist", "mnist", or the path the user gave
    train: ImageSplit
    test: ImageSplit
    class_names: tuple[str, ...]  # class_names[label]; () when unlabelled

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        channels, height, width = self.train.images.shape[1:]
        return channels, height, width


@dataclass(frozen=True)
class _Options:
    """load_dataset's keyword arguments, passed on to whichever loader the name selects."""

    data_dir: str | Path | None
    image_size: int | None
    download: bool
    split_seed: int
    test_fraction: float
    test_only: bool
    labels: str | None  # a labels file for an array dataset (--labels)
    class_names: str | None  # a class-names file (--class-names)


def split_indices(labels: np.ndarray, test_fraction: float, seed: int,
                  source: str = "the dataset") -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint (train, test) indices; stratified when all images are labelled and each class has 2+."""
    count = len(labels)
    test_count = max(1, round(count * test_fraction))
    if count < MIN_IMAGES or test_count >= count:
        raise DataError(f"Cannot split the {count} image(s) of {source} into a train and a test set with test_fraction "
                        f"{test_fraction}. Give more images, or a test_fraction nearer 0.5.")
    classes, per_class = np.unique(labels, return_counts=True)
    stratifiable = (classes.min() > UNLABELLED and per_class.min() >= MIN_IMAGES
                    and len(classes) <= min(test_count, count - test_count))
    train, test = train_test_split(np.arange(count), test_size=test_count, random_state=seed,
                                   stratify=labels if stratifiable else None)
    return np.sort(train), np.sort(test)


def _split(name: str, data: LabelledImages, options: _Options) -> Dataset:
    train, test = split_indices(data.labels, options.test_fraction, options.split_seed, source=name)
    return Dataset(name=name, train=ImageSplit(data.images[train], data.labels[train]),
                   test=ImageSplit(data.images[test], data.labels[test]), class_names=data.class_names)


def _load_digits(name: str, options: _Options) -> Dataset:
    digits = load_digits()
    images = images_from_array(digits.images / DIGITS_MAX_VALUE, name, options.image_size)  # (1797, 1, 8, 8)
    return _split(name, LabelledImages(images, digits.target.astype(np.int64), DIGIT_CLASSES), options)


def _idx_split(images_path: Path, labels_path: Path, class_names: tuple[str, ...],
               image_size: int | None) -> ImageSplit:
    images, labels = read_idx_pair(images_path, labels_path)  # (N, H, W), (N,) uint8
    if len(labels) and labels.max() >= len(class_names):
        raise DataError(f"{labels_path} holds label {labels.max()}, but the dataset has {len(class_names)} classes. "
                        "The file is not the expected one: delete it and download it again.")
    return ImageSplit(images_from_array(images, str(images_path), image_size), labels.astype(np.int64))


def _empty_like(split: ImageSplit) -> ImageSplit:
    return ImageSplit(np.empty((0, *split.images.shape[1:]), np.float32), np.empty(0, np.int64))


def _load_idx(name: str, options: _Options) -> Dataset:
    paths = fetch_dataset(name, data_dir=options.data_dir, download=options.download)
    class_names = IDX_CLASS_NAMES[name]
    test = _idx_split(paths[TEST_IMAGES], paths[TEST_LABELS], class_names, options.image_size)
    train = _empty_like(test) if options.test_only else \
        _idx_split(paths[TRAIN_IMAGES], paths[TRAIN_LABELS], class_names, options.image_size)
    return Dataset(name=name, train=train, test=test, class_names=class_names)


def _load_path(name: str, options: _Options) -> Dataset:
    path = Path(name).expanduser()
    if path.is_dir():
        if options.labels or options.class_names:
            raise DataError(f"{path} is a folder of images: its classes are its sub-folders, and --labels and "
                            "--class-names are for .npz/.npy files. Leave them out, or put each class's images in a "
                            "sub-folder named after the class.")
        return _split(name, load_image_folder(path, options.image_size), options)
    if path.is_file() and path.suffix.lower() in ARRAY_LOADERS:
        return _split(name, _with_side_files(load_array_file(path, options.image_size), path, options), options)
    if path.exists():
        raise DataError(f"Cannot load {path}: give a folder of images, or a {' or '.join(ARRAY_LOADERS)} file.")
    close = difflib.get_close_matches(name.lower(), BUILTIN_DATASETS, n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    raise DataError(f"Unknown dataset {name!r}: it is not one of {', '.join(BUILTIN_DATASETS)}, and no file or "
                    f"folder exists at that path. {hint}Check the spelling, or give the path to a folder of images or "
                    "to a .npz/.npy file.")


def _with_side_files(data: LabelledImages, path: Path, options: _Options) -> LabelledImages:
    """Labels and class names from their own files (--labels, --class-names), which win over the array file's."""
    if options.labels is None and options.class_names is None:
        return data
    names = np.array(load_class_names(options.class_names)) if options.class_names else None
    if options.labels is not None:
        labels, class_names = labels_from_array(load_labels_file(Path(options.labels)), len(data.images),
                                                f"{path} with labels {options.labels}", names)
        return LabelledImages(data.images, labels, class_names)
    if (data.labels == UNLABELLED).all():
        raise DataError(f"{path} has no labels, so --class-names has nothing to name. Give the labels too "
                        "(--labels FILE), or leave --class-names out.")
    labels, class_names = labels_from_array(data.labels, len(data.images), str(path), names)
    return LabelledImages(data.images, labels, class_names)


def missing_files(dataset: str, labels: str | None = None, class_names: str | None = None) -> dict[str, str]:
    """The files of a dataset that are not on disk, by the flag that names them, e.g. {'--labels': 'y.npy'}.

    A built-in name has no file of its own (fetching it is explorer.download's business), so it is never missing.
    """
    files = {"--dataset": None if canonical_name(dataset) in BUILTIN_LOADERS else Path(dataset).expanduser(),
             "--labels": Path(labels).expanduser() if labels else None,
             "--class-names": class_names_file(class_names)[0] if class_names else None}
    given = {"--dataset": dataset, "--labels": labels, "--class-names": class_names}
    return {flag: given[flag] for flag, path in files.items() if path is not None and not path.exists()}


def canonical_name(name: str) -> str:
    """A built-in dataset's own spelling for any case of it ('Fashion-MNIST' -> 'fashion-mnist'); a path as given,
    without a trailing slash. './digits' stays as typed: it is how one names a folder called digits."""
    if name.strip().lower() in BUILTIN_LOADERS:
        return name.strip().lower()
    return name.rstrip(PATH_SEPARATORS) or name  # '/' alone stays '/'


BUILTIN_LOADERS: dict[str, Callable[[str, _Options], Dataset]] = {
    "digits": _load_digits,
    "fashion-mnist": _load_idx,
    "mnist": _load_idx,
}
BUILTIN_DATASETS = tuple(BUILTIN_LOADERS)


def load_dataset(name: str, *, data_dir: str | Path | None = None, image_size: int | None = None,
                 download: bool = True, split_seed: int = 0, test_fraction: float = 0.2,
                 test_only: bool = False, labels: str | None = None, class_names: str | None = None) -> Dataset:
    """Load a built-in dataset by name, or the user's images from a path; see the module docstring.

    image_size resizes every image to image_size x image_size (any dataset); download=False raises
    DatasetNotFoundError instead of downloading. split_seed and test_fraction apply to datasets
    without a standard split. test_only=True leaves the train split empty (0 images of the same shape):
    for evaluation and the app, which never look at it; Fashion-MNIST and MNIST then never decode their
    60,000 training images (188 MB as float32). ``labels`` and ``class_names`` are files that go with an
    array dataset (see ``data_arrays.load_labels_file`` and ``load_class_names``). A built-in name is
    accepted in any case.
    """
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1):
        raise DataError(f"image_size (--image-size) must be a positive whole number of pixels, got {image_size!r}. "
                        "Give the side of the square the images are resized to, e.g. 28.")
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    name = canonical_name(name)
    if name in BUILTIN_LOADERS and (labels or class_names):
        raise DataError(f"{name} comes with its own labels and class names; --labels and --class-names are for "
                        "your own .npz/.npy files.")
    options = _Options(data_dir, image_size, download, split_seed, test_fraction, test_only, labels, class_names)
    dataset = BUILTIN_LOADERS.get(name, _load_path)(name, options)
    if test_only and len(dataset.train.images):
        dataset = replace(dataset, train=_empty_like(dataset.test))
    logger.info("Loaded %s: %d train and %d test images of shape %s", name, len(dataset.train.images),
                len(dataset.test.images), dataset.image_shape)
    return dataset
