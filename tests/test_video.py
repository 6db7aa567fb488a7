"""A tour rendered to video: frame timing, what each frame shows, and that the files play back as recorded."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from explorer import checkpoint as ckpt
from explorer import projection, tours, video

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "trained" / "digits"
FPS = 10  # few frames: the tests are about what the frames hold, not smoothness
GREY_TOLERANCE = 6.0  # grey levels between the decoded image and what the H.264 video shows
MARKER_TOLERANCE_PX = 1.5
CHANGED_GREY = 60.0  # a caption pixel that changed by more than this is another letter, not compression noise


@pytest.fixture(scope="module")
def digits():
    checkpoint = ckpt.load(DIGITS)
    return checkpoint, ckpt.load_embedding(DIGITS)


@pytest.fixture(scope="module")
def tour(digits):
    _, emb = digits
    picks = [int(np.flatnonzero(emb.labels == k)[0]) for k in (0, 7, 4)]
    return [{"z": emb.mu[picks[0]].tolist(), "caption": "A zero to start", "hold": 0.5},
            {"z": emb.mu[picks[1]].tolist(), "caption": "Over to a seven", "seconds": 1.0},
            {"z": emb.mu[picks[2]].tolist(), "caption": "And a four", "seconds": 0.8, "hold": 0.2}]


@pytest.fixture(scope="module")
def mp4_frames(digits, tour):
    data = video.render(digits[0], tour, fps=FPS, fmt="mp4")
    return decode_mp4(data)


def decode_mp4(data: bytes) -> tuple[tuple[int, int], list[np.ndarray]]:
    """(width, height) and every frame as (H, W, 3) uint8, read back by ffmpeg as a player would."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tour.mp4"
        path.write_bytes(data)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return (width, height), frames


def scene_of(checkpoint, emb, tour):
    """The layout render draws, to know where to look; what is found there is checked against the model."""
    proj = projection.make("pca", emb)
    stops = np.asarray([stop["z"] for stop in tour], np.float32)
    return proj, video.Scene.of(checkpoint, emb, proj, (1280, 720), proj.place(video.frames_of(tour, FPS)),
                                proj.place(stops))


def test_frames_reach_each_stop_at_its_time_and_end_on_the_last():
    a, b, c = [0.0, 0.0], [1.0, 2.0], [3.0, -1.0]
    tour = [{"z": a, "seconds": 9.0, "hold": 0.5}, {"z": b, "seconds": 1.0}, {"z": c, "seconds": 2.0, "hold": 1.0}]
    z = video.frames_of(tour, fps=10)
    assert z.shape == (round((0.5 + 1.0 + 2.0 + 1.0) * 10) + 1, 2)  # the first stop's seconds are not a move
    assert (z[:6] == a).all()  # held for 0.5 s
    assert (z[15] == b).all()  # reached 1 s after the hold ends
    assert np.allclose(z[10], [0.5, 1.0])  # half way there
    assert (z[35] == c).all() and (z[-1] == c).all()  # reached at 3.5 s, then held to the end
    assert np.allclose(z[25], [2.0, 0.5])


def test_a_drag_s_samples_are_passed_through_but_not_ringed_or_counted_as_stops(digits, monkeypatch):
    checkpoint, emb = digits
    a, b, mid = emb.mu[0].tolist(), emb.mu[1].tolist(), emb.mu[2].tolist()
    tour = [{"z": a, "caption": "start", "hold": 0.2}, {"z": mid, "caption": "drag", "seconds": 0.2, "through": True},
            {"z": b, "caption": "drag", "seconds": 0.2}]
    assert tours.numbered(tours.validate(tour, len(a))) == [1, 2, 2]
    labels, rings = [], []
    frame, of = video.Scene.frame, video.Scene.__dict__["of"].__func__
    monkeypatch.setattr(video.Scene, "frame", lambda self, *args: labels.append(args[4]) or frame(self, *args))
    monkeypatch.setattr(video.Scene, "of", classmethod(lambda cls, *args: rings.append(len(args[-1])) or of(cls, *args)))
    video.render(checkpoint, tour, fps=FPS, fmt="mp4")
    assert rings == [2]  # a ring at each real stop, none at the drag's sample
    assert labels[0] == "stop 1 of 2" and labels[-1] == "stop 2 of 2" and set(labels) == {"stop 1 of 2", "stop 2 of 2"}
    z = video.frames_of(tour, FPS)
    assert np.allclose(z[4], mid, atol=1e-6)  # the move goes through the sample at 0.4 s


def test_a_one_stop_tour_is_one_frame_and_the_gif_rate_is_on_its_10_ms_grid():
    assert video.frames_of([{"z": [1.0]}], fps=30).shape == (1, 1)
    assert video.gif_fps(30) == 25 and video.gif_fps(10) == 10 and video.gif_fps(12) == 12.5
    assert all((1000 / video.gif_fps(f)) % 10 == 0 for f in (1, 7, 15, 24, 60))


def test_the_mp4_decodes_back_to_every_recorded_frame_at_the_requested_size(mp4_frames, tour):
    size, frames = mp4_frames
    assert size == (1280, 720)
    assert len(frames) == len(video.frames_of(tour, FPS)) == round(2.5 * FPS) + 1


def test_the_image_panel_shows_the_models_decode_of_that_frames_z(digits, tour, mp4_frames):
    checkpoint, emb = digits
    z = video.frames_of(tour, FPS)
    _, scene = scene_of(checkpoint, emb, tour)
    box, f = scene.image_box, scene.factor
    _, frames = mp4_frames
    for i in (0, 9, len(z) - 1):
        shown = frames[i][box.top:box.bottom, box.left:box.right].astype(float).mean(axis=2)
        centres = shown[f // 2::f, f // 2::f]  # (H, W) the middle of each upscaled pixel
        expected = checkpoint.model.decode_array(z[i])[0, 0] * 255
        assert centres.shape == expected.shape
        assert float(np.abs(centres - expected).max()) < GREY_TOLERANCE, f"frame {i}"


def test_the_marker_is_drawn_where_the_map_places_that_frames_z(digits, tour, mp4_frames):
    checkpoint, emb = digits
    z = video.frames_of(tour, FPS)
    proj, scene = scene_of(checkpoint, emb, tour)
    _, frames = mp4_frames
    m = scene.map_box
    for i in (0, 12, len(z) - 1):
        region = frames[i][m.top:m.bottom, m.left:m.right].astype(int)
        near = np.abs(region - np.array(video.MARKER_COLOUR)).sum(axis=2) < 60  # magenta after H.264
        ys, xs = np.nonzero(near)
        assert len(xs) > 100, f"frame {i}: no marker"
        expected = scene.map_pixel(proj.place(z[i]))[0]
        found = np.array([xs.mean() + m.left, ys.mean() + m.top])
        assert np.abs(found - expected).max() < MARKER_TOLERANCE_PX, f"frame {i}: {found} != {expected}"


def test_the_caption_bar_changes_between_stops_and_not_within_one(digits, tour, mp4_frames):
    checkpoint, emb = digits
    _, scene = scene_of(checkpoint, emb, tour)
    c = scene.caption_box
    _, frames = mp4_frames
    bar = [f[c.top:c.bottom].astype(float) for f in frames]

    def changed(a: int, b: int) -> float:  # share of the bar's pixels that differ by more than H.264's noise
        return float((np.abs(bar[a] - bar[b]).max(axis=2) > CHANGED_GREY).mean())

    assert changed(0, 4) < 0.001  # holding at the first stop: the same words
    assert changed(0, 10) > 0.01  # moving to the second: its caption
    assert changed(10, len(bar) - 1) > 0.01


def test_a_gif_at_1920x1080_opens_with_its_frames_and_their_duration(digits, tour):
    data = video.render(digits[0], tour, size="1920x1080", fps=30, fmt="gif")
    gif = Image.open(io.BytesIO(data))
    assert gif.size == (1920, 1080)
    recorded = len(video.frames_of(tour, video.gif_fps(30)))
    assert recorded == round(2.5 * 25) + 1
    durations = []
    for k in range(gif.n_frames):
        gif.seek(k)
        durations.append(gif.info["duration"])
    # Pillow stores a run of identical frames (a hold) once, for the run's time: the moves are frame by
    # frame at 40 ms (25 fps), and the whole GIF plays for exactly the recorded frames' time.
    assert sum(durations) == recorded * 40
    assert durations[0] == (round(0.5 * 25) + 1) * 40  # the first stop, held 0.5 s
    moves = np.abs(np.diff(video.frames_of(tour, 25), axis=0)).max(axis=1) > 0
    assert gif.n_frames == 1 + int(moves.sum())


def test_progress_is_reported_per_frame(digits, tour):
    seen = []
    video.render(digits[0], tour, fps=4, fmt="gif", progress=lambda done, total: seen.append((done, total)))
    n = len(video.frames_of(tour, 4))
    assert seen == [(k, n) for k in range(1, n + 1)]


@pytest.mark.parametrize(("stops", "kwargs", "message"), [
    ([], {}, "no stops"),
    ([{"z": [0.0, 1.0]}], {}, "list of 8 finite numbers"),
    ("not a list", {}, "JSON list of stops"),
    ([{"z": [0.0] * 8, "hold": -1}], {}, "hold"),
    ([{"z": [0.0] * 8}], {"size": (640, 480)}, "640x480 is not offered: choose one of 1280x720, 1920x1080"),
    ([{"z": [0.0] * 8}], {"fmt": "avi"}, "choose one of mp4, gif"),
    ([{"z": [0.0] * 8}], {"fps": 0}, "fps must be"),
    ([{"z": [0.0] * 8}], {"projection": "latent"}, "not offered for a 8-D model"),
    ([{"z": [0.0] * 8}, {"z": [1.0] * 8, "seconds": 60}], {"fmt": "gif", "size": "1920x1080"},
     "GIFs here go up to 29 s at this size; render an MP4"),
])
def test_bad_input_is_refused_with_what_to_change(digits, stops, kwargs, message):
    with pytest.raises(video.VideoError, match=message):
        video.render(digits[0], stops, **kwargs)


def test_a_missing_ffmpeg_says_what_to_install(digits, monkeypatch):
    from explorer.app import images

    monkeypatch.setattr(images, "mp4_writer_problem", lambda: "imageio-ffmpeg, its writer, is not installed")
    with pytest.raises(video.VideoError, match="pip install imageio-ffmpeg"):
        video.render(digits[0], [{"z": [0.0] * 8}], fmt="mp4")


def test_the_cli_writes_the_video_and_says_what_it_wrote(tmp_path, tour):
    tour_file = tmp_path / "tour.json"
    tour_file.write_text(json.dumps(tour))
    out = tmp_path / "talk.mp4"
    command = [sys.executable, "-m", "explorer", "render-tour", str(DIGITS), str(tour_file), "-o", str(out),
               "--fps", str(FPS)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    frames = len(video.frames_of(tour, FPS))
    assert str(out) in result.stdout and f"{frames} frames" in result.stdout and "1280x720" in result.stdout
    assert len(decode_mp4(out.read_bytes())[1]) == frames
    bad = subprocess.run([sys.executable, "-m", "explorer", "render-tour", str(DIGITS), str(tmp_path / "none.json")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert bad.returncode == 2 and "cannot read the tour" in bad.stderr


def test_the_video_core_never_imports_streamlit():
    code = "import sys, explorer.video, explorer.tours; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_a_long_caption_wraps_to_two_readable_lines_and_is_cut_only_past_them(digits, tour):
    checkpoint, emb = digits
    _, scene = scene_of(checkpoint, emb, tour)
    width = 900
    font, lines = scene.caption_lines("Short", width)
    assert lines == ["Short"] and font.size == video.CAPTION_FONT_PX
    long = "From the average T-shirt to the average trouser the sleeves vanish first and then the legs split apart"
    font, lines = scene.caption_lines(long, width)
    assert len(lines) == 2 and font.size >= 28 and all(font.getlength(line) <= width for line in lines)
    assert " ".join(lines).rstrip("…").split() == long.split()[:len(" ".join(lines).split())]
    font, lines = scene.caption_lines(long * 3, width)
    assert len(lines) == 2 and lines[1].endswith("…")
