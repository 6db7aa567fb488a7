"""The tour: views saved in the session, stepped through with T or played every TOUR_SECONDS, for talks.

A saved view is the URL's query parameters (share.py), so a stop restores exactly what a shared link
would. Views saved on another model are skipped.
"""

from __future__ import annotations

import time

import streamlit as st

from explorer.app import presentation, share

TOUR = "tour"  # saved views of this session: query-parameter dicts, in order
TOUR_AT = "tour_at"  # index of the view the tour showed last
TOUR_AUTOPLAY = "tour_autoplay"  # the autoplay toggle's key
TOUR_LAST = "tour_last"  # time.monotonic() of the last stop, so a page rerun does not advance the tour
TOUR_SECONDS = 10  # per stop while autoplaying
MAX_STOPS = 20


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
    with st.sidebar.expander(f"Tour: {len(st.session_state.get(TOUR, []))} saved view(s)", expanded=presentation.is_on()):
        st.button("Save this view", on_click=_save_view, args=(latent_dim,), key="tour_save", width="stretch")
        st.button("Next view", on_click=next_stop, args=args, key="tour_next", width="stretch",
                  shortcut=presentation.SHORTCUTS["tour"], disabled=not st.session_state.get(TOUR))
        st.toggle(f"Autoplay, {TOUR_SECONDS} s a view", key=TOUR_AUTOPLAY, on_change=_start_autoplay,
                  disabled=not st.session_state.get(TOUR))
        st.button("Clear the tour", on_click=_clear_tour, key="tour_clear", type="tertiary")
    if st.session_state.get(TOUR_AUTOPLAY):  # only then: a timed fragment reruns every session it is drawn in
        _autoplay(*args)
