"""Turn arrays into (N, C, H, W) float32 images in [0, 1]: checks, scaling, resizing, and .npz/.npy files.

Conventions (shared with the image-folder loader):
- uint8 is divided by 255, uint16 by 65535, bool becomes 0/1; floats must already lie in [0, 1].
- An alpha channel is composited over black (dark background, like MNIST), leaving grey or RGB.
- Resizing is bilinear with antialiasing and stretches to the target size (no cropping).
"""

from __future__ import annotations

import logging
import lzma
import math
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
from PIL import Image

from explorer.errors import DataError

logger = logging.getLogger(__name__)

CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB, RGBA
ALPHA_CHANNELS = 4
UINT_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
FLOAT_TOLERANCE = 1e-6  # rounding slack when a float image was normalised to [0, 1]
MAX_IMAGE_SIDE = 1024  # pixels, after resizing: larger images would be impractical to train a VAE on
MAX_FLOAT_BYTES = 4 << 30  # memory the float32 images, or any one array read from a file, may take
MAX_CLASSES = 100_000  # labels above this are a mistake (ids, hashes), and each class gets a name
IMAGE_KEYS = ("images", "x", "X")
LABEL_KEYS = ("labels", "y", "Y")
CLASS_NAMES_KEY = "class_names"
LABELS_SUFFIX = "_labels"  # images.npy -> images_labels.npy
UNLABELLED = -1
# What numpy and zipfile raise for a damaged file. Beyond the usual: a garbled .npy header gives tokenize's
# error; zip flags flipped on (encryption, an unknown compression or version) give RuntimeError or
# NotImplementedError; a damaged compressed member gives its decompressor's error.
FILE_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, tokenize.TokenError, RuntimeError,
               NotImplementedError, zlib.error, lzma.LZMAError)


class LabelledImages(NamedTuple):
    """A loader's result before it is split into train and test."""

    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64, UNLABELLED where unknown
    class_names: tuple[str, ...]


def check_not_empty(count: int, height: int, width: int, source: str) -> None:
    """DataError for a dataset without images, or with images without pixels."""
    if count == 0:
        raise DataError(f"{source} holds no images. Give a dataset with at least a few images.")
    if height == 0 or width == 0:
        raise DataError(f"{source} holds images of size {height}x{width}. Each image needs at least one pixel.")


def check_fits(count: int, channels: int, height: int, width: int, source: str) -> None:
    """DataError for images (at their final size) too large to work with."""
    if max(height, width) > MAX_IMAGE_SIDE:
        raise DataError(f"{source} holds images of {height}x{width} pixels, more than {MAX_IMAGE_SIDE} on a side. "
                        "Pass a smaller --image-size, e.g. 64, to resize them.")
    float_bytes = count * channels * height * width * np.dtype(np.float32).itemsize
    if float_bytes > MAX_FLOAT_BYTES:
        raise DataError(f"{source}: {count} images of {channels}x{height}x{width} would take "
                        f"{float_bytes / (1 << 30):.1f} GiB of memory. Pass a smaller --image-size or use fewer images.")


def to_unit_float(values: np.ndarray, source: str) -> np.ndarray:
    """Pixel values of any supported dtype as float32 in [0, 1], same shape."""
    if values.dtype in UINT_SCALES:
        return (values / np.float32(UINT_SCALES[values.dtype])).astype(np.float32)
    if values.dtype == np.bool_:
        return values.astype(np.float32)
    if values.dtype.kind != "f":
        raise DataError(f"{source} has pixel type {values.dtype}. Use uint8 (0..255), uint16 or floats in [0, 1].")
    not_finite = int(values.size - np.count_nonzero(np.isfinite(values)))
    if not_finite:
        raise DataError(f"{source} contains {not_finite} NaN or infinite pixel values. Remove or replace them.")
    low, high = float(values.min()), float(values.max())
    if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
        raise DataError(f"{source} has float pixel values from {low:g} to {high:g}, outside [0, 1]. Scale them "
                        "into [0, 1] first (e.g. divide by 255), or save them as uint8.")
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def composite_alpha(images: np.ndarray) -> np.ndarray:
    """(..., C, H, W) with a last alpha channel -> colour over black, one channel fewer."""
    return images[..., :-1, :, :] * images[..., -1:, :, :]


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(C, H, W) float32 -> (C, *size) float32, bilinear with antialiasing."""
    height, width = size
    channels = [np.asarray(Image.fromarray(channel, mode="F").resize((width, height), Image.Resampling.BILINEAR))
                for channel in image]
    return np.clip(np.stack(channels), 0.0, 1.0)  # bilinear cannot overshoot; clip guards float rounding


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) float32 -> (N, C, *size); returns the input itself when it already has that size."""
    if images.shape[2:] == size:
        return images
    logger.info("Resizing %d images from %dx%d to %dx%d", len(images), *images.shape[2:], *size)
    return np.stack([resize_image(image, size) for image in images])


def images_from_array(array: np.ndarray, source: str, image_size: int | None = None) -> np.ndarray:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3, 4} -> (N, C, H, W) float32 in [0, 1]."""
    if array.ndim == 3:
        array = array[:, None]  # (N, 1, H, W)
    elif array.ndim == 4 and array.shape[3] in CHANNEL_COUNTS:
        array = array.transpose(0, 3, 1, 2)  # channels-last, the usual layout of saved images
    elif not (array.ndim == 4 and array.shape[1] in CHANNEL_COUNTS):
        raise DataError(f"{source} has shape {array.shape}. Images must be (N, H, W) or (N, H, W, C) with C, the "
                        f"number of channels, one of {CHANNEL_COUNTS}.")
    count, channels, height, width = array.shape
    size = (image_size, image_size) if image_size else (height, width)
    check_not_empty(count, height, width, source)
    check_fits(count, channels, *size, source)
    images = to_unit_float(array, source)
    if channels == ALPHA_CHANNELS:
        images = composite_alpha(images)
    return np.ascontiguousarray(resize_images(images, size))


def labels_from_array(labels: np.ndarray, count: int, source: str,
                      class_names: np.ndarray | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """(N,) integer (0.., UNLABELLED = -1) or string labels -> ((N,) int64, class names indexed by label)."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # (N, 1) column, as some tools save them
    if labels.ndim != 1 or len(labels) != count:
        raise DataError(f"{source}: {count} images but labels of shape {labels.shape}. Give exactly one label per "
                        "image, in the same order.")
    if labels.dtype.kind in "US":  # string labels name their classes
        names, indices = np.unique(labels, return_inverse=True)
        return indices.astype(np.int64), tuple(str(name) for name in names)
    if labels.dtype.kind not in "iuf" or not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
        raise DataError(f"{source}: labels must be whole numbers (or class-name strings), got {labels.dtype} values. "
                        "Convert them to integers 0..K-1, with -1 for unlabelled images.")
    # checked before the cast to int64, which would wrap huge values around
    if labels.size and labels.min() < UNLABELLED:
        raise DataError(f"{source}: label {labels.min()} is negative. Use 0..K-1, and -1 only for unlabelled images.")
    if labels.size and labels.max() >= MAX_CLASSES:
        raise DataError(f"{source}: label {labels.max()} is too large: a dataset here has at most {MAX_CLASSES} "
                        "classes. Number the classes 0..K-1.")
    labels = labels.astype(np.int64)
    class_count = int(labels.max()) + 1 if labels.size else 0
    if class_names is None:
        return labels, tuple(str(label) for label in range(class_count))
    if class_names.ndim != 1 or len(class_names) < class_count:
        raise DataError(f"{source}: class names of shape {class_names.shape} for labels up to {class_count - 1}. Give "
                        "a list of one name per class, in label order.")
    return labels, tuple(str(name) for name in class_names)


def _check_announced_size(stream: BinaryIO, available: int, source: str) -> None:
    """DataError for a .npy header announcing more bytes than follow it, or than we load: numpy would allocate them."""
    version = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(stream)
    announced = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for absurd shapes
    if announced > MAX_FLOAT_BYTES:
        raise DataError(f"{source} holds an array of shape {shape} ({announced / (1 << 30):.1f} GiB), too large to "
                        "load. Use fewer or smaller images.")
    follows = available - stream.tell()
    if announced > follows:
        raise DataError(f"{source} is truncated: its header announces an array of shape {shape} ({announced} bytes), "
                        f"but only {follows} bytes follow. Save it again with numpy.save or numpy.savez.")


def _check_array_sizes(path: Path) -> None:
    """Read the header of every array in a .npy (and its labels) or .npz, before numpy allocates any of them."""
    if path.suffix.lower() == ".npz":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    with archive.open(info) as member:
                        _check_announced_size(member, info.file_size, f"{path} ({info.filename})")
        return
    for file in (path, _labels_path(path)):
        if file.is_file():
            with open(file, "rb") as stream:
                _check_announced_size(stream, file.stat().st_size, str(file))


POSITIONAL_KEYS = ("arr_0", "arr_1")  # np.savez(file, images) or np.savez(file, images, labels)


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    with np.load(path, allow_pickle=False) as archive:  # never unpickle: a file must not run code
        keys = set(archive.files)
        image_key = next((key for key in IMAGE_KEYS if key in keys), None)
        if image_key is None and (len(keys) == 1 or keys == set(POSITIONAL_KEYS)):
            # saved without names: one array is the images; np.savez(file, images, labels) gives arr_0, arr_1
            image_key = "arr_0" if "arr_0" in keys else next(iter(keys))
            labels = archive["arr_1"] if "arr_1" in keys else None
            return archive[image_key], labels, None
        if image_key is None:
            raise DataError(f"{path} has arrays {sorted(keys)} but none named {' or '.join(IMAGE_KEYS)}. Save the "
                            "images under the key 'images' (and the labels under 'labels'), e.g. "
                            "np.savez('data.npz', images=images, labels=labels), or save the images alone.")
        label_key = next((key for key in LABEL_KEYS if key in keys), None)
        labels = archive[label_key] if label_key else None
        names = archive[CLASS_NAMES_KEY] if CLASS_NAMES_KEY in keys else None
        return archive[image_key], labels, names


def _labels_path(path: Path) -> Path:
    return path.with_name(path.stem + LABELS_SUFFIX + path.suffix)


def _load_npy(path: Path) -> tuple[np.ndarray, np.ndarray | None, None]:
    labels_path = _labels_path(path)
    labels = np.load(labels_path, allow_pickle=False) if labels_path.is_file() else None
    return np.load(path, allow_pickle=False), labels, None


ARRAY_LOADERS = {".npz": _load_npz, ".npy": _load_npy}


def load_labels_file(path: Path) -> np.ndarray:
    """Labels saved apart from the images: a .npy, or a .npz with one array (or one named labels/y/Y)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"No labels file at {path}. Check the path given to --labels.")
    if path.suffix.lower() not in ARRAY_LOADERS:
        raise DataError(f"--labels takes a .npy file, or a .npz holding one array; got {path.name}.")
    try:
        _check_array_sizes(path)
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            named = [key for key in LABEL_KEYS if key in archive.files]
            if named or len(archive.files) == 1:
                return archive[named[0] if named else archive.files[0]]
            raise DataError(f"{path} holds arrays {sorted(archive.files)}: name the labels 'labels', or save them "
                            "alone (np.save('labels.npy', labels)).")
    except DataError:
        raise
    except FILE_ERRORS as exc:
        raise DataError(f"Cannot read {path} as a NumPy file ({exc}). Save the labels with numpy.save.") from exc


def load_array_file(path: Path, image_size: int | None = None) -> LabelledImages:
    """Images (and labels) from a .npz (keys images/x/X, labels/y/Y, class_names) or a .npy (+ <stem>_labels.npy)."""
    try:
        _check_array_sizes(path)
        images, labels, names = ARRAY_LOADERS[path.suffix.lower()](path)
    except DataError:
        raise  # already says what is wrong (a DataError is also a ValueError)
    except FILE_ERRORS as exc:
        raise DataError(f"Cannot read {path} as a NumPy file ({exc}). Check that it was saved with numpy.save or "
                        "numpy.savez, without Python objects inside.") from exc
    images = images_from_array(images, str(path), image_size)
    if labels is None:
        return LabelledImages(images, np.full(len(images), UNLABELLED, dtype=np.int64), ())
    return LabelledImages(images, *labels_from_array(labels, len(images), str(path), names))


CLASS_NAME_COLUMNS = ("class_name", "name", "class", "label_name")  # a CSV column taken without being named
LABEL_COLUMNS = ("label", "id", "index")  # a CSV column that says which label each row names


def class_names_file(spec: str) -> tuple[Path, str]:
    """(file, column) of a --class-names value: 'names.csv:english' -> (names.csv, 'english'); column '' if none."""
    before, _, after = spec.rpartition(":")
    if before.lower().endswith(".csv"):  # FILE.csv:COLUMN
        return Path(before).expanduser(), after
    return Path(spec).expanduser(), ""


def load_class_names(spec: str) -> tuple[str, ...]:
    """Class names in label order from ``spec``: a text file with one name per line (label 0 first), or a CSV
    with a header, optionally ``FILE.csv:COLUMN``. The column is COLUMN, else the only one, else the first of
    class_name/name/class/label_name; a label/id/index column, if there is one, says which label each row names."""
    import csv

    path, column = class_names_file(spec)
    if not path.is_file():
        raise DataError(f"No class-names file at {path}. Check the path given to --class-names.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read {path} as UTF-8 text ({exc}). Save it as plain text, one name per line.") from exc
    if path.suffix.lower() != ".csv":
        names = tuple(line.strip() for line in text.splitlines() if line.strip())
        if not names:
            raise DataError(f"{path} holds no class names. Write one name per line, label 0 first.")
        return names
    rows = list(csv.DictReader(text.splitlines()))
    header = list(rows[0].keys()) if rows else []
    if not rows or not header:
        raise DataError(f"{path} has no rows under a header. Write a header line (e.g. 'label,name'), then one "
                        "row per class.")
    lowered = {name.strip().lower(): name for name in header}
    if column:
        if column not in header:
            raise DataError(f"{path} has no column {column!r}; its columns are {', '.join(header)}. "
                            f"Pass --class-names {path}:<column>.")
        chosen = column
    elif len(header) == 1:
        chosen = header[0]
    else:
        chosen = next((lowered[c] for c in CLASS_NAME_COLUMNS if c in lowered), None)
        if chosen is None:
            raise DataError(f"{path} has columns {', '.join(header)} and none is called "
                            f"{' or '.join(CLASS_NAME_COLUMNS)}. Say which one holds the names: "
                            f"--class-names {path}:{header[-1]}")
    label_column = next((lowered[c] for c in LABEL_COLUMNS if c in lowered and lowered[c] != chosen), None)
    names = [row[chosen].strip() for row in rows]
    if label_column is None:
        return tuple(names)
    try:
        labels = [int(row[label_column]) for row in rows]
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: column {label_column!r} should hold whole-number labels ({exc}).") from exc
    if sorted(labels) != list(range(len(labels))):
        raise DataError(f"{path}: column {label_column!r} should number the classes 0..{len(labels) - 1}, once each.")
    ordered = [""] * len(labels)
    for label, name in zip(labels, names):
        ordered[label] = name
    return tuple(ordered)
