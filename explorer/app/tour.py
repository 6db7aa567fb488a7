"""The tour: views saved in the session, stepped through with T or played every TOUR_SECONDS, for talks.

A saved view is the URL's query parameters (share.py), so a stop restores exactly what a shared link
would. Views saved on another model are skipped.
"""

from __future__ import annotations

import time

import streamlit as st

from explorer.app import presentation, share, state

TOUR_SECONDS = 10  # per stop while autoplaying
MAX_STOPS = 20


def _save_view(latent_dim: int) -> None:
    tour = st.session_state.setdefault(state.TOUR, [])
    view = share.to_params(share.current_values(latent_dim))
    if (not tour or tour[-1] != view) and len(tour) < MAX_STOPS:
        tour.append(view)


def _clear_tour() -> None:
    st.session_state[state.TOUR], st.session_state[state.TOUR_AT] = [], -1


def next_stop(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Show the next saved view (wrapping round); views saved on another model are skipped."""
    ss = st.session_state
    model = share.current_values(latent_dim)["model"]
    stops = [i for i, view in enumerate(ss.get(state.TOUR, [])) if view.get("model") == model]
    if not stops:
        return
    later = [i for i in stops if i > ss.get(state.TOUR_AT, -1)]
    ss[state.TOUR_AT] = later[0] if later else stops[0]
    ss[state.TOUR_LAST] = time.monotonic()
    share.apply(ss[state.TOUR][ss[state.TOUR_AT]], latent_dim, n_points, projections, f"saved view {ss[state.TOUR_AT] + 1}")


def _start_autoplay() -> None:
    st.session_state[state.TOUR_LAST] = time.monotonic()


@st.fragment(run_every=TOUR_SECONDS)
def _autoplay(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Every TOUR_SECONDS, the next stop (a whole-page rerun); the page's own reruns do not count."""
    ss = st.session_state
    if ss.get(state.TOUR_AUTOPLAY) and time.monotonic() - ss.get(state.TOUR_LAST, 0.0) >= TOUR_SECONDS - 1:
        next_stop(latent_dim, n_points, projections)
        st.rerun(scope="app")


def tour_controls(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Sidebar: save the current view, step through the saved ones (T), or let them play by themselves."""
    args = (latent_dim, n_points, projections)
    with st.sidebar.expander(f"Tour: {len(st.session_state.get(state.TOUR, []))} saved view(s)", expanded=presentation.is_on()):
        st.button("Save this view", on_click=_save_view, args=(latent_dim,), key="tour_save", width="stretch")
        st.button("Next view", on_click=next_stop, args=args, key="tour_next", width="stretch",
                  shortcut=presentation.SHORTCUTS["tour"], disabled=not st.session_state.get(state.TOUR))
        st.toggle(f"Autoplay, {TOUR_SECONDS} s a view", key=state.TOUR_AUTOPLAY, on_change=_start_autoplay,
                  disabled=not st.session_state.get(state.TOUR))
        st.button("Clear the tour", on_click=_clear_tour, key="tour_clear", type="tertiary")
    if st.session_state.get(state.TOUR_AUTOPLAY):  # only then: a timed fragment reruns every session it is drawn in
        _autoplay(*args)
