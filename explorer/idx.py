"""Read and write the IDX format of MNIST and Fashion-MNIST (uint8 images and labels, gzipped or raw).

An IDX file is a big-endian header (magic number, then one uint32 per dimension) followed by the
values in C order. Only the two kinds these datasets use are accepted:
0x00000803 (uint8, 3-D: images) and 0x00000801 (uint8, 1-D: labels).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from explorer.errors import DataError

IMAGES_MAGIC = 0x00000803  # uint8 values, 3 dimensions (N, H, W)
LABELS_MAGIC = 0x00000801  # uint8 values, 1 dimension (N,)
MAGIC_BY_NDIM = {3: IMAGES_MAGIC, 1: LABELS_MAGIC}
MAGIC_SIZE = 4  # bytes: 0x00, 0x00, dtype code, number of dimensions
DIM_SIZE = 4  # bytes: each dimension is a big-endian uint32
GZIP_MAGIC = b"\x1f\x8b"
CHUNK_SIZE = 1 << 20  # bytes read at a time while hashing
# Fashion-MNIST's largest file is 47 MB decompressed; a cap keeps a gzip bomb out of memory.
MAX_DECOMPRESSED_BYTES = 1 << 30

_FIX_HINT = "Delete it and try again (it will be downloaded again), or re-download it by hand."


def _is_gzip(path: Path) -> bool:
    """Decide by content, not by name: a '.gz' may be raw and a raw file may lack the suffix."""
    with open(path, "rb") as f:
        return f.read(len(GZIP_MAGIC)) == GZIP_MAGIC


def _open_decompressed(path: Path):
    """A binary file object over the decompressed content of `path`."""
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _check_not_empty(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"IDX file {path} does not exist. Check the path, or download the dataset again.")
    if path.stat().st_size == 0:
        raise DataError(f"IDX file {path} is empty (0 bytes). {_FIX_HINT}")


def read_decompressed(path: str | Path, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The decompressed bytes of a gzipped or raw file, with a DataError for an empty or corrupt one."""
    path = Path(path)
    _check_not_empty(path)
    try:
        with _open_decompressed(path) as f:
            data = f.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path} is not a readable gzip file ({exc}); it is probably truncated. {_FIX_HINT}") from exc
    if len(data) > max_bytes:
        raise DataError(f"{path} decompresses to more than {max_bytes} bytes, far more than any IDX dataset "
                        f"here. It is not an MNIST-style file: {_FIX_HINT}")
    return data


def sha256_of_decompressed(path: str | Path) -> str:
    """Hex sha256 of the decompressed content (equal for upstream and recompressed copies of a file)."""
    path = Path(path)
    _check_not_empty(path)
    digest = hashlib.sha256()
    try:
        with _open_decompressed(path) as f:
            while chunk := f.read(CHUNK_SIZE):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is not a readable gzip file ({exc}); it is probably truncated. {_FIX_HINT}") from exc
    return digest.hexdigest()


def parse_idx(data: bytes, source: str = "<bytes>", expected_ndim: int | None = None) -> np.ndarray:
    """Parse decompressed IDX bytes into a uint8 array; `source` names the file in error messages."""
    if len(data) < MAGIC_SIZE:
        raise DataError(f"IDX file {source} is truncated: {len(data)} bytes, too short for a header. {_FIX_HINT}")
    (magic,) = struct.unpack(">I", data[:MAGIC_SIZE])
    if magic not in MAGIC_BY_NDIM.values():
        raise DataError(f"{source} is not an MNIST-style IDX file: magic number 0x{magic:08X}, expected "
                        f"0x{IMAGES_MAGIC:08X} (images) or 0x{LABELS_MAGIC:08X} (labels). Check that this is the "
                        f"right file; if it was downloaded: {_FIX_HINT}")
    ndim = magic & 0xFF
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataError(f"{source} holds a {ndim}-D array (magic 0x{magic:08X}) where a {expected_ndim}-D one "
                        f"(magic 0x{MAGIC_BY_NDIM[expected_ndim]:08X}) was expected: images and labels files "
                        "seem swapped or misnamed. Check the file names.")
    header_size = MAGIC_SIZE + DIM_SIZE * ndim
    if len(data) < header_size:
        raise DataError(f"IDX file {source} is truncated: {len(data)} bytes, its header alone needs "
                        f"{header_size}. {_FIX_HINT}")
    dims = struct.unpack(f">{ndim}I", data[MAGIC_SIZE:header_size])
    expected = header_size + math.prod(dims)  # Python ints: np.prod would wrap around for absurd dims
    if len(data) < expected:
        raise DataError(f"IDX file {source} is truncated: its header announces shape {dims}, which needs "
                        f"{expected} bytes, but it has {len(data)}. {_FIX_HINT}")
    if len(data) > expected:
        raise DataError(f"IDX file {source} has {len(data) - expected} bytes beyond the {expected} its header "
                        f"(shape {dims}) announces, so it is corrupt. {_FIX_HINT}")
    # copy: frombuffer over `bytes` is read-only, and callers may want to modify the array
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims).copy()


def read_idx(path: str | Path, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or raw): (N, H, W) uint8 images or (N,) uint8 labels."""
    return parse_idx(read_decompressed(path), source=str(path), expected_ndim=expected_ndim)


def read_idx_pair(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and its labels file: ((N, H, W) uint8, (N,) uint8), counts checked."""
    images = read_idx(images_path, expected_ndim=3)
    labels = read_idx(labels_path, expected_ndim=1)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels: "
                        "the two files do not belong together. Delete both and download them again.")
    return images, labels


def encode_idx(array: np.ndarray) -> bytes:
    """Raw (uncompressed) IDX bytes of a uint8 array, 3-D images or 1-D labels; the inverse of parse_idx."""
    if array.dtype != np.uint8 or array.ndim not in MAGIC_BY_NDIM:
        raise DataError(f"IDX encoding takes uint8 arrays of 1 or 3 dimensions, got {array.dtype} with shape "
                        f"{array.shape}. Convert the array first.")
    header = struct.pack(f">I{array.ndim}I", MAGIC_BY_NDIM[array.ndim], *array.shape)
    return header + np.ascontiguousarray(array).tobytes()
