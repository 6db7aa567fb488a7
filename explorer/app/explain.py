"""The Explain view: the VAE's story told on the open model, computed in the page as the user draws.

The encoder and the decoder run in the page (explorer/app/pad/decoder.mjs), so mu, sigma, the ellipse of
q(z|x) on the PCA map, the cloud of draws z = mu + sigma * eps and the ELBO's terms follow every stroke
with no server run (explorer/app/pad/explain.js). Python sends the encoder once per model, the map's
plane and a sample of its points, and the image to start from.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import prior, projection
from explorer.app import live, plots, presentation, resources, scatter, state
from explorer.app.context import Context
from explorer.projection import Projection

SAMPLES = 16  # draws of eps in the cloud, and in the reconstruction term's estimate
MAP_POINTS = 2000  # test points drawn faintly on the map, for where q(z|x) sits among the data
IWAE_K = 500  # draws for the server's estimate of -log p(x) unless the user chooses: the model card's IWAE column
IWAE_KS = (10, 100, 500, 1000, 5000)  # the choices: 10 shows a loose bound, 5,000 (about 10x the time) a tight one
VIEW_KEY = "explain_view"
IWAE_RESULT = "explain_iwae"  # the last estimate: {seq, k, elbo, iwae, seconds}

_JS = scatter.sources(live.PAD_DIR, "decoder.mjs", "pad_core.js")
_encoder_loader = st.components.v2.component("latent_explorer.encoder_weights",
                                             js=_JS + scatter.sources(live.PAD_DIR, "explain_loader.js"))
_view = st.components.v2.component("latent_explorer.explain", css=scatter.sources(live.PAD_DIR, "pad.css"),
                                   js=_JS + scatter.sources(live.PAD_DIR, "explain.js"))

STORY = (
    "**The encoder** maps an image x to the mean μ and log-variance log σ² of a Gaussian q(z|x). **A sample** is "
    "z = μ + σ ⊙ ε with ε ~ N(0, I) (the reparameterisation: the randomness is in ε, so training can "
    "differentiate through μ and σ). **The decoder** maps z to the parameters of p(x|z). **The loss** is the "
    "negative ELBO: the reconstruction term −E_q[log p(x|z)] plus KL(q(z|x) ‖ N(0, I)); the ELBO is at most "
    "log p(x), short of it by KL(q(z|x) ‖ p(z|x)). Draw, and watch each of them move."
)


def start_image(ctx: Context) -> dict | None:
    """The picked test image (else the first) to start the pad from: its name and pixels in (C, H, W) order."""
    if ctx.images is None:
        return None
    pick = st.session_state.get(state.PICK)
    index = pick if isinstance(pick, int) and 0 <= pick < len(ctx.images) else 0
    return {"name": f"test image #{index}", "index": index,
            "pixels": np.round(ctx.images[index].astype(np.float64).ravel(), 4).tolist()}


def _maps(ctx: Context) -> list[str]:
    """The maps the view offers without fitting anything: PCA, the cached t-SNE, and the main map's fitted one."""
    keys = [projection.PCA.key] + ([projection.TSNE.key] if ctx.embedding.tsne is not None else [])
    if ctx.split == "test" and projection.KINDS[ctx.projection].fitted and ctx.projection not in keys:
        keys.append(ctx.projection)
    return keys


def _points(ctx: Context, proj: Projection) -> dict:
    """A sample of the test points on the map; on a fitted one with their codes, to place new codes among."""
    coords = proj.coords if proj.fitted else proj.place(ctx.embedding.mu)
    on_map = np.flatnonzero(np.isfinite(coords).all(axis=1))  # a fitted map of a subset leaves the rest NaN
    keep = on_map[np.random.default_rng(0).permutation(len(on_map))[:MAP_POINTS]]
    points = {"x": coords[keep, 0].round(4).tolist(), "y": coords[keep, 1].round(4).tolist(),
              "label": np.searchsorted(np.unique(ctx.embedding.labels), ctx.embedding.labels[keep]).tolist()}
    if not proj.exact:
        points["mu"] = ctx.embedding.mu[keep].astype(np.float64).round(5).ravel().tolist()
    return points


@st.cache_data(max_entries=8, show_spinner="Mapping the codes' density against the prior...")
def _aggregate(path: str, version: tuple[float, float]) -> dict:
    """The aggregate posterior on the PCA plane (explorer.prior.aggregate_on_plane), as the page draws it."""
    emb = resources.embedding(path)
    pca = projection.PCA.of(emb)
    agg = prior.aggregate_on_plane(emb.mu, emb.logvar, pca.components, pca.mean)
    return {"x0": float(agg.x[0]), "x1": float(agg.x[-1]), "y0": float(agg.y[0]), "y1": float(agg.y[-1]),
            "grid": len(agg.x), "density": [float(f"{v:.4g}") for v in agg.density.ravel()],
            "levels": [agg.levels[m] for m in prior.HDR_MASSES], "masses": list(prior.HDR_MASSES),
            "prior_outside": agg.prior_outside}


def _iwae(ctx: Context, slot) -> dict | None:
    """The page's request for this image's IWAE bound, answered once (with a progress bar in ``slot``)."""
    ss = st.session_state
    held = ss.get(IWAE_RESULT)
    asked = scatter.component_report(VIEW_KEY, "iwae", "x")
    if asked is None or (held is not None and held["seq"] == asked.get("seq")):
        return held
    shape = ctx.checkpoint.model_config.image_shape
    x = np.asarray(asked["x"], np.float64)
    if x.size != int(np.prod(shape)) or not np.isfinite(x).all():
        return held  # not an image of this model (a stale page after a model change): nothing to estimate
    import time

    import torch

    from explorer.evaluate import image_bounds  # here: it imports the data loaders

    k = asked.get("k") if asked.get("k") in IWAE_KS else IWAE_K
    bar = slot.progress(0.0, text=f"IWAE bound of your image: {k:,} draws of q(z|x)...")
    t0 = time.perf_counter()
    image = torch.as_tensor(np.clip(x, 0, 1).reshape(1, *shape), dtype=torch.float32)
    elbo, iwae = image_bounds(ctx.model, image, k, progress=lambda done: bar.progress(done / k))
    slot.empty()
    ss[IWAE_RESULT] = {"seq": asked.get("seq"), "k": k, "elbo": elbo, "iwae": iwae,
                       "seconds": time.perf_counter() - t0}
    return ss[IWAE_RESULT]


def _ignore() -> None:
    """on_iwae_change: the request is read on the rerun (``_iwae``)."""


def render(ctx: Context) -> None:
    stage = presentation.is_on()  # on the stage the view starts at the top: no intro, the choices in one row
    if not stage:
        st.markdown("Draw, or start from the picked test image: the model's own encoder and decoder run in this page "
                    "and show each step of the VAE as you draw.")
    story, choice = st.columns([1, 1], vertical_alignment="center") if stage else (st.container(), st.container())
    with story.expander("The story this view tells"):
        st.markdown(STORY)
    decoder = resources.weights(ctx.path)  # the page has it: main mounts its loader after the views
    encoder = resources.encoder_weights(ctx.path)
    if decoder.blob is None or encoder.blob is None:
        st.info("The Explain view runs the model in the page, and this model's "
                f"{'decoder' if decoder.blob is None else 'encoder'} cannot run there "
                f"({decoder.unsupported or encoder.unsupported}).")
        return
    with st.sidebar:  # beside the decoder's loader: its note stays off the view
        _encoder_loader(key=f"explain_encoder_{encoder.model_id}", data=encoder.blob, height="content")
    pca = projection.make(projection.PCA.key, ctx.embedding)
    keys = _maps(ctx)
    if st.session_state.get(state.EXPLAIN_MAP) not in keys:
        st.session_state[state.EXPLAIN_MAP] = projection.PCA.key  # the map it was on is no longer offered
    key = choice.radio("Map", keys, horizontal=True, **state.widget(state.EXPLAIN_MAP),
                       label_visibility="collapsed" if stage else "visible",
                       format_func=lambda k: projection.KINDS[k].label + (" (exact)" if k == projection.PCA.key else ""),
                       help="q(z|x) is exact on PCA (a linear map) and approximate on t-SNE or UMAP, which cannot "
                            "place a new code; the prior's holes show on PCA only.") if len(keys) > 1 else keys[0]
    proj = pca if key == projection.PCA.key else ctx.with_map(key, "test").map
    labels = np.unique(ctx.embedding.labels)
    iwae = _iwae(ctx, st.empty())
    _view(key=VIEW_KEY, height="content", on_iwae_change=_ignore, data={
        "iwae_k": IWAE_K, "iwae_ks": list(IWAE_KS), "iwae": iwae,
        "model_id": decoder.model_id, "samples": SAMPLES, "start": start_image(ctx), "dark": ctx.dark_background,
        "pca": {"components": pca.components.astype(float).tolist(), "mean": pca.mean.astype(float).tolist()},
        "map": {"key": key, "name": projection.KINDS[key].name, "exact": bool(proj.exact)},
        "aggregate": _aggregate(ctx.path, resources.version(ctx.path)) if proj.exact else None,
        "points": _points(ctx, proj), "colours": [plots.class_colour(int(c), state.palette()) for c in labels],
        "big": presentation.is_on()})
    st.caption(f"Everything above is computed in this page by the model's own encoder and decoder (parity with "
               f"torch within 1e-4), on the {projection.KINDS[key].name} map of the test split's {len(ctx.embedding.mu):,} codes "
               f"({MAP_POINTS:,} of them drawn). The reconstruction term is a Monte Carlo estimate from {SAMPLES} "
               "draws; the KL term is exact.")
