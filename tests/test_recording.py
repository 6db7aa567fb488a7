"""Recorded tours: what the presenter did, with its timing, played back to the same final state.

The file format and the playback schedule are pure (explorer/app/recording.py); the app records every change
of the view while Record is on, and plays it back on the stage, each step once and in order, whenever its
time has come (the clock is the test's here, so the schedule is exact).
"""

from __future__ import annotations

import json

import pytest

from explorer import tours
from explorer.app import recording, tour
from explorer.app.recording import Step, Tour, TourFileError
from tests.app_support import DIGITS, click_map, open_app


def test_a_recording_keeps_each_change_once_with_its_time_and_plays_in_order():
    t = Tour("digits")
    t = recording.record(t, {"model": "digits", "view": "Map"}, 0.0)
    t = recording.record(t, {"model": "digits", "view": "Map", "present": "1"}, 0.5)  # presenting is not a step
    t = recording.record(t, {"model": "digits", "view": "Map", "pick": "7"}, 1.2)
    t = recording.record(t, {"model": "digits", "view": "Sliders", "pick": "7"}, 3.0)
    assert [s.at for s in t.steps] == [0.0, 1.2, 3.0]
    assert recording.due(t, 0.0, 0) == [0] and recording.due(t, 2.0, 1) == [1]
    assert recording.due(t, 10.0, 1) == [1, 2]  # a late clock applies every missed step, in order
    assert recording.drift(t, [0.1, 1.5, 3.0]) == {"median": pytest.approx(0.1), "max": pytest.approx(0.3), "steps": 3}
    assert recording.changes(t.steps[1].params, t.steps[2].params) == "view Sliders"


def test_a_saved_tour_reads_back_and_a_bad_file_says_what_is_wrong():
    t = Tour("digits", (Step(0.0, {"view": "Map"}), Step(2.5, {"view": "Sliders", "z": "0.5,-1"}, "now the sliders")))
    assert Tour.from_json(t.to_json()) == t
    for text, said in [("not json", "not a JSON file"), ('{"steps": []}', "not a Latent Explorer tour"),
                       (json.dumps({"format": recording.FORMAT, "version": 9, "model": "m", "steps": []}), "version 9"),
                       (json.dumps({"format": recording.FORMAT, "version": 1, "model": "m",
                                    "steps": [{"at": -1, "params": {}}]}), "step 1: \"at\"")]:
        with pytest.raises(TourFileError, match=said):
            Tour.from_json(text)


def test_an_edit_reorders_by_time_deletes_and_captions():
    t = Tour("digits", tuple(Step(float(k), {"pick": str(k)}) for k in range(4)))
    edited = t.edited([{"step": 4, "at": 0.5, "caption": "first"}, {"step": 1, "at": 0.0}, {"step": 3, "at": 2.0}])
    assert [s.params["pick"] for s in edited.steps] == ["0", "3", "2"]  # step 2 deleted, step 4 moved up
    assert [s.caption for s in edited.steps] == ["", "first", ""]
    with pytest.raises(ValueError, match="no step 9"):
        t.edited([{"step": 9, "at": 0}])


def test_stops_for_the_video_follow_the_sliders_z_and_hold_through_tab_changes():
    t = Tour("digits", (Step(0.0, {"view": "Map", "z": "0,0"}), Step(1.0, {"view": "Sliders", "z": "0,0"}),
                        Step(3.0, {"view": "Sliders", "z": "1,0"}, "move z1")))
    # The click that set z1 at 3 s: the tour holds at the start until just before it, and is there at 3 s.
    assert recording.stops(t) == [
        {"z": [0.0, 0.0], "caption": "start: view Map", "seconds": recording.MIN_MOVE_S, "hold": 2.9},
        {"z": [1.0, 0.0], "caption": "move z1", "seconds": recording.MIN_MOVE_S}]


def arrivals(stops: list[dict], start: float) -> list[float]:
    """When each stop is reached, played from ``start`` (the first stop's time) as explorer/tours.py says."""
    out, t = [start], start + stops[0].get("hold", 0.0)
    for stop in stops[1:]:
        t += stop["seconds"]
        out.append(round(t, 6))
        t += stop.get("hold", 0.0)
    return out


def test_a_sliders_drag_becomes_its_own_samples_on_the_recording_s_clock():
    samples = [[0, 0.0, 0.0], [100, 0.5, 0.0], [200, 1.0, 0.0], [300, 0.5, 0.0], [400, 0.25, 0.0]]
    t = Tour("digits", (Step(1.0, {"view": "Sliders", "z": "0,0"}),
                        Step(5.0, {"view": "Sliders", "z": "0.25,0"}, gesture={"source": "sliders", "samples": samples})))
    stops = recording.stops(t)
    # there and back as dragged, not one straight move from 0 to 0.25
    assert [s["z"][0] for s in stops] == [0.0, 0.5, 1.0, 0.5, 0.25]
    assert [s.get("through", False) for s in stops] == [False, True, True, True, False]  # samples, not stops
    assert stops[0]["hold"] == pytest.approx(3.6)  # the drag began 0.4 s before its release at 5 s
    assert arrivals(stops, 1.0) == pytest.approx([1.0, 4.7, 4.8, 4.9, 5.0])
    assert tours.validate(stops, 2) == stops  # the offline file's and the video's format


def test_a_probe_drag_is_one_move_as_long_as_the_drag():
    gesture = {"source": "map", "samples": [[0, 0.1, 0.1], [1500, 0.4, 0.2]]}  # spots on the map, not z
    t = Tour("digits", (Step(0.0, {"view": "Map", "z": "0,0"}), Step(4.0, {"view": "Map", "z": "2,1"}, gesture=gesture)))
    stops = recording.stops(t)
    assert [s["z"] for s in stops] == [[0.0, 0.0], [2.0, 1.0]]
    assert stops[0]["hold"] == pytest.approx(2.5) and stops[1]["seconds"] == pytest.approx(1.5)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_recorded_session_plays_back_to_the_same_final_state(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tour, "_now", clock)
    at = open_app(DIGITS, "Map")
    at.button(key="tour_record").click().run()
    clock.t += 1.0
    click_map(at, 5)  # a pick on the map
    clock.t += 2.0
    at.session_state["view"] = "Sliders"
    at.run()
    clock.t += 1.5
    at.session_state["view"] = "Map"
    at.run()
    click_map(at, 42)
    at.button(key="tour_record").click().run()  # stop
    recorded: Tour = at.session_state["recorded_tour"]
    assert [s.params.get("pick") for s in recorded.steps][-1] == "42"
    assert [s.params["view"] for s in recorded.steps] == ["Map", "Map", "Sliders", "Map", "Map"]
    final = recorded.steps[-1].params

    click_map(at, 3)  # the presenter wanders off before playing
    at.button(key="tour_play").click().run()
    assert at.session_state["present"]  # on the stage
    seen = []
    for _ in range(12):
        clock.t += 0.5
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        seen.append(at.session_state["pick"])
    assert at.session_state["tour_playback"] is None  # finished
    assert at.session_state["pick"] == 42 and at.session_state["view"] == "Map"
    assert at.query_params["pick"] == final["pick"] and at.query_params["view"] == final["view"]
    assert seen.index(5) < seen.index(42)  # in the recorded order
    played = at.session_state["tour_played"]
    assert played["steps"] == len(recorded.steps) and played["max"] <= 0.5 + 1e-9  # late by at most one tick here


def test_the_app_renders_the_recorded_tour_to_an_mp4_that_decodes_back_to_its_frames(media):
    from explorer import video
    from tests.test_video import decode_mp4

    z0, z1 = ",".join(["0"] * 8), ",".join(["1.5"] + ["0"] * 7)
    recorded = Tour("digits", (Step(0.0, {"view": "Sliders", "z": z0}), Step(1.0, {"view": "Sliders", "z": z1}, "up")))
    at = open_app(DIGITS, recorded_tour=recorded)
    at.button(key="tour_video_render").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [button] = [b for b in at.get("download_button") if b.proto.label == "Download the MP4"]
    data, name, mime = media.download(button)
    assert name == "digits-tour-1280x720.mp4" and mime == "video/mp4"
    (width, height), frames = decode_mp4(data)
    assert (width, height) == (1280, 720)
    assert len(frames) == len(video.frames_of(recording.stops(recorded), video.DEFAULT_FPS))  # 1 s at 30 fps: 31


def test_a_step_on_another_model_opens_that_model_then_its_view(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tour, "_now", clock)
    played = Tour("digits", (Step(0.0, {"model": "digits", "view": "Map", "pick": "4"}),
                             Step(1.0, {"model": "fashion-mnist-d2", "view": "Sliders", "pick": "9"})))
    at = open_app(DIGITS, "Map", recorded_tour=played)
    at.button(key="tour_play").click().run()
    assert at.session_state["pick"] == 4
    for _ in range(4):
        clock.t += 0.5
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["model"].endswith("fashion-mnist-d2")
    assert at.session_state["view"] == "Sliders" and at.session_state["pick"] == 9
    assert at.session_state["tour_playback"] is None  # both steps played


def test_a_step_on_a_model_this_machine_lacks_is_skipped_and_said_not_waited_for(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tour, "_now", clock)
    played = Tour("digits", (Step(0.0, {"model": "digits", "view": "Map", "pick": "4"}),
                             Step(1.0, {"model": "someone-elses-model", "view": "Sliders", "pick": "9"}),
                             Step(2.0, {"model": "digits", "view": "Map", "pick": "6"})))
    at = open_app(DIGITS, "Map", recorded_tour=played)
    at.button(key="tour_play").click().run()
    for _ in range(6):
        clock.t += 0.5
        at.run()
    assert at.session_state["tour_playback"] is None and at.session_state["pick"] == 6  # played to the end
    assert any("someone-elses-model" in w.value and "LATENT_EXPLORER_MODELS" in w.value for w in at.sidebar.warning)
