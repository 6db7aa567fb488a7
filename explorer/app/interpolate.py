"""Interpolation through latent points (A, B, then waypoints C, D, ..., optionally back to A): filmstrip,
animation, downloads, where the path leaves the data, and the path on the map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer import paths
from explorer.app import compute, exports, images, live, plots, presentation, resources, session, state
from explorer.app.context import Context
from explorer.latent import INTERPOLATIONS

STRIP_HEIGHT = 112  # pixels per filmstrip frame
ANIMATION_SIDE = 240
PATH_MAP_HEIGHT = 440  # pixels of the map with the path
STAGE_PATH_MAP_HEIGHT = 540  # on the stage, beside the scrubber: the legend's type grows with the window; ten classes fit at 1080p
TYPICAL_SAMPLE = 500  # real codes whose nearest-other-code distance sets the profile's "near the data" line
TYPICAL_QUANTILE = 0.95  # the line: this share of real codes is at most that far from another code
LEG_CHOICES = (state.LEG_AS_CHOSEN, *INTERPOLATIONS)
WAYPOINTS_PER_ROW = 3


def _endpoint_inputs(ctx: Context, end: str) -> None:
    n = len(ctx.embedding.mu)
    if end in state.WAYPOINTS:
        head, remove = st.columns([3, 1], vertical_alignment="center")
        head.markdown(f"**{end.upper()}**")
        remove.button("", icon=":material/close:", key=f"remove_{end}", on_click=_remove_point, args=(end,),
                      help=f"Take {end.upper()} out of the path")
    else:
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


def path_points() -> tuple[str, ...]:
    """The names of the points the path goes through, in order: A, B and the waypoints added."""
    return state.PATH_POINTS[: len(state.ENDS) + int(st.session_state[state.INTERP_WAYPOINTS])]


def _leg_names() -> list[str]:
    names = [p.upper() for p in path_points()] + (["A"] if st.session_state["interp_loop"] else [])
    return [f"{start} → {end}" for start, end in zip(names, names[1:])]


def _leg_modes() -> tuple[str, ...]:
    """Each leg's interpolation: its own choice, or the path's."""
    ss = st.session_state
    chosen = [ss[state.leg_key(k)] for k in range(len(_leg_names()))]
    return tuple(ss["interp_mode"] if m == state.LEG_AS_CHOSEN else m for m in chosen)


def _add_point() -> None:
    ss = st.session_state
    ss[state.INTERP_WAYPOINTS] = min(ss[state.INTERP_WAYPOINTS] + 1, len(state.WAYPOINTS))


def _remove_point(name: str) -> None:
    """Take waypoint ``name`` out: the later ones move up one place, keeping their choices."""
    ss = st.session_state
    used = path_points()
    for here, after in zip(used[used.index(name):], used[used.index(name) + 1:]):
        mine, theirs = state.end_keys(here), state.end_keys(after)
        for field in ("kind", "index", "seed"):
            state.set_value(getattr(mine, field), ss[getattr(theirs, field)])
    ss[state.INTERP_WAYPOINTS] -= 1


def frames(ctx: Context) -> tuple[paths.LatentPath, np.ndarray, list[str], np.ndarray]:
    """The path's frames, their decoded images (N, C, H, W), each point's description and the pixel
    distance of every step (N - 1,), for the current settings."""
    ss = st.session_state
    ends = [session.endpoint(ctx, p) for p in path_points()]
    points = np.stack([z for z, _ in ends])
    loop = bool(ss["interp_loop"])
    if ss["interp_equal_pixels"]:
        path = _evenly_spaced(ctx.path, resources.version(ctx.path), points, int(ss["interp_steps"]), _leg_modes(),
                              loop)
    else:
        path = paths.path_through(points, int(ss["interp_steps"]), _leg_modes(), loop)
    decoded = compute.decode(ctx.model, path.z)
    return path, decoded, [d for _, d in ends], paths.pixel_steps(decoded)


@st.cache_data(max_entries=8, show_spinner="Spacing the frames by pixel distance...")
def _evenly_spaced(model_path: str, version: tuple[float, float], points: np.ndarray, steps: int,
                   modes: tuple[str, ...], loop: bool) -> paths.LatentPath:
    """The path with its frames at equal pixel steps: decodes it densely, so once per path, not per rerun."""
    model = resources.model(resources.load_checkpoint(model_path))
    path = paths.path_through(points, steps, modes, loop)
    return paths.respace_by_pixels(path, points, lambda z: compute.decode(model, z), loop)[0]


def _waypoint_names(path: paths.LatentPath) -> tuple[str, ...]:
    return tuple(p.upper() for p in path_points()) + (("A",) if path.legs == len(path_points()) else ())


@st.cache_data(max_entries=4, show_spinner=False)
def _typical(model_path: str, codes: np.ndarray) -> tuple[float, float]:
    """What real codes score: (distance to the nearest other code, log-density), at TYPICAL_QUANTILE's edge."""
    near = paths.nearest_other_distance(codes, TYPICAL_SAMPLE)
    return (float(np.quantile(near, TYPICAL_QUANTILE)),
            float(np.quantile(paths.prior_log_density(codes), 1.0 - TYPICAL_QUANTILE)))


def _file_stem(ctx: Context, steps: int) -> str:
    """'digits-interpolation-test0-to-prior-seed2-linear-10-steps': model, points, mode and steps."""
    ss, upload = st.session_state, st.session_state.get(state.UPLOAD)
    ends = [exports.endpoint_slug(ss[k.kind], int(ss[k.index]), int(ss[k.seed]), upload.name if upload else None)
            for k in map(state.end_keys, path_points())]
    route = [part for end in ends[1:] for part in ("to", end)] + (["loop"] if ss["interp_loop"] else [])
    modes = sorted(set(_leg_modes()))
    return exports.file_stem(Path(ctx.path).name, "interpolation", ends[0], *route, "-".join(modes),
                             "equal-pixels" if ss["interp_equal_pixels"] else "", f"{steps}-steps")


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
        st.image(gif, caption="played as an animation (round the loop)" if ss["interp_loop"] else
                 "played as an animation (there and back)")
    else:
        frame = min(ss["interp_frame"], len(decoded) - 1)
        st.image(images.display(decoded[frame], presentation.side(ANIMATION_SIDE)),
                 caption=f"paused: frame {frame + 1} of {len(decoded)}")
    p1, p2 = st.columns(2)
    p1.button("Pause" if ss["interp_playing"] else "Play", on_click=_toggle_play, width="stretch",
              shortcut=presentation.SHORTCUTS["play"], key="interp_play")
    p2.button("Step", on_click=_step, args=(len(decoded),), width="stretch", key="interp_step",
              shortcut=presentation.SHORTCUTS["step"], help="Pause and show the next frame.")


def _points_inputs(ctx: Context) -> None:
    """A and B beside the controls, then a row of waypoints, "Add a point" and each leg's interpolation."""
    waypoints = path_points()[len(state.ENDS):]
    for row in range(0, len(waypoints), WAYPOINTS_PER_ROW):  # as wide as A and B: three end kinds fit
        for column, name in zip(st.columns(WAYPOINTS_PER_ROW, gap="large"), waypoints[row: row + WAYPOINTS_PER_ROW]):
            with column:
                _endpoint_inputs(ctx, name)
    add, legs = st.columns([1, 3], vertical_alignment="top")
    add.button("Add a point", icon=":material/add:", on_click=_add_point, key="interp_add",
               disabled=len(waypoints) == len(state.WAYPOINTS),
               help="Go on from the last point to one more: a test image, a prior draw or yours")
    with legs.expander("Each leg's interpolation"):
        for k, leg in enumerate(_leg_names()):
            st.segmented_control(leg, LEG_CHOICES, required=True, **state.widget(state.leg_key(k)))


def _settings(ctx: Context) -> None:
    """The path's controls: its interpolation and steps beside A and B, then the waypoints and the legs."""
    controls, a_col, b_col = st.columns([3, 3.5, 3.5], gap="large")  # three end kinds fit in large type
    with controls:
        st.segmented_control("Interpolation", tuple(INTERPOLATIONS), required=True,
                             format_func={"linear": "linear", "spherical": "spherical (slerp)"}.get,
                             **state.widget("interp_mode"))
        st.slider("Steps per leg", 2, state.INTERP_MAX_STEPS, **state.widget("interp_steps"))
        st.toggle("Loop back to A", **state.widget("interp_loop"))
        st.toggle("Equal pixel steps", **state.widget("interp_equal_pixels"),
                    help="Space the frames so each changes the picture by the same pixel distance, not the same "
                         "step in z")
    with a_col:
        _endpoint_inputs(ctx, "a")
    with b_col:
        _endpoint_inputs(ctx, "b")
    _points_inputs(ctx)


def _settings_summary() -> str:
    """The stage's one line for the folded controls: 'The path: A → B → C → A, linear, 10 steps per leg'."""
    ss = st.session_state
    names = [p.upper() for p in path_points()] + (["A"] if ss["interp_loop"] else [])
    extras = [", equal pixel steps"] if ss["interp_equal_pixels"] else []
    return (f"The path: {' → '.join(names)}, {ss['interp_mode']}, {ss['interp_steps']} steps per leg"
            + "".join(extras))


def render(ctx: Context) -> None:
    stage = presentation.is_on()
    if stage:  # the room sees the pictures: the controls fold into one line, the scrubber and the map come up
        with st.expander(_settings_summary(), key="interp_settings"):
            _settings(ctx)
    else:
        _settings(ctx)

    path, decoded, descriptions, steps = frames(ctx)
    names = _waypoint_names(path)
    side = decoded.shape[-2]
    stops = [f"{n} = {d}" for n, d in zip(names, descriptions)] + (["A"] if len(names) > len(descriptions) else [])
    route = " to ".join(stops) if len(stops) == 2 else " → ".join(stops)  # two points read as before
    st.markdown(f"**{len(decoded)} frames** from {route}")
    filmstrip = images.strip(decoded, factor=images.scale_factor(side, presentation.side(STRIP_HEIGHT)))
    st.image(filmstrip, caption="filmstrip, A on the left")
    xy = ctx.map.place(path.z)
    distance, log_density = paths.data_distance(path.z, ctx.embedding.mu), paths.prior_log_density(path.z)
    bounce = not st.session_state["interp_loop"]  # a loop already ends where it starts
    gif = images.gif_bytes(decoded, factor=images.scale_factor(side, presentation.side(ANIMATION_SIDE)), bounce=bounce)
    exported = (path, decoded, names, filmstrip, gif, bounce, xy, distance, log_density, steps)
    if stage:
        scrub_col, map_col = st.columns([1, 1], gap="large")
        with scrub_col:
            scrubbed = _scrubber(ctx, path, names)
        with map_col:
            _path_map(ctx, path, names, xy, scrubbed)
        _profile(ctx, path, names, distance, log_density, steps)
        animation, downloads = st.columns([1, 2], gap="large")
        with animation:
            _player(decoded, gif)
        with downloads:
            _downloads(ctx, *exported)
        return
    _profile(ctx, path, names, distance, log_density, steps)
    scrubbed = _scrubber(ctx, path, names)
    animation, on_map = st.columns([1, 2], gap="large")
    with animation:
        _player(decoded, gif)
        _downloads(ctx, *exported)
    with on_map:
        _path_map(ctx, path, names, xy, scrubbed)


def _downloads(ctx: Context, path: paths.LatentPath, decoded: np.ndarray, names: tuple[str, ...], filmstrip: np.ndarray,
               gif: bytes, bounce: bool, xy: np.ndarray, distance: np.ndarray, log_density: np.ndarray,
               steps: np.ndarray) -> None:
    """GIF, filmstrip PNG, the path's CSV and (where ffmpeg runs) MP4, two buttons a row."""
    side = decoded.shape[-2]
    stem = _file_stem(ctx, len(decoded))
    d1, d2 = st.columns(2)
    d3, d4 = st.columns(2)  # two rows: four labelled buttons do not fit beside each other
    icon = ":material/download:"
    d1.download_button("GIF", gif, file_name=f"{stem}.gif", mime="image/gif", width="stretch", icon=icon,
                       help="The animation as a looping GIF")
    d2.download_button("Strip", images.png_bytes(filmstrip), file_name=f"{stem}.png", mime="image/png",
                       width="stretch", icon=icon, help="The filmstrip as one PNG, A on the left")
    at_waypoints = dict(zip(path.waypoint_frames.tolist(), names))
    d3.download_button("Path", exports.path_csv(path.z, path.position, at_waypoints, xy, distance, log_density, steps),
                       file_name=f"{stem}.csv", mime="text/csv", width="stretch", icon=icon,
                       help="Every frame as CSV: its z, its place on the map, its distance to the data and "
                            "the prior's log-density")
    mp4_problem = images.mp4_writer_problem()
    if mp4_problem is None:  # encoded on click only: ffmpeg is a process start away
        factor = images.scale_factor(side, presentation.side(ANIMATION_SIDE))
        d4.download_button("MP4", lambda: images.mp4_bytes(decoded, factor=factor, bounce=bounce),
                           on_click="ignore", file_name=f"{stem}.mp4", mime="video/mp4", width="stretch",
                           icon=icon, help="The animation as an H.264 video, for slides")
    else:
        st.caption(f"MP4 is not offered: {mp4_problem}. The GIF holds the same frames.")


def _path_map(ctx: Context, path: paths.LatentPath, names: tuple[str, ...], xy: np.ndarray,
              scrubbed: np.ndarray | None) -> None:
    """The path on the map, its points named, and where the scrubber was let go."""
    approximate = not ctx.map.exact
    shown = ctx.shown
    fig = plots.map_figure(ctx.coords[shown], ctx.map_embedding.labels[shown], ctx.class_names, ctx.map.axis_titles(),
                           opacity=0.35, height=STAGE_PATH_MAP_HEIGHT if presentation.is_on() else PATH_MAP_HEIGHT, ids=shown, palette=state.palette())
    plots.add_path(fig, xy, approximate, path.waypoint_frames, tuple(dict.fromkeys(names)))
    if scrubbed is not None:
        plots.add_release_marker(fig, ctx.map.place(scrubbed)[0], "scrubbed")
    st.plotly_chart(fig, key="interp_map", config={"displaylogo": False})
    st.caption(f"The path on the {ctx.map.label} map. " + (
        f"Approximate: {ctx.map.name} cannot place new points, so each step sits "
        "among its nearest encoded points."
        if approximate else "Exact: the path is projected like the data."))


def _profile(ctx: Context, path: paths.LatentPath, names: tuple[str, ...], distance: np.ndarray,
             log_density: np.ndarray, steps: np.ndarray) -> None:
    """Under the filmstrip: where the path leaves the data, frame by frame."""
    near, dense = _typical(ctx.path, ctx.embedding.mu)
    st.plotly_chart(plots.path_profile(distance, log_density, path.waypoint_frames, names, near, dense),
                    key="interp_profile", config={"displaylogo": False})
    spread = f" Pixel steps vary {steps.max() / max(steps.min(), 1e-12):.2f}× (largest / smallest)." \
        if len(steps) else ""
    st.caption(f"Top: distance from each frame to the nearest encoded test image; the dashed line is as far as "
               f"{TYPICAL_QUANTILE:.0%} of test codes are from their nearest neighbour. Bottom: log N(z; 0, I) in "
               f"nats; {TYPICAL_QUANTILE:.0%} of test codes lie above the dashed line. Above the first or below the "
               "second, the path has left the data." + spread)


def _take_scrub() -> None:
    """on_z_change of the scrubber: its drag, for a recording tour; the released spot is read back in render()."""
    live.take_gesture(state.INTERP_SCRUB)


def _scrubber(ctx: Context, path: paths.LatentPath, names: tuple[str, ...]) -> np.ndarray | None:
    """Scrub along the path, decoded live in the page (when it can run the model); the released z, if any."""
    weights = ctx.weights
    if weights.blob is None:
        st.caption(f"Scrubbing needs the in-page decoder, which cannot run this model ({weights.unsupported}).")
        return None
    live.path_scrubber(ctx, weights, path.z[path.waypoint_frames], path.modes, path.position, names,
                       on_release=_take_scrub, key=state.INTERP_SCRUB)
    report = live.reported(state.INTERP_SCRUB)
    return None if report is None else np.asarray(report["z"], np.float32)
