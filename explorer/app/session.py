"""Actions on the user's session that more than one view offers. Views import this module, never each other.

Each action is a plain function on ``st.session_state`` (through ``state``), usable as a widget callback.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.app import state


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
