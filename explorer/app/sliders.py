"""Sliders: one per latent dimension, most informative first.

Two engines. Live (the default when the page can run the decoder, see ``live``): the image follows the
finger while dragging, decoded in the browser, with a 2-D pad; z reaches the server on release. Server:
Streamlit sliders that decode on release. Both live in a fragment, so a release reruns only this part of
the page (measured ~70 ms from key press to painted image; the whole page would take longer).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.app import compute, images, live, plots, presentation, session, share, state
from explorer.app.context import Context
from explorer.latent import COLLAPSED_KL, nearest_neighbours

IMAGE_SIDE = 420  # pixels: the decoded image is the point of this view
SLIDER_STEPS = 100  # positions across a slider's range
ENGINES = {"live": "Live: decode in the page while dragging", "server": "Server: decode on release"}
NEIGHBOUR_SIDE = 84  # pixels of the nearest test image shown under the live pad


def current_z(latent_dim: int) -> np.ndarray:
    return np.array([st.session_state[state.dim_key(i)] for i in range(latent_dim)], dtype=np.float32)


def _set_all(values: np.ndarray) -> None:
    for i, value in enumerate(values):
        state.set_value(state.dim_key(i), float(value))


def reset() -> None:
    _set_all(np.asarray(st.session_state[state.SLIDER_BASE]))


def randomise(ranges: np.ndarray) -> None:
    """A fresh draw from the prior N(0, I), clipped into the sliders' ranges."""
    st.session_state[state.RANDOM_DRAWS] = st.session_state.get(state.RANDOM_DRAWS, 0) + 1
    z = compute.prior_sample(len(ranges), seed=st.session_state[state.RANDOM_DRAWS])
    _set_all(np.clip(z, ranges[:, 0], ranges[:, 1]))


def slider_label(i: int, kl: float, active: bool) -> str:
    if active:
        return f"z{i + 1} · {kl:.2f} nats"
    return f"z{i + 1} · collapsed ({kl:.3f} nats)"


def render(ctx: Context) -> None:
    weights = ctx.weights
    if weights.blob is None:
        st.info(f"These sliders decode on the server, on release: the in-page decoder cannot run this model "
                f"({weights.unsupported}).")
        _sliders(ctx.path, ctx.projection, ctx.points, ctx.perplexity)
        return
    engine = st.segmented_control("Decoding", tuple(ENGINES), format_func=ENGINES.get, required=True,
                                  label_visibility="collapsed", **state.widget("slider_engine"))
    if engine == "live":
        _live_sliders(ctx.path, ctx.projection, ctx.points, ctx.perplexity)
    else:
        _sliders(ctx.path, ctx.projection, ctx.points, ctx.perplexity)


def take_live_z() -> None:
    """on_z_change of the live pad: the released z becomes the sliders' values (server sliders and all)."""
    report = live.reported(state.LIVE_SLIDERS)
    if report is None:
        return
    for i, value in enumerate(report["z"]):
        state.set_value(state.dim_key(i), float(value))
    live.take_gesture(state.LIVE_SLIDERS)  # after z: the recorded step holds the released z


@st.fragment
def _live_sliders(path: str, projection: str, points: int | None, perplexity: float) -> None:
    ctx = Context.open(path, projection, points, perplexity)  # a fragment rerun has no page context
    z = current_z(ctx.latent_dim)
    labels = [slider_label(i, float(ctx.kl[i]), bool(ctx.informative[i])) for i in range(ctx.latent_dim)]
    live.sliders(ctx, ctx.weights, z, np.asarray(st.session_state[state.SLIDER_BASE]), labels,
                 on_release=take_live_z, key=state.LIVE_SLIDERS)
    _nearest_note(ctx, z)


def _nearest_note(ctx: Context, z: np.ndarray) -> None:
    """What the server knows after a release: the test image closest to z (the app follows the pad)."""
    [j] = nearest_neighbours(ctx.embedding.mu, z, 1)
    name = plots.class_name(int(ctx.embedding.labels[j]), ctx.class_names)
    picture, text = st.columns([1, 12], vertical_alignment="center")
    shown = ctx.images[j] if ctx.images is not None else compute.decode(ctx.model, ctx.embedding.mu[j])
    picture.image(images.display(shown, NEIGHBOUR_SIDE))
    text.caption(f"On release the server gets z: its nearest test image is #{j} ({name}), "
                 f"{float(np.linalg.norm(ctx.embedding.mu[j] - z)):.2f} away. {session.slider_origin()}")
    _start_from_pick(ctx)


def _start_from_pick(ctx: Context) -> None:
    """A button that starts the sliders at the picked test image, when they do not start there already."""
    pick = st.session_state[state.PICK]
    if pick is None or pick >= len(ctx.map_embedding.mu):
        return
    described = ctx.point_name(pick)
    if st.session_state.get(state.SLIDER_FROM) != described:
        st.button(f"Start from the picked {described}", on_click=session.edit_with_sliders,
                  args=(ctx.map_embedding.mu[pick], ctx.ranges, described), key="sliders_from_pick")


@st.fragment
def _sliders(path: str, projection: str, points: int | None, perplexity: float) -> None:
    ctx = Context.open(path, projection, points, perplexity)  # a fragment rerun has no page context
    ranges, kl, active = ctx.ranges, ctx.kl, ctx.informative
    collapsed = int((~active).sum())
    image_col, slider_col = st.columns([1, 1], gap="large")
    with slider_col:
        b1, b2 = st.columns(2, vertical_alignment="center")
        b1.button("Reset", on_click=reset, width="stretch", help="Back to the starting point")
        b2.button("Random", on_click=randomise, args=(ranges,), width="stretch", help="A draw from the prior N(0, I)")
        show_collapsed = st.toggle(f"Show {collapsed} collapsed dimension(s)", disabled=collapsed == 0,
                                   help=f"Dimensions whose average KL is below {COLLAPSED_KL} nats carry no information: "
                                        "the decoder ignores them.", **state.widget("show_collapsed"))
        for i in ctx.dim_order:
            if not active[i] and not show_collapsed:
                continue
            low, high = float(ranges[i, 0]), float(ranges[i, 1])
            key = state.dim_key(i)
            st.session_state[key] = float(np.clip(st.session_state[key], low, high))
            st.slider(slider_label(int(i), float(kl[i]), bool(active[i])), min_value=low, max_value=high,
                      step=(high - low) / SLIDER_STEPS, format="%.2f", **state.widget(key))
        if collapsed and not show_collapsed:
            st.caption(f"{collapsed} collapsed dimension(s) hidden; they keep their values.")
    with image_col:
        z = current_z(ctx.latent_dim)
        st.image(images.display(compute.decode(ctx.model, z), presentation.side(IMAGE_SIDE)),
                 caption="decoded from the sliders' z")
        hint = "" if st.session_state.get(state.SLIDER_FROM) or st.session_state[state.PICK] is not None else \
            " Pick a point on the map and press \"Edit with sliders\" to start there."
        st.caption(session.slider_origin() + hint)
        _start_from_pick(ctx)
    share.publish(ctx.latent_dim)  # a fragment rerun skips main's publish: keep the link's slider values current
