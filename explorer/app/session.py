"""Actions on the user's session that more than one view offers. Views import this module, never each other.

Each action is a plain function on ``st.session_state`` (through ``state``), usable as a widget callback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.app import compute, images, plots, state, uploads
from explorer.app.context import Context

KEEP_BYTES = 2**20  # a larger upload is kept as its decoded preview (<= 512 px, PNG): sessions stay small


def edit_with_sliders(mu: np.ndarray, ranges: np.ndarray, origin: str | None = None) -> None:
    """Start the sliders at ``mu`` (clipped into each slider's range) and open the sliders tab.

    ``origin`` says in words what ``mu`` is, for the sliders' caption.
    """
    start = np.clip(mu, ranges[:, 0], ranges[:, 1])
    st.session_state[state.SLIDER_BASE] = start.tolist()
    st.session_state[state.SLIDER_FROM] = origin
    for i, value in enumerate(start):
        state.set_value(state.dim_key(i), float(value))
    st.session_state[state.VIEW] = state.SLIDERS_VIEW


def slider_origin() -> str:
    """What the sliders' values started from, in words: what SLIDER_FROM says, else the origin."""
    origin = st.session_state.get(state.SLIDER_FROM)
    return f"Started from {origin}." if origin else "Started from the origin, z = 0."


# ---------------------------------------------------------------- the user's own image


@dataclass(frozen=True)
class Upload:
    name: str  # the file's name, to say which image this is
    data: bytes  # the file as uploaded


@dataclass(frozen=True)
class Encoded:
    model: str  # checkpoint path this was prepared for
    upload: Upload
    prepared: uploads.PreparedUpload
    mu: np.ndarray  # (D,) posterior mean of the prepared image


def upload_description(upload: Upload) -> str:
    return f"your image {upload.name}"


def _prepare(ctx: Context, data: bytes) -> uploads.PreparedUpload:
    return uploads.prepare(data, ctx.checkpoint.model_config.image_shape, ctx.dark_background,
                           uploads.INK_FRACTION.get(ctx.checkpoint.dataset))


def take_upload(ctx: Context, name: str, data: bytes) -> None:
    """A new file from the uploader: keep it if it can be prepared, else remember why not."""
    ss = st.session_state
    try:
        prepared = _prepare(ctx, data)
    except uploads.UploadError as err:
        ss[state.UPLOAD_ERROR] = f"{name}: {err}"
        return
    upload = Upload(name, data if len(data) <= KEEP_BYTES else images.png_bytes(prepared.preview))
    ss[state.UPLOAD], ss[state.UPLOAD_ERROR] = upload, None
    ss[state.UPLOAD_ENCODED] = Encoded(ctx.path, upload, prepared, compute.encode(ctx.model, prepared.image)[0][0])


def current_upload(ctx: Context) -> Encoded | None:
    """The kept upload, prepared and encoded for the open model (once per model), or None."""
    ss = st.session_state
    upload = ss.get(state.UPLOAD)
    if upload is None:
        return None
    encoded = ss.get(state.UPLOAD_ENCODED)
    if encoded is None or encoded.model != ctx.path or encoded.upload is not upload:
        try:
            prepared = _prepare(ctx, upload.data)
        except uploads.UploadError as err:  # it suited another model; say why not this one
            ss[state.UPLOAD_ERROR] = f"{upload.name}: {err}"
            return None
        encoded = Encoded(ctx.path, upload, prepared, compute.encode(ctx.model, prepared.image)[0][0])
        ss[state.UPLOAD_ENCODED] = encoded
    return encoded


def use_upload_as(end: str) -> None:
    state.set_value(state.end_keys(end).kind, state.EndKind.MINE)


# ---------------------------------------------------------------- the interpolation's endpoints


def use_test_image_as(end: str, index: int) -> None:
    """Make test image ``index`` the interpolation's endpoint ``end`` ("Use as A" in the inspector)."""
    keys = state.end_keys(end)
    state.set_value(keys.kind, state.EndKind.TEST)
    state.set_value(keys.index, index)


def endpoint(ctx: Context, end: str) -> tuple[np.ndarray, str]:
    """The latent vector of endpoint "a" or "b" and a short description."""
    ss = st.session_state
    if ss[state.end_keys(end).kind] == state.EndKind.TEST:
        index = int(ss[state.end_keys(end).index])
        label = plots.class_name(int(ctx.embedding.labels[index]), ctx.class_names)
        return ctx.embedding.mu[index], f"test image #{index} ({label})"
    if ss[state.end_keys(end).kind] == state.EndKind.MINE:
        encoded = current_upload(ctx)
        if encoded is not None:
            return encoded.mu, upload_description(encoded.upload)
        return np.zeros(ctx.latent_dim, np.float32), "the origin (no image uploaded yet)"
    seed = int(ss[state.end_keys(end).seed])
    return compute.prior_sample(ctx.latent_dim, seed), f"prior draw, seed {seed}"
