"""The page: the model picker in the sidebar, then one tab per view; only the open tab runs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer import projection
from explorer.app import (attribute_view, compute, explain, interpolate, live, map_view, model_card, my_image, plots,
                          presentation, resources, samples, share, sliders, state, tour)
from explorer.app.context import Context
from explorer.embedding import TSNE_PERPLEXITY, umap_available
from explorer.errors import CheckpointError, ExplorerError

TYPED = "__typed__"  # the picker's "type a folder path" choice

VIEW_RENDERERS = {
    "Map": map_view.render,
    "Sliders": sliders.render,
    "Interpolate": interpolate.render,
    "My image": my_image.render,
    "Attributes": attribute_view.render,
    "Samples": samples.render_samples,
    "Decoded plane": samples.render_plane,
    "Explain": explain.render,
    "Model card": model_card.render,
}


def _model_label(path: str) -> str:
    if path == TYPED:
        return "Type a folder path..."
    p = Path(path)
    return p.name if p.parent == resources.TRAINED.resolve() else f"{p.name} ({p.parent})"


def choose_model() -> str | None:
    """The checkpoint folder to open, or None (with the reason shown) when the typed path is refused."""
    models = [str(p) for p in resources.available_models()]
    for why in resources.ignored_model_roots():
        st.sidebar.warning(f"Ignored in ${resources.MODELS_ENV}: {why}.")
    default = str((resources.TRAINED / resources.DEFAULT_MODEL).resolve())
    options = models + [TYPED]
    index = options.index(default) if default in options else 0
    wanted = st.query_params.get("model")  # ?model=<folder name>: a link (or a benchmark) opens that model
    if wanted and state.MODEL_CHOICE not in st.session_state:
        named = [i for i, p in enumerate(models) if Path(p).name == wanted]
        if named:
            index = named[0]
        else:
            st.sidebar.warning(f"No model named {wanted!r}; opened {_model_label(options[index])}.")
    choice = st.sidebar.selectbox("Model", options, index=index, format_func=_model_label, key=state.MODEL_CHOICE)
    if choice != TYPED:
        return choice
    text = st.sidebar.text_input("Checkpoint folder", key=state.TYPED_PATH,
                                 placeholder="trained/my-model", help="A folder holding config.json and "
                                 f"model.safetensors, inside trained/ or a folder listed in ${resources.MODELS_ENV}.")
    if not text:
        st.sidebar.info("Type the path of a checkpoint folder.")
        return None
    try:
        return str(resources.resolve_typed_path(text))
    except ExplorerError as err:
        st.sidebar.error(str(err))
        return None


def choose_projection(options: tuple[str, ...], cached: tuple[str, ...]) -> str:
    """The map to show; fitted maps not cached with the checkpoint say they are computed on first use."""
    def label(key: str) -> str:
        kind = projection.KINDS[key]
        if not kind.fitted or key in cached:
            return kind.label
        return f"{kind.name} (not metric, computed on first use)"

    chosen = st.sidebar.radio("Map projection", options, format_func=label, key=state.PROJECTION)
    if not umap_available():
        st.sidebar.caption("UMAP as a third map: `pip install umap-learn`.")
    return chosen


def training_points(path: str) -> int:
    """How many training codes the model has cached (embedding-train.npz), 0 for none or a damaged file."""
    try:
        codes = resources.train_codes(path)
    except ExplorerError as err:  # a damaged or foreign embedding-train.npz: the test map still opens
        st.sidebar.warning(f"The training split is not offered: {err}")
        return 0
    return 0 if codes is None else len(codes.mu)


def choose_split(n: int, n_train: int) -> str:
    """Which points the map shows: the test split, or with the training split where its codes are cached."""
    if not n_train:
        if st.session_state[state.MAP_SPLIT] != "test":
            st.session_state[state.MAP_SPLIT] = "test"
        return "test"
    sizes = {"test": n, "train": n_train, "all": n + n_train}
    return st.sidebar.radio("Map points from", list(state.SPLITS),
                            format_func=lambda k: f"{state.SPLITS[k]} ({sizes[k]:,})", key=state.MAP_SPLIT,
                            help="The training split's codes and the whole dataset's t-SNE are cached beside the "
                                 "checkpoint (python -m explorer embed-train). Other views work on the test split.")


def choose_map_settings(n: int, chosen: str) -> tuple[int, float]:
    """How many test points the map shows and, on t-SNE, its perplexity; new settings are computed once."""
    options = compute.map_point_options(n)
    if st.session_state[state.MAP_POINTS] not in options:
        state.set_value(state.MAP_POINTS, n)
    if st.query_params.get("map") == state.MapRenderer.PLOTLY.value and state.MAP_RENDERER not in st.session_state:
        st.session_state[state.MAP_RENDERER] = state.MapRenderer.PLOTLY  # ?map=plotly: a link opens the Plotly map
    if st.query_params.get("colours") == "colour-blind" and state.PALETTE not in st.session_state:
        st.session_state[state.PALETTE] = "colour-blind safe"  # ?colours=colour-blind: a link opens with them
    with st.sidebar.expander("Map settings", expanded=False):
        points = st.selectbox("Points on the map", options, format_func=lambda k: f"all {k:,}" if k == n else f"{k:,}",
                              help="A fixed random subset of the test set; smaller maps draw and compute faster.",
                              **state.widget(state.MAP_POINTS))
        st.radio("Map drawn with", list(state.MapRenderer), format_func=lambda r: r.label, key=state.MAP_RENDERER,
                 help="WebGL draws tens of thousands of points smoothly, with a lasso and class toggles in its legend; "
                      "the Plotly chart adds a box select.")
        st.radio("Class colours", list(plots.PALETTES), key=state.PALETTE, horizontal=True,
                 help="Colour-blind safe: Okabe and Ito's colours, told apart with the common colour-vision "
                      "deficiencies (up to eight classes; hide a class in the legend to compare beyond that).")
        perplexity = st.select_slider("t-SNE perplexity", compute.TSNE_PERPLEXITIES, disabled=projection.KINDS[chosen] is not projection.TSNE,
                                      help="Roughly how many neighbours each point keeps close. A new value is "
                                           "computed once (about a minute for 10,000 points) and then cached.",
                                      **state.widget(state.TSNE_PERPLEXITY))
    return int(points), float(perplexity)


def _sync_map_mark() -> None:
    """Leaving and re-opening the map redraws it anyway, so bake the current pick in when tabs change."""
    st.session_state[state.MAP_MARKED] = st.session_state.get(state.PICK)


def main() -> None:
    st.set_page_config(page_title="Latent Explorer", page_icon="🧭", layout="wide")
    st.sidebar.title("Latent Explorer")
    tour.switch_model_if_due()  # a playing tour's next step on another model: before the picker is drawn
    path = choose_model()
    if path is None:
        st.markdown("## Latent Explorer\nChoose a model in the sidebar.")
        return
    try:
        checkpoint = resources.load_checkpoint(path)
        embedding = resources.embedding(path)
    except ExplorerError as err:
        st.error(f"Cannot open this model: {err}")
        return
    state.init(path, checkpoint.model_config.latent_dim)
    latent_dim = checkpoint.model_config.latent_dim
    projections = projection.available(latent_dim)
    n_train = st.session_state[state.MAP_TRAIN_POINTS] = training_points(path)
    ignored = share.restore(latent_dim, len(embedding.mu), projections)
    tour.apply_due(latent_dim, len(embedding.mu), projections)  # a playing tour's steps, before any view's widget
    if ignored:
        st.sidebar.warning("Ignored in the link (not valid for this model): " + "; ".join(ignored))
    split = choose_split(len(embedding.mu), n_train)
    cached = (projection.TSNE.key,) if embedding.tsne is not None else ()
    if split != "test":  # the whole dataset's maps: PCA, the latent plane, and the cached t-SNE (and UMAP)
        has_umap = resources.train_codes(path).umap_all is not None
        projections = tuple(k for k in projections if k != projection.UMAP.key)
        projections = projections[:2] + ((projection.UMAP.key,) if has_umap else ()) + projections[2:]
        cached = (projection.TSNE.key, projection.UMAP.key)
        if st.session_state.get(state.PROJECTION) not in projections:
            st.session_state[state.PROJECTION] = projection.PCA.key
    chosen = choose_projection(projections, cached=cached)
    points, perplexity = choose_map_settings(len(embedding.mu), chosen)
    if split != "test":
        perplexity = TSNE_PERPLEXITY  # the cached t-SNE's
    presentation.sidebar_toggle()
    tour.tour_controls(latent_dim, len(embedding.mu), projections)
    tour.stage_line()
    ctx = Context.open(path, chosen, points, perplexity, split)  # the caches above answer again: nothing re-loads
    st.session_state[state.MAP_TEST_POINTS] = ctx.test_points
    st.sidebar.caption(f"{checkpoint.dataset} · latent dim {ctx.latent_dim} · {len(embedding.mu):,} test images")
    tabs = st.tabs(state.VIEWS, key=state.VIEW, on_change=_sync_map_mark)
    for tab, name in zip(tabs, state.VIEWS):
        if tab.open:
            with tab:
                try:
                    VIEW_RENDERERS[name](ctx)
                except CheckpointError as err:  # the weights are read on first use, inside a view
                    st.error(f"Cannot open this model: {err}")
    # Last, so the map paints before torch loads: the decoder's weights go to the page once per model, and
    # the live views wait for them in the page.
    try:
        live.mount_loader(path)
    except ExplorerError as err:  # weights that do not load: said here, as a model that cannot be opened
        st.error(f"Cannot open this model: {err}")
    tour.record_step(latent_dim)
    share.publish(latent_dim)
