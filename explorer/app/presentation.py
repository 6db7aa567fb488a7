"""Presentation mode for talks: larger images and type, Streamlit's chrome hidden, keyboard shortcuts,
and a tour through views saved in the session (stepped with T, or played every TOUR_SECONDS).

The shortcuts are Streamlit's own (``st.button(shortcut=...)``, new in 1.5x): no custom JavaScript,
nothing loaded from a CDN, so they work offline. They act while their button is on the page: P and S
on the Interpolate tab, N on the Map tab.
"""

from __future__ import annotations

import time

import streamlit as st

from explorer.app import share

PRESENT = "present"  # the sidebar toggle's key: kept for the whole session, across models
SCALE = 1.5  # images grow by this much in presentation mode
SHORTCUTS = {"play": "P", "step": "S", "next": "N", "tour": "T"}
TOUR = "tour"  # saved views of this session: query-parameter dicts, in order
TOUR_AT = "tour_at"  # index of the view the tour showed last
TOUR_AUTOPLAY = "tour_autoplay"  # the autoplay toggle's key
TOUR_LAST = "tour_last"  # time.monotonic() of the last stop, so a page rerun does not advance the tour
TOUR_SECONDS = 10  # per stop while autoplaying
MAX_STOPS = 20
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
    return bool(st.session_state.get(PRESENT))


def side(pixels: int) -> int:
    """An image size in pixels, enlarged in presentation mode."""
    return round(pixels * SCALE) if is_on() else pixels


def sidebar_toggle() -> None:
    """The toggle, and the page style when it is on (call before the views draw)."""
    st.sidebar.toggle("Presentation mode", key=PRESENT, help="For talks: larger images and type, no Streamlit "
                      "toolbar. Keys: P play/pause and S step the interpolation, N the next point on the map, T the tour's next "
                      "saved view.")
    if is_on():
        st.markdown(CSS, unsafe_allow_html=True)
        st.sidebar.caption(f"Keys: **{SHORTCUTS['play']}** play/pause, **{SHORTCUTS['step']}** step "
                           f"(Interpolate tab); **{SHORTCUTS['next']}** next point (Map tab); "
                           f"**{SHORTCUTS['tour']}** next saved view.")


def _save_view(latent_dim: int) -> None:
    tour = st.session_state.setdefault(TOUR, [])
    view = share.to_params(share.current_values(latent_dim))
    if (not tour or tour[-1] != view) and len(tour) < MAX_STOPS:
        tour.append(view)


def _clear_tour() -> None:
    st.session_state[TOUR], st.session_state[TOUR_AT] = [], -1


def next_stop(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Show the next saved view (wrapping round); views saved on another model are skipped."""
    ss = st.session_state
    model = share.current_values(latent_dim)["model"]
    stops = [i for i, view in enumerate(ss.get(TOUR, [])) if view.get("model") == model]
    if not stops:
        return
    later = [i for i in stops if i > ss.get(TOUR_AT, -1)]
    ss[TOUR_AT] = later[0] if later else stops[0]
    ss[TOUR_LAST] = time.monotonic()
    share.apply(ss[TOUR][ss[TOUR_AT]], latent_dim, n_points, projections, f"saved view {ss[TOUR_AT] + 1}")


def _start_autoplay() -> None:
    st.session_state[TOUR_LAST] = time.monotonic()


@st.fragment(run_every=TOUR_SECONDS)
def _autoplay(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Every TOUR_SECONDS, the next stop (a whole-page rerun); the page's own reruns do not count."""
    ss = st.session_state
    if ss.get(TOUR_AUTOPLAY) and time.monotonic() - ss.get(TOUR_LAST, 0.0) >= TOUR_SECONDS - 1:
        next_stop(latent_dim, n_points, projections)
        st.rerun(scope="app")


def tour_controls(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Sidebar: save the current view, step through the saved ones (T), or let them play by themselves."""
    args = (latent_dim, n_points, projections)
    with st.sidebar.expander(f"Tour: {len(st.session_state.get(TOUR, []))} saved view(s)", expanded=is_on()):
        st.button("Save this view", on_click=_save_view, args=(latent_dim,), key="tour_save", width="stretch")
        st.button("Next view", on_click=next_stop, args=args, key="tour_next", width="stretch",
                  shortcut=SHORTCUTS["tour"], disabled=not st.session_state.get(TOUR))
        st.toggle(f"Autoplay, {TOUR_SECONDS} s a view", key=TOUR_AUTOPLAY, on_change=_start_autoplay,
                  disabled=not st.session_state.get(TOUR))
        st.button("Clear the tour", on_click=_clear_tour, key="tour_clear", type="tertiary")
    if st.session_state.get(TOUR_AUTOPLAY):  # only then: a timed fragment reruns every session it is drawn in
        _autoplay(*args)
