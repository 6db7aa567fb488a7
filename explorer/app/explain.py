"""The Explain view: the VAE's story told on the open model, computed in the page as the user draws.

The encoder and the decoder run in the page (explorer/app/pad/decoder.mjs), so mu, sigma, the ellipse of
q(z|x) on the PCA map, the cloud of draws z = mu + sigma * eps and the ELBO's terms follow every stroke
with no server run (explorer/app/pad/explain.js). Python sends the encoder once per model, the map's
plane and a sample of its points, and the image to start from.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import projection
from explorer.app import live, plots, presentation, resources, scatter, state
from explorer.app.context import Context

SAMPLES = 16  # draws of eps in the cloud, and in the reconstruction term's estimate
MAP_POINTS = 2000  # test points drawn faintly on the map, for where q(z|x) sits among the data
IWAE_K = 500  # draws for the server's estimate of -log p(x), as the model card's IWAE column
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


def _points(ctx: Context) -> dict:
    pca = ctx.embedding.pca
    keep = np.random.default_rng(0).permutation(len(pca))[:MAP_POINTS]
    return {"x": pca[keep, 0].round(4).tolist(), "y": pca[keep, 1].round(4).tolist(),
            "label": np.searchsorted(np.unique(ctx.embedding.labels), ctx.embedding.labels[keep]).tolist()}


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

    bar = slot.progress(0.0, text=f"IWAE bound of your image: {IWAE_K} draws of q(z|x)...")
    t0 = time.perf_counter()
    image = torch.as_tensor(np.clip(x, 0, 1).reshape(1, *shape), dtype=torch.float32)
    elbo, iwae = image_bounds(ctx.model, image, IWAE_K, progress=lambda done: bar.progress(done / IWAE_K))
    slot.empty()
    ss[IWAE_RESULT] = {"seq": asked.get("seq"), "k": IWAE_K, "elbo": elbo, "iwae": iwae,
                       "seconds": time.perf_counter() - t0}
    return ss[IWAE_RESULT]


def _ignore() -> None:
    """on_iwae_change: the request is read on the rerun (``_iwae``)."""


def render(ctx: Context) -> None:
    st.markdown("Draw, or start from the picked test image: the model's own encoder and decoder run in this page and "
                "show each step of the VAE as you draw.")
    with st.expander("The story this view tells"):
        st.markdown(STORY)
    decoder = resources.weights(ctx.path)  # the page has it: main mounts its loader after the views
    encoder = resources.encoder_weights(ctx.path)
    if decoder.blob is None or encoder.blob is None:
        st.info("The Explain view runs the model in the page, and this model's "
                f"{'decoder' if decoder.blob is None else 'encoder'} cannot run there "
                f"({decoder.unsupported or encoder.unsupported}).")
        return
    _encoder_loader(key=f"explain_encoder_{encoder.model_id}", data=encoder.blob, height="content")
    pca = projection.make(projection.PCA.key, ctx.embedding)
    labels = np.unique(ctx.embedding.labels)
    iwae = _iwae(ctx, st.empty())
    _view(key=VIEW_KEY, height="content", on_iwae_change=_ignore, data={
        "iwae_k": IWAE_K, "iwae": iwae,
        "model_id": decoder.model_id, "samples": SAMPLES, "start": start_image(ctx), "dark": ctx.dark_background,
        "pca": {"components": pca.components.astype(float).tolist(), "mean": pca.mean.astype(float).tolist()},
        "points": _points(ctx), "colours": [plots.class_colour(int(c), state.palette()) for c in labels],
        "big": presentation.is_on()})
    st.caption(f"Everything above is computed in this page by the model's own encoder and decoder (parity with "
               f"torch within 1e-4), on the PCA map of the test split's {len(ctx.embedding.mu):,} codes "
               f"({MAP_POINTS:,} of them drawn). The reconstruction term is a Monte Carlo estimate from {SAMPLES} "
               "draws; the KL term is exact.")
