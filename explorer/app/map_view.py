"""The map (the encoded test set as a WebGL scatter) and the inspector of the picked point."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer import projection
from explorer.app import (compute, exports, images, live, plots, presentation, recording, resources, scatter, session,
                          state, thumbnails, tour)
from explorer.app.context import Context
from explorer.errors import ExplorerError
from explorer.latent import nearest_neighbours

log = logging.getLogger(__name__)

NEIGHBOURS = 8
NEIGHBOUR_SIDE = 96  # pixels per neighbour thumbnail
INSPECTOR_SIDE = 220  # pixels for the original and the reconstruction
PROBE_MAP_SIDE = 560  # CSS pixels of the probe's map; its image sits beside it
STAGE_MAP_HEIGHT = 900  # on the stage the map fills the window height below the controls, up to this (1080p)


def _selection_ids(event) -> tuple[int, ...]:
    """Point ids (customdata) in a plotly selection event; the event may be a plain dict (AppTest)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return ()
    return tuple(int(p["customdata"]) for p in points if p.get("customdata") is not None)


def take_selection() -> None:
    """on_select callback (and a check at the start of each run): a new click picks its point.

    Only a selection that differs from the last one seen counts, so an index typed in the inspector is
    not overwritten by the click that is still registered on the chart.
    """
    ss = st.session_state
    ids = _selection_ids(ss.get(state.MAP_EVENT))
    if ids and ids != ss.get(state.MAP_SEEN):
        ss[state.MAP_SEEN] = ids
        _select(list(ids))


def _select(ids: list[int]) -> None:
    """A selection made on the map (either renderer): it becomes the map's group, and its first point the pick."""
    ss = st.session_state
    ss[state.MAP_SELECTION] = ids
    ss[state.PICK] = ids[0]
    _show_index(ids[0])


def _show_index(index: int) -> None:
    """The inspector's number box follows the pick when it is a test image (a training point has no number there)."""
    if index < st.session_state.get(state.MAP_TEST_POINTS, index + 1):
        state.set_value("inspect_index", index)


def pick(index: int) -> None:
    """Pick a point from outside the chart: the map is redrawn with it marked (its zoom resets once)."""
    st.session_state[state.PICK] = index
    st.session_state[state.MAP_MARKED] = index
    _show_index(index)


def _pick_typed_index() -> None:
    pick(int(st.session_state[state.widget_key("inspect_index")]))


def _pick_next(shown: np.ndarray) -> None:
    """The next point on the map after the picked one (N in a talk), wrapping round."""
    current = st.session_state[state.PICK]
    after = shown[shown > current] if current is not None else shown
    pick(int(after[0] if len(after) else shown[0]))


def _pick_random(n: int) -> None:
    rng = np.random.default_rng()
    pick(int(rng.integers(n)))


def render(ctx: Context) -> None:
    take_selection()
    _take_webgl_selection()
    if st.session_state.get("map_probe"):  # the probe's map and its image take the width; the inspector waits
        if _probe_toggle(ctx):
            render_probe(ctx)
            return
    stage = presentation.is_on()  # on the stage the toggle heads the inspector: the map starts higher
    toggle_slot = None if stage else st.empty()  # on top, but drawn after the map: it needs the model
    left, right = st.columns([11, 9], gap="large")
    with left:
        figure = render_map(ctx)  # first, so a new page paints its map while torch is still being imported
    with right if stage else toggle_slot.container():
        _probe_toggle(ctx, short=stage)
    with left:
        with st.expander("Export the map", expanded=False):
            render_exports(ctx, figure)
    with right:
        render_inspector(ctx)


def _figure(ctx: Context, marked: int | None) -> go.Figure:
    """The map as a Plotly figure: the Plotly renderer draws it, and the exports (PNG, HTML) are made of it.

    ``marked`` is passed in, not read here: a download made on click builds the figure after the run.
    """
    shown = ctx.shown
    return plots.map_figure(ctx.coords[shown], ctx.map_embedding.labels[shown], ctx.class_names, ctx.map.axis_titles(),
                            marked=marked, ids=shown, palette=state.palette())


def _marked() -> int | None:
    """The point the map marks: the pick (the Plotly chart's is baked in, and changes only when it may redraw)."""
    ss = st.session_state
    return ss[state.PICK] if renderer() is state.MapRenderer.WEBGL else ss[state.MAP_MARKED]


def _take_map_probe(latent_dim: int) -> None:
    """on_probe_change of the WebGL map: its probe's drag, for a recording tour; the spot is read on the rerun."""
    tour.take_gesture("map", scatter.probed(state.MAP_WEBGL), latent_dim)


def _take_webgl_selection() -> None:
    """on_selected_change of the WebGL map (and a check at the start of each run): a click picks its point; a
    lasso selects, and picks its first. Each gesture is taken once (its seq), like take_selection's clicks."""
    ss = st.session_state
    report = scatter.reported(state.MAP_WEBGL)
    if report is None or not report["ids"] or report.get("seq") == ss.get(state.MAP_WEBGL_SEEN):
        return
    ss[state.MAP_WEBGL_SEEN] = report.get("seq")
    _select([int(i) for i in report["ids"]])


def renderer() -> state.MapRenderer:
    return state.MapRenderer(st.session_state.get(state.MAP_RENDERER, state.MapRenderer.WEBGL))


def render_map(ctx: Context) -> Callable[[], go.Figure]:
    """The map of the shown points, clickable; returns how to make its Plotly figure, for the exports."""
    shown = ctx.shown
    ss = st.session_state
    if renderer() is state.MapRenderer.WEBGL:
        values = _colour_by(ctx)
        selection = ss.get(state.MAP_SELECTION) or []
        scatter.render(_map_id(ctx), ctx.coords[shown], shown, ctx.map_embedding.labels[shown], ctx.class_names,
                       ctx.map.axis_titles(), _map_file_stem(ctx), marked=ss[state.PICK],
                       selection=selection if len(selection) > 1 else [], on_select=_take_webgl_selection,
                       key=state.MAP_WEBGL, big=presentation.is_on(), proj=ctx.map,
                       height=STAGE_MAP_HEIGHT if presentation.is_on() else scatter.MAP_HEIGHT,
                       decoder=resources.decoder_id(ctx.path), images=functools.partial(_sheet, ctx),
                       images_id=_images_id(ctx), tiles=None if ctx.split == "test" else functools.partial(_tile, ctx),
                       palette=state.palette(),
                       training_from=None if ctx.split == "test" else ctx.test_points, values=values,
                       on_probe=functools.partial(_take_map_probe, ctx.latent_dim),
                       replay=tour.replay_for("map"))
        how = ("Click a point to inspect it; scroll to zoom, drag to pan; Lasso (or Shift+drag) selects a group; "
               "Probe decodes the spot under its handle; Atlas decodes a grid over the view.")
        figure = functools.partial(_figure, ctx, _marked())  # made only when an export asks
        probed = scatter.probed(state.MAP_WEBGL)
        if probed is not None and len(probed["z"]) == ctx.latent_dim:
            where = "its exact latent point" if probed.get("exact") else "the mean code of the points nearest it"
            c1, c2 = st.columns([2, 3], vertical_alignment="center")
            c1.button("Edit the probe's spot with sliders", on_click=session.edit_with_sliders, key="map_probe_edit",
                      args=(np.asarray(probed["z"], np.float32), ctx.ranges, "the map's probe"), type="primary")
            c2.caption(f"The probe's last spot on the map, as {where}.")
    else:
        fig = _figure(ctx, _marked())
        camera = {"format": "png", "filename": _map_file_stem(ctx), "scale": 2}  # plotly adds ".png"
        st.plotly_chart(fig, key=state.MAP_EVENT, on_select=take_selection, selection_mode=("points", "box", "lasso"),
                        config={"displaylogo": False, "scrollZoom": True, "toImageButtonOptions": camera})
        how = "Click a point to inspect it; scroll to zoom."

        def figure() -> go.Figure:
            return fig
    note = ("Posterior means; distances are latent distances projected." if ctx.map.metric
            else f"{ctx.map.name} keeps neighbours together; distances and cluster sizes mean little.")
    of_all = "" if len(shown) == len(ctx.coords) or ctx.split != "test" \
        else f" (a fixed random subset of {len(ctx.coords):,})"
    what = {"test": "test images", "train": "training images", "all": "images, test and training"}[ctx.split]
    axes = " (on the test split's principal axes)" if ctx.split != "test" and isinstance(ctx.map, projection.PCA) else ""
    images_note = "" if ctx.split == "test" else " Zoomed in, the training images come on demand, a tile at a time."
    st.caption(f"{ctx.map.label}{axes} of {len(shown):,} {what}{of_all}. {note} {how}{images_note}")
    return figure


SHEET_SAMPLE = 10_000  # a training map's sheet: a sixth of its images, at most this many (4 MB)


def _open_explain() -> None:
    st.session_state[state.VIEW] = "Explain"  # the Explain view starts from the pick


def _explain_row(ctx: Context, index: int) -> None:
    """'Explain this image', and its cached scores: where the model handles it, among the test images."""
    c1, c2 = st.columns([1, 2], vertical_alignment="center")
    c1.button("Explain this image", on_click=_open_explain, width="stretch",
              help="The Explain view, started from this image: its q(z|x), draws and ELBO, live")
    try:
        cached = resources.scores(ctx.path)
    except ExplorerError:
        return
    if cached is None:
        return
    scores, k = cached
    nelbo = scores["nelbo"]
    worse = int((nelbo > nelbo[index]).sum())
    c2.caption(f"−ELBO {nelbo[index]:.1f} nats (reconstruction {scores['recon'][index]:.1f} + KL "
               f"{scores['kl'][index]:.1f}); IWAE gap {scores['gap'][index]:.2f}. "
               f"{worse:,} of {len(nelbo):,} test images score worse ({k} draws each).")


def _colour_by(ctx: Context) -> tuple[str, str, np.ndarray] | None:
    """The map's colours: by class, or by a per-image score where the model's are cached (the test split's)."""
    try:
        cached = resources.scores(ctx.path) if ctx.split == "test" else None
    except ExplorerError as err:
        st.caption(f"Colouring by score is not offered: {err}")
        return None
    if cached is None:
        return None
    scores, k = cached
    options = ["class", *[name for name in state.SCORE_LABELS if name in scores]]
    if st.session_state.get(state.MAP_COLOUR_BY) not in options:
        st.session_state[state.MAP_COLOUR_BY] = "class"
    name = st.radio("Colour points by", options, format_func=state.SCORE_LABELS.get, key=state.MAP_COLOUR_BY,
                    horizontal=True, label_visibility="collapsed" if presentation.is_on() else "visible", help=f"Per test image, from {k} draws of q(z|x) each (python -m explorer score), "
                    "in nats: −ELBO = recon. (−E_q log p(x|z)) + KL (to the prior); −log p(x) is the IWAE bound; gap "
                    "is the ELBO's distance from it, at least KL(q(z|x) ‖ p(z|x)). The images the model handles "
                    "worst are the darkest: click one, then Explain it.")
    if name == "class":
        return None
    return name, state.SCORE_LABELS[name], scores[name][ctx.shown]


def _sheet(ctx: Context) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions, images): the images sent with the map. The test map's own; on the whole dataset the test
    split's (the same sheet); on the training split a fixed random sample. Zoomed in, the page asks for the
    rest of the images it shows by tiles (``_tile``)."""
    if ctx.split == "train":
        n = len(ctx.shown)
        size = min(SHEET_SAMPLE, -(-n // 6))
        positions = np.sort(np.random.default_rng(0).choice(n, size, replace=False))
        pictures = _tile(ctx, positions)
        return None if pictures is None else (positions, pictures)
    if ctx.images is None:
        return None
    if ctx.split == "all":
        return np.arange(ctx.test_points), ctx.images
    return np.arange(len(ctx.shown)), ctx.images[ctx.shown]


def _tile(ctx: Context, positions: np.ndarray) -> np.ndarray | None:
    """The images of the map's points at ``positions`` (indices into ``ctx.shown``), or None where one is missing."""
    ids = ctx.shown[positions]
    training = ids >= ctx.test_points
    try:
        train = resources.train_images(ctx.checkpoint) if training.any() else None
    except ExplorerError:
        return None
    if (~training).any() and ctx.images is None:
        return None
    first = train if train is not None else ctx.images
    out = np.empty((len(ids), *first.shape[1:]), first.dtype)
    if train is not None:
        out[training] = train[ids[training] - ctx.test_points]
    if (~training).any():
        out[~training] = ctx.images[ids[~training]]
    return out


def _images_id(ctx: Context) -> str:
    """The page's name for the sheet of the map's images: the same for every projection of one subset, and
    for the whole dataset the test split's own (it is the same sheet: the page has it already)."""
    split, count = ("test", ctx.test_points) if ctx.split == "all" else (ctx.split, len(ctx.shown))
    return scatter.map_id(ctx.path, resources.version(ctx.path), f"images-{split}", count, 0)


def _map_id(ctx: Context) -> str:
    return scatter.map_id(ctx.path, resources.version(ctx.path), f"{ctx.projection}-{ctx.split}", len(ctx.shown),
                          ctx.perplexity)


def _probe_toggle(ctx: Context, short: bool = False) -> bool:
    """The live-probe switch; offered where the map can be inverted (PCA, a 2-D latent plane) and the page decodes."""
    weights = ctx.weights
    why_not = ("" if ctx.map.invertible else f"The large probe view is offered on the PCA map only: "
               f"{ctx.map.name} has no inverse, so a spot on it has no single latent point. The map's own "
               "Probe works here, approximately.")
    if weights.blob is None:
        why_not = f"The live probe needs the in-page decoder, which cannot run this model ({weights.unsupported})."
    on = st.toggle("Large probe view" if short else "Probe in a large view: the map and the image at the marker, side by side",
                   disabled=bool(why_not), help=why_not or None, **state.widget("map_probe"))
    if weights.blob is None:
        st.caption(why_not)
    return bool(on) and not why_not


def _take_probe(key: str) -> None:
    """on_z_change of the probe: its drag, for a recording tour; the button below reads the released spot."""
    live.take_gesture(key)


def render_probe(ctx: Context) -> None:
    key = f"{state.PROBE}_{ctx.projection}"
    pick = st.session_state[state.PICK]
    start = ctx.coords[pick] if pick is not None else ctx.coords.mean(axis=0)
    live.probe(ctx, ctx.weights, start, on_release=functools.partial(_take_probe, key), key=key,
               map_side=PROBE_MAP_SIDE)
    report = live.reported(key)
    if report is not None:
        st.button("Edit this spot with sliders", on_click=session.edit_with_sliders,
                  args=(np.asarray(report["z"], np.float32), ctx.ranges), type="primary")
    note = "Exact: the spot is mapped back into latent space with the inverse PCA (the plane through the data mean)." \
        if isinstance(ctx.map, projection.PCA) else "Exact: on a 2-D model the map is the latent plane itself."
    st.caption(f"{note} Decoded in this page while you drag; the server hears of the spot when you let go. "
               "Turn the probe off to click points and inspect them.")


def _map_file_stem(ctx: Context) -> str:
    """'digits-pca-359-points-map': model, projection and point count."""
    return exports.file_stem(Path(ctx.path).name, ctx.projection, f"{len(ctx.shown)}-points", "map")


def render_exports(ctx: Context, figure: Callable[[], go.Figure]) -> None:
    """The map's points as CSV (with the current selection and pick), its figure as PNG and as HTML."""
    ss, shown = st.session_state, ctx.shown
    stem = _map_file_stem(ctx)
    data = exports.map_csv(shown, ctx.coords[shown], ctx.map_embedding.labels[shown], ctx.class_names,
                           ss.get(state.MAP_SELECTION) or [], ss[state.PICK])
    title = f"{Path(ctx.path).name}: {ctx.map.label} of {len(shown):,} test images"
    c1, c2, c3 = st.columns(3)
    c1.download_button("Points (CSV)", data, mime="text/csv", width="stretch",
                       file_name=stem.removesuffix("-map") + ".csv")
    missing = exports.png_writer_missing()
    if missing is None:
        with c2:
            _png_button(figure, title, stem)
    c3.download_button("Map (HTML)", lambda: exports.figure_html(figure(), title), on_click="ignore",
                       width="stretch", mime="text/html", file_name=f"{stem}.html")
    selected = len(ss.get(state.MAP_SELECTION) or [])
    st.caption(f"CSV: id, label, class, x, y, and whether each point is in the current selection ({selected:,} "
               "points) or picked. HTML: the map with zoom and hover, opens offline. "
               + ("" if missing is None else f"No PNG button: {missing}. ")
               + f"The {_in_page_png()} saves exactly what you see as a PNG.")
    _standalone_button(ctx)


@st.cache_data(show_spinner="Building the offline explorer...", max_entries=4)
def _standalone_html(path: str, version: tuple[float, float], projection_key: str | None, tour_json: str | None) -> bytes:
    from explorer import standalone  # torch and PIL work: only when the file is asked for

    tour = recording.stops(recording.Tour.from_json(tour_json)) if tour_json else None
    return standalone.build(path, projection=projection_key, tour=tour).encode("utf-8")


def _recorded_stops_json(ctx: Context) -> str | None:
    """The session's recorded tour, if it was made on this model and moves z (the offline file plays its z)."""
    tour = st.session_state.get(state.RECORDED)
    if tour is None or tour.model != Path(ctx.path).name or not recording.stops(tour):
        return None
    return tour.to_json()


def _standalone_button(ctx: Context) -> None:
    """One offline HTML file of the explorer (standalone.build), built on click and cached per model and map."""
    from explorer import standalone

    why_not = resources.weights(ctx.path).unsupported
    if why_not is None and not resources.load_checkpoint(ctx.path).embedding_path.is_file():
        why_not = "the checkpoint has no cached embedding.npz (run `python -m explorer evaluate` on it)"
    if why_not is not None:
        st.caption(f"No offline explorer for this model: {why_not}.")
        return
    key = ctx.projection if ctx.projection in standalone.PROJECTIONS else None  # others: the default plane
    tour_json = _recorded_stops_json(ctx)
    st.download_button("Explorer (offline HTML)" + (", with the tour" if tour_json else ""), width="stretch",
                       data=lambda: _standalone_html(ctx.path, resources.version(ctx.path), key, tour_json),
                       on_click="ignore", mime="text/html",
                       file_name=exports.file_name(Path(ctx.path).name, "explorer", ext="html"),
                       help="One file: the map, the decoder, sliders, probe, interpolation" +
                            (" and the recorded tour (its moves of z)" if tour_json else "") +
                            ". Opens offline, no server.")


def _in_page_png() -> str:
    return "PNG button on the map" if renderer() is state.MapRenderer.WEBGL else "camera icon above the map"


def _png_button(figure: Callable[[], go.Figure], title: str, stem: str) -> None:
    """'Make the PNG' (a headless browser renders it, a second or two), then 'Map (PNG)' to download it.

    Two steps rather than a download made on click: a render that fails (a browser that will not start)
    must be able to say so, and a download made on click has no way to show a message.
    """
    ss = st.session_state
    key = (stem, title, _marked())  # the figure the PNG shows; another one makes it stale
    held = ss.get(state.MAP_PNG)
    if held is not None and held[0] == key:
        st.download_button("Map (PNG)", held[1], file_name=f"{stem}.png", mime="image/png", width="stretch",
                           on_click="ignore")
        return
    if not st.button("Make the PNG", width="stretch", help="Renders the map, titled, at 1600 x 1000 pixels"):
        return
    with st.spinner("Rendering the map as PNG..."):
        try:
            png = exports.figure_png(figure(), title)
        except Exception as err:  # noqa: BLE001  a browser process outside our code: any failure, one message
            log.warning("The map PNG failed: %r", err)
            why = err.args[0] if err.args else err  # the first line; kaleido appends install advice
            st.error(f"The map could not be rendered as PNG ({type(err).__name__}: {why}). Save it with the "
                     f"{_in_page_png()}, or download the HTML file.")
            return
    ss[state.MAP_PNG] = (key, png)
    st.rerun()


def render_inspector(ctx: Context) -> None:
    n = len(ctx.embedding.mu)
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    c1.number_input("Inspect test image #", min_value=0, max_value=n - 1, step=1,
                    **{**state.widget("inspect_index"), "on_change": _pick_typed_index, "args": ()})
    c2.button("Next", on_click=_pick_next, args=(ctx.shown,), width="stretch", key="next_point",
              shortcut=presentation.SHORTCUTS["next"], help="The next point on the map.")
    c3.button("Random", on_click=_pick_random, args=(n,), width="stretch", key="random_point")
    index = st.session_state[state.PICK]
    emb = ctx.map_embedding  # a training point, picked on a map of the whole dataset, has its codes here
    if index is not None and index >= len(emb.mu):  # a training point, and the map shows the test split again
        index = st.session_state[state.PICK] = None
    if index is None:
        st.info("Click a point on the map (or type an index) to see its image, reconstruction and neighbours.")
        return
    training = ctx.is_training(index)
    mu, sigma = emb.mu[index], np.exp(0.5 * emb.logvar[index])
    label = int(emb.labels[index])
    title = f"training #{index - ctx.test_points:,}" if training else f"#{index}"
    st.markdown(f"### {title} · <span style='color:{plots.class_colour(label, state.palette())}'>■</span> "
                f"{plots.class_name(label, ctx.class_names)}", unsafe_allow_html=True)
    model = ctx.model
    side = presentation.side(INSPECTOR_SIDE)
    original, recon = st.columns(2)
    image = ctx.image_of(index)
    if image is not None:
        original.image(images.display(image[0], side), caption="original")
        recon.image(images.display(compute.reconstruct(model, image), side), caption="reconstruction (decoded mu)")
    else:
        original.warning(ctx.images_message if not training else
                         "The training images are not on this machine; the codes are (embedding-train.npz).")
        recon.image(images.display(compute.decode(model, mu), side), caption="decoded mu")

    b1, b2, b3 = st.columns(3)
    why_not = "Interpolation ends are test images, prior draws or your image." if training else None
    b1.button("Use as A", on_click=session.use_test_image_as, args=("a", index), width="stretch", disabled=training,
              help=why_not)
    b2.button("Use as B", on_click=session.use_test_image_as, args=("b", index), width="stretch", disabled=training,
              help=why_not)
    b3.button("Edit with sliders", on_click=session.edit_with_sliders, args=(mu, ctx.ranges, ctx.point_name(index)),
              type="primary", width="stretch")
    if not training:
        _explain_row(ctx, index)

    order = ctx.dim_order
    st.dataframe({"dimension": [f"z{i + 1}" + ("" if ctx.informative[i] else " (collapsed)") for i in order],
                  "mu": mu[order].round(3), "sigma": sigma[order].round(3)},
                 hide_index=True, height=min(36 * (len(order) + 1), 260))
    st.markdown("**Nearest neighbours in latent space**" + (" (among the test images)" if training else ""))
    emb = ctx.embedding  # the neighbours come from the test split, whichever split the point is from
    neighbours = nearest_neighbours(emb.mu, mu, NEIGHBOURS, exclude=None if training else index)
    pictures = ctx.images[neighbours] if ctx.images is not None else compute.decode(model, emb.mu[neighbours])
    shown = [images.display(p, NEIGHBOUR_SIDE) for p in pictures]
    thumbnails.row_of_thumbnails(shown, [f"#{j} {plots.class_name(int(emb.labels[j]), ctx.class_names)}"
                                         for j in neighbours], width=shown[0].shape[1])
    if ctx.images is None:
        st.caption("Neighbours shown as decoded means: the original images are not on this machine.")
