"""Decoding in the page: the weights loader and the live views (sliders + 2-D pad, map probe, path scrubber).

Two components v2 (inline JS and CSS from explorer/app/pad/, no build step, nothing from a CDN):
- the loader, mounted once per page in the sidebar with a fixed key, gets the decoder as bytes. Its data
  change only when the model does, so the weights reach the browser once per model, not on every rerun.
- the live pad gets small JSON (slider ranges, the plane, the starting z), picks the decoder up from
  the page, decodes on every input event and reports z to Python on release only (one rerun).

A model the JS cannot run (``weights_blob.unsupported_reason``) keeps the server path, with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from explorer import projection
from explorer.app import plots, presentation, resources, scatter, state, tour
from explorer.app.context import Context

PAD_DIR = Path(__file__).resolve().parent / "pad"
PAD_POINTS = 2000  # test points drawn faintly on the 2-D pad's PCA plane
PROBE_POINTS = 10_000  # points on the probe's map (the whole Fashion-MNIST test set)
LIVE_SIDE = 360  # CSS pixels of the live image
SCRUB_SIDE = 240  # CSS pixels of the path scrubber's image


def _source(*names: str) -> str:
    return scatter.sources(PAD_DIR, *names)


_CSS = _source("pad.css")
_loader = st.components.v2.component("latent_explorer.decoder_weights", css=_CSS,
                                     js=_source("decoder.mjs", "pad_core.js", "loader.js"))
_pad = st.components.v2.component("latent_explorer.live_pad", css=_CSS,
                                  js=_source("pad_core.js", "pad_sliders.js", "pad_views.js"))


def mount_loader(path: str) -> resources.Weights:
    """Send the decoder to the page (the sidebar shows the state); a no-op for unchanged data on reruns."""
    w = resources.weights(path)
    with st.sidebar:
        if w.blob is None:
            st.caption(f"Decoding on the server: the in-page decoder cannot run this model ({w.unsupported}).")
        else:
            _loader(key=state.DECODER_WEIGHTS, data=w.blob, height="content")
    return w


def _plane_points(xy: np.ndarray, labels: np.ndarray, n: int) -> dict:
    keep = np.random.default_rng(0).permutation(len(xy))[:n] if len(xy) > n else np.arange(len(xy))
    return {"x": xy[keep, 0].round(4).tolist(), "y": xy[keep, 1].round(4).tolist(),
            "label": labels[keep].astype(int).tolist()}


def _extent(xy: np.ndarray, stds: float = 3.0) -> list[float]:
    centre, spread = xy.mean(axis=0), np.maximum(xy.std(axis=0), 1e-6)
    return [float(centre[0] - stds * spread[0]), float(centre[0] + stds * spread[0]),
            float(centre[1] - stds * spread[1]), float(centre[1] + stds * spread[1])]


def _common(ctx: Context, mode: str, weights_: resources.Weights) -> dict:
    return {"mode": mode, "model": weights_.model_id, "image_shape": list(ctx.checkpoint.model_config.image_shape),
            "side": presentation.side(LIVE_SIDE), "colours": list(state.palette()), "replay": tour.replay_for(mode)}


def sliders(ctx: Context, weights_: resources.Weights, z: np.ndarray, reset_z: np.ndarray, labels: list[str],
            on_release: Callable[[], None], key: str) -> None:
    """The live sliders and the 2-D pad, starting at ``z``; ``on_release`` runs when the user lets go."""
    dims = [{"index": int(i), "label": labels[int(i)], "short": f"z{int(i) + 1}", "active": bool(ctx.informative[i]),
             "low": float(ctx.ranges[i, 0]), "high": float(ctx.ranges[i, 1])} for i in ctx.dim_order]
    emb = ctx.embedding
    data = {**_common(ctx, "sliders", weights_), "dims": dims, "z": np.asarray(z, float).tolist(),
            "reset_z": np.asarray(reset_z, float).tolist(), "caption": "decoded in the page from the sliders' z",
            "plane_default": "dims" if projection.plane_for(ctx.latent_dim) is projection.LatentPlane else "pca",
            "pca": {"components": emb.pca_components.tolist(), "mean": emb.pca_mean.tolist(),
                    "extent": _extent(emb.pca), "points": _plane_points(emb.pca, emb.labels, PAD_POINTS)}}
    _pad(key=key, data=data, on_z_change=on_release, height="content")


def probe(ctx: Context, weights_: resources.Weights, start_xy: np.ndarray, on_release: Callable[[], None], key: str,
          map_side: int = 560, side: int = LIVE_SIDE) -> None:
    """The map as a canvas with a draggable probe; exact on invertible maps only (PCA, a 2-D latent plane)."""
    if not ctx.map.invertible:
        raise ValueError(f"the probe needs an invertible map; {ctx.map.name} has no inverse")
    emb = ctx.map_embedding  # the map's points: the test split, or the whole dataset
    plane = ({"kind": "pca", "components": ctx.map.components.tolist(), "mean": ctx.map.mean.tolist()}
             if isinstance(ctx.map, projection.PCA) else {"kind": "latent"})
    lo, hi = ctx.coords.min(axis=0), ctx.coords.max(axis=0)
    pad = (hi - lo) * 0.04
    data = {**_common(ctx, "probe", weights_), "plane": plane, "map_side": map_side, "side": side,
            "plane_name": f"{ctx.map.label} map",
            "extent": [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])],
            "points": _plane_points(ctx.coords, emb.labels, PROBE_POINTS), "xy": np.asarray(start_xy, float).tolist(),
            "class_names": list(ctx.class_names),
            "axis_titles": list(ctx.map.axis_titles())}
    _pad(key=key, data=data, on_z_change=on_release, height="content")


def path_scrubber(ctx: Context, weights_: resources.Weights, waypoints: np.ndarray, modes: tuple[str, ...],
                  positions: np.ndarray, names: tuple[str, ...], on_release: Callable[[], None], key: str) -> None:
    """A slider along the path through ``waypoints`` (legs + 1, D), leg k interpolated by ``modes[k]``, that
    decodes every position live; ``positions`` (N,) are the frames' places on it (waypoint k at k)."""
    data = {**_common(ctx, "path", weights_), "points": np.asarray(waypoints, float).tolist(), "modes": list(modes),
            "positions": np.asarray(positions, float).round(5).tolist(), "names": list(names), "t": 0.0,
            "side": presentation.side(SCRUB_SIDE)}
    _pad(key=key, data=data, on_z_change=on_release, height="content")


def reported(key: str) -> dict | None:
    """What the live view under ``key`` last reported on release: {"z": [...], "source": ..., "gesture": ...}."""
    value = st.session_state.get(key)
    try:
        report = value["z"]  # the component's state named "z"
    except (KeyError, TypeError):
        return None
    return report if isinstance(report, dict) and "z" in report else None


def take_gesture(key: str) -> None:
    """on_z_change of a live view: a recording tour records its drag now (the view reruns as a fragment,
    not the whole page, so the page's own end-of-run recording would not see it until later)."""
    report = reported(key)
    if report is not None:
        tour.take_gesture(report.get("source"), report, len(report["z"]))
