"""The user's own image: upload it, see it prepared, reconstructed, placed on the map and among its neighbours.

The file's bytes are kept in the session (not the widget's value, which is forgotten while the tab is
closed), and prepared again for each model, since models differ in size, channels and background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.app import canvas, compute, images, plots, presentation, session, state, thumbnails, uploads
from explorer.app.context import PROJECTIONS, Context
from explorer.latent import nearest_neighbours

UPLOAD_ERROR = "upload_error"  # the message about the last refused file, or None
ENCODED = "upload_encoded"  # Encoded: the upload prepared and encoded for the open model
SEEN = "upload_seen"  # file id of the last file taken from the uploader, so each file is read once
IMAGE_SIDE = 200  # pixels for the input, the prepared input and the reconstruction
NEIGHBOURS = 8
DRAWING = "your drawing.png"  # the name a canvas drawing goes by
KEEP_BYTES = 2**20  # a larger file is kept as its decoded preview (<= 512 px, PNG): sessions stay small
NEIGHBOUR_SIDE = 96


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


def description(upload: Upload) -> str:
    return f"your image {upload.name}"


def dark_background(ctx: Context) -> bool:
    typical = compute.decode(ctx.checkpoint.model, ctx.embedding.mu.mean(axis=0))[0]  # (C, H, W)
    return uploads.is_dark_background(ctx.checkpoint.dataset, typical)


def _prepare(ctx: Context, data: bytes) -> uploads.PreparedUpload:
    return uploads.prepare(data, ctx.checkpoint.model_config.image_shape, dark_background(ctx),
                           uploads.INK_FRACTION.get(ctx.checkpoint.dataset))


def take(ctx: Context, name: str, data: bytes) -> None:
    """A new file from the uploader: keep it if it can be prepared, else remember why not."""
    ss = st.session_state
    try:
        prepared = _prepare(ctx, data)
    except uploads.UploadError as err:
        ss[UPLOAD_ERROR] = f"{name}: {err}"
        return
    upload = Upload(name, data if len(data) <= KEEP_BYTES else images.png_bytes(prepared.preview))
    ss[state.UPLOAD], ss[UPLOAD_ERROR] = upload, None
    ss[ENCODED] = Encoded(ctx.path, upload, prepared, compute.encode(ctx.checkpoint.model, prepared.image)[0][0])


def current(ctx: Context) -> Encoded | None:
    """The kept upload, prepared and encoded for the open model (once per model), or None."""
    ss = st.session_state
    upload = ss.get(state.UPLOAD)
    if upload is None:
        return None
    encoded = ss.get(ENCODED)
    if encoded is None or encoded.model != ctx.path or encoded.upload is not upload:
        try:
            prepared = _prepare(ctx, upload.data)
        except uploads.UploadError as err:  # it suited another model; say why not this one
            ss[UPLOAD_ERROR] = f"{upload.name}: {err}"
            return None
        encoded = Encoded(ctx.path, upload, prepared, compute.encode(ctx.checkpoint.model, prepared.image)[0][0])
        ss[ENCODED] = encoded
    return encoded


def use_as(end: str) -> None:
    state.set_value(f"{end}_kind", "my image")


def render(ctx: Context) -> None:
    ss = st.session_state
    left, right = st.columns([10, 11], gap="large")
    with left:
        file = st.file_uploader("Your own image: PNG, JPEG or any image file, any size, grey or colour",
                                key="upload_file", max_upload_size=uploads.MAX_UPLOAD_MB,
                                help="It is prepared like the model's training images: size, channels, value "
                                     "range and, for MNIST-like data, a dark background.")
        if file is None:
            ss[UPLOAD_ERROR] = None
        elif file.file_id != ss.get(SEEN):
            ss[SEEN] = file.file_id
            take(ctx, file.name, file.getvalue())
        kept = ss.get(state.UPLOAD)
        with st.expander("... or draw one", expanded=kept is None or kept.name == DRAWING):  # open while drawing
            drawn = canvas.draw(dark_background(ctx))
            st.caption("Draw with the mouse or a finger; each finished stroke is encoded.")
        if drawn is not None:
            take(ctx, DRAWING, drawn)
        encoded = current(ctx)
        if ss.get(UPLOAD_ERROR):
            still = f" Still showing {encoded.upload.name}." if encoded else ""
            st.error(ss[UPLOAD_ERROR] + still)
        if encoded is None:
            st.info("Upload an image to see how the model reads it: its reconstruction, its place on the map and "
                    "its nearest test images. Then use it as A or B for an interpolation, or edit it with the sliders.")
            return
        _show_images(ctx, encoded)
    with right:
        _show_on_map(ctx, encoded)


def _show_images(ctx: Context, encoded: Encoded) -> None:
    prepared, name = encoded.prepared, encoded.upload.name
    side = presentation.side(IMAGE_SIDE)
    c1, c2, c3 = st.columns(3)
    c1.image(prepared.preview, caption=f"your upload ({prepared.source_size[0]}x{prepared.source_size[1]})",
             width="stretch")  # "stretch": each fits its column, so the three never overlap
    c2.image(images.display(prepared.image, side), width="stretch",
             caption=f"prepared for the model ({'x'.join(map(str, prepared.image.shape[1:]))})")
    c3.image(images.display(compute.decode(ctx.checkpoint.model, encoded.mu), side), width="stretch",
             caption="reconstruction (decoded mu)")
    with st.expander("What was done to it", expanded=False):
        st.markdown("\n".join(f"- {note}" for note in prepared.notes) or "Nothing: it already had the model's form.")
    b1, b2, b3 = st.columns(3)
    b1.button("Use as A", key="upload_as_a", on_click=use_as, args=("a",), width="stretch")
    b2.button("Use as B", key="upload_as_b", on_click=use_as, args=("b",), width="stretch")
    b3.button("Edit with sliders", key="upload_sliders", on_click=session.edit_with_sliders, type="primary", width="stretch",
              args=(encoded.mu, ctx.ranges, description(encoded.upload)))
    st.caption(f"Showing {name}. It stays here while you use the other tabs, and is prepared again for another model.")


def _show_on_map(ctx: Context, encoded: Encoded) -> None:
    approximate = ctx.approximate
    shown = ctx.shown
    fig = plots.map_figure(ctx.coords[shown], ctx.embedding.labels[shown], ctx.class_names, ctx.projection,
                           ctx.embedding.pca_explained_variance_ratio, opacity=0.35, height=440, ids=shown)
    xy = compute.place_on_map(encoded.mu[None], ctx.embedding, ctx.projection, ctx.coords if approximate else None)[0]
    plots.add_marker(fig, xy, "your image", approximate)
    st.plotly_chart(fig, key="upload_map", config={"displaylogo": False})
    st.caption(f"Your image on the {PROJECTIONS[ctx.projection]} map: " + (
        f"approximate, placed at the mean position of its {compute.TSNE_PLACEMENT_NEIGHBOURS} nearest test images "
        f"in latent space ({ctx.map_name} cannot place new points)." if approximate
        else "exact, projected like the data."))
    emb = ctx.embedding
    neighbours = nearest_neighbours(emb.mu, encoded.mu, NEIGHBOURS)
    st.markdown("**Nearest test images in latent space**")
    pictures = ctx.images[neighbours] if ctx.images is not None else compute.decode(ctx.checkpoint.model,
                                                                                     emb.mu[neighbours])
    shown = [images.display(p, NEIGHBOUR_SIDE) for p in pictures]
    thumbnails.row_of_thumbnails(shown, [f"#{j} {plots.class_name(int(emb.labels[j]), ctx.class_names)}"
                                         for j in neighbours], width=shown[0].shape[1])
    if ctx.images is None:
        st.caption("Neighbours shown as decoded means: the original images are not on this machine.")
