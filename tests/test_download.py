"""Finding datasets on disk and downloading them, against a local HTTP server on 127.0.0.1."""

import errno
import gzip
import hashlib
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from explorer import download
from explorer.download import (
    ENV_VAR,
    IDX_FILE_NAMES,
    RemoteDataset,
    RemoteFile,
    fetch_dataset,
    find_local_files,
    is_available_locally,
)
from explorer.errors import DataError, DatasetNotFoundError
from explorer.idx import encode_idx

TINY = "tiny-mnist"


def _tiny_bytes(seed: int) -> dict[str, bytes]:
    """Raw IDX bytes of a 4-image dataset: file name -> content."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(4, 3, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=4, dtype=np.uint8)
    return {name: encode_idx(labels if "labels" in name else images) for name in IDX_FILE_NAMES}


RAW = _tiny_bytes(seed=0)
GZ = {name: gzip.compress(data, mtime=0) for name, data in RAW.items()}
CORRUPT_GZ = {name: gzip.compress(data, mtime=0) for name, data in _tiny_bytes(seed=1).items()}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty system folder and cache, no env var, and a registered tiny dataset with known checksums."""
    monkeypatch.setattr(download, "SYSTEM_DATASETS_DIR", tmp_path / "system")
    monkeypatch.setattr(download, "CACHE_ROOT", tmp_path / "cache")
    monkeypatch.delenv(ENV_VAR, raising=False)
    files = tuple(RemoteFile(name, raw_sha256=hashlib.sha256(data).hexdigest()) for name, data in RAW.items())
    monkeypatch.setitem(download.REMOTE_DATASETS, TINY, RemoteDataset(files, mirrors=("http://127.0.0.1:9/",)))
    return tmp_path


@pytest.fixture
def cache(isolated) -> Path:
    return isolated / "cache" / "datasets" / TINY


class _Handler(BaseHTTPRequestHandler):
    """Serves server.routes: path -> (body, announced Content-Length or None, seconds to stall after it); 404
    elsewhere."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, length, stall = self.server.routes[self.path]
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        time.sleep(stall)  # the connection stays open, silent

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.requests = {}, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


STALL_S = 1.0  # a stalled server's silence, longer than the client's timeout below
TIMEOUT_S = 0.3


def publish(server, prefix: str, behaviour: str = "good") -> str:
    """Serve the tiny dataset under /prefix/ as `behaviour` (good, corrupt, truncated, unannounced, stalled,
    missing); return the mirror."""
    for name, body in GZ.items():
        half = body[: len(body) // 2]
        route = {"good": (body, len(body), 0),
                 "corrupt": (CORRUPT_GZ[name], len(CORRUPT_GZ[name]), 0),
                 "truncated": (half, len(body), 0),  # announces the whole file, sends half, closes
                 "unannounced": (half, None, 0),  # no length to check: sends half, closes
                 "stalled": (half, len(body), STALL_S)}  # sends half, then nothing
        if behaviour in route:
            server.routes[f"/{prefix}/{name}.gz"] = route[behaviour]
    return f"{server.url}/{prefix}/"


def test_download_writes_verified_files_into_cache(server, cache):
    paths = fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert {name: path.read_bytes() for name, path in paths.items()} == GZ
    assert sorted(os.listdir(cache)) == sorted(f"{name}.gz" for name in IDX_FILE_NAMES)
    served = len(server.requests)
    fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert len(server.requests) == served, "a second call must use the cache, not download again"


@pytest.mark.parametrize("behaviour, reason", [("corrupt", "checksum"), ("truncated", "truncated"),
                                               ("unannounced", "cut short"), ("stalled", "timed out"),
                                               ("missing", "404")])
def test_failed_download_leaves_nothing_then_retry_succeeds(server, cache, behaviour, reason):
    bad = publish(server, "bad", behaviour)
    with pytest.raises(DatasetNotFoundError) as excinfo:
        fetch_dataset(TINY, mirrors=(bad,), timeout=TIMEOUT_S)
    assert reason in str(excinfo.value) and bad in str(excinfo.value)
    assert not cache.exists() or os.listdir(cache) == [], "no partial or temp file may stay in the cache"

    paths = fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert {name: path.read_bytes() for name, path in paths.items()} == GZ
    assert sorted(os.listdir(cache)) == sorted(f"{name}.gz" for name in IDX_FILE_NAMES)


@pytest.mark.parametrize("behaviour", ["corrupt", "truncated", "missing"])
def test_falls_back_to_second_mirror(server, cache, behaviour):
    paths = fetch_dataset(TINY, mirrors=(publish(server, "bad", behaviour), publish(server, "good")))
    assert {name: path.read_bytes() for name, path in paths.items()} == GZ
    first = IDX_FILE_NAMES[0]
    assert server.requests[:2] == [f"/bad/{first}.gz", f"/good/{first}.gz"]


class _FailingWrites:
    """A download's temp file that takes half of the first chunk, then raises `error`."""

    def __init__(self, file, error: BaseException):
        self.file, self.error = file, error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.file.close()

    def write(self, data: bytes) -> None:
        self.file.write(data[: len(data) // 2])
        self.file.flush()
        raise self.error


INTERRUPTIONS = {  # id -> (what a write raises, what fetch_dataset raises, words of its message or None)
    "Ctrl-C mid-download": (KeyboardInterrupt(), KeyboardInterrupt, None),
    "disk full mid-download": (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), DataError,
                               "disk is full.*partial file was removed.*Free some disk space"),
}


@pytest.mark.parametrize("case", INTERRUPTIONS)
def test_interrupted_download_leaves_nothing_and_the_next_try_starts_clean(server, cache, monkeypatch, case):
    error, raised, words = INTERRUPTIONS[case]
    real_fdopen = os.fdopen
    monkeypatch.setattr(download.os, "fdopen", lambda *a, **k: _FailingWrites(real_fdopen(*a, **k), error))
    good = publish(server, "good")
    with pytest.raises(raised, match=words):
        fetch_dataset(TINY, mirrors=(good, good))
    assert not cache.exists() or os.listdir(cache) == [], "no partial or temp file may stay in the cache"
    assert len(server.requests) == 1, "the other mirror would fail the same way: not tried"

    monkeypatch.setattr(download.os, "fdopen", real_fdopen)
    paths = fetch_dataset(TINY, mirrors=(good,))
    assert {name: path.read_bytes() for name, path in paths.items()} == GZ


def test_a_partial_file_of_another_download_is_never_used(server, cache):
    cache.mkdir(parents=True)
    other = cache / f".{IDX_FILE_NAMES[0]}.gz.xyz{download.PART_SUFFIX}"  # recent: maybe still being written
    other.write_bytes(GZ[IDX_FILE_NAMES[0]][:10])
    paths = fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert {name: path.read_bytes() for name, path in paths.items()} == GZ
    assert other.read_bytes() == GZ[IDX_FILE_NAMES[0]][:10], "another process's partial file is left alone"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there any more: connection refused


def test_offline_raises_one_error_that_says_how_to_get_the_data(isolated):
    with pytest.raises(DatasetNotFoundError) as excinfo:
        fetch_dataset("fashion-mnist", mirrors=(_closed_port_url(),))
    message = str(excinfo.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--data-dir" in message and ENV_VAR in message
    assert str(isolated / "cache" / "datasets" / "fashion-mnist") in message  # where to put the files
    assert "train-images-idx3-ubyte.gz" in message
    assert message.count("could not be downloaded") == 1


def test_download_forbidden_makes_no_request(server):
    with pytest.raises(DatasetNotFoundError, match="downloading is turned off"):
        fetch_dataset(TINY, download=False, mirrors=(publish(server, "good"),))
    assert server.requests == []


def test_stale_temp_file_is_removed(server, cache):
    cache.mkdir(parents=True)
    stale = cache / f".{IDX_FILE_NAMES[0]}.gz.abc{download.PART_SUFFIX}"
    stale.write_bytes(b"half")
    old = time.time() - 2 * download.STALE_PART_AGE_S
    os.utime(stale, (old, old))
    fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert not stale.exists()


def place(folder: Path, compress: bool = True, names=IDX_FILE_NAMES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if compress:
            (folder / f"{name}.gz").write_bytes(GZ[name])
        else:
            (folder / name).write_bytes(RAW[name])
    return folder


LOCATIONS = ["data_dir", "env", "system", "cache"]  # in priority order


@pytest.mark.parametrize("present", [LOCATIONS, LOCATIONS[1:], LOCATIONS[2:], LOCATIONS[3:], ["data_dir", "cache"]])
@pytest.mark.parametrize("nested", [True, False], ids=["dir/dataset", "dir"])
def test_local_lookup_order(isolated, monkeypatch, present, nested):
    data_dir, env_dir = isolated / "data", isolated / "env"
    folders = {"data_dir": data_dir / TINY if nested else data_dir, "env": env_dir / TINY if nested else env_dir,
               "system": isolated / "system" / TINY, "cache": isolated / "cache" / "datasets" / TINY}
    data_dir.mkdir()
    monkeypatch.setenv(ENV_VAR, str(env_dir))
    for location in present:
        place(folders[location])
    paths = find_local_files(TINY, data_dir)
    assert {path.parent for path in paths.values()} == {folders[present[0]]}


def test_folder_missing_a_file_is_passed_over(isolated):
    data_dir = place(isolated / "data", names=IDX_FILE_NAMES[:-1])
    system = place(isolated / "system" / TINY)
    assert {path.parent for path in fetch_dataset(TINY, data_dir=data_dir).values()} == {system}


def test_uncompressed_local_files_are_accepted(isolated):
    data_dir = place(isolated / "data", compress=False)
    paths = fetch_dataset(TINY, data_dir=data_dir, download=False)
    assert paths == {name: data_dir / name for name in IDX_FILE_NAMES}


def test_local_file_with_wrong_checksum_is_an_error(isolated):
    data_dir = place(isolated / "data")
    (data_dir / f"{IDX_FILE_NAMES[1]}.gz").write_bytes(CORRUPT_GZ[IDX_FILE_NAMES[1]])
    with pytest.raises(DataError, match=f"{IDX_FILE_NAMES[1]}.*sha256.*Delete it"):
        fetch_dataset(TINY, data_dir=data_dir, download=False)


def test_missing_data_dir_is_an_error(isolated):
    with pytest.raises(DataError, match="does not exist.*--data-dir"):
        fetch_dataset(TINY, data_dir=isolated / "typo")


def test_is_available_locally(isolated, monkeypatch):
    assert not is_available_locally(TINY)
    assert is_available_locally("digits"), "digits ships with scikit-learn"
    monkeypatch.setenv(ENV_VAR, str(place(isolated / "env")))
    assert is_available_locally(TINY)
