"""Plotly figures for the app: the map, paths on it, the decoded plane, training curves, KL bars.

No streamlit here. Every figure colours classes through ``class_colour`` so a class has one colour
in every view, and uses large type so it reads on a projector.

What is drawn over the map (a path, a star, a marker) is a WebGL trace like the points: plotly paints
every SVG trace beneath the WebGL canvas, whatever the trace order, and WebGL traces in trace order, so
an overlay added after the points is the only kind that shows on top of them.
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go

# Tableau 10: distinct, colour-blind-aware, saturated enough to survive a washed-out projector.
CLASS_COLOURS = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F",
                 "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC")
UNLABELLED_COLOUR = "#7F7F7F"
PATH_COLOUR = "#111111"
FONT = dict(size=16)
MARGIN = dict(l=60, r=20, t=40, b=60)
MARKER_SIZE = 6
PICKED_SIZE = 16
STAR_SIZE = 26  # the user's image on the map


# Okabe & Ito's eight colours, safe for the common colour-vision deficiencies, with their black (our ink:
# the ring, the probe) swapped for Tol's indigo, then Tol's wine and olive for a ninth and tenth class.
# Beyond eight classes some pairs come close for some viewers: the legend hides a class to compare.
COLOUR_BLIND_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                        "#D55E00", "#CC79A7", "#332288", "#882255", "#999933")
PALETTES = {"standard": CLASS_COLOURS, "colour-blind safe": COLOUR_BLIND_COLOURS}
DEFAULT_PALETTE = "standard"


def class_colour(label: int, palette: tuple[str, ...] = CLASS_COLOURS) -> str:
    return UNLABELLED_COLOUR if label < 0 else palette[label % len(palette)]


def class_name(label: int, class_names: tuple[str, ...]) -> str:
    if label < 0:
        return "unlabelled"
    return class_names[label] if label < len(class_names) else str(label)


def map_figure(xy: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], axis_titles: tuple[str, str],
               marked: int | None = None, opacity: float = 0.8, height: int = 620,
               ids: np.ndarray | None = None, palette: tuple[str, ...] = CLASS_COLOURS) -> go.Figure:
    """WebGL scatter of (N, 2) map coordinates, one trace per class; ``customdata`` is the point's index.

    ``ids`` are the indices of the N points in the test set (default 0..N-1), for maps of a subset;
    ``axis_titles`` say which space the map is in (``Projection.axis_titles()``).

    ``marked`` is baked in as the traces' selected point. Clicks select points in the browser without
    changing the figure, so the chart keeps its zoom; plotly's selected/unselected styles mark the pick.
    """
    fig = go.Figure()
    ids = np.arange(len(xy)) if ids is None else np.asarray(ids)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        selected = np.flatnonzero(ids[idx] == marked).tolist() if marked is not None else None
        fig.add_trace(go.Scattergl(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=class_name(int(label), class_names),
            customdata=ids[idx].tolist(), hovertemplate="#%{customdata}<extra>%{fullData.name}</extra>",
            marker=dict(size=MARKER_SIZE, color=class_colour(int(label), palette), opacity=opacity),
            selectedpoints=selected if selected else None,
            selected=dict(marker=dict(size=PICKED_SIZE, opacity=1.0)),
            unselected=dict(marker=dict(opacity=0.35)),
        ))
    x_title, y_title = axis_titles
    fig.update_layout(
        height=height, font=FONT, margin=MARGIN, legend=dict(itemsizing="constant", title="class"),
        xaxis_title=x_title, yaxis_title=y_title, hovermode="closest", clickmode="event+select",
        uirevision="map",
    )
    return fig


def add_path(fig: go.Figure, xy: np.ndarray, approximate: bool, waypoint_frames: np.ndarray | None = None,
             names: tuple[str, ...] = ("A", "B")) -> go.Figure:
    """Draw an interpolation path (steps, 2) on a map figure, its points labelled ``names`` at ``waypoint_frames``
    (default: the first and the last frame). A loop's return to A is labelled once."""
    name = "path (approximate: this map cannot place new points)" if approximate else "path"
    fig.add_trace(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=name,
                               line=dict(color=PATH_COLOUR, width=3, dash="dot" if approximate else "solid"),
                               marker=dict(size=8, color=PATH_COLOUR), hoverinfo="skip"))
    frames = [0, len(xy) - 1] if waypoint_frames is None else [int(f) for f in waypoint_frames][:len(names)]
    fig.add_trace(go.Scattergl(x=xy[frames, 0], y=xy[frames, 1], mode="markers", name="points of the path",
                               marker=dict(size=18, color="white", line=dict(color=PATH_COLOUR, width=3)),
                               showlegend=False, hoverinfo="skip"))
    for frame, text in zip(frames, names):  # annotations sit above the WebGL canvas, so the line never hides them
        fig.add_annotation(x=xy[frame, 0], y=xy[frame, 1], text=f"<b>{text}</b>", showarrow=True, arrowhead=0,
                           ax=22, ay=-26, font=dict(size=20, color=PATH_COLOUR), bgcolor="rgba(255,255,255,0.85)",
                           bordercolor=PATH_COLOUR, borderpad=2)
    return fig


def add_release_marker(fig: go.Figure, xy: np.ndarray, name: str) -> go.Figure:
    """One hollow marker at ``xy`` (2,): where a live view was last released."""
    fig.add_trace(go.Scattergl(x=[xy[0]], y=[xy[1]], mode="markers", name=name, hoverinfo="skip",
                               marker=dict(size=20, color="rgba(0,0,0,0)", line=dict(color=PATH_COLOUR, width=3))))
    return fig


def add_marker(fig: go.Figure, xy: np.ndarray, text: str, approximate: bool) -> go.Figure:
    """A large labelled star at (2,) map position ``xy``: the user's own image on the map."""
    name = f"{text} (approximate: this map cannot place new points)" if approximate else text
    xs = np.concatenate([np.asarray(t.x, float) for t in fig.data if t.x is not None] or [np.zeros(1)])
    side = "right" if xy[0] <= np.nanmedian(xs) else "left"  # the label reads inward, not off the plot's edge
    fig.add_trace(go.Scattergl(x=[xy[0]], y=[xy[1]], mode="markers+text", text=[text], textposition=f"top {side}",
                               textfont=dict(size=20, color=PATH_COLOUR), name=name, hoverinfo="skip",
                               marker=dict(symbol="star", size=STAR_SIZE, color="white",
                                           line=dict(color=PATH_COLOUR, width=3))))
    return fig


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def plane_figure(mosaic_png: bytes, extent: tuple[float, float, float, float], xy: np.ndarray, labels: np.ndarray,
                 class_names: tuple[str, ...], axis_titles: tuple[str, str], show_points: bool,
                 height: int = 720, palette: tuple[str, ...] = CLASS_COLOURS) -> go.Figure:
    """The decoded mosaic stretched over ``extent`` (x0, x1, y0, y1), optionally with the data on top."""
    x0, x1, y0, y1 = extent
    fig = map_figure(xy, labels, class_names, axis_titles, opacity=0.9, height=height, palette=palette) if show_points \
        else go.Figure()
    fig.add_layout_image(dict(source=png_data_uri(mosaic_png), xref="x", yref="y", x=x0, y=y1,
                              sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below"))
    x_title, y_title = axis_titles
    fig.update_layout(height=height, font=FONT, margin=MARGIN, xaxis_title=x_title, yaxis_title=y_title,
                      xaxis=dict(range=[x0, x1], showgrid=False, zeroline=False),
                      yaxis=dict(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x"),
                      uirevision="plane")
    return fig


CURVES = (("neg_elbo", "negative ELBO"), ("recon", "reconstruction"), ("kl", "KL"))


def curves_figure(history: list[dict], term: str, title: str) -> go.Figure:
    """Train and validation curves of one ELBO term per epoch."""
    epochs = [r["epoch"] for r in history]
    fig = go.Figure()
    for split, dash in (("train", "solid"), ("val", "dash")):
        values = [r.get(f"{split}_{term}") for r in history]
        if any(v is not None for v in values):
            fig.add_trace(go.Scatter(x=epochs, y=values, name=split, mode="lines", line=dict(width=3, dash=dash)))
    fig.update_layout(title=title, height=320, font=FONT, margin=dict(l=60, r=20, t=50, b=50),
                      xaxis_title="epoch", yaxis_title="nats per image", legend=dict(orientation="h", y=-0.3))
    return fig


def kl_bar_figure(kl_per_dim: np.ndarray, active: np.ndarray) -> go.Figure:
    """KL per latent dimension, sorted largest first; collapsed dimensions greyed."""
    order = np.argsort(-kl_per_dim, kind="stable")
    fig = go.Figure(go.Bar(
        x=[f"z{i + 1}" for i in order], y=kl_per_dim[order],
        marker_color=[CLASS_COLOURS[0] if active[i] else UNLABELLED_COLOUR for i in order],
        hovertemplate="%{x}: %{y:.3f} nats<extra></extra>",
    ))
    fig.update_layout(height=360, font=FONT, margin=dict(l=60, r=20, t=30, b=60),
                      xaxis_title="latent dimension (grey: collapsed, KL < 0.01 nats)",
                      yaxis_title="average KL (nats)")
    return fig


DATA_COLOUR = "#4E79A7"  # the path profile's distance to the data
DENSITY_COLOUR = "#E15759"  # the path profile's prior log-density


def path_profile(distance: np.ndarray, log_density: np.ndarray, waypoint_frames: np.ndarray,
                 names: tuple[str, ...], typical_distance: float | None = None,
                 typical_log_density: float | None = None, height: int = 300) -> go.Figure:
    """Per frame of a path: distance to the nearest real code (top) and the prior's log-density (bottom).

    The waypoints are vertical lines labelled ``names``; the dashed lines are what real codes score
    (their distance to their nearest other code, their own log-density), so a path that leaves the data
    rises above the first and falls below the second.
    """
    from plotly.subplots import make_subplots

    frames = list(range(1, len(distance) + 1))  # plain lists: the figure's JSON stays readable
    distance, log_density = np.asarray(distance, float).tolist(), np.asarray(log_density, float).tolist()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=frames, y=distance, mode="lines+markers", name="distance to the nearest real code",
                             line=dict(color=DATA_COLOUR, width=2), marker=dict(size=5)), row=1, col=1)
    fig.add_trace(go.Scatter(x=frames, y=log_density, mode="lines+markers", name="prior log-density (nats)",
                             line=dict(color=DENSITY_COLOUR, width=2), marker=dict(size=5)), row=2, col=1)
    for row, level in ((1, typical_distance), (2, typical_log_density)):
        if level is not None:
            fig.add_hline(y=level, line=dict(color=UNLABELLED_COLOUR, dash="dash", width=1), row=row, col=1)
    for frame, name in zip(waypoint_frames, names):
        fig.add_vline(x=int(frame) + 1, line=dict(color=PATH_COLOUR, width=1, dash="dot"))
        fig.add_annotation(x=int(frame) + 1, y=1.0, yref="paper", text=name, showarrow=False, yanchor="bottom",
                           font=dict(size=16, color=PATH_COLOUR))
    fig.update_layout(height=height, font=dict(size=13), margin=dict(l=60, r=20, t=64, b=44), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.09, x=1, xanchor="right"))
    fig.update_yaxes(title_text="to data", row=1, col=1)
    fig.update_yaxes(title_text="log p(z)", row=2, col=1)
    fig.update_xaxes(title_text="frame", title_standoff=4, row=2, col=1)
    return fig
