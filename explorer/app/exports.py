"""Files to download: the map as CSV, the map's figure as PNG (or HTML), and names that say what a file holds.

No streamlit here. PNG of a plotly figure needs kaleido and a Chromium-based browser on the machine
(kaleido drives it; we never let it download one); without them the PNG button is not offered and the
map's own camera button (plotly.js, in the page) still saves a PNG. The interactive HTML file (plotly.js
inlined, so it opens offline) needs nothing.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import logging
import re
import threading
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

from explorer.app.plots import class_name

log = logging.getLogger(__name__)

CSV_COLUMNS = ("id", "label", "class", "x", "y", "selected", "picked")
PATH_COLUMNS = ("frame", "position", "waypoint", "x", "y", "distance_to_data", "log_prior_density", "pixel_step")


def slug(text: str) -> str:
    """A file-name-safe version of ``text``: letters, digits, '.', '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "untitled"


def file_stem(*parts: object) -> str:
    """'digits-pca-1797-points' from ('digits', 'pca', '1797-points'): a file name before its extension."""
    return "-".join(slug(str(p)) for p in parts if str(p))


def file_name(*parts: object, ext: str) -> str:
    """'digits-pca-1797-points.csv' from ('digits', 'pca', '1797-points', ext='csv')."""
    return f"{file_stem(*parts)}.{ext}"


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


MAP_PNG_SIZE = (1600, 1000)  # pixels: sharp on a 1080p projector and in a slide
# A busy machine can make kaleido's first page evaluate before its script has loaded ("kaleido_scopes is not
# defined", seen in CI with two loaded cores): a second render, in a fresh browser, then works.
PNG_TRIES = 2
_ONE_BROWSER = threading.Lock()


@functools.cache
def png_writer_missing() -> str | None:
    """Why a figure cannot be saved as PNG here (None when it can): kaleido, or a browser for it, is missing."""
    if importlib.util.find_spec("kaleido") is None:
        return "kaleido is not installed (pip install kaleido)"
    from choreographer.browsers.chromium import Chromium  # kaleido's browser driver; finds, never downloads

    if Chromium.find_browser(skip_local=False) is None:
        return "kaleido needs Chrome or Chromium on this machine (or BROWSER_PATH set to one)"
    return None


def titled(fig: go.Figure, title: str) -> go.Figure:
    """A copy of ``fig`` with ``title`` on top: a file out of context still says what it shows."""
    out = go.Figure(fig)
    out.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"}, margin={"t": 60})
    return out


def figure_png(fig: go.Figure, title: str) -> bytes:
    """The figure as a PNG of MAP_PNG_SIZE, rendered by kaleido in a headless browser (one to two seconds).

    One render at a time per server: each starts a browser (~200 MB), and a room that clicks at once
    should queue for a few seconds, not start twenty.
    """
    width, height = MAP_PNG_SIZE
    figure = titled(fig, title)
    with _ONE_BROWSER:
        for attempt in range(PNG_TRIES):
            try:
                return figure.to_image(format="png", width=width, height=height, scale=1)
            except Exception as err:  # noqa: BLE001  a browser outside our code; the last failure is raised
                if attempt + 1 == PNG_TRIES:
                    raise
                log.info("The map PNG failed (%r); trying once more", err)


def figure_html(fig: go.Figure, title: str) -> bytes:
    """The figure as one self-contained, interactive HTML file: plotly.js inlined, so it opens offline."""
    return titled(fig, title).to_html(include_plotlyjs=True, full_html=True,
                                      config={"displaylogo": False}).encode("utf-8")


def endpoint_slug(kind: str, index: int, seed: int, upload_name: str | None) -> str:
    """An interpolation end in a file name: 'test7', 'prior-seed1', 'mine-cat' (the upload's file stem).

    ``kind`` is the endpoint's URL name (state.EndKind's values: test, prior, mine).
    """
    if kind == "test":
        return f"test{index}"
    if kind == "mine":
        return "mine-" + (slug(upload_name.rsplit(".", 1)[0]) if upload_name else "none")
    return f"prior-seed{seed}"


def path_csv(z: np.ndarray, position: np.ndarray, waypoints: dict[int, str], xy: np.ndarray, distance: np.ndarray,
             log_density: np.ndarray, pixel_steps: np.ndarray) -> bytes:
    """One row per frame of a path: its position s (waypoint k at s = k), the waypoint's name there if any,
    map x and y, distance to the nearest real code, prior log-density (nats), the pixel distance from the
    previous frame (empty for the first), then the code z1..zD."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PATH_COLUMNS + tuple(f"z{d + 1}" for d in range(z.shape[1])))
    steps = [""] + [f"{v:.6g}" for v in pixel_steps.tolist()]
    for i in range(len(z)):
        writer.writerow((i + 1, f"{position[i]:.6g}", waypoints.get(i, ""), f"{xy[i, 0]:.6g}", f"{xy[i, 1]:.6g}",
                         f"{distance[i]:.6g}", f"{log_density[i]:.6g}", steps[i],
                         *(f"{v:.6g}" for v in z[i].tolist())))
    return buffer.getvalue().encode("utf-8")
