"""Presentation mode for talks: the stage. The sidebar closes (its arrow brings it back), Streamlit's chrome
hides, type, images and controls grow for the back of a room, and the views lay out their image and map
side by side (``is_on``). A "Leave presentation" button stays on the page. The tour through saved views
is explorer/app/tour.py.

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
# control so the sidebar can be brought back. Larger root type scales every rem-sized element, with the
# window: 20 px at 1280 wide, 30 px at 1920. A button's
# label wraps instead of being cut to "Use a..." where a column is narrow. "Leave presentation" sits in the
# top-right corner, under the (transparent) header, which lets clicks through but for its own buttons.
CSS = """
<style>
html { font-size: clamp(20px, 1.55vw, 30px); }
[data-testid^="stBaseButton"] p { white-space: normal; overflow: visible; text-overflow: clip; line-height: 1.2; }
[data-testid="stButtonGroup"] [data-testid^="stBaseButton"] { min-width: max-content; }
.st-key-leave_presentation { position: fixed; top: 0.35rem; right: 1rem; width: auto !important; }
.st-key-leave_presentation button { font-size: 0.75rem; }
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"], footer { display: none !important; }
header[data-testid="stHeader"] { background: transparent; pointer-events: none; }
header[data-testid="stHeader"] button { pointer-events: auto; }
.stMainBlockContainer { padding-top: 0.75rem; padding-left: 2rem; padding-right: 2rem; max-width: 100%; }
[data-testid="stImage"] img { image-rendering: pixelated; }
[data-testid="stCaptionContainer"] { font-size: 0.9rem; }
</style>
"""


def is_on() -> bool:
    return bool(st.session_state.get(state.PRESENT))


def side(pixels: int) -> int:
    """An image size in pixels, enlarged in presentation mode."""
    return round(pixels * SCALE) if is_on() else pixels


def _leave() -> None:
    st.session_state[state.PRESENT] = False


def page_state() -> None:
    """Close the sidebar while presenting, open it again after (Streamlit 1.46+ applies a changed
    ``initial_sidebar_state`` on a rerun); a page that never presented keeps Streamlit's "auto"."""
    ss = st.session_state
    if is_on():
        ss[state.PRESENTED] = True
    sidebar = "collapsed" if is_on() else "expanded" if ss.get(state.PRESENTED) else "auto"
    st.set_page_config(initial_sidebar_state=sidebar)


def sidebar_toggle() -> None:
    """The toggle, the page style when it is on and the way out on the page itself (call before the views draw)."""
    page_state()
    st.sidebar.toggle("Presentation mode", key=state.PRESENT, help="For talks: larger images and type, no Streamlit "
                      "toolbar. Keys: P play/pause and S step the interpolation, N the next point on the map, T the tour's next "
                      "saved view.")
    if is_on():
        st.markdown(CSS, unsafe_allow_html=True)
        st.button("Leave presentation", on_click=_leave, key="leave_presentation", type="tertiary",
                  help="Back to the sidebar and the normal sizes (the sidebar's arrow, top left, opens it too)")
        st.sidebar.caption(f"Keys: **{SHORTCUTS['play']}** play/pause, **{SHORTCUTS['step']}** step "
                           f"(Interpolate tab); **{SHORTCUTS['next']}** next point (Map tab); "
                           f"**{SHORTCUTS['tour']}** next saved view.")
