"""Presentation mode for talks: larger images and type, Streamlit's chrome hidden, keyboard shortcuts.
The tour through saved views is explorer/app/tour.py.

The shortcuts are Streamlit's own (``st.button(shortcut=...)``, new in 1.5x): no custom JavaScript,
nothing loaded from a CDN, so they work offline. They act while their button is on the page: P and S
on the Interpolate tab, N on the Map tab.
"""

from __future__ import annotations

import streamlit as st

from explorer.app import state

SCALE = 1.5  # images grow by this much in presentation mode
SHORTCUTS = {"play": "P", "step": "S", "next": "N", "tour": "T"}
# Hide the toolbar, the running-man status, the top decoration and footer; keep the header's sidebar
# control so the sidebar can be brought back. Larger root type scales every rem-sized element.
CSS = """
<style>
html { font-size: 22px; }
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"], footer { display: none !important; }
header[data-testid="stHeader"] { background: transparent; }
.stMainBlockContainer { padding-top: 1.5rem; padding-left: 2rem; padding-right: 2rem; max-width: 100%; }
[data-testid="stImage"] img { image-rendering: pixelated; }
[data-testid="stCaptionContainer"] { font-size: 0.9rem; }
</style>
"""


def is_on() -> bool:
    return bool(st.session_state.get(state.PRESENT))


def side(pixels: int) -> int:
    """An image size in pixels, enlarged in presentation mode."""
    return round(pixels * SCALE) if is_on() else pixels


def sidebar_toggle() -> None:
    """The toggle, and the page style when it is on (call before the views draw)."""
    st.sidebar.toggle("Presentation mode", key=state.PRESENT, help="For talks: larger images and type, no Streamlit "
                      "toolbar. Keys: P play/pause and S step the interpolation, N the next point on the map, T the tour's next "
                      "saved view.")
    if is_on():
        st.markdown(CSS, unsafe_allow_html=True)
        st.sidebar.caption(f"Keys: **{SHORTCUTS['play']}** play/pause, **{SHORTCUTS['step']}** step "
                           f"(Interpolate tab); **{SHORTCUTS['next']}** next point (Map tab); "
                           f"**{SHORTCUTS['tour']}** next saved view.")
