"""The tour: views saved in the session, stepped through with T or played every TOUR_SECONDS, for talks.

A saved view is the URL's query parameters (share.py), so a stop restores exactly what a shared link
would. Views saved on another model are skipped.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from explorer.app import exports, presentation, recording, resources, share, state
from explorer.errors import ExplorerError

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
    saved, recorded = len(st.session_state.get(state.TOUR, [])), st.session_state.get(state.RECORDED)
    label = f"Tour: {saved} saved view(s)" + (f", a recording of {len(recorded.steps)} steps" if recorded else "")
    with st.sidebar.expander(label, key="tour_expander"):  # the key: it stays open as its label changes
        st.button("Save this view", on_click=_save_view, args=(latent_dim,), key="tour_save", width="stretch")
        st.button("Next view", on_click=next_stop, args=args, key="tour_next", width="stretch",
                  shortcut=presentation.SHORTCUTS["tour"], disabled=not st.session_state.get(state.TOUR))
        st.toggle(f"Autoplay, {TOUR_SECONDS} s a view", key=state.TOUR_AUTOPLAY, on_change=_start_autoplay,
                  disabled=not st.session_state.get(state.TOUR))
        st.button("Clear the tour", on_click=_clear_tour, key="tour_clear", type="tertiary")
        recording_controls()
    if st.session_state.get(state.TOUR_AUTOPLAY):  # only then: a timed fragment reruns every session it is drawn in
        _autoplay(*args)


# Recorded tours (explorer/app/recording.py): every change of the view while Record is on, with its time;
# played back in presentation mode, edited in a dialog, saved and loaded as JSON.
PLAY_TICK_S = 0.1  # how often a playing recording looks for its next step: at most this late, plus a rerun


def _now() -> float:
    """The recording's clock (one place, so a test can run it)."""
    return time.monotonic()


def _model_name() -> str:
    return Path(st.session_state[state.MODEL]).name


def _toggle_recording() -> None:
    ss = st.session_state
    if ss.get(state.RECORDING_SINCE) is None:
        ss[state.RECORDING_SINCE] = _now()
        ss[state.RECORDED] = recording.Tour(_model_name())
    else:
        ss[state.RECORDING_SINCE] = None


def take_gesture(source: str, report: dict | None, latent_dim: int) -> None:
    """A view's released drag (``report["gesture"]``: its trail): a recording tour records it now, as its view
    may rerun as a fragment only (the page's own end-of-run recording would see it later, with other steps)."""
    if report is not None and isinstance(report.get("gesture"), list):
        st.session_state[state.GESTURE] = {"source": source, "samples": report["gesture"]}
        record_step(latent_dim)


def replay_for(source: str) -> dict | None:
    """The recorded drag the view ``source`` plays back now (apply_due set it), or None."""
    replay = st.session_state.get(state.REPLAY)
    return replay if replay and replay.get("source") == source else None


def record_step(latent_dim: int) -> None:
    """At the end of each run while recording: the view, if it changed, with the seconds since Record."""
    ss = st.session_state
    since = ss.get(state.RECORDING_SINCE)
    gesture = ss.pop(state.GESTURE, None)  # the drag a live view reported in this run, if any
    if since is not None and ss.get(state.RECORDED) is not None:
        params = share.to_params(share.current_values(latent_dim))
        ss[state.RECORDED] = recording.record(ss[state.RECORDED], params, _now() - since, gesture)


def _play() -> None:
    ss = st.session_state
    ss[state.RECORDING_SINCE] = ss[state.REPLAY] = None
    ss[state.PLAYBACK] = {"start": _now(), "done": 0, "applied": []}
    ss[state.PRESENT] = True  # a tour plays on the stage
    ss[state.PLAYED] = None


def _stop_playing() -> None:
    st.session_state[state.PLAYBACK] = None


def _next_due() -> recording.Step | None:
    ss = st.session_state
    playing, tour = ss.get(state.PLAYBACK), ss.get(state.RECORDED)
    if not playing or tour is None:
        return None
    due = recording.due(tour, _now() - playing["start"], playing["done"])
    return tour.steps[due[0]] if due else None


def switch_model_if_due() -> None:
    """Before the model picker is drawn: a due step on another model opens that model (its view follows)."""
    step = _next_due()
    if step is None or "model" not in step.params or step.params["model"] == Path(st.session_state.get(state.MODEL, "")).name:
        return
    named = [str(p) for p in resources.available_models() if p.name == step.params["model"]]
    if named:
        st.session_state[state.MODEL_CHOICE] = named[0]


def apply_due(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> None:
    """Before the views' widgets are drawn: every step whose time has come, in order, each once."""
    ss = st.session_state
    if ss.get(state.REPLAY) is not None:  # sent to its view in the run that set it; a view made later skips it
        ss[state.REPLAY] = ss[state.REPLAY] if ss.pop(state.REPLAY_FRESH, False) else None
    playing, tour = ss.get(state.PLAYBACK), ss.get(state.RECORDED)
    if not playing or tour is None:
        return
    elapsed = _now() - playing["start"]
    for k in recording.due(tour, elapsed, playing["done"]):
        step = tour.steps[k]
        wanted = step.params.get("model", _model_name())
        if wanted != _model_name():
            if any(p.name == wanted for p in resources.available_models()):
                break  # the next run opens that model first (switch_model_if_due), then applies this step
            playing["missing"] = sorted({*playing.get("missing", ()), wanted})  # not on this machine: skipped
        else:
            share.apply(step.params, latent_dim, n_points, projections, f"the tour's step {k + 1}")
        if step.gesture and wanted == _model_name():  # the live view plays the drag back, at its recorded pace
            ss[state.REPLAY] = {"id": f"{playing['start']:.3f}-{k}", **step.gesture}
            ss[state.REPLAY_FRESH] = True
            if step.gesture["source"] in ("probe", "map"):  # the large probe view, or the map with its own probe
                state.set_value("map_probe", step.gesture["source"] == "probe")
        playing["done"], playing["applied"] = k + 1, [*playing["applied"], elapsed]
    if playing["done"] == len(tour.steps):
        ss[state.PLAYED] = {**recording.drift(tour, playing["applied"]), "missing": playing.get("missing", [])}
        ss[state.PLAYBACK] = None


@st.fragment(run_every=PLAY_TICK_S)
def _playback_clock() -> None:
    """While a recording plays: a whole-page run when its next step is due (apply_due applies it)."""
    if _next_due() is not None:
        st.rerun(scope="app")


def _load_tour() -> None:
    ss = st.session_state
    upload = ss.get("tour_file")
    if upload is None:
        return
    try:
        ss[state.RECORDED] = recording.Tour.from_json(upload.getvalue())
        ss["tour_file_error"] = None
    except recording.TourFileError as err:
        ss["tour_file_error"] = f"{upload.name}: {err}"


@st.dialog("Edit the tour", width="large")
def _edit_dialog() -> None:
    import pandas as pd

    tour: recording.Tour = st.session_state[state.RECORDED]
    rows = pd.DataFrame({"step": range(1, len(tour.steps) + 1), "at (s)": [round(s.at, 2) for s in tour.steps],
                         "caption": [s.caption for s in tour.steps],
                         "what": [recording.changes(tour.steps[k - 1].params if k else None, s.params)
                                  for k, s in enumerate(tour.steps)]})
    st.caption("Change a time to re-time a step or move it (steps play in the order of their times); select rows "
               "and delete them; a caption is shown on the stage at its step.")
    edited = st.data_editor(rows, num_rows="delete", hide_index=True, width="stretch", key="tour_editor",
                            column_config={"step": st.column_config.NumberColumn(disabled=True),
                                           "at (s)": st.column_config.NumberColumn(min_value=0.0, step=0.1),
                                           "what": st.column_config.TextColumn(disabled=True)})
    if st.button("Apply", type="primary"):
        st.session_state[state.RECORDED] = tour.edited(
            [{"step": r["step"], "at": r["at (s)"], "caption": r["caption"]} for r in edited.to_dict("records")])
        st.rerun()


def recording_controls() -> None:
    """Sidebar, in the tour's expander: Record, Play, Edit, Save and Load."""
    ss = st.session_state
    tour: recording.Tour | None = ss.get(state.RECORDED)
    recording_now = ss.get(state.RECORDING_SINCE) is not None
    st.markdown("**Recorded tour**")
    st.button("Stop recording" if recording_now else "Record", on_click=_toggle_recording, key="tour_record",
              width="stretch", type="primary" if recording_now else "secondary",
              help="Every change of the view is recorded with its time: tabs, models, picks, the sliders' z, the "
                   "probe's spot, the interpolation (each drag as it is released).")
    if recording_now:
        st.caption(f"Recording: {len(tour.steps) if tour else 0} steps, "
                   f"{_now() - ss[state.RECORDING_SINCE]:.0f} s.")
    playing = ss.get(state.PLAYBACK)
    if tour is not None and tour.steps and not recording_now:
        if playing:
            st.button("Stop the playback", on_click=_stop_playing, key="tour_stop", width="stretch")
            st.caption(f"Playing: step {playing['done']} of {len(tour.steps)}.")
        else:
            st.button(f"Play it ({len(tour.steps)} steps, {tour.seconds:.0f} s)", on_click=_play, key="tour_play",
                      width="stretch", help="On the stage (presentation mode), each step at its recorded time.")
        c1, c2 = st.columns(2)
        if c1.button("Edit", key="tour_edit", width="stretch"):
            _edit_dialog()
        c2.download_button("Save", tour.to_json(), file_name=exports.file_name(tour.model, "tour", ext="json"),
                           mime="application/json", key="tour_save_file", width="stretch", on_click="ignore")
    if tour is not None and recording.stops(tour) and not recording_now and not playing:
        _video_controls(tour)
    played = ss.get(state.PLAYED)
    if played and not playing:
        st.caption(f"Last playback: {played['steps']} steps, {1000 * played['median']:.0f} ms late at the median, "
                   f"{1000 * played['max']:.0f} ms at worst.")
        if played.get("missing"):
            st.warning(f"Skipped the steps on {', '.join(played['missing'])}: not among this machine's models "
                       f"(add its folder to ${resources.MODELS_ENV}, or load the tour where it was recorded).")
    st.file_uploader("Load a tour", type=["json"], key="tour_file", on_change=_load_tour)
    if ss.get("tour_file_error"):
        st.error(ss["tour_file_error"])
    if playing:
        _playback_clock()


def stage_line() -> None:
    """On the page while a recording plays: where it is, the step's caption, and the way to stop it."""
    ss = st.session_state
    playing, tour = ss.get(state.PLAYBACK), ss.get(state.RECORDED)
    if not playing or tour is None:
        return
    done = playing["done"]
    caption = tour.steps[done - 1].caption if done else ""
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.markdown(f"**Tour, step {done} of {len(tour.steps)}**" + (f" · {caption}" if caption else ""))
    c2.button("Stop", on_click=_stop_playing, key="tour_stop_stage", width="stretch")


def _video_controls(tour: recording.Tour) -> None:
    """Render the recorded tour's moves of z to MP4 or GIF (explorer/video.py), with a progress bar."""
    from explorer import video  # here: PIL and ffmpeg work, only when asked for

    ss = st.session_state
    c1, c2 = st.columns(2)
    size = c1.selectbox("Video size", list(video.SIZES), key="tour_video_size", label_visibility="collapsed")
    fmt = c2.selectbox("Video format", video.FORMATS, key="tour_video_format", format_func=str.upper,
                       label_visibility="collapsed")
    what = (tour.to_json(), size, fmt, ss[state.MODEL])
    held = ss.get(state.TOUR_VIDEO)
    if held is not None and held[0] == what:
        st.download_button(f"Download the {fmt.upper()}", held[1], file_name=held[2], mime=held[3], key="tour_video_get",
                           width="stretch", on_click="ignore", type="primary")
        return
    if not st.button("Render the video", key="tour_video_render", width="stretch",
                     help="The decoded image, the map with the moving marker and the step's caption, frame by "
                          "frame at 30 frames a second: about a third of a second per second of tour at 720p here."):
        return
    bar = st.progress(0.0, text="Rendering...")
    try:
        data = video.render(ss[state.MODEL], recording.stops(tour), size=size, fmt=fmt,
                            progress=lambda done, total: bar.progress(done / total, text=f"Frame {done} of {total}"))
    except ExplorerError as err:
        bar.empty()
        st.error(f"No video: {err}")
        return
    bar.empty()
    name = exports.file_name(tour.model, "tour", size, ext=fmt)
    ss[state.TOUR_VIDEO] = (what, data, name, "video/mp4" if fmt == "mp4" else "image/gif")
    st.rerun(scope="app")
