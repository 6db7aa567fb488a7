"""Samples from the prior (or from a Gaussian mixture of the codes, the contrast that shows the prior's holes),
and the decoded plane: the classic VAE manifold picture under the map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer import projection
from explorer.app import compute, exports, images, plots, resources, state
from explorer.app.context import Context
from explorer.prior import Mixture, fit_mixture, realism

GRID_PIXELS = 640  # the samples grid's width on screen
PLANE_PIXELS = 900  # the decoded plane's mosaic side before the browser scales it
PLANE_GAP = 2  # pixels between tiles: without them small dark images merge into stripes


@st.cache_data(max_entries=16, show_spinner=False)
def _samples(path: str, version: tuple[float, float], n: int, seed: int, temperature: float) -> np.ndarray:
    return resources.model(resources.load_checkpoint(path)).sample(n, seed=seed, temperature=temperature).numpy()


REALISM_DRAWS = 1000  # draws per sampler in the measure of which samples look more like the data
PRIORS = {"prior": "the prior N(0, T² I)", "mixture": "a Gaussian mixture fitted to the codes"}


@st.cache_resource(max_entries=4, show_spinner="Fitting a Gaussian mixture to the test codes (its size by BIC)...")
def _mixture(path: str, version: tuple[float, float]) -> Mixture:
    return fit_mixture(resources.embedding(path).mu)


@st.cache_data(max_entries=16, show_spinner=False)
def _mixture_samples(path: str, version: tuple[float, float], n: int, seed: int) -> np.ndarray:
    model = resources.model(resources.load_checkpoint(path))
    return compute.decode(model, _mixture(path, version).sample(n, seed=seed))


@st.cache_data(max_entries=4, show_spinner="Measuring which samples look more like the data...")
def _realism(path: str, version: tuple[float, float]) -> dict[str, float]:
    """Median distance from a decoded draw's re-encoding to the nearest test code (explorer.prior.realism)."""
    model = resources.model(resources.load_checkpoint(path))
    mu = resources.embedding(path).mu
    held = min(REALISM_DRAWS, len(mu) // 2)  # real codes against the others: the data's own figure
    prior = np.random.default_rng(0).standard_normal((REALISM_DRAWS, mu.shape[1])).astype(np.float32)
    return {"prior": float(np.median(realism(model, prior, mu))),
            "mixture": float(np.median(realism(model, _mixture(path, version).sample(REALISM_DRAWS, seed=0), mu))),
            "real": float(np.median(realism(model, mu[:held], mu[held:])))}


def render_samples(ctx: Context) -> None:
    controls, grid_col = st.columns([1, 2], gap="large")
    with controls:
        source = st.radio("Sample from", list(PRIORS), format_func=PRIORS.get, key="sample_prior",
                          help="The mixture (scikit-learn's GaussianMixture, full covariances, 1 to 10 components "
                               "chosen by BIC) follows where the codes are; the prior also covers the holes "
                               "between them, where the decoder has seen no data.")
        seed = st.number_input("Seed", 0, 2**31 - 1, step=1, **state.widget("sample_seed"))
        temperature = st.slider("Temperature T", 0.1, 2.0, step=0.1, disabled=source != "prior",
                                help="Below 1: typical images; above 1: the tails of the prior, where the decoder "
                                     "has seen little. (The prior's only.)", **state.widget("sample_temperature"))
        side = st.slider("Grid size", 2, 12, **state.widget("sample_side"))
    version = resources.version(ctx.path)
    if source == "prior":
        decoded = _samples(ctx.path, version, side * side, int(seed), float(temperature))
    else:
        decoded = _mixture_samples(ctx.path, version, side * side, int(seed))
    with controls:
        mixture, measured = _mixture(ctx.path, version), _realism(ctx.path, version)
        st.caption(f"Which look more like the data? Each draw is decoded and encoded again; the distance to the "
                   f"nearest test code (median of {REALISM_DRAWS:,} draws, lower is closer): the prior "
                   f"**{measured['prior']:.2f}**, the mixture of {mixture.components} Gaussians "
                   f"**{measured['mixture']:.2f}**, real test codes **{measured['real']:.2f}**. A draw from a "
                   "hole in the codes decodes to an image the encoder places away from the data.")
    h = decoded.shape[-2]
    mosaic = images.grid(decoded, cols=side, factor=images.scale_factor(h * side, GRID_PIXELS), gap=2)
    with grid_col:
        what = f"temperature {temperature:.1f}" if source == "prior" else "from the mixture"
        st.image(mosaic, caption=f"{side * side} samples, seed {seed}, {what}")
        st.download_button("Download PNG", images.png_bytes(mosaic), mime="image/png",
                           file_name=exports.file_name(Path(ctx.path).name, "samples", f"seed{seed}",
                                                       f"T{temperature:.1f}" if source == "prior" else "mixture",
                                                       f"{side}x{side}", ext="png"))


@st.cache_data(max_entries=16, show_spinner="Decoding the plane...")
def _plane(path: str, version: tuple[float, float], map_key: str,
           side: int) -> tuple[bytes, tuple[float, float, float, float]]:
    ctx = Context.open(path, map_key)
    grid_xy, extent = compute.plane_grid(ctx.coords, side)
    decoded = compute.decode(ctx.model, ctx.map.inverse(grid_xy))
    factor = images.scale_factor(decoded.shape[-2] * side, PLANE_PIXELS)
    return images.png_bytes(images.grid(decoded, cols=side, factor=factor, gap=PLANE_GAP)), extent


def render_plane(ctx: Context) -> None:
    plane = ctx.with_map(projection.plane_for(ctx.latent_dim).key, "test")  # the mosaic needs an inverse
    controls, figure_col = st.columns([1, 3], gap="large")
    with controls:
        side = st.slider("Images per side", 5, 30, **state.widget("plane_side"))
        show_points = st.toggle("Show the test points on top", **state.widget("plane_points"))
        if isinstance(plane.map, projection.LatentPlane):
            st.markdown("A 2-D model: each tile is decoded at its own point of the latent plane (z1, z2).")
        else:
            st.markdown("Each tile is decoded at its point of the PCA plane, mapped back into latent space with the "
                        "inverse PCA (the plane through the data mean spanned by the two main axes). Empty regions "
                        "show what the decoder makes of places no test image went.")
        if not ctx.map.invertible:
            st.caption(f"{ctx.map.name} cannot be inverted, so the plane uses {plane.map.label}.")
    png, extent = _plane(ctx.path, resources.version(ctx.path), plane.projection, int(side))
    fig = plots.plane_figure(png, extent, plane.coords, ctx.embedding.labels, ctx.class_names,
                             plane.map.axis_titles(), show_points=bool(show_points), palette=state.palette())
    with figure_col:
        st.plotly_chart(fig, key="plane_map", config={"displaylogo": False})
        st.download_button("Download the mosaic (PNG)", png, mime="image/png", file_name=exports.file_name(
            Path(ctx.path).name, "decoded-plane", plane.projection, f"{side}x{side}", ext="png"))
