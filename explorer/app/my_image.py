"""The user's own image: upload it, see it prepared, reconstructed, placed on the map and among its neighbours.

The file's bytes are kept in the session (not the widget's value, which is forgotten while the tab is
closed), and prepared again for each model, since models differ in size, channels and background.
"""

from __future__ import annotations

import streamlit as st

from explorer.app import canvas, compute, images, plots, presentation, session, state, thumbnails, uploads
from explorer.app.context import Context
from explorer.latent import nearest_neighbours
from explorer.projection import PLACEMENT_NEIGHBOURS

IMAGE_SIDE = 200  # pixels for the input, the prepared input and the reconstruction
NEIGHBOURS = 8
DRAWING = "your drawing.png"  # the name a canvas drawing goes by
NEIGHBOUR_SIDE = 96


def render(ctx: Context) -> None:
    ss = st.session_state
    left, right = st.columns([10, 11], gap="large")
    with left:
        file = st.file_uploader("Your own image: PNG, JPEG or any image file, any size, grey or colour",
                                key="upload_file", max_upload_size=uploads.MAX_UPLOAD_MB,
                                help="It is prepared like the model's training images: size, channels, value "
                                     "range and, for MNIST-like data, a dark background.")
        if file is None:
            ss[state.UPLOAD_ERROR] = None
        elif file.file_id != ss.get(state.UPLOAD_SEEN):
            ss[state.UPLOAD_SEEN] = file.file_id
            session.take_upload(ctx, file.name, file.getvalue())
        kept = ss.get(state.UPLOAD)
        with st.expander("... or draw one", expanded=kept is None or kept.name == DRAWING):  # open while drawing
            drawn = canvas.draw(ctx.dark_background)
            st.caption("Draw with the mouse or a finger; each finished stroke is encoded.")
        if drawn is not None:
            session.take_upload(ctx, DRAWING, drawn)
        encoded = session.current_upload(ctx)
        if ss.get(state.UPLOAD_ERROR):
            still = f" Still showing {encoded.upload.name}." if encoded else ""
            st.error(ss[state.UPLOAD_ERROR] + still)
        if encoded is None:
            st.info("Upload an image to see how the model reads it: its reconstruction, its place on the map and "
                    "its nearest test images. Then use it as A or B for an interpolation, or edit it with the sliders.")
            return
        _show_images(ctx, encoded)
    with right:
        _show_on_map(ctx, encoded)


def _show_images(ctx: Context, encoded: session.Encoded) -> None:
    prepared, name = encoded.prepared, encoded.upload.name
    side = presentation.side(IMAGE_SIDE)
    c1, c2, c3 = st.columns(3)
    c1.image(prepared.preview, caption=f"your upload ({prepared.source_size[0]}x{prepared.source_size[1]})",
             width="stretch")  # "stretch": each fits its column, so the three never overlap
    c2.image(images.display(prepared.image, side), width="stretch",
             caption=f"prepared for the model ({'x'.join(map(str, prepared.image.shape[1:]))})")
    c3.image(images.display(compute.decode(ctx.model, encoded.mu), side), width="stretch",
             caption="reconstruction (decoded mu)")
    with st.expander("What was done to it", expanded=False):
        st.markdown("\n".join(f"- {note}" for note in prepared.notes) or "Nothing: it already had the model's form.")
    b1, b2, b3 = st.columns(3)
    b1.button("Use as A", key="upload_as_a", on_click=session.use_upload_as, args=("a",), width="stretch")
    b2.button("Use as B", key="upload_as_b", on_click=session.use_upload_as, args=("b",), width="stretch")
    b3.button("Edit with sliders", key="upload_sliders", on_click=session.edit_with_sliders, type="primary", width="stretch",
              args=(encoded.mu, ctx.ranges, session.upload_description(encoded.upload)))
    st.caption(f"Showing {name}. It stays here while you use the other tabs, and is prepared again for another model.")


def _show_on_map(ctx: Context, encoded: session.Encoded) -> None:
    approximate = not ctx.map.exact
    shown = ctx.shown
    fig = plots.map_figure(ctx.coords[shown], ctx.map_embedding.labels[shown], ctx.class_names, ctx.map.axis_titles(),
                           opacity=0.35, height=440, ids=shown, palette=state.palette())
    plots.add_marker(fig, ctx.map.place(encoded.mu)[0], "your image", approximate)
    st.plotly_chart(fig, key="upload_map", config={"displaylogo": False})
    st.caption(f"Your image on the {ctx.map.label} map: " + (
        f"approximate, placed at the mean position of its {PLACEMENT_NEIGHBOURS} nearest test images "
        f"in latent space ({ctx.map.name} cannot place new points)." if approximate
        else "exact, projected like the data."))
    emb = ctx.embedding
    neighbours = nearest_neighbours(emb.mu, encoded.mu, NEIGHBOURS)
    st.markdown("**Nearest test images in latent space**")
    pictures = ctx.images[neighbours] if ctx.images is not None else compute.decode(ctx.model,
                                                                                     emb.mu[neighbours])
    shown = [images.display(p, NEIGHBOUR_SIDE) for p in pictures]
    thumbnails.row_of_thumbnails(shown, [f"#{j} {plots.class_name(int(emb.labels[j]), ctx.class_names)}"
                                         for j in neighbours], width=shown[0].shape[1])
    if ctx.images is None:
        st.caption("Neighbours shown as decoded means: the original images are not on this machine.")
