"""Load a folder of image files as (N, C, H, W) float32 in [0, 1], with labels from sub-folder names.

Layout: `<root>/<class>/.../<image>` is labelled with its top sub-folder (class names sorted);
`<root>/<image>` is unlabelled (-1). Hidden files are ignored; other non-image files are skipped
with a warning. Pixel modes: 1/L (grey), LA, P (palette), RGB, RGBA, CMYK and the like are read as
8 bit; I;16 (16-bit) and I (values 0..65535) are divided by 65535; F must already be in [0, 1].
Alpha is composited over black. The result is grey (C=1) if every image is grey (grey mode, or
R == G == B), else RGB (C=3). Images are resized to `image_size` x `image_size` if given, else
(when sizes differ) to the most common size.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.data_arrays import UNLABELLED, LabelledImages, check_fits, composite_alpha, resize_image, to_unit_float
from explorer.errors import DataError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
# The only Pillow decoders that ever see a user's file: the formats above. Pillow has ~40 more (PSD, FITS,
# DDS, ...), with a history of memory-safety bugs; a file in one of them is refused, not parsed.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
HIDDEN_PREFIX = "."
UINT16_MAX = 65535
RGB_CHANNELS = 3
MAX_LISTED = 5  # skipped file names quoted in the warning
# Pillow modes with more than 8 bits per value, read as they are (np.asarray keeps their range).
WIDE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
# Every other mode is converted by Pillow to one of L, LA, RGB, RGBA; unknown modes go to RGB.
EIGHT_BIT_TARGET = {"1": "L", "L": "L", "LA": "LA", "La": "LA", "PA": "RGBA", "RGBA": "RGBA", "RGBa": "RGBA"}
ALPHA_MODES = frozenset({"LA", "RGBA"})
# Pillow errors for unreadable files (UnidentifiedImageError is an OSError; some decoders raise the others).
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _list_files(root: Path) -> tuple[list[tuple[Path, str | None]], list[Path]]:
    """([(image path, class folder or None)], skipped non-image files), in a fixed sorted order."""
    images: list[tuple[Path, str | None]] = []
    skipped: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(HIDDEN_PREFIX))  # also fixes the walk order
        parts = Path(dirpath).relative_to(root).parts
        class_folder = parts[0] if parts else None
        for name in sorted(f for f in filenames if not f.startswith(HIDDEN_PREFIX)):
            path = Path(dirpath) / name
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append((path, class_folder))
            else:
                skipped.append(path)
    return images, skipped


def _unreadable(path: Path, exc: BaseException) -> DataError:
    return DataError(f"Cannot read image {path} ({exc}). Fix the file or remove it from the folder.")


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W) from the header only, without decoding the pixels."""
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            width, height = image.size
    except IMAGE_ERRORS as exc:
        raise _unreadable(path, exc) from exc
    return height, width


def _wide_values(values: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """(H, W) float32 in [0, 1] from the values of a 16-bit, 32-bit integer or float image."""
    if mode == "F":
        return to_unit_float(values, str(path))
    values = values.astype(np.int64)  # also normalises the byte order of I;16B
    if values.min() < 0 or values.max() > UINT16_MAX:
        raise DataError(f"{path} is a 32-bit integer image with values outside 0..{UINT16_MAX}. Save it with 8 or "
                        "16 bits per channel.")
    return (values / UINT16_MAX).astype(np.float32)


def _pixels(path: Path) -> np.ndarray:
    """(C, H, W) float32 in [0, 1], C = 1 (grey) or 3 (RGB), alpha composited over black."""
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            if image.mode in WIDE_MODES:
                target = image.mode
            elif image.mode == "P":  # a palette may carry transparency
                target = "RGBA" if "transparency" in image.info else "RGB"
            else:
                target = EIGHT_BIT_TARGET.get(image.mode, "RGB")
            values = np.asarray(image if target in WIDE_MODES else image.convert(target))  # decodes the pixels
    except IMAGE_ERRORS as exc:
        raise _unreadable(path, exc) from exc
    if target in WIDE_MODES:
        return _wide_values(values, target, path)[None]  # (1, H, W)
    values = values.astype(np.float32) / np.float32(np.iinfo(np.uint8).max)
    channels = values[None] if values.ndim == 2 else values.transpose(2, 0, 1)  # (H, W[, C]) -> (C, H, W)
    return composite_alpha(channels) if target in ALPHA_MODES else channels


def _is_grey(pixels: np.ndarray) -> bool:
    return len(pixels) == 1 or bool(np.all(pixels[0] == pixels[1]) and np.all(pixels[1] == pixels[2]))


def _target_size(sizes: list[tuple[int, int]], image_size: int | None, root: Path) -> tuple[int, int]:
    if image_size:
        return image_size, image_size
    counts = Counter(sizes)
    size = counts.most_common(1)[0][0]
    if len(counts) > 1:
        logger.info("%s holds images of %d different sizes; resizing all to %dx%d, the most common. Pass --image-size "
                    "to choose another size.", root, len(counts), *size)
    return size


def load_image_folder(root: Path, image_size: int | None = None) -> LabelledImages:
    """All images under `root`, labelled by sub-folder: see the module docstring for the rules."""
    entries, skipped = _list_files(root)
    if skipped:
        logger.warning("Skipped %d file(s) in %s that are not images (%s): %s", len(skipped), root,
                       "/".join(sorted(IMAGE_SUFFIXES)), ", ".join(str(p) for p in skipped[:MAX_LISTED]))
    if not entries:
        raise DataError(f"{root} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}). Put images in it, or in one "
                        "sub-folder per class.")
    sizes = [_image_size(path) for path, _ in entries]
    target = _target_size(sizes, image_size, root)
    check_fits(len(entries), RGB_CHANNELS, *target, str(root))  # the worst case: channels are not known yet

    pixels = []
    for (path, _), size in zip(entries, sizes):
        image = _pixels(path)  # (C, H, W)
        pixels.append(image if size == target else resize_image(image, target))
    if all(_is_grey(image) for image in pixels):
        images = np.stack([image[:1] for image in pixels])  # (N, 1, H, W)
    else:
        images = np.stack([np.broadcast_to(image, (RGB_CHANNELS, *target)) for image in pixels])  # (N, 3, H, W)

    class_names = tuple(sorted({folder for _, folder in entries if folder is not None}))
    label_of = {name: label for label, name in enumerate(class_names)}
    labels = np.array([label_of.get(folder, UNLABELLED) for _, folder in entries], dtype=np.int64)
    return LabelledImages(np.ascontiguousarray(images, dtype=np.float32), labels, class_names)
