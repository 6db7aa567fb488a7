"""Exports: valid files of the stated type, with names that say what they hold (pure helpers and AppTest)."""

from __future__ import annotations

import csv
import threading
import time
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from explorer.app import exports, images, plots
from explorer.app.state import EndKind
from explorer.checkpoint import load_embedding
from tests.app_support import DIGITS, click_map, open_app


def download(at, media, label):  # noqa: F811
    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    data, name, _ = media.download(button)
    return data, name


def test_the_map_csv_has_one_row_per_point_with_its_selection_and_pick():
    data = exports.map_csv(np.array([4, 9, 12]), np.array([[0.5, -1.0], [2.0, 3.0], [1e-7, 7.0]]),
                           np.array([1, 0, -1]), ("zero", "one"), selected=[9, 12], picked=9)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [r["id"] for r in rows] == ["4", "9", "12"] and [r["class"] for r in rows] == ["one", "zero", "unlabelled"]
    assert [r["selected"] for r in rows] == ["0", "1", "1"] and [r["picked"] for r in rows] == ["0", "1", "0"]
    assert float(rows[0]["y"]) == -1.0


def test_file_names_are_safe_and_say_what_they_hold():
    assert exports.file_name("fashion-mnist-d16", "tsne", "1000-points", ext="csv") == \
        "fashion-mnist-d16-tsne-1000-points.csv"
    assert exports.file_name("my model", "a b", ext="png") == "my-model-a-b.png"
    assert "/" not in exports.file_name("../../etc/passwd", ext="csv")
    assert exports.endpoint_slug("mine", 0, 0, "My Cat.jpeg") == "mine-My-Cat"
    assert exports.endpoint_slug("prior", 0, 5, None) == "prior-seed5"


def test_the_map_figure_exports_as_offline_html_and_as_png_where_a_browser_renders_it():
    fig = plots.map_figure(np.random.default_rng(0).random((20, 2)), np.arange(20) % 3, ("a", "b", "c"),
                           ("PCA component 1 (50% of variance)", "PCA component 2 (20% of variance)"))
    text = exports.figure_html(fig, "a test map").decode()
    assert text.lstrip().lower().startswith(("<!doctype html", "<html")) and "Plotly.newPlot" in text
    assert '<script src="http' not in text  # plotly.js is inlined: the file opens offline
    assert "a test map" in text
    if exports.png_writer_missing() is not None:
        pytest.skip(exports.png_writer_missing())
    png = Image.open(io.BytesIO(exports.figure_png(fig, "a test map")))
    assert png.format == "PNG" and png.size == exports.MAP_PNG_SIZE
    assert len(np.unique(np.asarray(png.convert("RGB")).reshape(-1, 3), axis=0)) > 10  # drawn, not a blank page


def test_without_kaleido_the_png_button_is_not_offered_and_the_app_says_why(monkeypatch):
    monkeypatch.setattr(exports, "png_writer_missing", lambda: "kaleido is not installed (pip install kaleido)")
    at = open_app(DIGITS)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Map (PNG)" not in labels and "Map (HTML)" in labels
    assert any("No PNG button: kaleido is not installed" in c.value for c in at.caption)


def test_the_app_exports_the_map_as_csv_named_by_model_projection_and_count(media):  # noqa: F811
    at = click_map(open_app(DIGITS), 42)
    data, name = download(at, media, "Points (CSV)")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == len(load_embedding(DIGITS).mu) and name == f"digits-pca-{len(rows)}-points.csv"
    assert [r["id"] for r in rows if r["picked"] == "1"] == ["42"]
    assert [r["id"] for r in rows if r["selected"] == "1"] == ["42"]
    html, html_name = download(at, media, "Map (HTML)")
    assert html_name == f"digits-pca-{len(rows)}-points-map.html" and b"Plotly.newPlot" in html
    if exports.png_writer_missing() is None:  # a real render: kaleido drives the machine's Chromium
        make_png(at)
        png, png_name = download(at, media, "Map (PNG)")
        assert png_name == f"digits-pca-{len(rows)}-points-map.png" and Image.open(io.BytesIO(png)).format == "PNG"
        assert not at.error


def make_png(at):
    [button] = [b for b in at.button if b.label == "Make the PNG"]
    button.click().run()


def test_a_png_render_that_fails_says_so_and_offers_the_other_ways(monkeypatch):
    def broken(fig, title):
        raise RuntimeError("the browser exited with code 1")

    monkeypatch.setattr(exports, "png_writer_missing", lambda: None)
    monkeypatch.setattr(exports, "figure_png", broken)
    at = open_app(DIGITS)
    make_png(at)
    assert not at.exception
    [error] = at.error
    assert "could not be rendered as PNG" in error.value and "the browser exited" in error.value
    assert "PNG button on the map" in error.value and "Map (PNG)" not in [b.proto.label for b in at.get("download_button")]


def test_a_png_render_that_fails_once_is_tried_again(monkeypatch):
    calls = []

    def flaky(self, **kwargs):  # kaleido's page, evaluated before its script loaded on a busy machine
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("ReferenceError: kaleido_scopes is not defined")
        return b"\x89PNG rendered"

    monkeypatch.setattr(go.Figure, "to_image", flaky)
    assert exports.figure_png(go.Figure(), "digits") == b"\x89PNG rendered" and len(calls) == 2
    calls.clear()

    def broken(self, **kwargs):
        calls.append(kwargs)
        raise RuntimeError("the browser exited with code 1")

    monkeypatch.setattr(go.Figure, "to_image", broken)
    with pytest.raises(RuntimeError, match="exited"):  # a browser that never starts: said, after two tries
        exports.figure_png(go.Figure(), "digits")
    assert len(calls) == exports.PNG_TRIES


def test_a_rendered_png_is_offered_until_the_map_changes(monkeypatch):
    renders = []
    monkeypatch.setattr(exports, "png_writer_missing", lambda: None)
    monkeypatch.setattr(exports, "figure_png", lambda fig, title: renders.append(title) or b"\x89PNG fake")
    at = open_app(DIGITS)
    make_png(at)
    assert "Map (PNG)" in [b.proto.label for b in at.get("download_button")] and len(renders) == 1
    at.radio(key="projection").set_value("tsne").run()  # another map: the PNG of the PCA one is not offered
    assert "Map (PNG)" not in [b.proto.label for b in at.get("download_button")]
    assert any(b.label == "Make the PNG" for b in at.button)


@pytest.mark.parametrize("kind, end", [(EndKind.TEST, "test1"), (EndKind.PRIOR, "prior-seed2")])
def test_interpolation_downloads_name_model_endpoints_and_steps(media, kind, end):  # noqa: F811
    at = open_app(DIGITS, "Interpolate")
    at.segmented_control(key="w:b_kind").set_value(kind).run()
    gif, name = download(at, media, "GIF")
    assert name == f"digits-interpolation-test0-to-{end}-linear-10-steps.gif"
    assert Image.open(io.BytesIO(gif)).format == "GIF"
    png, png_name = download(at, media, "Strip")
    assert png_name == name.replace(".gif", ".png") and Image.open(io.BytesIO(png)).format == "PNG"
    if images.mp4_writer_problem() is not None:
        assert any("MP4 is not offered" in c.value for c in at.caption)
        return
    mp4, mp4_name = download(at, media, "MP4")
    assert mp4_name == name.replace(".gif", ".mp4") and mp4[4:8] == b"ftyp"  # an ISO media file: MP4


@pytest.mark.parametrize("exe", ["/bin/false", "/no/such/ffmpeg"])
def test_a_broken_video_encoder_is_named_instead_of_an_mp4_button_that_gives_nothing(monkeypatch, exe):
    """The MP4 is encoded on click, where no error can be shown: the app must find out first and say so."""
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", exe)  # imageio-ffmpeg's own override of its binary
    images.mp4_writer_problem.cache_clear()
    try:
        at = open_app(DIGITS, "Interpolate")
        labels = [b.proto.label for b in at.get("download_button")]
        assert "GIF" in labels and "MP4" not in labels
        caption = next(c.value for c in at.caption if "MP4 is not offered" in c.value)
        assert "ffmpeg" in caption and "GIF" in caption
    finally:
        images.mp4_writer_problem.cache_clear()  # the next test asks the real encoder again


def test_sample_grid_and_decoded_plane_downloads_say_what_they_hold(media):  # noqa: F811
    at = open_app(DIGITS, "Samples")
    png, name = download(at, media, "Download PNG")
    assert name == "digits-samples-seed0-T1.0-8x8.png" and Image.open(io.BytesIO(png)).format == "PNG"
    at = open_app(DIGITS, "Decoded plane")
    png, name = download(at, media, "Download the mosaic (PNG)")
    assert name == "digits-decoded-plane-pca-15x15.png" and Image.open(io.BytesIO(png)).format == "PNG"


def test_png_renders_queue_one_browser_at_a_time(monkeypatch):
    """Each PNG starts a headless browser: a room clicking at once must not start one per person."""
    running, most = 0, 0
    guard = threading.Lock()

    def fake_to_image(self, **kwargs):
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with guard:
            running -= 1
        return b"\x89PNG"

    monkeypatch.setattr(go.Figure, "to_image", fake_to_image)
    fig = go.Figure()
    threads = [threading.Thread(target=exports.figure_png, args=(fig, "t")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1
