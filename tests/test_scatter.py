"""The WebGL map's data (explorer/app/scatter.py): the binary blob the page reads, the square it is drawn in,
and the vendored libraries, checked against what was published."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from explorer import projection
from explorer.app import images, scatter
from explorer.checkpoint import load_embedding
from tests.app_support import DIGITS

ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")


def digits_blob(codes: bool = False) -> tuple[bytes, np.ndarray, np.ndarray]:
    emb = load_embedding(DIGITS)
    ids = np.arange(len(emb.mu))
    blob = scatter.points_blob("digits-pca", emb.pca, ids, emb.labels, tuple(str(d) for d in range(10)),
                               ("PC 1", "PC 2"), "digits-pca-map", codes=emb.mu if codes else None)
    return blob, emb.pca, emb.labels


def test_the_blob_holds_every_point_its_id_and_its_class():
    blob, xy, labels = digits_blob()
    header, ndc, ids, category, codes = scatter.read_points_blob(blob)
    assert codes is None and header["n"] == len(xy) and header["axis_titles"] == ["PC 1", "PC 2"]
    assert ids.tolist() == list(range(len(xy)))
    names = [c["name"] for c in header["classes"]]
    assert [names[k] for k in category] == [str(int(v)) for v in labels]
    np.testing.assert_allclose(ndc, scatter.normalise(xy), atol=0)
    assert len(blob) < 20 * len(xy) + 4096  # 14 bytes a point and a small header: no JSON per point


def test_the_map_square_keeps_distances_and_fits_every_point():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 2)) * [30.0, 2.0] + [100.0, -5.0]  # far from square and from the origin
    ndc = scatter.normalise(xy)
    assert np.abs(ndc).max() == pytest.approx(scatter.FILL, rel=1e-5)
    d_before = np.linalg.norm(xy[1:] - xy[:-1], axis=1)
    d_after = np.linalg.norm(ndc[1:] - ndc[:-1], axis=1)
    ratio = d_after / d_before
    assert ratio.std() / ratio.mean() < 1e-5  # one scale for both axes: the PCA map stays metric


def test_unlabelled_points_get_their_own_class_and_ids_must_be_sorted():
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    blob = scatter.points_blob("m", xy, np.array([3, 5, 9]), np.array([-1, 0, 0]), ("shoe",), ("a", "b"), "m")
    header, _, _, category, _ = scatter.read_points_blob(blob)
    assert [c["name"] for c in header["classes"]] == ["unlabelled", "shoe"] and category.tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="sorted"):
        scatter.points_blob("m", xy, np.array([5, 3, 9]), np.zeros(3, int), ("shoe",), ("a", "b"), "m")


@pytest.mark.skipif(NODE is None, reason="needs node to run the page's reader")
def test_the_page_reads_the_blob_as_python_wrote_it(tmp_path):
    blob, xy, _ = digits_blob(codes=True)
    assert len(xy) % 2 == 1  # an odd count: the codes start after the padded classes, where the page looks
    header, ndc, ids, category, codes = scatter.read_points_blob(blob)
    np.testing.assert_array_equal(codes, load_embedding(DIGITS).mu)
    (tmp_path / "blob").write_bytes(blob)
    subprocess.run([NODE, str(ROOT / "tests" / "js" / "read_map.mjs"), str(scatter.JS_DIR / "map_core.js"),
                    str(tmp_path / "blob"), str(tmp_path / "out.json")], check=True, capture_output=True, timeout=60)
    seen = json.loads((tmp_path / "out.json").read_text())
    assert seen["header"] == header
    np.testing.assert_array_equal(np.array(seen["x"], np.float32), ndc[:, 0])
    np.testing.assert_array_equal(np.array(seen["y"], np.float32), ndc[:, 1])
    assert seen["ids"] == ids.tolist() and seen["labels"] == category.tolist()
    np.testing.assert_array_equal(np.array(seen["codes"], np.float32), codes.ravel())


def test_the_page_can_map_a_spot_back_to_latent_space_as_the_projection_does():
    """The atlas's plane: the PCA inverse from the blob's frame and axes, or the codes for a local average."""
    emb = load_embedding(DIGITS)
    pca = projection.make("pca", emb)
    ids = np.arange(len(emb.mu))
    plane, codes = scatter.plane_of(pca, ids)
    assert plane["exact"] and codes is None
    blob = scatter.points_blob("m", pca.coords, ids, emb.labels, (), ("a", "b"), "m", plane)
    header, ndc, *_ = scatter.read_points_blob(blob)
    centre, scale = np.array(header["frame"]["centre"]), header["frame"]["scale"]
    xy = ndc.astype(np.float64) * scale + centre  # what the page computes for a spot under a point
    z = np.array(header["plane"]["mean"]) + xy @ np.array(header["plane"]["components"])
    np.testing.assert_allclose(z, pca.inverse(pca.coords), atol=1e-4)
    tsne = projection.make("tsne", emb)
    plane, codes = scatter.plane_of(tsne, tsne.shown)
    assert plane == {"kind": "local", "exact": False, "k": projection.PLACEMENT_NEIGHBOURS}
    np.testing.assert_array_equal(codes, emb.mu[tsne.shown])


def test_the_vendored_files_are_the_published_ones_with_their_licences():
    assert set(scatter.VENDORED) == {"regl-scatterplot.min.js", "regl.min.js", "pub-sub-es.js"}
    for name, info in scatter.VENDORED.items():
        data = (scatter.VENDOR_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"], f"{name} differs from {info['tarball']}"
        assert "MIT License" in (scatter.VENDOR_DIR / info["licence"]).read_text()
        assert info["tarball"].endswith(f"{info['package']}-{info['version']}.tgz")
    script = scatter.vendor_prelude()
    assert "globalThis.createScatterplot" in script
    assert "\nexport " not in script  # an export statement inside the inline module's function would not parse


def test_another_pub_sub_version_fails_loudly_instead_of_loading_half(tmp_path, monkeypatch):
    copy = tmp_path / "vendor"
    shutil.copytree(scatter.VENDOR_DIR, copy)
    text = (copy / "pub-sub-es.js").read_text()
    (copy / "pub-sub-es.js").write_text(text.replace("export default createPubSub;", "export { createPubSub as default };"))
    monkeypatch.setattr(scatter, "VENDOR_DIR", copy)
    with pytest.raises(RuntimeError, match="pub-sub-es"):
        scatter.vendor_prelude()


def test_the_image_sheet_holds_each_points_image_at_its_place_and_shrinks_large_ones():
    emb = load_embedding(DIGITS)
    rng = np.random.default_rng(0)
    digits = rng.random((len(emb.mu), 1, 8, 8)).astype(np.float32)  # 359: an unfilled last row of the sheet
    header, positions, tiles = scatter.read_images_blob(scatter.images_blob("d", digits))
    assert header["n"] == len(digits) and header["cols"] == scatter.SHEET_COLUMNS
    np.testing.assert_array_equal(positions, np.arange(len(digits)))
    np.testing.assert_array_equal(tiles, images.to_uint8(digits))  # lossless, in the map's order
    photos = rng.random((3, 3, 64, 48)).astype(np.float32)
    header, _, tiles = scatter.read_images_blob(scatter.images_blob("p", photos, np.array([7, 2, 9])))
    assert tiles.shape == (3, scatter.THUMB_SIDE, 24, 3)  # the longer side shrunk to THUMB_SIDE, aspect kept
    assert np.abs(tiles.mean(axis=(1, 2)) - 255 * photos.mean(axis=(2, 3))).max() < 3  # the same pictures


def test_a_tile_holds_the_images_of_the_points_in_its_cells_but_those_the_page_has():
    emb = load_embedding(DIGITS)
    xy = emb.mu[:, :2]
    cells = scatter.tile_cells(xy)
    ndc = scatter.normalise(xy).astype(np.float64)  # the page's coordinates, as map_layers.js bins them
    g = scatter.TILE_GRID
    expected = np.floor((ndc[:, 1] + 1) / 2 * g) * g + np.floor((ndc[:, 0] + 1) / 2 * g)
    np.testing.assert_array_equal(cells, expected)
    busy = np.bincount(cells).argsort()[-2:]  # the two fullest cells
    inside = np.flatnonzero(np.isin(cells, busy))
    skip = inside[::3]  # as if the sheet sent with the map held every third of them
    pictures = np.random.default_rng(1).random((len(emb.mu), 1, 8, 8)).astype(np.float32)
    asked = []

    def images_at(positions):
        asked.append(positions)
        return pictures[positions]

    header, positions, tiles = scatter.read_images_blob(
        scatter.tile_blob("t", tuple(int(c) for c in busy), xy, skip, images_at))
    np.testing.assert_array_equal(positions, np.setdiff1d(inside, skip))
    assert sorted(header["cells"]) == sorted(int(c) for c in busy) and header["n"] == len(positions) > 0
    np.testing.assert_array_equal(tiles, images.to_uint8(pictures[positions]))
    # An empty corner, or no images on this machine: an empty part that still names its cells.
    header, positions, _ = scatter.read_images_blob(scatter.tile_blob("t", (0,), xy, skip, lambda p: None))
    assert header["n"] == 0 and header["cells"] == [0] and len(positions) == 0


def test_a_score_colours_the_points_between_its_1st_and_99th_percentiles():
    rng = np.random.default_rng(0)
    values = rng.normal(100, 10, 1000)
    values[3] = 1e6  # one outlier does not wash out the rest
    header, scaled, raw = scatter.read_values_blob(scatter.values_blob("v", "−ELBO", values))
    assert header["label"] == "−ELBO" and header["n"] == 1000
    assert header["lo"] == pytest.approx(np.percentile(values, 1)) and header["hi"] == pytest.approx(np.percentile(values, 99))
    assert scaled[3] == 1 and scaled.min() == 0 and 0.3 < np.median(scaled) < 0.7
    np.testing.assert_allclose(raw, values.astype(np.float32))  # the hover card's numbers
