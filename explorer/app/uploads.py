"""A user's own image, prepared the way the model's training data was. No streamlit here.

``prepare(data, image_shape, dark_background)`` turns the bytes of any Pillow-readable file into a
(C, H, W) float32 array in [0, 1] of the model's shape, or raises ``UploadError`` with a message that
says what to do. The steps, in order:

1. Refuse files over the size limit, files Pillow cannot identify, and images of more than
   ``MAX_PIXELS`` pixels, from the header, before any pixel is decoded (decompression bombs). A JPEG
   over the limit is decoded at 1/2, 1/4 or 1/8 scale instead (libjpeg does that for free), so a
   10,000 x 10,000 photo is read as 1,250 x 1,250; other formats over the limit are refused.
2. Decode (a truncated or damaged file is refused), apply the EXIF rotation, take the first frame.
3. Bring every mode to 8-bit L/LA/RGB/RGBA, 32-bit I (16-bit images, divided by 65535) or F:
   palette -> RGB(A), CMYK/YCbCr/... -> RGB. Shrink to ``WORKING_SIDE`` for speed.
4. Composite transparency over the background that contrasts with the opaque pixels (dark strokes
   go on white, light strokes on black), so a drawing on a transparent canvas stays visible.
5. Grey or RGB as the model reads. For dark-background data (MNIST-like), invert an image whose
   border is light, and (when the dataset's framing is known) crop to the shape and centre it with
   the dataset's margin; otherwise pad to a square with the border colour (no stretching). Resize.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from explorer.data_arrays import resize_image
from explorer.data_folder import IMAGE_FORMATS
from explorer.errors import ExplorerError

MAX_UPLOAD_MB = 50  # as [server] maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 4096 * 4096  # decoded at most: ~50 MB as RGB; above this only a JPEG is read, at reduced scale
JPEG_SCALES = (2, 4, 8)  # the reductions libjpeg can decode directly
MIN_SIDE = 4  # pixels: anything smaller holds no shape to encode
WORKING_SIDE = 512  # large images are shrunk to this before the float work: the model's images are far smaller
BORDER_FRACTION = 1 / 16  # the band (of each side) whose mean decides the background
UINT8_MAX, UINT16_MAX = 255.0, 65535.0
DARK_BACKGROUND_DATASETS = frozenset({"digits", "mnist", "fashion-mnist"})  # light strokes on black
# How much of the side the shape fills in these datasets: MNIST's digits sit in a 20x20 box inside 28x28;
# scikit-learn's digits and Fashion-MNIST's items fill their frame.
INK_FRACTION = {"mnist": 20 / 28, "digits": 1.0, "fashion-mnist": 1.0}
INK_THRESHOLD = 0.3  # a pixel is part of the shape above this share of the way from background to peak
MIN_INK_CONTRAST = 0.1  # below this, the image has no shape to crop to
# Modes Pillow decodes to something this module reads directly, and what every other mode becomes.
DIRECT_MODES = frozenset({"L", "LA", "RGB", "RGBA", "I", "F"})
CONVERT_TO = {"1": "L", "La": "LA", "RGBa": "RGBA", "PA": "RGBA"}
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# The first bytes of common image files: a file that starts like one but does not open was cut short.
SIGNATURES = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP", b"II*\0": "TIFF",
              b"MM\0*": "TIFF", b"RIFF": "WebP"}


class UploadError(ExplorerError, ValueError):
    """An uploaded file cannot be used as an image for the model; the message says why and what to do."""


@dataclass(frozen=True)
class PreparedUpload:
    image: np.ndarray  # (C, H, W) float32 in [0, 1]: what the encoder reads
    preview: np.ndarray  # (h, w) or (h, w, 3) uint8: the upload as decoded, at most WORKING_SIDE a side
    notes: tuple[str, ...]  # what was done to it, in words, for the user
    source_size: tuple[int, int]  # (width, height) of the file


def is_dark_background(dataset: str, typical_image: np.ndarray) -> bool:
    """Whether a model's data is light shapes on a dark background: known by name (MNIST-like), else judged
    from a typical image's border, e.g. the decoded mean code (C, H, W)."""
    return dataset in DARK_BACKGROUND_DATASETS or float(border_mean(typical_image).mean()) < 0.5


def _open(data: bytes, max_bytes: int) -> Image.Image:
    if not data:
        raise UploadError("The file is empty. Upload a PNG or JPEG image.")
    if len(data) > max_bytes:
        raise UploadError(f"The file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
                          "Save a smaller version of the image and upload that.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own pixel limit decides
            return Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)  # reads the header only
    except Image.DecompressionBombError as err:
        raise UploadError(f"The image is too large to decode safely ({err}). Downscale it first.") from err
    except (OSError, SyntaxError, ValueError) as err:
        kind = next((name for magic, name in SIGNATURES.items() if data.startswith(magic)), None)
        if kind:
            raise UploadError(f"This file starts like a {kind} image but its header is damaged or cut short "
                              "(truncated file?). Upload the complete file.") from err
        raise UploadError("This file is not an image in a format the app reads (PNG, JPEG, GIF, BMP, TIFF or "
                          "WebP). Save it as PNG or JPEG and upload that.") from err


def _limit_pixels(image: Image.Image, notes: list[str]) -> None:
    """Refuse (or, for JPEG, decode at reduced scale) an image over MAX_PIXELS, before decoding it."""
    width, height = image.size
    if width * height <= MAX_PIXELS:
        return
    if image.format == "JPEG":
        for scale in JPEG_SCALES:
            if (width // scale) * (height // scale) <= MAX_PIXELS:
                image.draft(image.mode, (width // scale, height // scale))
                notes.append(f"{width}x{height} JPEG decoded at 1/{scale} scale to save memory.")
                return
    raise UploadError(f"The image is {width:,} x {height:,} pixels ({width * height / 1e6:.0f} million); this app "
                      f"decodes at most {MAX_PIXELS / 1e6:.1f} million, to stay safe from decompression bombs. "
                      "Downscale it (or save it as JPEG) and upload again.")


def _decode(image: Image.Image, notes: list[str]) -> Image.Image:
    try:
        if getattr(image, "n_frames", 1) > 1:
            notes.append(f"Animated or multi-page file: used its first of {image.n_frames} frames.")
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise UploadError(f"The image data is damaged or cut short (truncated file?): {err}. Upload the "
                          "complete file.") from err
    return image


def _normalise_mode(image: Image.Image, notes: list[str]) -> Image.Image:
    """One of L, LA, RGB, RGBA (8 bit), I (16-bit values) or F."""
    mode = image.mode
    if mode in SIXTEEN_BIT_MODES:
        notes.append("16-bit image: values divided by 65535.")
        target = "I"
    elif mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
        notes.append(f"Palette image: converted to {target}.")
    elif mode in DIRECT_MODES:
        return image
    else:
        target = CONVERT_TO.get(mode, "RGB")
        if mode not in CONVERT_TO:
            notes.append(f"{mode} image: converted to RGB.")
    try:
        return image.convert(target)
    except (OSError, ValueError) as err:
        raise UploadError(f"Cannot convert a {mode} image to {target} ({err}). Save it as an RGB PNG or JPEG.") from err


def _shrink(image: Image.Image) -> Image.Image:
    if max(image.size) <= WORKING_SIDE:
        return image
    scale = WORKING_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _to_float(image: Image.Image) -> np.ndarray:
    """(C, h, w) float32 in [0, 1]; C = 1, 2 (grey + alpha), 3 or 4 (RGB + alpha)."""
    values = np.asarray(image)
    if image.mode == "I":
        if values.min() < 0 or values.max() > UINT16_MAX:
            raise UploadError(f"A 32-bit integer image with values from {values.min()} to {values.max()}; only "
                              "0..65535 is understood. Save it with 8 or 16 bits per channel.")
        values = values / UINT16_MAX
    elif image.mode == "F":
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise UploadError("A floating-point image must hold finite values in [0, 1]. Save it as an 8-bit PNG.")
    else:
        values = values / UINT8_MAX
    values = values.astype(np.float32)
    return values[None] if values.ndim == 2 else values.transpose(2, 0, 1)


def border_mean(image: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (C,) mean of a band around the edges: the image's background colour."""
    _, h, w = image.shape
    bh, bw = max(1, round(h * BORDER_FRACTION)), max(1, round(w * BORDER_FRACTION))
    mask = np.zeros((h, w), dtype=bool)
    mask[:bh], mask[-bh:], mask[:, :bw], mask[:, -bw:] = True, True, True, True
    return image[:, mask].mean(axis=1)


def _composite(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """Colour over the background that contrasts with the opaque pixels; (C+1, h, w) -> (C, h, w)."""
    colour, alpha = values[:-1], values[-1:]
    opaque = alpha[0] > 0.5
    light_strokes = opaque.any() and float(colour[:, opaque].mean()) > 0.5
    background = 0.0 if light_strokes else 1.0
    if not opaque.all():
        notes.append(f"Transparency composited over {'black' if light_strokes else 'white'} "
                     f"(contrasting with the {'light' if light_strokes else 'dark'} opaque pixels).")
    return colour * alpha + background * (1.0 - alpha)


def _to_channels(values: np.ndarray, channels: int, notes: list[str]) -> np.ndarray:
    if values.shape[0] == channels:
        return values
    if channels == 1:
        notes.append("Colour converted to grey, as the model reads grey images.")
        return (values[:3] * np.array([0.299, 0.587, 0.114], np.float32)[:, None, None]).sum(axis=0, keepdims=True)
    return np.repeat(values[:1], channels, axis=0)


def _pad_square(values: np.ndarray, notes: list[str]) -> np.ndarray:
    _, h, w = values.shape
    if h == w:
        return values
    side = max(h, w)
    out = np.empty((values.shape[0], side, side), np.float32)
    out[:] = border_mean(values)[:, None, None]
    top, left = (side - h) // 2, (side - w) // 2
    out[:, top : top + h, left : left + w] = values
    notes.append(f"Padded from {w}x{h} to a square with its border colour, so it is not stretched.")
    return out


def _fit_ink(values: np.ndarray, fraction: float, notes: list[str]) -> np.ndarray:
    """Crop a dark-background (C, h, w) image to its light shape and centre it on a dark square, the shape
    filling ``fraction`` of the side. An image with no clear shape is only padded to a square."""
    grey = values.mean(axis=0)
    low, peak = float(np.median(grey)), float(grey.max())
    if peak - low < MIN_INK_CONTRAST:
        return _pad_square(values, notes)
    ys, xs = np.nonzero(grey > low + INK_THRESHOLD * (peak - low))
    crop = values[:, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    side = int(np.ceil(max(crop.shape[1:]) / fraction))
    out = np.zeros((values.shape[0], side, side), np.float32)  # the dark background
    top, left = (side - crop.shape[1]) // 2, (side - crop.shape[2]) // 2
    out[:, top : top + crop.shape[1], left : left + crop.shape[2]] = crop
    notes.append(f"Cropped to the shape and centred, filling {fraction:.0%} of the side like the training images.")
    return out


def prepare(data: bytes, image_shape: tuple[int, int, int], dark_background: bool, ink_fraction: float | None = None,
            max_bytes: int = MAX_UPLOAD_MB * 2**20) -> PreparedUpload:
    """Bytes of an image file -> the model's input (see the module docstring). Raises UploadError.

    ``ink_fraction`` (dark-background data only): crop to the shape and scale it to fill this share of
    the side, centred, as the dataset was made (``INK_FRACTION``); None keeps the whole picture.
    """
    notes: list[str] = []
    image = _open(data, max_bytes)
    source_size = image.size
    if min(image.size) < MIN_SIDE:
        raise UploadError(f"The image is {image.width}x{image.height} pixels: too small to show a shape. "
                          f"Upload one at least {MIN_SIDE}x{MIN_SIDE}.")
    _limit_pixels(image, notes)
    image = _shrink(_normalise_mode(_decode(image, notes), notes))
    values = _to_float(image)
    if values.shape[0] in (2, 4):
        values = _composite(values, notes)
    preview = np.round(values * UINT8_MAX).astype(np.uint8)
    preview = preview[0] if len(preview) == 1 else preview.transpose(1, 2, 0)

    channels, height, width = image_shape
    values = _to_channels(values, channels, notes)
    if dark_background and float(border_mean(values).mean()) > 0.5:
        values = 1.0 - values
        notes.append("Inverted: the model was trained on light shapes on a dark background, and this image's "
                     "border is light.")
    values = _fit_ink(values, ink_fraction, notes) if dark_background and ink_fraction else _pad_square(values, notes)
    if values.shape[1:] != (height, width):
        notes.append(f"Resized to {width}x{height}, the model's size (the file is {source_size[0]}x{source_size[1]}).")
        values = resize_image(np.ascontiguousarray(values), (height, width))
    return PreparedUpload(np.ascontiguousarray(np.clip(values, 0.0, 1.0), dtype=np.float32), preview, tuple(notes),
                          source_size)
