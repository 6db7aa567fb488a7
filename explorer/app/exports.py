"""Files to download: the map as CSV, the map's figure as PNG (or HTML), and names that say what a file holds.

No streamlit here. PNG of a plotly figure needs kaleido; without it the figure is exported as a
self-contained HTML file (plotly.js inlined, so it opens offline). MP4 needs imageio-ffmpeg; without
it only GIF is offered.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

from explorer.app.plots import class_name

CSV_COLUMNS = ("id", "label", "class", "x", "y", "selected", "picked")


def slug(text: str) -> str:
    """A file-name-safe version of ``text``: letters, digits, '.', '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "untitled"


def file_name(*parts: object, ext: str) -> str:
    """'digits-pca-1797-points.csv' from ('digits', 'pca', '1797-points', ext='csv')."""
    return "-".join(slug(str(p)) for p in parts if str(p)) + f".{ext}"


def map_csv(ids: np.ndarray, xy: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
            selected: Iterable[int] = (), picked: int | None = None) -> bytes:
    """One row per map point: test-set id, label, class name, map x and y, in the selection, picked."""
    chosen = {int(i) for i in selected}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, (x, y), label in zip(ids.tolist(), xy.tolist(), labels.tolist()):
        writer.writerow((i, label, class_name(int(label), class_names), f"{x:.6g}", f"{y:.6g}", int(i in chosen),
                         int(i == picked)))
    return buffer.getvalue().encode("utf-8")


def can_write_png() -> bool:
    return importlib.util.find_spec("kaleido") is not None


def can_write_mp4() -> bool:
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def figure_file(fig: go.Figure) -> tuple[bytes, str, str]:
    """(file bytes, extension, MIME type): PNG through kaleido when installed, else standalone HTML."""
    if can_write_png():
        return fig.to_image(format="png", width=1600, height=1000, scale=1), "png", "image/png"
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return html.encode("utf-8"), "html", "text/html"


def endpoint_slug(kind: str, index: int, seed: int, upload_name: str | None) -> str:
    """An interpolation end in a file name: 'test7', 'prior-seed1', 'mine-cat' (the upload's file stem)."""
    if kind == "data point":
        return f"test{index}"
    if kind == "my image":
        return "mine-" + (slug(upload_name.rsplit(".", 1)[0]) if upload_name else "none")
    return f"prior-seed{seed}"
