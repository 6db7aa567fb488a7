"""Interpolation between two latent points: filmstrip, animation, downloads, and the path on the map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer.app import compute, exports, images, live, plots, presentation, session, state
from explorer.app.context import Context
from explorer.latent import INTERPOLATIONS, interpolate

STRIP_HEIGHT = 112  # pixels per filmstrip frame
ANIMATION_SIDE = 240


def _endpoint_inputs(ctx: Context, end: str) -> None:
    n = len(ctx.embedding.mu)
    st.markdown(f"**{end.upper()}**")
    kind = st.segmented_control(f"{end.upper()} comes from", tuple(state.EndKind), required=True,
                                label_visibility="collapsed", format_func=lambda k: k.label,
                                **state.widget(state.end_keys(end).kind))
    if kind is state.EndKind.TEST:
        st.number_input(f"{end.upper()}: test image #", 0, n - 1, step=1, **state.widget(state.end_keys(end).index))
    elif kind is state.EndKind.MINE:
        upload = st.session_state.get(state.UPLOAD)
        st.caption(upload.name if upload else "No image uploaded yet: upload one in the My image tab. Using the "
                   "origin meanwhile.")
    else:
        st.number_input(f"{end.upper()}: seed", 0, 2**31 - 1, step=1, **state.widget(state.end_keys(end).seed))


def frames(ctx: Context) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(steps, D) latent path and (steps, C, H, W) decoded frames for the current settings."""
    (za, desc_a), (zb, desc_b) = session.endpoint(ctx, "a"), session.endpoint(ctx, "b")
    path = interpolate(za, zb, int(st.session_state["interp_steps"]), st.session_state["interp_mode"])
    return path, compute.decode(ctx.model, path), desc_a, desc_b


def _file_stem(ctx: Context, steps: int) -> str:
    """'digits-interpolation-test0-to-prior-seed2-linear-10-steps': model, endpoints, mode and steps."""
    ss, upload = st.session_state, st.session_state.get(state.UPLOAD)
    ends = [exports.endpoint_slug(ss[f"{e}_kind"], int(ss[f"{e}_index"]), int(ss[f"{e}_seed"]),
                                  upload.name if upload else None) for e in ("a", "b")]
    return exports.file_stem(Path(ctx.path).name, "interpolation", ends[0], "to", ends[1], ss["interp_mode"],
                             f"{steps}-steps")


def _toggle_play() -> None:
    st.session_state["interp_playing"] = not st.session_state["interp_playing"]


def _step(count: int) -> None:
    """Pause on the next frame (wrapping round): the S key walks through the interpolation in a talk."""
    ss = st.session_state
    ss["interp_frame"] = (ss["interp_frame"] + 1) % count if not ss["interp_playing"] else 0
    ss["interp_playing"] = False


def _player(decoded: np.ndarray, gif: bytes) -> None:
    """The animation while playing; one still frame while paused. P and S are keyboard shortcuts."""
    ss = st.session_state
    if ss["interp_playing"]:
        st.image(gif, caption="played as an animation (A → B → A)")
    else:
        frame = min(ss["interp_frame"], len(decoded) - 1)
        st.image(images.display(decoded[frame], presentation.side(ANIMATION_SIDE)),
                 caption=f"paused: frame {frame + 1} of {len(decoded)}")
    p1, p2 = st.columns(2)
    p1.button("Pause" if ss["interp_playing"] else "Play", on_click=_toggle_play, width="stretch",
              shortcut=presentation.SHORTCUTS["play"], key="interp_play")
    p2.button("Step", on_click=_step, args=(len(decoded),), width="stretch", key="interp_step",
              shortcut=presentation.SHORTCUTS["step"], help="Pause and show the next frame.")


def render(ctx: Context) -> None:
    controls, a_col, b_col = st.columns([3, 3.5, 3.5], gap="large")  # three end kinds fit in large type
    with controls:
        st.segmented_control("Interpolation", tuple(INTERPOLATIONS), required=True,
                             format_func={"linear": "linear", "spherical": "spherical (slerp)"}.get,
                             **state.widget("interp_mode"))
        st.slider("Steps", 2, state.INTERP_MAX_STEPS, **state.widget("interp_steps"))
    with a_col:
        _endpoint_inputs(ctx, "a")
    with b_col:
        _endpoint_inputs(ctx, "b")

    path, decoded, desc_a, desc_b = frames(ctx)
    side = decoded.shape[-2]
    st.markdown(f"**{len(decoded)} frames** from A = {desc_a} to B = {desc_b}")
    filmstrip = images.strip(decoded, factor=images.scale_factor(side, presentation.side(STRIP_HEIGHT)))
    st.image(filmstrip, caption="filmstrip, A on the left")
    scrubbed = _scrubber(ctx, path)
    gif = images.gif_bytes(decoded, factor=images.scale_factor(side, presentation.side(ANIMATION_SIDE)))

    animation, on_map = st.columns([1, 2], gap="large")
    with animation:
        _player(decoded, gif)
        stem = _file_stem(ctx, len(decoded))
        d1, d2, d3 = st.columns(3)
        icon = ":material/download:"
        d1.download_button("GIF", gif, file_name=f"{stem}.gif", mime="image/gif", width="stretch", icon=icon,
                           help="The animation (A → B → A) as a looping GIF")
        d2.download_button("Strip", images.png_bytes(filmstrip), file_name=f"{stem}.png", mime="image/png",
                           width="stretch", icon=icon, help="The filmstrip as one PNG, A on the left")
        mp4_problem = images.mp4_writer_problem()
        if mp4_problem is None:  # encoded on click only: ffmpeg is a process start away
            factor = images.scale_factor(side, presentation.side(ANIMATION_SIDE))
            d3.download_button("MP4", lambda: images.mp4_bytes(decoded, factor=factor), on_click="ignore",
                               file_name=f"{stem}.mp4", mime="video/mp4", width="stretch", icon=icon,
                               help="The animation as an H.264 video, for slides")
        else:
            st.caption(f"MP4 is not offered: {mp4_problem}. The GIF holds the same frames.")
    with on_map:
        approximate = not ctx.map.exact
        shown = ctx.shown
        fig = plots.map_figure(ctx.coords[shown], ctx.map_embedding.labels[shown], ctx.class_names, ctx.map.axis_titles(),
                               opacity=0.35, height=440, ids=shown, palette=state.palette())
        plots.add_path(fig, ctx.map.place(path), approximate)
        if scrubbed is not None:
            plots.add_release_marker(fig, ctx.map.place(scrubbed)[0], "scrubbed")
        st.plotly_chart(fig, key="interp_map", config={"displaylogo": False})
        st.caption(f"The path on the {ctx.map.label} map. " + (
            f"Approximate: {ctx.map.name} cannot place new points, so each step sits "
            "among its nearest encoded points."
            if approximate else "Exact: the path is projected like the data."))


def _take_scrub() -> None:
    """on_z_change of the scrubber: its drag, for a recording tour; the released spot is read back in render()."""
    live.take_gesture(state.INTERP_SCRUB)


def _scrubber(ctx: Context, path: np.ndarray) -> np.ndarray | None:
    """Scrub along the path, decoded live in the page (when it can run the model); the released z, if any."""
    weights = ctx.weights
    if weights.blob is None:
        st.caption(f"Scrubbing needs the in-page decoder, which cannot run this model ({weights.unsupported}).")
        return None
    ss = st.session_state
    (za, _), (zb, _) = session.endpoint(ctx, "a"), session.endpoint(ctx, "b")
    live.path_scrubber(ctx, weights, za, zb, ss["interp_mode"], len(path), key=state.INTERP_SCRUB,
                       on_release=_take_scrub)
    report = live.reported(state.INTERP_SCRUB)
    return None if report is None else np.asarray(report["z"], np.float32)
