"""Rows of small captioned images (nearest neighbours): every image the same width, captions apart."""

from __future__ import annotations

import numpy as np
import streamlit as st

PER_ROW = 3  # thumbnails per row: at 1280x720 the inspector column holds three 84-px images with gaps


def row_of_thumbnails(pictures: list[np.ndarray], captions: list[str], width: int, per_row: int = PER_ROW) -> None:
    """Each picture in its own column at ``width`` CSS pixels, its caption wrapping under it.

    One ``st.image`` of a list sizes each figure to its caption, so a long caption ("#5907 T-shirt/top")
    stretched its image, and neighbouring captions ran together with no gap between them.
    """
    for start in range(0, len(pictures), per_row):
        columns = st.columns(per_row, gap="small")
        for column, picture, caption in zip(columns, pictures[start:start + per_row], captions[start:start + per_row]):
            column.image(picture, caption=caption, width=width)
