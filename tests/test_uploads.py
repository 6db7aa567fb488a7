"""Preparing a user's own image for the model: each kind of good and bad file, and a property test."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.app.uploads import MAX_PIXELS, UploadError, border_mean, prepare

MNIST_SHAPE, COLOUR_SHAPE = (1, 28, 28), (3, 32, 32)


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decompression bomb's calling card."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header claims width x height pixels."""
    data = bytearray(encoded(Image.new("L", (16, 16)), "JPEG"))
    start = data.find(b"\xff\xc0")  # baseline frame header: length (2), precision (1), height, width
    data[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def dark_stroke_on_white(mode: str = "L", size: tuple[int, int] = (60, 60)) -> Image.Image:
    values = np.full(size[::-1], 255, np.uint8)
    values[size[1] // 4 : 3 * size[1] // 4, size[0] // 2 - 3 : size[0] // 2 + 3] = 0  # a vertical bar: a "1"
    return Image.fromarray(values).convert(mode)


GOOD = {
    "grey PNG": encoded(dark_stroke_on_white()),
    "colour JPEG": encoded(dark_stroke_on_white("RGB"), "JPEG"),
    "palette PNG": encoded(dark_stroke_on_white("P")),
    "RGBA PNG": encoded(dark_stroke_on_white("RGBA")),
    "CMYK JPEG": encoded(dark_stroke_on_white("CMYK"), "JPEG"),
    "16-bit PNG": encoded(Image.fromarray((np.asarray(dark_stroke_on_white()).astype(np.uint16) * 257))),
    "wide GIF": encoded(dark_stroke_on_white(size=(90, 30)), "GIF"),
    "10,000 x 10,000 JPEG": encoded(Image.new("L", (10_000, 10_000), 255), "JPEG", quality=50),
}
BAD = {
    "not an image": (b"%PDF-1.4 certainly not pixels", "not an image"),
    "empty file": (b"", "empty"),
    "truncated PNG": (GOOD["grey PNG"][: len(GOOD["grey PNG"]) // 2], "truncated"),
    "truncated JPEG": (GOOD["colour JPEG"][:300], "truncated"),
    "decompression bomb": (png_claiming(50_000, 50_000), "too large"),
    "10,000 x 10,000 PNG": (encoded(Image.new("1", (10_000, 10_000))), "decodes at most"),
    "1x1 image": (encoded(Image.new("L", (1, 1))), "too small"),
    "SVG": (b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9" height="9"/></svg>',
            "not an image"),
    "a PPM (a format Pillow reads, but not one of ours)": (encoded(dark_stroke_on_white(), "PPM"), "not an image"),
    "a TGA": (encoded(dark_stroke_on_white(), "TGA"), "not an image"),
    "float TIFF outside [0, 1]": (encoded(Image.fromarray(np.full((9, 9), 7.5, np.float32)), "TIFF"), "finite values in"),
    "negative 32-bit TIFF": (encoded(Image.fromarray(np.full((9, 9), -5, np.int32)), "TIFF"), "0..65535"),
    "4,097 x 4,097 PNG": (encoded(Image.new("1", (4097, 4097))), "decodes at most"),
    "JPEG claiming 20,000 x 20,000": (jpeg_claiming(20_000, 20_000), "too large to decode safely"),
}


@pytest.mark.parametrize("name", GOOD)
def test_each_kind_of_good_image_becomes_a_dark_background_bar(name):
    prepared = prepare(GOOD[name], MNIST_SHAPE, dark_background=True)
    image = prepared.image
    assert image.shape == MNIST_SHAPE and image.dtype == np.float32 and 0 <= image.min() <= image.max() <= 1
    if "10,000" not in name:  # the blank photo has no bar
        assert border_mean(image).mean() < 0.2 and image[0, 14, 14] > 0.6  # light bar on a dark background
    assert prepared.notes  # the user is told what was done


@pytest.mark.parametrize("name", BAD)
def test_each_kind_of_bad_file_gets_a_message_that_says_what_is_wrong(name):
    data, message = BAD[name]
    with pytest.raises(UploadError, match=message):
        prepare(data, MNIST_SHAPE, dark_background=True)


@pytest.mark.parametrize("data, note", [
    (encoded(dark_stroke_on_white("RGB").convert("LAB"), "TIFF"), "LAB image: converted to RGB"),
    (encoded(dark_stroke_on_white("P"), "GIF", save_all=True,
             append_images=[Image.new("P", (60, 60), 1), Image.new("P", (60, 60), 2)]), "Animated or multi-page file: used its first"),
    (encoded(dark_stroke_on_white(size=(400, 40))), "Padded from"),
], ids=["LAB TIFF", "animated GIF", "wide PNG"])
def test_unusual_but_readable_images_are_used_and_the_user_is_told_how(data, note):
    prepared = prepare(data, MNIST_SHAPE, dark_background=True)
    assert prepared.image.shape == MNIST_SHAPE and any(note in n for n in prepared.notes)


def test_files_over_the_size_limit_are_refused_before_reading():
    with pytest.raises(UploadError, match="limit is 1 MB"):
        prepare(GOOD["grey PNG"] + b"\0" * 2**20, MNIST_SHAPE, True, max_bytes=2**20)


def test_a_small_digit_on_a_big_page_is_cropped_and_centred_like_mnist():
    page = np.full((300, 400), 240, np.uint8)
    page[40:100, 50:70] = 20  # a small dark bar in the top-left corner
    image = prepare(encoded(Image.fromarray(page)), MNIST_SHAPE, True, ink_fraction=20 / 28).image[0]
    rows, cols = np.nonzero(image > 0.5)
    assert rows.min() >= 3 and rows.max() <= 24 and rows.max() - rows.min() >= 17  # 20 of 28 rows, centred
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 1.5 and border_mean(image[None]).mean() < 0.05


def test_a_huge_jpeg_is_decoded_at_reduced_scale_and_says_so():
    notes = prepare(GOOD["10,000 x 10,000 JPEG"], MNIST_SHAPE, True).notes
    assert any("1/" in n and "scale" in n for n in notes) and 10_000**2 > MAX_PIXELS


def test_light_strokes_on_transparency_are_composited_over_black():
    values = np.zeros((20, 20, 4), np.uint8)
    values[5:15, 8:12] = 255  # opaque white bar; the rest fully transparent
    image = prepare(encoded(Image.fromarray(values, "RGBA")), MNIST_SHAPE, True).image
    assert border_mean(image).mean() < 0.1 and image[0, 14, 14] > 0.8


def test_colour_models_keep_colour_and_are_not_inverted():
    values = np.zeros((40, 40, 3), np.uint8)
    values[..., 0] = 255  # pure red
    image = prepare(encoded(Image.fromarray(values)), COLOUR_SHAPE, dark_background=False).image
    assert image.shape == COLOUR_SHAPE and image[0].mean() > 0.95 and image[1:].max() < 0.05


MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F")


@st.composite
def small_images(draw):
    mode = draw(st.sampled_from(MODES))
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(rgb).convert(mode if mode not in ("I;16", "I", "F") else "L")
    if mode in ("I;16", "I", "F"):
        image = image.convert(mode) if mode != "F" else Image.fromarray(np.asarray(image, np.float32) / 255)
    fmt = draw(st.sampled_from(["TIFF"] if mode in ("I;16", "I", "F", "CMYK", "LA") else ["PNG", "GIF", "BMP", "TIFF"]))
    cut = draw(st.one_of(st.none(), st.integers(0, 200)))  # sometimes a truncated file
    data = encoded(image, fmt)
    return data if cut is None else data[:cut]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning", "ignore:Truncated File Read:UserWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_images(), shape=st.sampled_from([MNIST_SHAPE, COLOUR_SHAPE, (1, 8, 8)]), dark=st.booleans(),
       ink=st.sampled_from([None, 1.0, 20 / 28]))
def test_any_small_file_gives_the_models_shape_in_unit_range_or_an_upload_error(data, shape, dark, ink):
    try:
        prepared = prepare(data, shape, dark, ink)
    except UploadError as err:
        assert str(err)
        return
    image = prepared.image
    assert image.shape == shape and image.dtype == np.float32 and np.isfinite(image).all()
    assert 0.0 <= image.min() and image.max() <= 1.0
