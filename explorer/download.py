"""Find the MNIST-style datasets on disk, or download them from their mirrors with checksums verified.

Local lookup order (the first folder that holds all of a dataset's files wins): the `data_dir`
argument (the CLI's --data-dir), the LATENT_EXPLORER_DATA environment variable (each as
`<dir>/<dataset>/` or `<dir>/` itself), the system folder `/usr/share/datasets/<dataset>/` (Debian's
dataset-* packages), then the cache. Downloads always go to the cache, atomically: a file appears
there only once complete and verified.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import platformdirs
from tqdm import tqdm

from explorer import __version__
from explorer.errors import DataError, DatasetNotFoundError, is_disk_full
from explorer.idx import CHUNK_SIZE, sha256_of_decompressed

logger = logging.getLogger(__name__)

ENV_VAR = "LATENT_EXPLORER_DATA"
# Module-level so tests can monkeypatch them and never read this machine's real folders.
SYSTEM_DATASETS_DIR = Path("/usr/share/datasets")
CACHE_ROOT = Path(platformdirs.user_cache_dir("latent-explorer"))
DOWNLOAD_TIMEOUT_S = 30.0  # per blocking network operation, not for the whole file
MAX_DOWNLOAD_BYTES = 1 << 28  # the largest upstream file is 26 MB; stops a runaway server
STALE_PART_AGE_S = 24 * 60 * 60  # temp files this old are left over from a killed process
GZ_SUFFIX = ".gz"
PART_SUFFIX = ".part"
USER_AGENT = f"latent-explorer/{__version__}"

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


@dataclass(frozen=True)
class RemoteFile:
    """One upstream file, published on the mirrors as `<name>.gz`."""

    name: str  # without ".gz", e.g. "train-images-idx3-ubyte"
    raw_sha256: str | None = None  # sha256 of the decompressed bytes: same for recompressed copies
    gz_md5: str | None = None  # md5 of the upstream .gz bytes

    def __post_init__(self) -> None:
        if self.raw_sha256 is None and self.gz_md5 is None:
            raise ValueError(f"RemoteFile {self.name!r} needs raw_sha256 or gz_md5 to be verifiable")


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset's files, where to download them, and a package that installs them if there is one."""

    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]  # base URLs, tried in order
    install_hint: str | None = None


def _idx_files(sha256: dict[str, str], md5: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, sha256.get(name), md5.get(name)) for name in IDX_FILE_NAMES)


REMOTE_DATASETS: dict[str, RemoteDataset] = {
    "fashion-mnist": RemoteDataset(
        files=_idx_files(
            sha256={
                TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
            md5={},
        ),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        install_hint="sudo apt-get install dataset-fashion-mnist  (Debian/Ubuntu)",
    ),
    "mnist": RemoteDataset(
        files=_idx_files(
            sha256={
                TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
            md5={  # of the upstream .gz files, as torchvision records them
                TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
                TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
                TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
            },
        ),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    ),
}


def _remote(name: str) -> RemoteDataset:
    if name not in REMOTE_DATASETS:
        raise DataError(f"Unknown downloadable dataset {name!r}; choose one of {sorted(REMOTE_DATASETS)}.")
    return REMOTE_DATASETS[name]


def dataset_cache_dir(name: str, cache_root: Path | None = None) -> Path:
    """The folder downloads of `name` go to."""
    return (cache_root or CACHE_ROOT) / "datasets" / name


def candidate_dirs(name: str, data_dir: str | Path | None = None, *, system_dir: Path | None = None,
                   cache_root: Path | None = None) -> list[Path]:
    """Folders searched for the dataset's files, in priority order."""
    dirs: list[Path] = []
    for base in (data_dir, os.environ.get(ENV_VAR) or None):
        if base is not None:
            dirs += [Path(base) / name, Path(base)]
    dirs += [(system_dir or SYSTEM_DATASETS_DIR) / name, dataset_cache_dir(name, cache_root)]
    return dirs


def _find_file(folder: Path, name: str) -> Path | None:
    """`<name>.gz` or else `<name>` in folder, if either is a file."""
    for path in (folder / (name + GZ_SUFFIX), folder / name):
        if path.is_file():
            return path
    return None


def find_local_files(name: str, data_dir: str | Path | None = None, *, system_dir: Path | None = None,
                     cache_root: Path | None = None) -> dict[str, Path] | None:
    """File name -> path from the first folder that holds all the dataset's files, unverified; None if none does."""
    names = [f.name for f in _remote(name).files]
    for folder in candidate_dirs(name, data_dir, system_dir=system_dir, cache_root=cache_root):
        found = {n: _find_file(folder, n) for n in names}
        if all(found.values()):
            logger.debug("Found %s in %s", name, folder)
            return found
    return None


def is_available_locally(name: str, data_dir: str | Path | None = None) -> bool:
    """Whether `name` can be loaded without downloading. Names that are never downloaded count as available."""
    return name not in REMOTE_DATASETS or find_local_files(name, data_dir) is not None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, remote_file: RemoteFile) -> bool:
    """True if the decompressed sha256 matches, else if the .gz md5 matches; raises DataError on a broken gzip."""
    if remote_file.raw_sha256 is not None and sha256_of_decompressed(path) == remote_file.raw_sha256:
        return True
    return remote_file.gz_md5 is not None and _md5(path) == remote_file.gz_md5


def _check_local_file(path: Path, remote_file: RemoteFile) -> None:
    """A sha256 mismatch is an error; with only an md5 known, a differing copy may just be recompressed."""
    if verify_file(path, remote_file):
        return
    if remote_file.raw_sha256 is not None:
        raise DataError(f"{path} is not the published {remote_file.name}: the sha256 of its decompressed content is "
                        f"not {remote_file.raw_sha256}. Delete it and try again (it will be downloaded again), "
                        "or replace it with an original copy.")
    logger.warning("Cannot verify %s: its bytes differ from the upstream .gz (a recompressed or uncompressed copy?) "
                   "and no checksum of its content is known; using it as it is.", path)


def _stream(url: str, out: BinaryIO, timeout: float) -> None:
    """Write the body at `url` to `out`, with a progress bar; DataError if it arrives incomplete."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length", "")
        expected = int(length) if length.isdigit() else None
        if expected is not None and expected > MAX_DOWNLOAD_BYTES:
            raise DataError(f"the server announces {expected} bytes, more than any dataset file here")
        received = 0
        # disable=None: no bar when stderr is not a terminal (logs, CI)
        with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024, desc=url.rsplit("/", 1)[-1],
                  disable=None, leave=False) as bar:
            while chunk := response.read(CHUNK_SIZE):
                received += len(chunk)
                if received > MAX_DOWNLOAD_BYTES:
                    raise DataError(f"the server sent more than {MAX_DOWNLOAD_BYTES} bytes")
                out.write(chunk)
                bar.update(len(chunk))
    # http.client reports a connection closed early as a short read, not an error
    if expected is not None and received != expected:
        raise DataError(f"transfer truncated: received {received} of {expected} bytes")


def _download_verified(url: str, remote_file: RemoteFile, target: Path, timeout: float) -> None:
    """Download to a temp file beside `target`, verify it, then move it into place atomically."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PART_SUFFIX)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, timeout)
        try:
            verified = verify_file(tmp, remote_file)
        except DataError as exc:  # its advice names the temp file, which is about to go
            raise DataError("the file received is not a readable gzip file; the transfer was probably cut "
                            "short") from exc
        if not verified:
            raise DataError("checksum mismatch: the file is not the published one")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # after os.replace the name is gone: this only removes failed downloads


def _remove_stale_parts(folder: Path) -> None:
    """Remove temp files left by a killed process; recent ones may belong to a download in progress."""
    now = time.time()
    for part in folder.glob(f".*{PART_SUFFIX}"):
        if now - part.stat().st_mtime > STALE_PART_AGE_S:
            part.unlink(missing_ok=True)


def _download_from_mirrors(remote_file: RemoteFile, mirrors: tuple[str, ...], folder: Path,
                           timeout: float) -> tuple[Path | None, list[str]]:
    """(path of the verified `<name>.gz`, or None, and one failure reason per mirror tried)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"Cannot create the download folder {folder} ({exc}). Pass --data-dir or set {ENV_VAR} to a "
                        "folder holding the files, or set XDG_CACHE_HOME to a writable folder.") from exc
    _remove_stale_parts(folder)
    target = folder / (remote_file.name + GZ_SUFFIX)
    failures = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{remote_file.name}{GZ_SUFFIX}"
        logger.info("Downloading %s", url)
        try:
            _download_verified(url, remote_file, target, timeout)
        except (OSError, http.client.HTTPException, DataError) as exc:  # URLError and timeouts are OSErrors
            if is_disk_full(exc):  # every mirror would fail the same way
                raise DataError(f"Cannot download {remote_file.name} into {folder}: the disk is full ({exc}). The "
                                "partial file was removed. Free some disk space and try again, or set "
                                "XDG_CACHE_HOME to a folder on a disk with room.") from exc
            logger.warning("Download of %s failed: %s", url, exc)
            failures.append(f"{url}: {exc}")
        else:
            return target, failures
    return None, failures


def _not_found_message(name: str, remote: RemoteDataset, looked_in: list[Path], cache: Path, reason: str) -> str:
    files = ", ".join(f.name + GZ_SUFFIX for f in remote.files)
    ways = [remote.install_hint] if remote.install_hint else []
    ways += [f"download {files} from {remote.mirrors[0]} into {cache}",
             f"put the files in a folder and pass --data-dir FOLDER or set {ENV_VAR}=FOLDER"]
    return (f"Dataset {name!r} is not on this machine and {reason}.\n"
            f"Looked in: {', '.join(str(d) for d in looked_in)}.\n"
            "To get it, any of:\n" + "\n".join(f"  - {way}" for way in ways))


def fetch_dataset(name: str, *, data_dir: str | Path | None = None, download: bool = True,
                  mirrors: tuple[str, ...] | None = None, timeout: float = DOWNLOAD_TIMEOUT_S,
                  system_dir: Path | None = None, cache_root: Path | None = None) -> dict[str, Path]:
    """File name -> path of each of the dataset's files, found locally (and checked) or downloaded into the cache."""
    remote = _remote(name)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(f"The data folder {data_dir} does not exist. Check the --data-dir path.")
    local = find_local_files(name, data_dir, system_dir=system_dir, cache_root=cache_root)
    if local is not None:
        for remote_file in remote.files:
            _check_local_file(local[remote_file.name], remote_file)
        return local

    cache = dataset_cache_dir(name, cache_root)
    looked_in = candidate_dirs(name, data_dir, system_dir=system_dir, cache_root=cache_root)
    if not download:
        raise DatasetNotFoundError(_not_found_message(name, remote, looked_in, cache, "downloading is turned off"))
    paths = {}
    for remote_file in remote.files:
        path = _find_file(cache, remote_file.name)  # a file an earlier, interrupted run already completed
        if path is not None:
            _check_local_file(path, remote_file)
        else:
            path, failures = _download_from_mirrors(remote_file, mirrors or remote.mirrors, cache, timeout)
            if path is None:
                reason = "could not be downloaded:\n" + "\n".join(f"  {failure}" for failure in failures)
                raise DatasetNotFoundError(_not_found_message(name, remote, looked_in, cache, reason))
        paths[remote_file.name] = path
    return paths
