"""Exports: valid files of the stated type, with names that say what they hold (pure helpers and AppTest)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PIL import Image

from explorer.app import exports, plots
from explorer.embedding import load_embedding
from tests.app_support import DIGITS, click_map, open_app


def download(at, media, label):  # noqa: F811
    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    return media.by_url(button.proto.url), media.name_by_url(button.proto.url)


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
    assert exports.endpoint_slug("my image", 0, 0, "My Cat.jpeg") == "mine-My-Cat"
    assert exports.endpoint_slug("random from prior", 0, 5, None) == "prior-seed5"


def test_the_map_figure_exports_as_png_with_kaleido_or_else_as_standalone_html():
    fig = plots.map_figure(np.random.default_rng(0).random((20, 2)), np.arange(20) % 3, ("a", "b", "c"), "pca",
                           np.array([0.5, 0.2]))
    data, ext, mime = exports.figure_file(fig)
    if exports.can_write_png():
        assert ext == "png" and Image.open(io.BytesIO(data)).format == "PNG"
    else:
        assert ext == "html" and mime == "text/html"
        text = data.decode()
        assert text.lstrip().lower().startswith(("<!doctype html", "<html")) and "Plotly.newPlot" in text
        assert '<script src="http' not in text  # plotly.js is inlined: the file opens offline


def test_the_app_exports_the_map_as_csv_named_by_model_projection_and_count(media):  # noqa: F811
    at = click_map(open_app(DIGITS), 42)
    data, name = download(at, media, "Download CSV")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == len(load_embedding(DIGITS / "embedding.npz").mu) and name == f"digits-pca-{len(rows)}-points.csv"
    assert [r["id"] for r in rows if r["picked"] == "1"] == ["42"]
    assert [r["id"] for r in rows if r["selected"] == "1"] == ["42"]
    label = "Download the map (PNG)" if exports.can_write_png() else "Download the map (HTML)"
    assert [b for b in at.get("download_button") if b.proto.label == label]


@pytest.mark.parametrize("kind, end", [("data point", "test1"), ("random from prior", "prior-seed2")])
def test_interpolation_downloads_name_model_endpoints_and_steps(media, kind, end):  # noqa: F811
    at = open_app(DIGITS, "Interpolate")
    at.segmented_control(key="w:b_kind").set_value(kind).run()
    gif, name = download(at, media, "Download GIF")
    assert name == f"digits-interpolation-test0-to-{end}-linear-10-steps.gif"
    assert Image.open(io.BytesIO(gif)).format == "GIF"
    png, png_name = download(at, media, "Download PNG strip")
    assert png_name == name.replace(".gif", ".png") and Image.open(io.BytesIO(png)).format == "PNG"
    if not exports.can_write_mp4():
        assert any("MP4 is not offered" in c.value for c in at.caption)


def test_sample_grid_and_decoded_plane_downloads_say_what_they_hold(media):  # noqa: F811
    at = open_app(DIGITS, "Samples")
    png, name = download(at, media, "Download PNG")
    assert name == "digits-samples-seed0-T1.0-8x8.png" and Image.open(io.BytesIO(png)).format == "PNG"
    at = open_app(DIGITS, "Decoded plane")
    png, name = download(at, media, "Download the mosaic (PNG)")
    assert name == "digits-decoded-plane-pca-15x15.png" and Image.open(io.BytesIO(png)).format == "PNG"
