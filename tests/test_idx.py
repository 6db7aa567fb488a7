"""IDX reading: round trips, and clear errors for the ways a downloaded file can be broken."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from explorer.download import REMOTE_DATASETS, TEST_IMAGES, TEST_LABELS, verify_file
from explorer.errors import DataError
from explorer.idx import encode_idx, read_idx, read_idx_pair, sha256_of_decompressed
from tests.conftest import SHARED_MNIST

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)  # (N, H, W)
LABELS = RNG.integers(0, 10, size=5, dtype=np.uint8)  # (N,)


def write(path: Path, data: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("array", [IMAGES, LABELS], ids=["images", "labels"])
@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("file_name", ["data.gz", "data"])
def test_round_trip(tmp_path, array, compress, file_name):
    # gzip is recognised by content, so a misnamed file still reads
    path = write(tmp_path / file_name, encode_idx(array), compress)
    result = read_idx(path)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
def test_truncated_file_names_file_and_sizes(tmp_path, compress):
    data = encode_idx(IMAGES)
    path = write(tmp_path / "train-images-idx3-ubyte", data[:-7], compress)
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert "truncated" in message and str(path) in message
    assert str(len(data)) in message and str(len(data) - 7) in message
    assert "Delete it and try again" in message


def test_truncated_gzip_stream(tmp_path):
    compressed = gzip.compress(encode_idx(IMAGES))
    path = tmp_path / "images.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="gzip.*truncated.*Delete it"):
        read_idx(path)
    with pytest.raises(DataError, match="gzip"):
        sha256_of_decompressed(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gz"
    path.touch()
    with pytest.raises(DataError, match="empty.*Delete it"):
        read_idx(path)


def test_trailing_bytes_are_corruption(tmp_path):
    path = write(tmp_path / "labels", encode_idx(LABELS) + b"\x00\x00", compress=False)
    with pytest.raises(DataError, match="2 bytes beyond"):
        read_idx(path)


@pytest.mark.parametrize("magic", [0x00000802, 0x00000D03, 0x08030000, 0x1F8B0800])
def test_wrong_magic_number(tmp_path, magic):
    data = struct.pack(">I", magic) + encode_idx(IMAGES)[4:]
    path = write(tmp_path / "images", data, compress=True)
    with pytest.raises(DataError) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert f"0x{magic:08X}" in message and "0x00000803" in message and "not an MNIST-style IDX file" in message


def test_pair_count_mismatch(tmp_path):
    images = write(tmp_path / "images.gz", encode_idx(IMAGES), compress=True)
    labels = write(tmp_path / "labels.gz", encode_idx(LABELS[:-1]), compress=True)
    with pytest.raises(DataError) as excinfo:
        read_idx_pair(images, labels)
    message = str(excinfo.value)
    assert f"{len(IMAGES)} images" in message and f"{len(LABELS) - 1} labels" in message
    assert "do not belong together" in message


def test_pair_swapped_files(tmp_path):
    images = write(tmp_path / "images.gz", encode_idx(IMAGES), compress=True)
    labels = write(tmp_path / "labels.gz", encode_idx(LABELS), compress=True)
    with pytest.raises(DataError, match="swapped"):
        read_idx_pair(labels, images)


def test_sha256_is_over_decompressed_bytes(tmp_path):
    data = encode_idx(IMAGES)
    gz = write(tmp_path / "a.gz", data, compress=True)
    raw = write(tmp_path / "a", data, compress=False)
    assert sha256_of_decompressed(gz) == sha256_of_decompressed(raw) == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="shared MNIST test files not present")
def test_real_mnist_test_files():
    images_path, labels_path = SHARED_MNIST / f"{TEST_IMAGES}.gz", SHARED_MNIST / f"{TEST_LABELS}.gz"
    images, labels = read_idx_pair(images_path, labels_path)
    assert images.shape == (10000, 28, 28)
    assert set(np.unique(labels)) == set(range(10))
    registry = {f.name: f for f in REMOTE_DATASETS["mnist"].files}
    for path, name in [(images_path, TEST_IMAGES), (labels_path, TEST_LABELS)]:
        assert sha256_of_decompressed(path) == registry[name].raw_sha256
        assert verify_file(path, registry[name])
