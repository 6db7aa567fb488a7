"""Attribute vectors in the page: two groups (by label, or a box/lasso selection on the map) give a
direction; a slider moves a point along it, and the consistency of the direction is shown."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.app import attributes, compute, images, plots, presentation, session, state
from explorer.app.context import Context

STRIP_AMOUNTS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
IMAGE_SIDE = 240
STRIP_HEIGHT = 96

def _use_selection(end: str) -> None:
    """The map's selection becomes group ``end``: its test points (attributes are made of the test split)."""
    ss = st.session_state
    test = ss.get(state.MAP_TEST_POINTS)
    ss[state.group_keys(end).ids] = [i for i in ss.get(state.MAP_SELECTION) or [] if test is None or i < test]


def _use_labels(end: str) -> None:
    st.session_state[state.group_keys(end).ids] = None


def _group(ctx: Context, end: str) -> np.ndarray:
    """Indices of group ``end`` ("a" or "b"): the map selection it was given, else its labels' members."""
    ss = st.session_state
    name = end.upper()
    ids = ss.get(state.group_keys(end).ids)
    st.markdown(f"**Group {name}**")
    classes = sorted({int(v) for v in np.unique(ctx.embedding.labels) if v >= 0})
    name_key = state.group_keys(end).labels
    kept = [c for c in ss[name_key] if c in classes]  # a default class this model lacks would break the widget
    if kept != list(ss[name_key]) or [c for c in ss.get(state.widget_key(name_key), kept) if c not in classes]:
        state.set_value(name_key, kept)
    chosen = st.multiselect(f"Group {name}: classes", classes, format_func=lambda c: plots.class_name(c, ctx.class_names),
                   disabled=ids is not None, label_visibility="collapsed", placeholder="Choose classes",
                   **state.widget(state.group_keys(end).labels))
    selection = ss.get(state.MAP_SELECTION) or []
    if ids is not None:
        st.caption(f"{len(ids):,} points selected on the map.")
        st.button("Use classes instead", key=f"attr_{end}_labels_button", on_click=_use_labels, args=(end,))
        return np.asarray(ids, dtype=np.int64)
    if len(selection) > 1:
        st.button(f"Use the map's selection ({len(selection):,} points)", key=f"attr_{end}_selection",
                  on_click=_use_selection, args=(end,))
    else:
        st.caption("Or select points on the Map tab with its box or lasso tool.")
    return attributes.members(ctx.embedding.labels, chosen)


def _start(ctx: Context, group_a: np.ndarray) -> tuple[np.ndarray, str]:
    """The point to move, as chosen: (D,) code and its description."""
    ss = st.session_state
    pick, encoded = ss[state.PICK], session.current_upload(ctx)
    if pick is not None and ctx.is_training(pick):  # attributes are made of (and move) the test split
        pick = None
    options = ["a_mean"] + (["pick"] if pick is not None else []) + ["end_a"] + (["upload"] if encoded else [])
    if ss["attr_start"] not in options:
        state.set_value("attr_start", "a_mean")
    labels = {**state.ATTR_STARTS, "pick": f"test image #{pick}"}
    start = st.radio("Move", options, format_func=labels.get, horizontal=True, **state.widget("attr_start"))
    if start == "pick":
        return ctx.embedding.mu[pick], f"test image #{pick}"
    if start == "upload":
        return encoded.mu, session.upload_description(encoded.upload)
    if start == "end_a":
        z, described = session.endpoint(ctx, "a")
        return z, f"A = {described}"
    return ctx.embedding.mu[group_a].mean(axis=0), "group A's mean"


def render(ctx: Context) -> None:
    a_col, b_col, score_col = st.columns([1, 1, 1], gap="large")
    with a_col:
        group_a = _group(ctx, "a")
    with b_col:
        group_b = _group(ctx, "b")
    if len(group_a) == 0 or len(group_b) == 0:
        st.info("Choose at least one class (or a map selection) for each group.")
        return
    model = ctx.model
    d = attributes.direction(ctx.embedding.mu, group_a, group_b)
    with score_col:
        share, chance = attributes.consistency(lambda z: compute.decode(model, z), ctx.embedding.mu, group_a,
                                               group_b, d)
        st.metric("Consistency of the direction", f"{100 * share:.0f}%", f"{100 * (share - chance):+.0f} points "
                  "over chance", help="Share of group-A points (up to "
                  f"{attributes.CONSISTENCY_SAMPLE} sampled) whose decoded image, moved by the full direction, is "
                  "closer in pixel space to group B's mean decoded image than before. Chance: the same share for "
                  f"random directions of the same length ({100 * chance:.0f}%).")
        st.caption(f"{len(group_a):,} points in A, {len(group_b):,} in B; direction length {np.linalg.norm(d):.2f}. "
                   "Consistency: the share of group A whose decoded image, moved by B − A, gets closer in pixel "
                   "space to B's mean decoded image. Near chance, the direction is not a meaningful attribute.")

    left, right = st.columns([1, 2], gap="large")
    with left:
        z, described = _start(ctx, group_a)
        amount = st.slider("Amount of B − A added", *state.ATTR_AMOUNT_RANGE, step=0.05, format="%.2f",
                           help="0: the point itself; 1: moved by the whole difference between the group means.",
                           **state.widget("attr_amount"))
        moved = compute.decode(model, attributes.move(z, d, amount))
        st.image(images.display(moved, presentation.side(IMAGE_SIDE)),
                 caption=f"{described} + {amount:.2f} × (B − A)")
    with right:
        strip = compute.decode(model, attributes.move(z, d, np.array(STRIP_AMOUNTS)))
        factor = images.scale_factor(strip.shape[-2], presentation.side(STRIP_HEIGHT))
        st.image(images.strip(strip, factor=factor),
                 caption="amounts " + ", ".join(f"{a:g}" for a in STRIP_AMOUNTS))
