"""The map as a WebGL scatter: regl-scatterplot in a component v2, its points sent once as binary.

Two components (inline JS and CSS from explorer/app/map_js/, no build step, nothing from a CDN):
- the points loader gets the map as bytes (``points_blob``): coordinates, test-set ids and classes. It is
  keyed per map (model version, projection, subset), so the points reach the page once per map, not on
  every rerun (Streamlit does not resend unchanged component data), and a new map is a new element;
- the view gets small JSON per rerun (the pick, the selection, the height) and takes the points from the
  page. A click or a lasso comes back as the state "selected" ({ids, how, seq}): one rerun per gesture.

The vendored libraries (map_js/vendor/, published npm build files with their licences):
regl-scatterplot 1.16.0, regl 2.1.1, pub-sub-es 3.0.0. regl-scatterplot and regl are UMD builds, run
with ``this`` bound to the page's global object; pub-sub-es is an ES module whose two export lines are
replaced by a return, checked here so that another version fails loudly instead of silently.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from explorer import projection
from explorer.app import plots

JS_DIR = Path(__file__).resolve().parent / "map_js"
VENDOR_DIR = JS_DIR / "vendor"
VENDORED = json.loads((VENDOR_DIR / "VENDORED.json").read_text())  # file -> package, version, licence, sha256
MAGIC = b"LEMAP\x00\x01\x00"
IMAGES_MAGIC = b"LEIMG\x00\x01\x00"
THUMB_SIDE = 32  # at most this many pixels a side in the map's image sheet (Fashion-MNIST's 28 stay as they are)
SHEET_COLUMNS = 100
MAP_HEIGHT = 620  # at most this many CSS pixels high (as the Plotly map); the height follows the width
FILL = 0.9  # the points span this much of the half-width of the map's square [-1, 1] space
_PUBSUB_EXPORTS = "export { globalPubSub, createPubSub };\nexport default createPubSub;\n"


def sources(folder: Path, *names: str) -> str:
    """The files ``names`` of ``folder`` as one inline script or style sheet."""
    # A trailing newline: a one-line inline string could be mistaken for a file path (STREAMLIT.md).
    return "\n".join(_read(folder, name) for name in names) + "\n"


def _pad_source(*names: str) -> str:
    return sources(JS_DIR.parent / "pad", *names)  # the live views' decoder registry and latent maths


def _read(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


def vendor_prelude() -> str:
    """The three libraries as one script that defines ``globalThis.createScatterplot`` once per page."""
    pubsub = _read(VENDOR_DIR, "pub-sub-es.js")
    if not pubsub.endswith(_PUBSUB_EXPORTS):
        raise RuntimeError("map_js/vendor/pub-sub-es.js does not end with the exports of pub-sub-es 3.0.0; "
                           "update explorer/app/scatter.py with the new version")
    pubsub = pubsub[: -len(_PUBSUB_EXPORTS)]
    return ("if (!globalThis.createScatterplot) {\n"
            f"(function () {{\n{_read(VENDOR_DIR, 'regl.min.js')}\n}}).call(globalThis);\n"
            f"globalThis.createPubSub = (function () {{\n{pubsub}\nreturn createPubSub;\n}})();\n"
            f"(function () {{\n{_read(VENDOR_DIR, 'regl-scatterplot.min.js')}\n}}).call(globalThis);\n"
            "}\n")


def _source(*names: str) -> str:
    return sources(JS_DIR, *names)


_CSS = _source("map.css")
_loader = st.components.v2.component("latent_explorer.map_points", js=_source("map_core.js", "map_loader.js"))
_view = st.components.v2.component("latent_explorer.map_view", css=_CSS,
                                   js=vendor_prelude() + _pad_source("pad_core.js")
                                   + _source("map_core.js", "map_layers.js", "map_probe.js", "map_view.js"))


def frame(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (2,), scale): map coordinates = page coordinates * scale + centre; one scale for both axes."""
    xy = np.asarray(xy, np.float64)
    lo, hi = np.nanmin(xy, axis=0), np.nanmax(xy, axis=0)
    half = max(float(np.max(hi - lo)) / 2, 1e-12)
    return (lo + hi) / 2, half / FILL


def normalise(xy: np.ndarray) -> np.ndarray:
    """(N, 2) map coordinates into regl-scatterplot's [-1, 1] square, one scale for both axes (distances keep)."""
    centre, scale = frame(xy)
    return ((np.asarray(xy, np.float64) - centre) / scale).astype(np.float32)


def plane_of(proj: projection.Projection, shown: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """How the page turns a spot of the map into a latent point, for the decoded atlas and the probe.

    Exact where the map has an inverse (the PCA plane, a 2-D latent plane); elsewhere the mean code of the
    ``k`` nearest shown points, as ``Projection.local_code``, for which the page needs the codes themselves.
    """
    if isinstance(proj, projection.PCA):
        return {"kind": "pca", "exact": True, "components": proj.components.astype(float).tolist(),
                "mean": proj.mean.astype(float).tolist()}, None
    if proj.invertible:
        return {"kind": "latent", "exact": True}, None
    return {"kind": "local", "exact": False, "k": projection.PLACEMENT_NEIGHBOURS}, proj.mu[shown]


def points_blob(map_id: str, xy: np.ndarray, ids: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
                axis_titles: tuple[str, str], file_stem: str, plane: dict | None = None,
                codes: np.ndarray | None = None) -> bytes:
    """The map's points as the page reads them (map_js/map_core.js: readMap): header JSON, then columns.

    ``ids`` must be sorted (the page finds a point by binary search); ``labels`` -1 is "unlabelled".
    ``plane`` (``plane_of``) says how a spot maps back to latent space; ``codes`` (N, D), when given, follow
    the columns (the fitted maps' local average needs them).
    """
    ids = np.asarray(ids)
    if len(ids) and np.any(np.diff(ids) <= 0):
        raise ValueError("the map's ids must be sorted and unique")
    values = np.unique(labels)
    classes = [{"label": int(v), "name": plots.class_name(int(v), class_names), "colour": plots.class_colour(int(v))}
               for v in values]
    centre, scale = frame(xy)
    header = {"map_id": map_id, "n": int(len(ids)), "classes": classes, "axis_titles": list(axis_titles),
              "file_stem": file_stem, "frame": {"centre": centre.tolist(), "scale": scale},
              "plane": plane or {"kind": "none", "exact": False},
              "code_dim": 0 if codes is None else int(codes.shape[1])}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(len(MAGIC) + 4 + len(text)) % 4)
    ndc = normalise(xy)
    category = np.searchsorted(values, labels).astype("<u2")
    columns = [ndc[:, 0].astype("<f4").tobytes(), ndc[:, 1].astype("<f4").tobytes(), ids.astype("<i4").tobytes(),
               category.tobytes() + b"\0\0" * (len(ids) % 2)]  # padded: the codes start 4-byte aligned
    if codes is not None:
        columns.append(np.ascontiguousarray(codes, "<f4").tobytes())
    return b"".join([MAGIC, struct.pack("<I", len(text)), text, *columns])


def read_points_blob(blob: bytes) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(header, (N, 2) coordinates in [-1, 1], ids, class indices, codes or None): ``points_blob`` inverted."""
    if blob[:8] != MAGIC:
        raise ValueError("not a Latent Explorer map blob")
    (length,) = struct.unpack("<I", blob[8:12])
    header = json.loads(blob[12 : 12 + length])
    n, body = header["n"], blob[12 + length :]
    x, y = (np.frombuffer(body, "<f4", n, k * 4 * n) for k in (0, 1))
    ids = np.frombuffer(body, "<i4", n, 8 * n)
    category = np.frombuffer(body, "<u2", n, 12 * n)
    d = header["code_dim"]
    codes = np.frombuffer(body, "<f4", n * d, 12 * n + 2 * (n + n % 2)).reshape(n, d) if d else None
    return header, np.stack([x, y], axis=1), ids, category, codes


def images_blob(images_id: str, images: np.ndarray) -> bytes:
    """The images of the map's points, in the map's order, as one PNG sheet the page decodes natively.

    Layout: magic (8 bytes), header length (uint32), header JSON padded to 4 bytes ({images_id, n, width,
    height, cols}), then the PNG: image k at column k % cols, row k // cols. Images larger than THUMB_SIDE
    are shrunk to it (the map draws them small; the inspector shows the originals).
    """
    from PIL import Image

    from explorer.app import images as pictures

    pixels = pictures.to_uint8(images)
    h, w = pixels.shape[1:3]
    if max(h, w) > THUMB_SIDE:
        k = THUMB_SIDE / max(h, w)
        size = (max(1, round(w * k)), max(1, round(h * k)))
        pixels = np.stack([np.asarray(Image.fromarray(p).resize(size, Image.Resampling.LANCZOS)) for p in pixels])
        h, w = pixels.shape[1:3]
    cols = min(SHEET_COLUMNS, len(pixels))
    sheet = pictures.mosaic(pixels, cols, gap=0)
    header = {"images_id": images_id, "n": int(len(pixels)), "width": int(w), "height": int(h), "cols": cols}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(len(IMAGES_MAGIC) + 4 + len(text)) % 4)
    return b"".join([IMAGES_MAGIC, struct.pack("<I", len(text)), text, pictures.png_bytes(sheet)])


def read_images_blob(blob: bytes) -> tuple[dict, np.ndarray]:
    """(header, (N, H, W[, 3]) uint8 images): ``images_blob`` inverted, for tests."""
    import io

    from PIL import Image

    if blob[:8] != IMAGES_MAGIC:
        raise ValueError("not a Latent Explorer images blob")
    (length,) = struct.unpack("<I", blob[8:12])
    header = json.loads(blob[12 : 12 + length])
    sheet = np.asarray(Image.open(io.BytesIO(blob[12 + length :])))
    h, w, cols = header["height"], header["width"], header["cols"]
    tiles = [sheet[(k // cols) * h : (k // cols + 1) * h, (k % cols) * w : (k % cols + 1) * w] for k in range(header["n"])]
    return header, np.stack(tiles)


def map_id(path: str, version: tuple[float, float], key: str, points: int, perplexity: float) -> str:
    """The page's name for one map of one model version: a new name is a new set of points to load."""
    digest = hashlib.sha1(f"{path}@{version}".encode()).hexdigest()[:10]
    return f"{Path(path).name}-{key}-{points}-{perplexity:g}-{digest}"


@st.cache_data(show_spinner=False, max_entries=4)  # a few models' sheets (4 MB each for Fashion-MNIST's test split)
def _cached_images(images_id: str, _images: Callable[[], np.ndarray | None]) -> bytes | None:
    pictures = _images()  # called once per images_id: the sheet is made once, for every session
    return None if pictures is None else images_blob(images_id, pictures)


@st.cache_data(show_spinner=False, max_entries=16)  # _proj is not hashed: the map id names the projection
def _cached_blob(map_id_: str, xy: np.ndarray, ids: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
                 axis_titles: tuple[str, str], file_stem: str, _proj: projection.Projection | None) -> bytes:
    plane, codes = plane_of(_proj, ids) if _proj is not None else (None, None)
    return points_blob(map_id_, xy, ids, labels, class_names, axis_titles, file_stem, plane, codes)


def render(map_id_: str, xy: np.ndarray, ids: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
           axis_titles: tuple[str, str], file_stem: str, *, marked: int | None, selection: list[int],
           on_select: Callable[[], None], key: str, big: bool = False, height: int = MAP_HEIGHT,
           id_label: str = "test image", proj: projection.Projection | None = None,
           decoder: str | None = None, images: Callable[[], np.ndarray | None] | None = None,
           images_id: str | None = None, on_probe: Callable[[], None] | None = None,
           palette: tuple[str, ...] = plots.CLASS_COLOURS, training_from: int | None = None) -> None:
    """The map of points ``ids`` at ``xy``; ``marked`` (a test-set id) is ringed, ``selection`` highlighted.

    With ``proj`` (the map's projection) and ``decoder`` (the page's name for the in-page decoder), the map
    offers the decoded atlas; the map id names the projection, so it keys the cached blob on its own.
    ``images`` gives the points' images in the order of ``ids`` (None where there are none); they go to the
    page after the map (its first paint does not wait for them), once per ``images_id``, whatever the projection.
    """
    blob = _cached_blob(map_id_, xy, ids, labels, class_names, axis_titles, file_stem, proj)
    # One loader per map: a new map (another model, projection or subset) is a new element. Under one fixed
    # key, the page kept the first model's points when the model changed (its new bytes never ran).
    _loader(key=f"{key}_points_{map_id_}", data=blob, height="content")
    _view(key=key, data={"map_id": map_id_, "marked": marked, "selection": [int(i) for i in selection],
                         "height": height, "big": big, "id_label": id_label, "decoder": decoder,
                         "images_id": images_id, "training_from": training_from,
                         # The class colours travel per rerun (a few bytes), so a new palette needs no new points.
                         "colours": [plots.class_colour(c["label"], palette) for c in _classes(blob)]},
          on_selected_change=on_select, on_probe_change=on_probe or _ignore, height="content")
    sheet = None if images is None or images_id is None else _cached_images(images_id, images)
    if sheet is not None:
        _loader(key=f"{key}_images_{images_id}", data=sheet, height="content")


def _classes(blob: bytes) -> list[dict]:
    (length,) = struct.unpack("<I", blob[8:12])
    return json.loads(blob[12 : 12 + length])["classes"]


def _ignore() -> None:
    """on_probe_change with nothing to do: the state is read on the rerun (``probed``)."""


def _report(key: str, state: str, listed: str) -> dict | None:
    """The component state ``state`` of the map under ``key``, if it is a dict whose ``listed`` is a list."""
    value = st.session_state.get(key)
    try:
        report = value[state]
    except (KeyError, TypeError):
        return None
    return report if isinstance(report, dict) and isinstance(report.get(listed), list) else None


def probed(key: str) -> dict | None:
    """The probe's last released spot on the map under ``key``: {"z", "xy", "exact", "seq"}, or None."""
    return _report(key, "probe", "z")


def reported(key: str) -> dict | None:
    """What the map under ``key`` last reported: {"ids": [...], "how": "click" | "lasso", "seq": n}, or None."""
    return _report(key, "selected", "ids")
