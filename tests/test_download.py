"""Finding datasets on disk and downloading them, against a local HTTP server on 127.0.0.1."""

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
from explorer.download import (ENV_VAR, IDX_FILE_NAMES, RemoteDataset, RemoteFile, fetch_dataset, find_local_files,
                               is_available_locally)
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
    """Serves server.routes: path -> (body, announced Content-Length); 404 elsewhere."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, length = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

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


def publish(server, prefix: str, behaviour: str = "good") -> str:
    """Serve the tiny dataset under /prefix/ as `behaviour` (good, corrupt, truncated, missing); return the mirror."""
    for name, body in GZ.items():
        if behaviour == "corrupt":
            server.routes[f"/{prefix}/{name}.gz"] = (CORRUPT_GZ[name], len(CORRUPT_GZ[name]))
        elif behaviour == "truncated":  # announces the whole file, sends half, closes
            server.routes[f"/{prefix}/{name}.gz"] = (body[: len(body) // 2], len(body))
        elif behaviour == "good":
            server.routes[f"/{prefix}/{name}.gz"] = (body, len(body))
    return f"{server.url}/{prefix}/"


def test_download_writes_verified_files_into_cache(server, cache):
    paths = fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert {name: path.read_bytes() for name, path in paths.items()} == GZ
    assert sorted(os.listdir(cache)) == sorted(f"{name}.gz" for name in IDX_FILE_NAMES)
    served = len(server.requests)
    fetch_dataset(TINY, mirrors=(publish(server, "good"),))
    assert len(server.requests) == served, "a second call must use the cache, not download again"


@pytest.mark.parametrize("behaviour, reason", [("corrupt", "checksum"), ("truncated", "truncated"),
                                               ("missing", "404")])
def test_failed_download_leaves_nothing_then_retry_succeeds(server, cache, behaviour, reason):
    bad = publish(server, "bad", behaviour)
    with pytest.raises(DatasetNotFoundError) as excinfo:
        fetch_dataset(TINY, mirrors=(bad,))
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
