"""Helpers for the app's tests: tiny checkpoints trained in seconds, and running the app under AppTest."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.config import ModelConfig, TrainConfig
from explorer.data import FASHION_MNIST_CLASSES
from explorer.train import train

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
DIGITS = ROOT / "trained" / "digits"
TINY_IMAGES = 240  # enough for a train/val/test split with every class in each


def train_tiny_fashion_like(folder: Path, latent_dim: int = 2) -> Path:
    """A 28x28 conv VAE on random 'fashion-like' images with Fashion-MNIST's class names, 1 epoch, no t-SNE."""
    rng = np.random.default_rng(0)
    data = folder / "fashion-like.npz"
    np.savez(data, images=rng.integers(0, 256, (TINY_IMAGES, 28, 28), dtype=np.uint8),
             labels=np.arange(TINY_IMAGES) % 10, class_names=np.array(FASHION_MNIST_CLASSES))
    model = ModelConfig(latent_dim=latent_dim, architecture="conv", hidden_dims=(8, 16), fc_dim=32)
    config = TrainConfig(dataset=str(data), epochs=1, batch_size=64, embed_tsne=False, device="cpu")
    return train(model, config, folder / "tiny-fashion", progress=False)


def without_dataset(checkpoint: Path, folder: Path) -> Path:
    """A copy of ``checkpoint`` whose recorded dataset is a file that does not exist."""
    copy = folder / f"{checkpoint.name}-no-data"
    shutil.copytree(checkpoint, copy)
    config = json.loads((copy / "config.json").read_text())
    config["dataset"]["name"] = config["train"]["dataset"] = str(folder / "gone.npz")
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def open_app(model: Path, view: str = "Map", **session) -> AppTest:
    """Run the app on ``model`` with the tab ``view`` open and the given session-state values set first."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["model_choice"] = str(model.resolve())
    at.session_state["view"] = view
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


_GESTURES = iter(range(10**9))


def click_map(at: AppTest, index: int) -> AppTest:
    """What a click on the map sends: the WebGL map's report of one point (on the Plotly map: a selection of
    one point whose customdata is its index)."""
    return select_on_map(at, [index], "click")


def select_on_map(at: AppTest, ids: list[int], how: str = "lasso") -> AppTest:
    """What a click or a lasso on the main map sends, drawn by either renderer."""
    renderer = at.session_state["map_renderer"] if "map_renderer" in at.session_state else "webgl"
    if renderer == "plotly":
        at.session_state["map_event"] = {"selection": {"points": [{"customdata": i} for i in ids],
                                                       "point_indices": list(range(len(ids))), "box": [], "lasso": []}}
    else:
        at.session_state["map_webgl"] = {"selected": {"ids": list(ids), "how": how, "seq": f"test-{next(_GESTURES)}"}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


class MediaRecorder:
    """Keeps the bytes of every image and download the app hands to Streamlit, by media file id."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.names: dict[str, str | None] = {}  # file id -> the download's file name
        self.deferred: dict[str, dict] = {}  # file id -> a download made on click: its callable, name and type

    def wrap(self, original):
        def load_and_get_id(storage, path_or_data, mimetype, kind, filename=None):
            file_id = original(storage, path_or_data, mimetype, kind, filename)
            if isinstance(path_or_data, bytes):
                self.files[file_id] = (path_or_data, mimetype)
                self.names[file_id] = filename
            return file_id
        return load_and_get_id

    def wrap_deferred(self, original):
        def add_deferred(manager, data_callable, mimetype, coordinates, file_name=None, **kwargs):
            file_id = original(manager, data_callable, mimetype, coordinates, file_name, **kwargs)
            self.deferred[file_id] = {"callable": data_callable, "name": file_name, "mime": mimetype}
            return file_id
        return add_deferred

    def download(self, button) -> tuple[bytes, str | None, str]:
        """(bytes, file name, MIME type) of a download button, as a click would fetch them (on-click ones run)."""
        if button.proto.deferred_file_id:
            entry = self.deferred[button.proto.deferred_file_id]
            return entry["callable"](), entry["name"], entry["mime"]
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".", 1)[0]
        return self.files[file_id][0], self.names[file_id], self.files[file_id][1]

    def by_url(self, url: str) -> bytes:
        return self.files[url.rsplit("/", 1)[-1].split(".", 1)[0]][0]

    def name_by_url(self, url: str) -> str | None:
        return self.names[url.rsplit("/", 1)[-1].split(".", 1)[0]]

    def of_type(self, mimetype: str) -> list[bytes]:
        return [data for data, kind in self.files.values() if kind == mimetype]


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def server_sliders(at: AppTest) -> AppTest:
    """Switch the Sliders tab from the live (in-page) view to Streamlit's own sliders, which AppTest can read."""
    at.segmented_control(key="w:slider_engine").set_value("server").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@dataclass
class MainMap:
    """The main map as the app hands it to the page's WebGL map (explorer/app/scatter.py)."""

    classes: list[str]  # legend names, in order
    axis_titles: list[str]
    ids: list[int]  # test-set ids of the points drawn
    xy: np.ndarray  # their coordinates in the page's [-1, 1] square
    marked: int | None  # the ringed point
    selection: list[int]  # the highlighted group


def main_map(at: AppTest) -> MainMap | None:
    """The WebGL main map of the last run, or None when none was drawn."""
    from explorer.app.scatter import read_points_blob

    from explorer.app.scatter import MAGIC

    elements = [e.proto for e in at.main.get("bidi_component")]
    components = {e.component_name: e for e in elements}
    if "latent_explorer.map_view" not in components:
        return None
    # The loader component carries the points and, after them, the images: the points start with MAGIC.
    (points,) = [e for e in elements if e.component_name == "latent_explorer.map_points" and e.bytes[:8] == MAGIC]
    header, xy, ids, _, _ = read_points_blob(points.bytes)
    view = json.loads(components["latent_explorer.map_view"].json)
    assert view["map_id"] == header["map_id"]  # the view shows the points the loader sent
    return MainMap([c["name"] for c in header["classes"]], header["axis_titles"], ids.tolist(), xy,
                   view["marked"], view["selection"])
