"""The map as a WebGL scatter: regl-scatterplot in a component v2, its points sent once as binary.

Two components (inline JS and CSS from explorer/app/map_js/, no build step, nothing from a CDN):
- the points loader gets the map as bytes (``points_blob``): coordinates, test-set ids and classes. It is
  keyed per map (model version, projection, subset), so the points reach the page once per map, not on
  every rerun (Streamlit does not resend unchanged component data), and a new map is a new element.
  The same loader carries, after the view, the points' images (``images_blob``: one sheet, then tiles
  of a training map on demand) and, when the map is coloured by a score, its values (``values_blob``);
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
VALUES_MAGIC = b"LEVAL\x00\x01\x00"
TILE_GRID = 32  # the training split's images reach the page by the cells of this grid over the map, on demand
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


def _framed(magic: bytes, header: dict, *body: bytes) -> bytes:
    """A blob as the page reads it (map_core.js: readFramed): magic (8 bytes), header length (uint32), the
    JSON header padded with spaces so that ``body`` starts 4-byte aligned, then ``body``."""
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(len(magic) + 4 + len(text)) % 4)
    return b"".join([magic, struct.pack("<I", len(text)), text, *body])


def _unframed(blob: bytes, magic: bytes, what: str) -> tuple[dict, int]:
    """(header, where the body starts) of a ``_framed`` blob; ValueError when it is not a ``what`` blob."""
    if blob[:8] != magic:
        raise ValueError(f"not a Latent Explorer {what} blob")
    (length,) = struct.unpack("<I", blob[8:12])
    return json.loads(blob[12 : 12 + length]), 12 + length


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
    ndc = normalise(xy)
    category = np.searchsorted(values, labels).astype("<u2")
    columns = [ndc[:, 0].astype("<f4").tobytes(), ndc[:, 1].astype("<f4").tobytes(), ids.astype("<i4").tobytes(),
               category.tobytes() + b"\0\0" * (len(ids) % 2)]  # padded: the codes start 4-byte aligned
    if codes is not None:
        columns.append(np.ascontiguousarray(codes, "<f4").tobytes())
    return _framed(MAGIC, header, *columns)


def read_points_blob(blob: bytes) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(header, (N, 2) coordinates in [-1, 1], ids, class indices, codes or None): ``points_blob`` inverted."""
    header, start = _unframed(blob, MAGIC, "map")
    n, body = header["n"], blob[start:]
    x, y = (np.frombuffer(body, "<f4", n, k * 4 * n) for k in (0, 1))
    ids = np.frombuffer(body, "<i4", n, 8 * n)
    category = np.frombuffer(body, "<u2", n, 12 * n)
    d = header["code_dim"]
    codes = np.frombuffer(body, "<f4", n * d, 12 * n + 2 * (n + n % 2)).reshape(n, d) if d else None
    return header, np.stack([x, y], axis=1), ids, category, codes


def images_blob(images_id: str, images: np.ndarray, positions: np.ndarray | None = None, *, part: str = "sheet",
                cells: list[int] | None = None) -> bytes:
    """Images of the map's points as one PNG sheet the page decodes natively.

    ``positions`` (default: 0..N-1) say which of the map's points (indices into its ids) the images are
    of. One ``images_id`` may arrive in several parts (``part`` names each): the sheet sent with the map,
    then tiles of the map's grid (``cells``, TILE_GRID a side) sent as the page asks for them.

    Layout: magic (8 bytes), header length (uint32), header JSON padded to 4 bytes ({images_id, part, cells,
    n, width, height, cols}), the positions (int32, n), then the PNG (absent when n is 0): image k at
    column k % cols, row k // cols. Images larger than THUMB_SIDE are shrunk to it (the map draws them
    small; the inspector shows the originals).
    """
    from PIL import Image

    from explorer.app import images as pictures

    positions = np.arange(len(images)) if positions is None else np.asarray(positions)
    if len(positions) != len(images):
        raise ValueError(f"{len(images)} images for {len(positions)} positions")
    header = {"images_id": images_id, "part": part, "cells": cells or [], "n": int(len(images)), "width": 0,
              "height": 0, "cols": 0}
    png = b""
    if len(images):
        pixels = pictures.to_uint8(images)
        h, w = pixels.shape[1:3]
        if max(h, w) > THUMB_SIDE:
            k = THUMB_SIDE / max(h, w)
            size = (max(1, round(w * k)), max(1, round(h * k)))
            pixels = np.stack([np.asarray(Image.fromarray(p).resize(size, Image.Resampling.LANCZOS)) for p in pixels])
            h, w = pixels.shape[1:3]
        cols = min(SHEET_COLUMNS, len(pixels))
        header.update(width=int(w), height=int(h), cols=cols)
        png = pictures.png_bytes(pictures.mosaic(pixels, cols, gap=0))
    return _framed(IMAGES_MAGIC, header, positions.astype("<i4").tobytes(), png)


def _images_header(blob: bytes) -> tuple[dict, np.ndarray, int]:
    header, start = _unframed(blob, IMAGES_MAGIC, "images")
    positions = np.frombuffer(blob, "<i4", header["n"], start)
    return header, positions, start + 4 * header["n"]


def read_images_blob(blob: bytes) -> tuple[dict, np.ndarray, np.ndarray]:
    """(header, positions, (N, H, W[, 3]) uint8 images): ``images_blob`` inverted, for tests."""
    import io

    from PIL import Image

    header, positions, start = _images_header(blob)
    if not header["n"]:
        return header, positions, np.zeros((0, 0, 0), np.uint8)
    sheet = np.asarray(Image.open(io.BytesIO(blob[start:])))
    h, w, cols = header["height"], header["width"], header["cols"]
    tiles = [sheet[(k // cols) * h : (k // cols + 1) * h, (k % cols) * w : (k % cols + 1) * w] for k in range(header["n"])]
    return header, positions, np.stack(tiles)


def values_blob(values_id: str, label: str, values: np.ndarray) -> bytes:
    """One number per point of the map (a per-image score), in the map's order, for colouring the points.

    Layout: magic (8 bytes), header length (uint32), header JSON padded to 4 bytes ({values_id, label, n,
    lo, hi}), then the values scaled to [0, 1] between lo and hi (float32, n; clipped), where lo and hi
    are the 1st and 99th percentiles: a few outliers do not wash out the colours of the rest; then the
    values themselves (float32, n), for the hover card.
    """
    values = np.asarray(values, np.float64)
    finite = values[np.isfinite(values)]
    lo, hi = (float(np.percentile(finite, q)) for q in (1, 99)) if len(finite) else (0.0, 1.0)
    scaled = np.clip((values - lo) / max(hi - lo, 1e-12), 0, 1)
    header = {"values_id": values_id, "label": label, "n": int(len(values)), "lo": lo, "hi": hi}
    return _framed(VALUES_MAGIC, header, np.nan_to_num(scaled, nan=0.0).astype("<f4").tobytes(),
                   values.astype("<f4").tobytes())


def read_values_blob(blob: bytes) -> tuple[dict, np.ndarray, np.ndarray]:
    """(header, values in [0, 1], the values themselves): ``values_blob`` inverted, for tests."""
    header, start = _unframed(blob, VALUES_MAGIC, "values")
    n = header["n"]
    return header, np.frombuffer(blob, "<f4", n, start), np.frombuffer(blob, "<f4", n, start + 4 * n)


def tile_cells(xy: np.ndarray) -> np.ndarray:
    """(N,) cell of each point in the map's TILE_GRID x TILE_GRID grid over the page's [-1, 1] square
    (row-major from the bottom left; -1 for a point off the map), as map_layers.js computes it."""
    ndc = normalise(xy).astype(np.float64)  # as the page's float64 maths on the same float32 values
    with np.errstate(invalid="ignore"):
        cx, cy = (np.clip(np.floor((ndc[:, k] + 1) / 2 * TILE_GRID), 0, TILE_GRID - 1) for k in (0, 1))
    cells = cy * TILE_GRID + cx
    return np.where(np.isfinite(cells), cells, -1).astype(np.int64)


def tile_blob(tiles_id: str, cells: tuple[int, ...], xy: np.ndarray, skip: np.ndarray,
              images: Callable[[np.ndarray], np.ndarray | None]) -> bytes:
    """The images of the points in ``cells`` of the map at ``xy``, but those at the positions ``skip`` (the
    page has them from the sheet), as one part of ``tiles_id``; ``images`` gives the images at positions."""
    positions = np.flatnonzero(np.isin(tile_cells(xy), cells))
    positions = positions[~np.isin(positions, skip)]
    pictures = images(positions) if len(positions) else None
    if pictures is None:  # nothing there, or no images on this machine: the page stops asking for these cells
        return images_blob(tiles_id, np.zeros((0, 1, 1), np.uint8), np.zeros(0, np.int64),
                           part=_part(cells), cells=list(cells))
    return images_blob(tiles_id, pictures, positions, part=_part(cells), cells=list(cells))


def _part(cells: tuple[int, ...]) -> str:
    return "cells-" + "-".join(map(str, cells))


def map_id(path: str, version: tuple[float, float], key: str, points: int, perplexity: float) -> str:
    """The page's name for one map of one model version: a new name is a new set of points to load."""
    digest = hashlib.sha1(f"{path}@{version}".encode()).hexdigest()[:10]
    return f"{Path(path).name}-{key}-{points}-{perplexity:g}-{digest}"


@st.cache_data(show_spinner=False, max_entries=4)  # a few models' sheets (4 MB each for Fashion-MNIST's test split)
def _cached_images(images_id: str, _images: Callable[[], tuple[np.ndarray, np.ndarray] | None]) -> bytes | None:
    sheet = _images()  # called once per images_id: the sheet is made once, for every session
    return None if sheet is None else images_blob(images_id, sheet[1], sheet[0])


@st.cache_data(show_spinner=False, max_entries=512)  # tiles of 60 images on average (30 KB), shared by sessions
def _cached_tile(tiles_id: str, cells: tuple[int, ...], _xy: np.ndarray, _skip: np.ndarray,
                 _images: Callable[[np.ndarray], np.ndarray | None]) -> bytes:
    return tile_blob(tiles_id, cells, _xy, _skip, _images)


@st.cache_data(show_spinner=False, max_entries=16)  # 40 kB each for 10,000 points
def _cached_values(values_id: str, label: str, _values: np.ndarray) -> bytes:
    return values_blob(values_id, label, _values)


@st.cache_data(show_spinner=False, max_entries=16)  # _proj is not hashed: the map id names the projection
def _cached_blob(map_id_: str, xy: np.ndarray, ids: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
                 axis_titles: tuple[str, str], file_stem: str, _proj: projection.Projection | None) -> bytes:
    plane, codes = plane_of(_proj, ids) if _proj is not None else (None, None)
    return points_blob(map_id_, xy, ids, labels, class_names, axis_titles, file_stem, plane, codes)


def render(map_id_: str, xy: np.ndarray, ids: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
           axis_titles: tuple[str, str], file_stem: str, *, marked: int | None, selection: list[int],
           on_select: Callable[[], None], key: str, big: bool = False, height: int = MAP_HEIGHT,
           id_label: str = "test image", proj: projection.Projection | None = None,
           decoder: str | None = None, images: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None,
           images_id: str | None = None, tiles: Callable[[np.ndarray], np.ndarray | None] | None = None,
           on_probe: Callable[[], None] | None = None, palette: tuple[str, ...] = plots.CLASS_COLOURS,
           training_from: int | None = None, values: tuple[str, str, np.ndarray] | None = None,
           replay: dict | None = None) -> None:
    """The map of points ``ids`` at ``xy``; ``marked`` (a test-set id) is ringed, ``selection`` highlighted.

    With ``proj`` (the map's projection) and ``decoder`` (the page's name for the in-page decoder), the map
    offers the decoded atlas; the map id names the projection, so it keys the cached blob on its own.
    ``images`` gives (positions, images): the sheet of those points' images (positions index ``ids``; None
    where there are none). It goes to the page after the map (its first paint does not wait for it), once
    per ``images_id``, whatever the projection. ``tiles`` (positions -> their images) serves the rest on
    demand: zoomed in, the page asks for the grid cells whose images it lacks, and gets them once each.
    ``values`` (name, label, one number per point): the points are coloured by it, not by class.
    ``replay``: a recorded drag of the probe to play back ({id, samples}: explorer/app/recording.py).
    """
    blob = _cached_blob(map_id_, xy, ids, labels, class_names, axis_titles, file_stem, proj)
    # One loader per map: a new map (another model, projection or subset) is a new element. Under one fixed
    # key, the page kept the first model's points when the model changed (its new bytes never ran).
    _loader(key=f"{key}_points_{map_id_}", data=blob, height="content")
    values_id = None
    if values is not None:  # before the view: the view waits for them in the page
        values_id = f"{map_id_}-{values[0]}"
        _loader(key=f"{key}_values_{values_id}", data=_cached_values(values_id, values[1], values[2]),
                height="content")
    has_images = images is not None and images_id is not None
    tiles_id = f"{map_id_}-tiles" if has_images and tiles is not None else None
    _view(key=key, data={"map_id": map_id_, "marked": marked, "selection": [int(i) for i in selection],
                         "height": height, "big": big, "id_label": id_label, "decoder": decoder,
                         "images_id": images_id if has_images else None, "tiles_id": tiles_id,
                         "tile_grid": TILE_GRID, "training_from": training_from, "values_id": values_id,
                         # The class colours travel per rerun (a few bytes), so a new palette needs no new points.
                         "colours": [plots.class_colour(c["label"], palette) for c in _classes(blob)],
                         "replay": replay},
          on_selected_change=on_select, on_probe_change=on_probe or _ignore, on_tiles_change=_ignore,
          height="content")
    sheet = _cached_images(images_id, images) if has_images else None  # made after the view is sent
    if sheet is None:
        return
    _loader(key=f"{key}_images_{images_id}", data=sheet, height="content")
    if tiles_id is not None:
        skip = _images_header(sheet)[1]
        for n, cells in enumerate(_tile_batches(key, tiles_id)):  # every batch so far: unchanged ones cost nothing
            _loader(key=f"{key}_tiles_{tiles_id}_{n}", data=_cached_tile(tiles_id, cells, xy, skip, tiles),
                    height="content")


def _tile_batches(key: str, tiles_id: str) -> list[tuple[int, ...]]:
    """The batches of cells the page has asked for on this map, with its newest request taken once."""
    store = f"{key}_tile_batches"
    batches = st.session_state.get(store)
    if not isinstance(batches, dict) or batches.get("tiles_id") != tiles_id:
        batches = st.session_state[store] = {"tiles_id": tiles_id, "seen": None, "batches": []}
    asked = component_report(key, "tiles", "cells")
    if asked is not None and asked.get("tiles_id") == tiles_id and asked.get("seq") != batches["seen"]:
        batches["seen"] = asked.get("seq")
        done = {c for b in batches["batches"] for c in b}
        wanted = {c for c in asked["cells"] if isinstance(c, int) and 0 <= c < TILE_GRID**2}
        new = tuple(sorted(wanted - done))
        if new:
            batches["batches"].append(new)
    return batches["batches"]


def _classes(blob: bytes) -> list[dict]:
    return _unframed(blob, MAGIC, "map")[0]["classes"]


def _ignore() -> None:
    """on_probe_change with nothing to do: the state is read on the rerun (``probed``)."""


def component_report(key: str, state: str, listed: str) -> dict | None:
    """The component state ``state`` of the component under ``key`` (the map, or another view that reports
    the same way), if it is a dict whose ``listed`` is a list."""
    value = st.session_state.get(key)
    try:
        report = value[state]
    except (KeyError, TypeError):
        return None
    return report if isinstance(report, dict) and isinstance(report.get(listed), list) else None


def probed(key: str) -> dict | None:
    """The probe's last released spot on the map under ``key``: {"z", "xy", "exact", "seq"}, or None."""
    return component_report(key, "probe", "z")


def reported(key: str) -> dict | None:
    """What the map under ``key`` last reported: {"ids": [...], "how": "click" | "lasso", "seq": n}, or None."""
    return component_report(key, "selected", "ids")
