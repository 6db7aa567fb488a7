"""The model card: what the model is, how it was trained, and how good it is."""

from __future__ import annotations

import streamlit as st

from explorer.app import plots
from explorer.app.context import Context
from explorer.latent import ACTIVE_VARIANCE, COLLAPSED_KL


def _architecture(ctx: Context) -> str:
    mc = ctx.checkpoint.model_config
    c, h, w = mc.image_shape
    layers = "conv " + "-".join(map(str, mc.hidden_dims)) + f", dense {mc.fc_dim}" if mc.architecture == "conv" \
        else "MLP " + "-".join(map(str, mc.hidden_dims))
    return f"{layers}, latent {mc.latent_dim}, {mc.likelihood} decoder, {mc.activation}, input {c}×{h}×{w}"


def _seconds(value) -> str:
    if value is None:
        return "not recorded"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _count_parameters(ctx: Context) -> int:
    from explorer.model import count_parameters  # torch: only for a checkpoint that did not record the count

    return count_parameters(ctx.model)


def render(ctx: Context) -> None:
    m = ctx.checkpoint.metrics
    test, evaluation = m.test, m.evaluation
    st.markdown(f"#### {ctx.checkpoint.path.name}")
    facts = {
        "Dataset": f"{ctx.checkpoint.dataset} ({(test and test.n_test) or len(ctx.embedding.mu):,} test images)",
        "Architecture": _architecture(ctx),
        "Parameters": f"{m.parameters or _count_parameters(ctx):,}",
        "Trained on": m.device_name or m.device or "not recorded",
        "Training": f"{m.epochs} epoch{'' if m.epochs == 1 else 's'}, best epoch {m.best_epoch or '?'}; "
                    f"{_seconds(m.train_seconds)} in the epochs themselves (training steps and validation), "
                    f"{_seconds(m.wall_seconds)} wall clock (also loading the data, the test split, the map and "
                    "saving)",
    }
    st.markdown("\n".join(f"- **{k}:** {v}" for k, v in facts.items()))

    active, informative = int(ctx.active_units.sum()), int(ctx.informative.sum())
    c1, c2, c3, c4 = st.columns(4)
    neg_elbo = m.latest.neg_elbo if m.latest else None
    # Units in the labels: at 1280 px four columns cut a value such as "237.60 nats" short.
    c1.metric("Test negative ELBO, nats", f"{neg_elbo:.2f}" if neg_elbo is not None else "—")
    iwae = evaluation.nll_iwae if evaluation else None
    c2.metric(f"IWAE NLL bound (k={evaluation.iwae_k}), nats" if iwae is not None else "IWAE bound",
              f"{iwae:.2f}" if iwae is not None else "not measured")
    c3.metric("Test KL, nats", f"{m.latest.kl:.2f}" if m.latest else "—")
    c4.metric("Active units", f"{active} of {ctx.latent_dim}",
              help=f"Burda et al.: units whose posterior mean varies across the test images (variance > "
                   f"{ACTIVE_VARIANCE}). Collapsed dimensions (KL ≤ {COLLAPSED_KL} nats): "
                   f"{ctx.latent_dim - informative}.")
    if iwae is None:
        st.caption(f"Measure the IWAE bound with `python -m explorer evaluate {ctx.checkpoint.path} --save`.")

    history = list(m.history)
    if history:
        cols = st.columns(len(plots.CURVES))
        for col, (term, title) in zip(cols, plots.CURVES):
            col.plotly_chart(plots.curves_figure(history, term, title), key=f"curve_{term}")
    else:
        st.info("No training curves: this checkpoint has no metrics.json history.")
    st.markdown(f"**KL per latent dimension**: {ctx.latent_dim - informative} collapsed to the prior "
                f"(KL ≤ {COLLAPSED_KL} nats), {informative} carry information; {active} active unit(s) by "
                f"Burda et al.'s measure (variance of the posterior mean > {ACTIVE_VARIANCE}).")
    st.plotly_chart(plots.kl_bar_figure(ctx.kl, ctx.informative), key="kl_bars")
