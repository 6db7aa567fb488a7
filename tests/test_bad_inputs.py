"""The bad-input catalogue: files and flags a user may hand Latent Explorer, each tried here.

Each family below is one parametrized test whose ids read as the catalogue. Every bad input must end
in an ExplorerError whose message says what went wrong and what to do; never another exception. The
cases already tried in test_idx, test_data, test_checkpoint and test_train are not repeated. The
last section throws random inputs (hypothesis) at the same loaders.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import pickle
import re
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from explorer import checkpoint as ckpt
from explorer import download
from explorer import train as train_module
from explorer.cli import main
from explorer.config import ModelConfig, TrainConfig
from explorer.data import load_dataset
from explorer.data_arrays import images_from_array
from explorer.errors import CheckpointError, DataError, ExplorerError, TrainingError
from explorer.idx import IMAGES_MAGIC, LABELS_MAGIC, encode_idx, parse_idx, read_decompressed, read_idx
from explorer.model import VAE

SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def refused(call, error: type[ExplorerError], words: list[str]) -> str:
    """Run `call`, expecting `error` with every regex of `words` in its message; return the message."""
    with pytest.raises(error) as excinfo:
        call()
    message = str(excinfo.value)
    missing = [w for w in words if not re.search(w, message, re.IGNORECASE)]
    assert not missing, f"{missing} not in: {message}"
    return message


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real system dataset folder or cache; nothing may be unpickled."""
    monkeypatch.setattr(download, "SYSTEM_DATASETS_DIR", tmp_path / "system")
    monkeypatch.setattr(download, "CACHE_ROOT", tmp_path / "cache")
    monkeypatch.delenv(download.ENV_VAR, raising=False)
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))


# ---------------------------------------------------------------- IDX files

def idx_header(magic: int, *dims: int) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims)


LABELS_IDX = encode_idx(np.arange(5, dtype=np.uint8))
LABELS_GZ = gzip.compress(LABELS_IDX, mtime=0)
BAD_CRC_GZ = LABELS_GZ[:-8] + bytes([LABELS_GZ[-8] ^ 0xFF]) + LABELS_GZ[-7:]  # the trailer's CRC32 changed

IDX_FILES = {  # id -> (content: bytes, None for no file, "folder" for a folder; words of the message)
    "no file at that path": (None, ["does not exist", "download"]),
    "a folder where the file should be": ("folder", ["does not exist", "Check the path"]),
    "header cut inside the magic number": (b"\x00\x00", ["truncated", "too short for a header", "Delete it"]),
    "header cut inside the dimensions": (idx_header(IMAGES_MAGIC, 5), ["truncated", "header alone needs 16", "Delete"]),
    "dimensions whose product overflows 64 bits": (idx_header(IMAGES_MAGIC, 2**31, 2**31, 4),
                                                   ["truncated", "2147483648", "Delete it"]),
    "4 billion labels announced by an 8-byte file": (idx_header(LABELS_MAGIC, 2**32 - 1),
                                                     ["truncated", "4294967303 bytes", "Delete it"]),
    "magic number with no dimensions": (struct.pack(">I", 0x00000800), ["0x00000800", "not an MNIST-style"]),
    "an HTML error page saved under the name": (b"<!DOCTYPE html><html>404 Not Found</html>",
                                                ["not an MNIST-style IDX file", "right file"]),
    "gzip of nothing": (gzip.compress(b""), ["truncated", "0 bytes", "Delete it"]),
    "gzip magic then garbage": (b"\x1f\x8b" + b"junk" * 4, ["not a readable gzip", "Delete it"]),
    "gzip with a wrong checksum": (BAD_CRC_GZ, ["not a readable gzip", "CRC", "Delete it"]),
    "gzip with garbage after the stream": (LABELS_GZ + b"garbage!", ["not a readable gzip", "Delete it"]),
    "the same gzip appended twice": (LABELS_GZ + LABELS_GZ, ["13 bytes beyond", "corrupt", "Delete it"]),
}


@pytest.mark.parametrize("case", IDX_FILES)
def test_idx_files(tmp_path, case):
    content, words = IDX_FILES[case]
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    refused(lambda: read_idx(path), DataError, words)


def test_a_gzip_bomb_stops_at_the_decompression_cap(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(10_000)))  # 10 kB of zeros in a few dozen bytes
    refused(lambda: read_decompressed(path, max_bytes=1000), DataError,
            ["decompresses to more than 1000 bytes", "not an MNIST-style file", "Delete it"])


def idx_dataset(folder: Path, **replace: bytes) -> Path:
    """The four MNIST files (3 training and 2 test images of 4x4) in folder, with some replaced."""
    files = {download.TRAIN_IMAGES: encode_idx(np.zeros((3, 4, 4), np.uint8)),
             download.TRAIN_LABELS: encode_idx(np.array([0, 1, 2], np.uint8)),
             download.TEST_IMAGES: encode_idx(np.zeros((2, 4, 4), np.uint8)),
             download.TEST_LABELS: encode_idx(np.array([3, 4], np.uint8))}
    folder.mkdir(exist_ok=True)
    for name, data in {**files, **replace}.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(data))
    return folder


IDX_DATASETS = {  # id -> (files replaced, words of the message)
    "a label beyond the 10 classes": ({download.TRAIN_LABELS: encode_idx(np.array([0, 12, 2], np.uint8))},
                                      ["label 12", "10 classes", "download it again"]),
    "no images at all (N = 0)": ({download.TRAIN_IMAGES: encode_idx(np.zeros((0, 4, 4), np.uint8)),
                                  download.TRAIN_LABELS: encode_idx(np.zeros(0, np.uint8))},
                                 ["holds no images", "at least a few"]),
    "images 0 pixels wide": ({download.TRAIN_IMAGES: encode_idx(np.zeros((3, 4, 0), np.uint8))},
                             ["size 4x0", "at least one pixel"]),
    "a truncated file among good ones": ({download.TEST_IMAGES: encode_idx(np.zeros((2, 4, 4), np.uint8))[:-5]},
                                         ["truncated", "Delete it"]),
    "labels saved as the images file": ({download.TEST_IMAGES: encode_idx(np.array([3, 4], np.uint8))},
                                        ["swapped or misnamed"]),
}


@pytest.mark.parametrize("case", IDX_DATASETS)
def test_idx_datasets(tmp_path, monkeypatch, case):
    # registry entries with only an (unmatchable) md5: these synthetic files are used unverified
    files = tuple(download.RemoteFile(name, gz_md5="0" * 32) for name in download.IDX_FILE_NAMES)
    monkeypatch.setitem(download.REMOTE_DATASETS, "mnist", download.RemoteDataset(files, mirrors=()))
    replace, words = IDX_DATASETS[case]
    folder = idx_dataset(tmp_path / "data", **replace)
    refused(lambda: load_dataset("mnist", data_dir=folder, download=False), DataError, words)


# ---------------------------------------------------------------- .npy and .npz files

def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_header_only(shape: tuple[int, ...]) -> bytes:
    """A .npy header announcing uint8 values of `shape`, followed by 100 bytes of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(100)


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def zip_bytes(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


IMAGES = np.zeros((4, 2, 2), np.uint8)  # (N, H, W): four tiny black images
GOOD_NPZ = npz_bytes(images=np.zeros((10, 4, 4), np.uint8))

ARRAY_FILES = {  # id -> ({file name: bytes}, the file loaded, words of the message)
    "5-D array": ({"d.npy": npy_bytes(np.zeros((2, 1, 3, 3, 1), np.uint8))}, "d.npy", ["shape \\(2, 1, 3, 3, 1\\)",
                                                                                        "Images must be"]),
    "0-D scalar": ({"d.npy": npy_bytes(np.array(3, np.uint8))}, "d.npy", ["shape \\(\\)", "Images must be"]),
    "1-D vector": ({"d.npy": npy_bytes(np.zeros(5, np.uint8))}, "d.npy", ["shape \\(5,\\)", "Images must be"]),
    "-inf in float32": ({"d.npy": npy_bytes(np.array([[[-np.inf, 0]]] * 2, np.float32))}, "d.npy",
                        ["2 NaN or infinite", "Remove or replace"]),
    "NaN in float16": ({"d.npy": npy_bytes(np.array([[[np.nan, 0]]] * 2, np.float16))}, "d.npy",
                       ["NaN", "Remove or replace"]),
    "float16 values of 60000": ({"d.npy": npy_bytes(np.full((2, 2, 2), 60000, np.float16))}, "d.npy",
                                ["outside \\[0, 1\\]", "divide by 255"]),
    "images 2000 pixels wide": ({"d.npy": npy_bytes(np.zeros((2, 1, 2000), np.uint8))}, "d.npy",
                                ["1x2000", "smaller --image-size"]),
    "int8 pixels": ({"d.npy": npy_bytes(np.zeros((2, 2, 2), np.int8))}, "d.npy", ["pixel type int8", "uint8"]),
    "big-endian uint16 pixels": ({"d.npy": npy_bytes(np.zeros((2, 2, 2), ">u2"))}, "d.npy", ["pixel type >u2"]),
    "complex pixels": ({"d.npy": npy_bytes(np.zeros((2, 2, 2), complex))}, "d.npy", ["pixel type complex"]),
    "datetime pixels": ({"d.npy": npy_bytes(np.zeros((2, 2, 2), "M8[s]"))}, "d.npy", ["pixel type datetime"]),
    "string pixels": ({"d.npy": npy_bytes(np.array([[["a"]]] * 2))}, "d.npy", ["pixel type <U1"]),
    "header announcing 9 TiB": ({"d.npy": npy_header_only((100_000, 10_000, 10_000))}, "d.npy",
                                ["too large to load", "fewer or smaller"]),
    "header announcing more than the file holds": ({"d.npy": npy_header_only((1000, 100, 100))}, "d.npy",
                                                   ["truncated", "only 100 bytes follow", "Save it again"]),
    "npz member announcing 9 TiB": ({"d.npz": zip_bytes(**{"images.npy": npy_header_only((10**5, 10**4, 10**4))})},
                                    "d.npz", ["images.npy", "too large to load"]),
    "npy with its data cut short": ({"d.npy": npy_bytes(np.zeros((10, 4, 4), np.uint8))[:-50]}, "d.npy",
                                    ["truncated", "110 bytes follow", "Save it again"]),
    "npz cut in half": ({"d.npz": GOOD_NPZ[: len(GOOD_NPZ) // 2]}, "d.npz", ["Cannot read", "numpy.savez"]),
    "empty .npy file": ({"d.npy": b""}, "d.npy", ["Cannot read", "numpy.save"]),
    "an .npy renamed to .npz": ({"d.npz": npy_bytes(IMAGES)}, "d.npz", ["Cannot read", "not a zip file"]),
    "text named .npz": ({"d.npz": b"images = [1, 2, 3]"}, "d.npz", ["Cannot read", "numpy.savez"]),
    "labels file that is not NumPy": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": b"cat\ndog\n"}, "d.npy",
                                      ["Cannot read", "numpy.save"]),
    "labels of shape (N, 2)": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.zeros((4, 2)))}, "d.npy",
                               ["labels of shape \\(4, 2\\)", "one label per image"]),
    "labels with NaN": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([0, 1, np.nan, 1]))},
                        "d.npy", ["whole numbers", "Convert them"]),
    "labels of 0.5": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([0, 1, 0.5, 1]))}, "d.npy",
                      ["whole numbers", "Convert them"]),
    "boolean labels": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([True, False] * 2))},
                       "d.npy", ["whole numbers", "got bool"]),
    "label of -5": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([0, 1, -5, 1]))}, "d.npy",
                    ["label -5 is negative", "-1 only for unlabelled"]),
    "label of 2**40 (would name a trillion classes)": (
        {"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([0, 1, 2**40, 1]))}, "d.npy",
        ["label 1099511627776 is too large", "0..K-1"]),
    "uint64 label 2**64-1 (would wrap to -1)": (
        {"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([0, 1, 2**64 - 1, 1], np.uint64))},
        "d.npy", ["18446744073709551615 is too large"]),
    "float label 1e300": ({"d.npy": npy_bytes(IMAGES), "d_labels.npy": npy_bytes(np.array([0, 1, 1e300, 1]))},
                          "d.npy", ["1e\\+300 is too large"]),
    "fewer class names than classes": ({"d.npz": npz_bytes(images=IMAGES, labels=[0, 1, 2, 1], class_names=["a"])},
                                       "d.npz", ["class names of shape \\(1,\\)", "one name per class"]),
    "class names as one string": ({"d.npz": npz_bytes(images=IMAGES, labels=[0, 1, 0, 1], class_names="ab")},
                                  "d.npz", ["class names of shape \\(\\)", "one name per class"]),
}


@pytest.mark.parametrize("case", ARRAY_FILES)
def test_array_files(tmp_path, case):
    files, loaded, words = ARRAY_FILES[case]
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    refused(lambda: load_dataset(str(tmp_path / loaded)), DataError, words)


ARRAYS_IN_MEMORY = {  # id -> (array handed to images_from_array, words of the message)
    "100,000 images of 200x200 (15 GiB as floats)": (np.broadcast_to(np.uint8(0), (100_000, 1, 200, 200)),
                                                     ["14.9 GiB of memory", "smaller --image-size"]),
    "two billion images of one pixel": (np.broadcast_to(np.uint8(0), (2 * 10**9, 1, 1, 1)), ["7.5 GiB of memory"]),
    "2 channels": (np.zeros((3, 2, 5, 5), np.uint8), ["one of \\(1, 3, 4\\)"]),
}


@pytest.mark.parametrize("case", ARRAYS_IN_MEMORY)
def test_arrays_in_memory(case):
    array, words = ARRAYS_IN_MEMORY[case]
    refused(lambda: images_from_array(array, "the array"), DataError, words)


# ---------------------------------------------------------------- folders of images

def encoded(image: Image.Image, format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format)
    return buffer.getvalue()


def float_image(value: float) -> Image.Image:
    return Image.frombytes("F", (4, 4), np.full((4, 4), value, np.float32).tobytes())


def int32_image(value: int) -> Image.Image:
    return Image.frombytes("I", (4, 4), np.full((4, 4), value, np.int32).tobytes())


GOOD_PNG = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)), "PNG")

BAD_FOLDERS = {  # id -> ({file name: bytes}, words of the message)
    "only hidden files": ({".a.png": GOOD_PNG, ".DS_Store": b"\0"}, ["holds no images", "Put images in it"]),
    "only a folder named like an image": ({"x.png/readme.txt": b"hi"}, ["holds no images"]),
    "a PNG cut in half": ({"a.png": GOOD_PNG[: len(GOOD_PNG) // 2], "b.png": GOOD_PNG},
                          ["Cannot read image .*a.png", "truncated", "remove it"]),
    "a PNG cut inside its header": ({"a.png": GOOD_PNG[:20], "b.png": GOOD_PNG}, ["Cannot read image .*a.png"]),
    "an empty .jpg": ({"a.jpg": b"", "b.png": GOOD_PNG}, ["Cannot read image .*a.jpg", "remove it"]),
    "a 32-bit image with values above 65535": ({"a.tif": encoded(int32_image(70_000), "TIFF")},
                                               ["values outside 0..65535", "8 or 16 bits"]),
    "a float TIFF holding NaN": ({"a.tif": encoded(float_image(math.nan), "TIFF")}, ["NaN", "Remove or replace"]),
    "a float TIFF with values of 3": ({"a.tif": encoded(float_image(3.0), "TIFF")},
                                      ["outside \\[0, 1\\]", "divide by 255"]),
    "a single image": ({"a.png": GOOD_PNG}, ["Cannot split the 1 image", "Give more images"]),
}


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_bad_folders(tmp_path, case):
    files, words = BAD_FOLDERS[case]
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    refused(lambda: load_dataset(str(tmp_path)), DataError, words)


def test_a_decompression_bomb_is_refused_by_the_pixel_limit(tmp_path, monkeypatch):
    # Pillow refuses images of more than twice MAX_IMAGE_PIXELS; a small limit stands in for a huge image
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(encoded(Image.new("L", (20, 20)), "PNG"))
    refused(lambda: load_dataset(str(tmp_path)), DataError, ["Cannot read image", "decompression bomb", "remove it"])


def palette_with_transparency() -> Image.Image:
    image = Image.new("P", (4, 4))
    image.putpalette([255, 255, 255, 0, 0, 0])  # index 0 white (transparent below), 1 black
    image.info["transparency"] = 0
    return image


ODD_FOLDERS = {  # id -> ({file name: image or (image, format)}, expected (C, H, W)); all must load
    "1x1 images": ({"a.png": Image.new("L", (1, 1), 200), "b.png": Image.new("L", (1, 1), 100)}, (1, 1, 1)),
    "1x1 among 4x4 images": ({"a.png": Image.new("L", (1, 1), 200), "b.png": Image.new("L", (4, 4)),
                              "c.png": Image.new("L", (4, 4))}, (1, 4, 4)),
    "16-bit, palette, RGBA, CMYK, 1-bit and LA mixed": (
        {"a.png": Image.fromarray(np.full((4, 4), 60_000, np.uint16)), "b.png": palette_with_transparency(),
         "c.png": Image.new("RGBA", (4, 4), (255, 0, 0, 128)), "d.tif": Image.new("CMYK", (4, 4), (0, 255, 0, 0)),
         "e.bmp": Image.new("1", (4, 4), 1), "f.png": Image.new("LA", (4, 4), (200, 50))}, (3, 4, 4)),
    "big-endian 16-bit, YCbCr and LAB TIFFs": (
        {"a.tif": Image.frombytes("I;16B", (4, 4), bytes(range(32))), "b.tif": Image.new("YCbCr", (4, 4)),
         "c.tif": Image.new("LAB", (4, 4))}, (3, 4, 4)),
    "an animated GIF (its first frame)": ({"a.gif": Image.new("P", (4, 4)), "b.png": Image.new("L", (4, 4))},
                                          (1, 4, 4)),
    "sizes 3x5, 5x3 and 4x4 (most common: none)": (
        {"a.png": Image.new("L", (5, 3)), "b.png": Image.new("L", (3, 5)), "c.png": Image.new("L", (4, 4))}, None),
}


@pytest.mark.parametrize("case", ODD_FOLDERS)
def test_odd_but_valid_folders_load(tmp_path, case):
    files, shape = ODD_FOLDERS[case]
    for name, image in files.items():
        if name.endswith(".gif"):  # two frames
            image.save(tmp_path / name, save_all=True, append_images=[Image.new("P", image.size, 1)])
        else:
            image.save(tmp_path / name)
    dataset = load_dataset(str(tmp_path), test_fraction=0.5)
    images = np.concatenate([dataset.train.images, dataset.test.images])
    assert len(images) == len(files) and np.isfinite(images).all() and 0 <= images.min() and images.max() <= 1
    if shape is not None:
        assert dataset.image_shape == shape


# ---------------------------------------------------------------- checkpoints

MODEL = ModelConfig(image_shape=(1, 8, 8), latent_dim=3, hidden_dims=(8, 16), fc_dim=16)


def write_checkpoint(folder: Path) -> Path:
    torch.manual_seed(0)
    ckpt.save_config(folder, MODEL, TrainConfig(dataset="digits"), tuple("0123456789"))
    ckpt.save_weights(folder, VAE(MODEL))
    return folder


def edit_config(**change):
    """An edit that applies `change` (section -> {key: value}, or key -> value) to config.json."""
    def edit(folder: Path) -> Path:
        config = json.loads((folder / ckpt.CONFIG_FILE).read_text())
        for key, value in change.items():
            if isinstance(value, dict):
                config[key].update(value)
            else:
                config[key] = value
        (folder / ckpt.CONFIG_FILE).write_text(json.dumps(config))
        return folder
    return edit


def write_file(name: str, data: bytes):
    def edit(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder
    return edit


def cut_weights(keep: float):
    def edit(folder: Path) -> Path:
        data = (folder / ckpt.WEIGHTS_FILE).read_bytes()
        (folder / ckpt.WEIGHTS_FILE).write_bytes(data[: int(len(data) * keep)])
        return folder
    return edit


def edit_weights(change):
    def edit(folder: Path) -> Path:
        tensors = load_file(str(folder / ckpt.WEIGHTS_FILE))
        change(tensors)
        save_file(tensors, str(folder / ckpt.WEIGHTS_FILE))
        return folder
    return edit


def replace_by_folder(name: str):
    def edit(folder: Path) -> Path:
        (folder / name).unlink()
        (folder / name).mkdir()
        return folder
    return edit


class Boom:
    def __reduce__(self):  # unpickling this would run code: it must never happen
        return (pytest.fail, ("a pickle was loaded",))


def pickle_beside(name: str):
    def edit(folder: Path) -> Path:
        (folder.parent / name).write_bytes(pickle.dumps(Boom()))
        return folder.parent / name
    return edit


def first_tensor(tensors: dict[str, torch.Tensor]) -> str:
    return sorted(tensors)[0]


CHECKPOINTS = {  # id -> (edit of a good checkpoint folder, returning the path to load; error; words)
    "model.safetensors cut in half": (cut_weights(0.5), CheckpointError, ["not a readable safetensors", "restore"]),
    "model.safetensors of 0 bytes": (cut_weights(0), CheckpointError, ["not a readable safetensors"]),
    "safetensors header claiming 2**63 bytes": (write_file(ckpt.WEIGHTS_FILE, struct.pack("<Q", 2**63) + b"{}"),
                                                CheckpointError, ["not a readable safetensors"]),
    "weights holding NaN": (edit_weights(lambda t: t[first_tensor(t)].fill_(math.nan)), CheckpointError,
                            ["NaN or infinite weights", "Retrain"]),
    "weights holding inf": (edit_weights(lambda t: t[first_tensor(t)].fill_(math.inf)), CheckpointError,
                            ["NaN or infinite weights"]),
    "weights missing a tensor": (edit_weights(lambda t: t.pop(first_tensor(t))), CheckpointError,
                                 ["do not fit", "missing"]),
    "weights with an extra tensor": (edit_weights(lambda t: t.update(junk=torch.zeros(1))), CheckpointError,
                                     ["do not fit", "unexpected junk"]),
    "model.safetensors is a folder": (replace_by_folder(ckpt.WEIGHTS_FILE), CheckpointError,
                                      ["no model.safetensors", "--resume"]),
    "config.json is a folder": (replace_by_folder(ckpt.CONFIG_FILE), CheckpointError, ["has no config.json"]),
    "metrics.json that is not JSON": (write_file(ckpt.METRICS_FILE, b"{ oops"), CheckpointError,
                                      ["metrics.json is not readable JSON", "Restore it or retrain"]),
    "metrics.json that is not UTF-8": (write_file(ckpt.METRICS_FILE, b"\xff\xfe\x00"), CheckpointError,
                                       ["metrics.json is not readable JSON"]),
    "metrics.json holding a list": (write_file(ckpt.METRICS_FILE, b"[1, 2]"), CheckpointError,
                                    ["metrics.json should hold a JSON object"]),
    "config.json holding a list": (write_file(ckpt.CONFIG_FILE, b"[1, 2]"), CheckpointError,
                                   ["config.json should hold a JSON object"]),
    "config.json that is not UTF-8": (write_file(ckpt.CONFIG_FILE, b"\xff\xfe\x00"), CheckpointError,
                                      ["config.json is not readable JSON"]),
    "format version '1' as a string": (edit_config(format_version="1"), CheckpointError,
                                       ["format version '1'", "Upgrade"]),
    "no dataset section": (edit_config(dataset=None), CheckpointError, ["lacks its 'dataset'", "Retrain"]),
    "latent_dim as text": (edit_config(model={"latent_dim": "four"}), CheckpointError, ["Invalid ModelConfig"]),
    "latent_dim of 3.5": (edit_config(model={"latent_dim": 3.5}), CheckpointError,
                          ["describes a model that cannot be built", "Retrain"]),
    "hidden_dims as a number": (edit_config(model={"hidden_dims": 8}), CheckpointError, ["Invalid ModelConfig"]),
    "image_shape of 100000x100000 (640 GB of weights)": (
        edit_config(model={"image_shape": [1, 100_000, 100_000]}), CheckpointError,
        ["do not fit the model", "wrong shapes", "10000000000", "retrain"]),
    "training config with 0 epochs": (edit_config(train={"epochs": 0}), CheckpointError, ["Invalid TrainConfig"]),
    "class names as a number": (edit_config(dataset={"class_names": 5}), CheckpointError,
                                ["class_names must be a list", "Retrain"]),
    **{f"a {suffix} file from another tool": (pickle_beside(f"model{suffix}"), CheckpointError,
                                              ["pickle-based", "never unpickles", "explorer train"])
       for suffix in (".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".joblib", ".PT")},
}


@pytest.mark.parametrize("case", CHECKPOINTS)
def test_checkpoints(tmp_path, case):
    edit, error, words = CHECKPOINTS[case]
    path = edit(write_checkpoint(tmp_path / "run"))
    refused(lambda: ckpt.load(path), error, words)


RESUMABLE = (ModelConfig(latent_dim=2, architecture="mlp", hidden_dims=(16,)),
             TrainConfig(dataset="digits", epochs=2, batch_size=256, embed_tsne=False, device="cpu"))


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt  # Ctrl-C after the last epoch was saved, before the final step


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory, digits):
    """A 2-epoch run stopped before its final step: it has a resume state."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two spinning threads on a busy shared machine are far slower
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_module, "_finish", interrupt)
        with pytest.raises(KeyboardInterrupt):
            train_module.train(*RESUMABLE, out, progress=False, data=digits)
    torch.set_num_threads(threads)
    return out


def edit_resume_state(change):
    """An edit that rewrites resume.safetensors as change(tensors, metadata) -> metadata leaves it."""
    def edit(folder: Path) -> None:
        path = folder / ckpt.RESUME_FILE
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata()
        tensors = load_file(str(path))
        save_file(tensors, str(path), metadata=change(tensors, metadata))
    return edit


def without(tensor_name: str):
    def change(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> dict[str, str]:
        del tensors[tensor_name]
        return metadata
    return change


def cut_resume_state(folder: Path) -> None:
    data = (folder / ckpt.RESUME_FILE).read_bytes()
    (folder / ckpt.RESUME_FILE).write_bytes(data[: len(data) // 2])


RESUME_STATES = {  # id -> (edit of the interrupted run's folder, error, words)
    "resume state cut in half": (cut_resume_state, CheckpointError, ["resume.safetensors is not a readable"]),
    "resume state without its metadata": (edit_resume_state(lambda t, m: None), TrainingError,
                                          ["resume state .* is damaged", "Delete that file"]),
    "resume state with metadata that is not JSON": (edit_resume_state(lambda t, m: {"state": "{ oops"}),
                                                    TrainingError, ["is damaged", "Delete that file"]),
    "resume state without its epoch": (
        edit_resume_state(lambda t, m: {"state": json.dumps({k: v for k, v in json.loads(m["state"]).items()
                                                             if k != "epoch"})}),
        TrainingError, ["is damaged", "epoch", "Delete that file"]),
    "resume state without the optimiser's moments": (edit_resume_state(without("optim.0.exp_avg")),
                                                     TrainingError, ["is damaged", "optimiser state"]),
    "resume state holding only the model weights": (
        lambda folder: shutil.copy(folder / ckpt.WEIGHTS_FILE, folder / ckpt.RESUME_FILE), CheckpointError,
        ["do not fit", "missing"]),
}


@pytest.mark.parametrize("case", RESUME_STATES)
def test_resume_states(tmp_path, digits, interrupted_run, case):
    edit, error, words = RESUME_STATES[case]
    out = tmp_path / "run"
    shutil.copytree(interrupted_run, out)
    edit(out)
    refused(lambda: train_module.train(*RESUMABLE, out, resume=True, progress=False, data=digits), error, words)


# ---------------------------------------------------------------- the command line

def cli_case(args: list[str], words: list[str], setup=None):
    return args, words, setup


CLI = {  # id -> (arguments, with {tmp} for the test's folder; words; setup(tmp) or None)
    "evaluate a folder that is not a checkpoint": cli_case(["evaluate", "{tmp}"], ["has no config.json"]),
    "info on a pickle": cli_case(["info", "{tmp}/model.pt"], ["never unpickles"],
                                 lambda tmp: (tmp / "model.pt").write_bytes(pickle.dumps(Boom()))),
    "info on a checkpoint with cut weights": cli_case(["info", "{tmp}/run"], ["not a readable safetensors"],
                                                      lambda tmp: cut_weights(0.5)(write_checkpoint(tmp / "run"))),
    "train --epochs 0": cli_case(["train", "--epochs", "0", "--out", "{tmp}/out"], ["epochs", "Fix that flag"]),
    "train --hidden-dims 0": cli_case(["train", "--hidden-dims", "0", "--out", "{tmp}/out"], ["hidden_dims"]),
    "train --val-fraction 2": cli_case(["train", "--val-fraction", "2", "--out", "{tmp}/out"], ["val_fraction"]),
    "train --lr -1": cli_case(["train", "--lr", "-1", "--out", "{tmp}/out"], ["--lr must be above 0"]),
    "train --image-size 0": cli_case(["train", "--image-size", "0", "--out", "{tmp}/out"], ["image_size"]),
    "train on a path that does not exist": cli_case(["train", "--dataset", "{tmp}/nope", "--out", "{tmp}/out"],
                                                    ["Unknown dataset", "Check the spelling"]),
    "train on a cut .npz": cli_case(["train", "--dataset", "{tmp}/d.npz", "--out", "{tmp}/out"], ["Cannot read"],
                                    lambda tmp: (tmp / "d.npz").write_bytes(GOOD_NPZ[:100])),
    "train --resume without --out": cli_case(["train", "--resume"], ["--resume needs --out"]),
    "train --resume on an empty folder": cli_case(["train", "--resume", "--out", "{tmp}"], ["has no config.json"]),
}


@pytest.mark.parametrize("case", CLI)
def test_command_line_errors_are_one_line(tmp_path, monkeypatch, capsys, case):
    args, words, setup = CLI[case]
    monkeypatch.chdir(tmp_path)
    if setup:
        setup(tmp_path)
    assert main(["-q", *(arg.replace("{tmp}", str(tmp_path)) for arg in args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(re.search(word, err) for word in words), err
    assert not (tmp_path / "out").exists(), "a refused run must leave nothing behind"


# ---------------------------------------------------------------- random inputs (hypothesis)

@SETTINGS
@given(st.binary(max_size=64))
def test_any_bytes_give_an_array_or_a_data_error_from_the_idx_parser(data):
    try:
        array = parse_idx(data)
    except DataError:
        return
    assert encode_idx(array) == data  # only a well-formed file parses, and it parses exactly


@st.composite
def idx_like(draw) -> bytes:
    """A header with a right, wrong or random magic number and small dimensions, and about as many bytes."""
    magic = draw(st.sampled_from([IMAGES_MAGIC, LABELS_MAGIC, 0x00000802, 0x00000D03]) | st.integers(0, 2**32 - 1))
    ndim = draw(st.sampled_from([min(magic & 0xFF, 4)]) | st.integers(0, 4))  # mostly what the magic says
    dims = draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim))
    size = max(0, math.prod(dims) + draw(st.sampled_from([0, 0, 0, -1, 1]) | st.integers(-10, 10)))
    return struct.pack(f">I{ndim}I", magic, *dims) + draw(st.binary(min_size=size, max_size=size))


@SETTINGS
@given(idx_like(), st.booleans(), st.integers(0, 40))
def test_idx_like_files_give_an_array_or_a_data_error(data, compress, cut):
    content = gzip.compress(data, mtime=0) if compress else data
    content = content[: len(content) - cut] if cut % 3 == 0 else content  # a third are cut short
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.gz"
        path.write_bytes(content)
        try:
            array = read_idx(path)
        except DataError:
            return
        assert array.dtype == np.uint8 and array.ndim in (1, 3) and encode_idx(array) == read_decompressed(path)


def npz_compressed_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


GOOD_ARRAY_FILES = {  # suffix -> content
    "npy": npy_bytes(np.arange(36, dtype=np.uint8).reshape(4, 3, 3)),
    "npz": npz_bytes(images=np.arange(36, dtype=np.uint8).reshape(4, 3, 3), labels=np.arange(4)),
    "compressed.npz": npz_compressed_bytes(images=np.arange(36, dtype=np.uint8).reshape(4, 3, 3), labels=np.arange(4)),
}


@SETTINGS
@given(st.sampled_from(sorted(GOOD_ARRAY_FILES)), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                                           max_size=4), st.integers(0, 10**6))
def test_damaged_array_files_give_images_or_a_data_error(suffix, flips, cut):
    content = bytearray(GOOD_ARRAY_FILES[suffix])
    for position, value in flips:  # overwrite a few bytes, header or data
        content[position % len(content)] = value
    content = content[: len(content) - cut % len(content)] if cut % 2 else content
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data.{suffix}"
        path.write_bytes(bytes(content))
        try:
            dataset = load_dataset(str(path))
        except DataError:
            return
    assert np.isfinite(dataset.train.images).all() and dataset.train.images.max() <= 1


LABEL_ARRAYS = st.one_of(
    st.lists(st.integers(-3, 12), min_size=4, max_size=4).map(np.array),
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=4, max_size=4).map(lambda v: np.array(v, np.int64)),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=4, max_size=4).map(np.array),
    st.lists(st.sampled_from(["cat", "dog", ""]), min_size=4, max_size=4).map(np.array),
    st.lists(st.integers(0, 2**64 - 1), min_size=3, max_size=5).map(lambda v: np.array(v, np.uint64)),
)


@SETTINGS
@given(LABEL_ARRAYS, st.none() | st.lists(st.text(max_size=3), max_size=12).map(np.array))
def test_any_labels_give_labelled_images_or_a_data_error(labels, class_names):
    arrays = {"images": np.zeros((4, 2, 2), np.uint8), "labels": labels}
    if class_names is not None:
        arrays["class_names"] = class_names
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        np.savez(path, **arrays)
        try:
            dataset = load_dataset(str(path))
        except DataError:
            return
    for split in (dataset.train, dataset.test):
        assert ((split.labels >= -1) & (split.labels < max(len(dataset.class_names), 1))).all()


FORMAT_MODES = [("PNG", mode) for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")] + [
    ("TIFF", mode) for mode in ("CMYK", "F", "I", "I;16B", "YCbCr", "LAB", "LA")] + [
    ("GIF", "P"), ("BMP", "1"), ("BMP", "RGB"), ("WEBP", "RGBA"), ("JPEG", "L"), ("JPEG", "CMYK")]
SUFFIXES = {"PNG": ".png", "TIFF": ".tif", "GIF": ".gif", "BMP": ".bmp", "WEBP": ".webp", "JPEG": ".jpg"}


@st.composite
def pil_images(draw) -> tuple[str, Image.Image]:
    """(file suffix, image) of a random mode and size, its pixels random bytes (NaN and all for floats)."""
    format, mode = draw(st.sampled_from(FORMAT_MODES))
    size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    length = len(Image.new(mode, size).tobytes())
    image = Image.frombytes(mode, size, draw(st.binary(min_size=length, max_size=length)))
    if mode == "P":
        image.putpalette(draw(st.binary(min_size=768, max_size=768)))
        if draw(st.booleans()):
            image.info["transparency"] = draw(st.integers(0, 255))
    return SUFFIXES[format], image


@SETTINGS
@given(st.lists(pil_images(), min_size=2, max_size=4), st.none() | st.integers(1, 6))
def test_random_images_in_a_folder_give_images_or_a_data_error(images, image_size):
    with tempfile.TemporaryDirectory() as folder:
        for index, (suffix, image) in enumerate(images):
            image.save(Path(folder) / f"{index}{suffix}")
        try:
            dataset = load_dataset(folder, image_size=image_size, test_fraction=0.5)
        except DataError:
            return
    for split in (dataset.train, dataset.test):
        assert split.images.shape[1] in (1, 3) and split.images.dtype == np.float32
        assert np.isfinite(split.images).all() and 0 <= split.images.min() and split.images.max() <= 1
    if image_size:
        assert dataset.image_shape[1:] == (image_size, image_size)

