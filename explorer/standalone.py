"""The explorer as one self-contained HTML file: ``build(checkpoint) -> str`` opens from file://, offline.

No streamlit here. The file holds the map (coordinates, classes, a sprite sheet of thumbnails), the decoder
with its weights (``weights_blob.pack``, run in the page by explorer/app/pad/decoder.mjs), the latent sliders,
the probe, interpolation scrubbing and an optional saved tour. Everything is inline: one <style>, one
<script type="application/json"> with the data (binary columns as base64), one <script type="module">
with the page's code (decoder.mjs and pad_core.js from the app, then explorer/standalone_page/*.js).

The map is a plain 2-D canvas, not the app's WebGL scatter: 10,000 points are drawn once into an offscreen
layer (~20 ms) and blitted per frame, which needs no WebGL (headless and older Firefoxes lack it),
no vendored library, and keeps the file smaller.

A tour is a list of stops, each ``{"z": [latent_dim floats], "caption": str, "seconds": float}``: Play moves
z to each stop in turn over its ``seconds`` and shows its caption; Next jumps to the next stop.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from explorer import checkpoint as ckpt
from explorer import latent, projection, tours
from explorer.app import plots
from explorer.app.weights_blob import UnsupportedDecoder, pack
from explorer.embedding import Embedding
from explorer.errors import CheckpointError

PAGE_DIR = Path(__file__).resolve().parent / "standalone_page"
PAD_DIR = Path(__file__).resolve().parent / "app" / "pad"
PAGE_SCRIPTS = ((PAD_DIR, "decoder.mjs"), (PAD_DIR, "pad_core.js"), (PAGE_DIR, "page_map.js"),
                (PAGE_DIR, "page_controls.js"), (PAGE_DIR, "page_main.js"))
EMAIL_BUDGET_BYTES = 10 * 1024 * 1024  # many mail servers refuse attachments over 10 MB; Gmail's 25 MB is after MIME's 4/3
THUMBNAILS_MAX = 4000  # test images kept as thumbnails: Fashion-MNIST's 10,000 would add 5.4 MB of base64 PNG
SHEET_COLUMNS = 100  # thumbnails per row of the sprite sheet
MAX_SLIDERS = 16  # sliders shown (most informative first); a larger latent space says which it leaves out
TOUR_SECONDS = tours.TOUR_SECONDS  # a stop without "seconds" takes this long to reach
PROJECTIONS = ("pca", "tsne", "latent")


class StandaloneError(CheckpointError):
    """This checkpoint cannot become a standalone page; the message says why and what to do."""


def validate_tour(tour: Any, latent_dim: int) -> list[dict[str, Any]]:
    """The tour as the page reads it (explorer/tours.py), or StandaloneError saying which stop is wrong."""
    try:
        return tours.validate(tour, latent_dim)
    except tours.TourError as err:
        raise StandaloneError(str(err)) from err


def _b64(array: np.ndarray | bytes) -> str:
    raw = array if isinstance(array, bytes) else np.ascontiguousarray(array).tobytes()
    return base64.b64encode(raw).decode("ascii")


def _test_images(checkpoint: ckpt.Checkpoint) -> np.ndarray:
    from explorer.data import load_dataset  # imports scikit-learn: only when building

    tc = checkpoint.train_config
    return load_dataset(checkpoint.dataset, data_dir=tc.data_dir, image_size=tc.image_size, download=False,
                        test_only=True, labels=tc.labels, class_names=tc.class_names).test.images


def thumbnail_sheet(images: np.ndarray, keep: np.ndarray) -> dict[str, Any]:
    """The kept test images as one PNG sprite sheet (row-major, SHEET_COLUMNS a row) and their point ids.

    PNG over raw uint8: 4.1 MB against 7.8 MB for Fashion-MNIST's 10,000 test images, 9 KB against 23 KB for digits.
    """
    n, c, h, w = images.shape[0], *images.shape[1:]
    chosen = np.clip(np.round(images[keep] * 255), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)  # (K, H, W, C)
    columns = min(SHEET_COLUMNS, max(len(keep), 1))
    rows = -(-len(keep) // columns)
    sheet = np.zeros((rows * h, columns * w, c), np.uint8)
    for k, tile in enumerate(chosen):
        r, col = divmod(k, columns)
        sheet[r * h:(r + 1) * h, col * w:(col + 1) * w] = tile
    buffer = io.BytesIO()
    Image.fromarray(sheet[..., 0] if c == 1 else sheet).save(buffer, "PNG", optimize=True)
    return {"png": _b64(buffer.getvalue()), "ids": _b64(keep.astype("<i4")), "columns": columns, "tile": [h, w],
            "count": int(len(keep)), "of": int(n)}


def _map_of(key: str, emb: Embedding, latent_dim: int) -> tuple[projection.Projection, dict[str, Any]]:
    if key not in PROJECTIONS:
        raise StandaloneError(f"unknown projection {key!r}: choose one of {', '.join(PROJECTIONS)}")
    offered = [k for k in projection.available(latent_dim) if k in PROJECTIONS]
    if key not in offered:
        raise StandaloneError(f"the {key} map is not offered for a {latent_dim}-D model: choose one of {', '.join(offered)}")
    try:
        proj = projection.make(key, emb)
    except ValueError as err:  # a fitted map that was never computed for this checkpoint
        raise StandaloneError(f"{err} `python -m explorer evaluate` caches t-SNE; or use --projection pca") from err
    if isinstance(proj, projection.PCA):
        plane = {"kind": "pca", "components": proj.components.astype(float).tolist(), "mean": proj.mean.astype(float).tolist()}
    elif proj.invertible:
        plane = {"kind": "latent"}
    else:
        plane = {"kind": "local", "k": projection.PLACEMENT_NEIGHBOURS}  # the mean code of the nearest points
    return proj, {"key": key, "label": proj.label, "exact": bool(proj.invertible), "axis_titles": list(proj.axis_titles()), **plane}


def _sliders(emb: Embedding) -> tuple[list[dict[str, Any]], int]:
    """The sliders, most informative dimension first, and how many dimensions were left out."""
    kl = (0.5 * (emb.mu ** 2 + np.exp(emb.logvar) - 1 - emb.logvar)).mean(axis=0)  # (D,) average KL per dimension
    order = latent.dimension_order(kl)
    ranges = latent.slider_ranges(emb.mu)
    dims = [{"index": int(i), "label": f"z{int(i) + 1}", "low": float(ranges[i, 0]), "high": float(ranges[i, 1]),
             "kl": float(kl[i])} for i in order[:MAX_SLIDERS]]
    return dims, max(0, len(order) - MAX_SLIDERS)


def page_data(checkpoint_path: str | Path, *, projection_key: str | None = None, tour: Any = None,
              thumbnails: int = THUMBNAILS_MAX, title: str | None = None) -> dict[str, Any]:
    """Everything the page reads, as one JSON-able dict (binary columns base64, little-endian)."""
    checkpoint = ckpt.load(checkpoint_path)
    model = checkpoint.model
    try:
        decoder_blob = pack(model, model_id=checkpoint.path.name)
    except UnsupportedDecoder as err:
        raise StandaloneError(f"{checkpoint.path}: the page cannot run this model's decoder: {err}. "
                              "The standalone file needs a decoder the browser can run; use the app instead.") from err
    if not checkpoint.embedding_path.is_file():
        raise StandaloneError(f"{checkpoint.path} has no {ckpt.EMBEDDING_FILE}: run `python -m explorer evaluate "
                              f"{checkpoint.path}` (or open it once in the app) to encode its test split first")
    emb = ckpt.load_embedding(checkpoint.path)
    latent_dim = checkpoint.model_config.latent_dim
    key = projection_key or projection.plane_for(latent_dim).key
    proj, map_info = _map_of(key, emb, latent_dim)
    images = _test_images(checkpoint)
    if len(images) != len(emb.mu):
        raise StandaloneError(f"{checkpoint.path}: {ckpt.EMBEDDING_FILE} holds {len(emb.mu)} codes but the test split "
                              f"has {len(images)} images; re-run `python -m explorer evaluate {checkpoint.path}`")
    values = np.unique(emb.labels)
    classes = [{"name": plots.class_name(int(v), checkpoint.class_names), "colour": plots.class_colour(int(v))}
               for v in values]
    category = np.searchsorted(values, emb.labels).astype(np.uint8)
    xy = np.asarray(proj.coords, np.float64)
    centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
    half = float(np.max(xy.max(axis=0) - xy.min(axis=0))) / 2 * 1.08 or 1.0  # 8% margin round the points
    keep = np.unique(np.round(np.linspace(0, len(xy) - 1, min(thumbnails, len(xy)))).astype(int))
    dims, left_out = _sliders(emb)
    start_z = emb.mu.mean(axis=0).astype(float)
    selftest_z = start_z.copy()
    first = dims[0]
    selftest_z[first["index"]] = first["high"]  # where the page's self-test drag ends
    expected = np.clip(np.round(model.decode_array(selftest_z)[0] * 255), 0, 255).astype(np.uint8)
    return {
        "title": title or f"Latent Explorer: {checkpoint.path.name}",
        "model": checkpoint.path.name, "dataset": checkpoint.dataset, "latent_dim": latent_dim,
        "image_shape": list(checkpoint.model_config.image_shape), "n": int(len(xy)), "classes": classes,
        "map": {**map_info, "extent": [centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half]},
        "xy": _b64(xy.astype("<f4")), "category": _b64(category), "mu": _b64(emb.mu.astype("<f4")),
        "thumbnails": thumbnail_sheet(images, keep), "decoder": _b64(decoder_blob),
        "dims": dims, "dims_left_out": left_out, "start_z": start_z.tolist(),
        "tour": validate_tour(tour, latent_dim),
        "selftest": {"dim": first["index"], "z": selftest_z.tolist(), "expected": _b64(expected)},
    }


def _inline(text: str, closing: str, what: str) -> str:
    if closing in text.lower():
        raise RuntimeError(f"{what} contains {closing!r}: it would end its element early")
    return text


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON that no string inside it can break out of: every '<' becomes \\u003c (JSON.parse reads it back)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def render(data: dict[str, Any]) -> str:
    """The HTML file for ``page_data``'s dict."""
    css = _inline((PAGE_DIR / "page.css").read_text(encoding="utf-8"), "</style", "page.css")
    script = "\n".join(_inline((folder / name).read_text(encoding="utf-8"), "</script", name)
                       for folder, name in PAGE_SCRIPTS)
    title = data["title"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n"
            f"<style>\n{css}</style>\n</head>\n<body>\n<div id=\"le-root\"></div>\n"
            f"<script type=\"application/json\" id=\"le-data\">{_json_for_script(data)}</script>\n"
            f"<script type=\"module\">\n{script}</script>\n</body>\n</html>\n")


def build(checkpoint_path: str | Path, *, projection: str | None = None, tour: Any = None,
          thumbnails: int | None = None, title: str | None = None) -> str:
    """The standalone HTML page of a checkpoint. ``projection``: "pca", "tsne" or "latent" (default: the
    latent plane of a 2-D model, else PCA). Raises StandaloneError (a CheckpointError) with what to do."""
    if thumbnails is not None and (isinstance(thumbnails, bool) or not isinstance(thumbnails, int) or thumbnails < 0):
        raise StandaloneError(f"thumbnails must be a whole number of images (0 or more), got {thumbnails!r}")
    return render(page_data(checkpoint_path, projection_key=projection, tour=tour,
                            thumbnails=THUMBNAILS_MAX if thumbnails is None else thumbnails, title=title))


def write(checkpoint_path: str | Path, out: str | Path, **options: Any) -> int:
    """Build and write the page to ``out``; returns its size in bytes."""
    html = build(checkpoint_path, **options).encode("utf-8")
    Path(out).write_bytes(html)
    return len(html)
