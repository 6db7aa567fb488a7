"""The map of the whole dataset: the training split's cached codes beside the test split's, in one id space
(test ids first), and what the inspector, the sliders and the attribute groups make of a training point."""

from __future__ import annotations

import numpy as np
import pytest

from explorer import checkpoint as ckpt
from streamlit.testing.v1 import AppTest

from tests.app_support import DIGITS, click_map, main_map, open_app, select_on_map

TEST = len(ckpt.load_embedding(DIGITS).mu)
CODES = ckpt.load_train_codes(DIGITS, TEST)

pytestmark = pytest.mark.skipif(CODES is None, reason="trained/digits has no embedding-train.npz")


def open_split(split: str, **session) -> AppTest:
    """The app on digits, then the map switched to ``split`` (a new model's first run resets it to the test split)."""
    at = open_app(DIGITS)
    at.session_state["map_split"] = split
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("split, first, count", [("train", TEST, len(CODES.mu)), ("all", 0, TEST + len(CODES.mu))])
def test_the_map_shows_the_chosen_split_on_the_test_splits_pca_axes(split, first, count):
    at = open_split(split)
    shown = main_map(at)
    assert shown.ids == list(range(first, first + count))
    test = ckpt.load_embedding(DIGITS)
    z = np.concatenate([test.mu, CODES.mu])[shown.ids]
    xy = (z - test.pca_mean) @ test.pca_components.T  # where the test split's PCA puts every point
    spread = np.ptp(xy, axis=0).max()
    ndc = (xy - (xy.min(axis=0) + xy.max(axis=0)) / 2) / (spread / 2) * 0.9
    np.testing.assert_allclose(shown.xy, ndc, atol=1e-4)
    assert any(f"of {count:,} " in c.value for c in at.caption)


def test_the_whole_datasets_tsne_is_the_cached_one():
    at = open_split("all", projection="tsne")
    shown = main_map(at)
    assert len(shown.ids) == len(CODES.tsne_all)
    xy = CODES.tsne_all
    ndc = (xy - (xy.min(axis=0) + xy.max(axis=0)) / 2) / (np.ptp(xy, axis=0).max() / 2) * 0.9
    np.testing.assert_allclose(shown.xy, ndc, atol=1e-4)


def test_a_training_point_is_inspected_with_its_own_image_and_code():
    from explorer.data import load_dataset

    at = open_split("all")
    j = 40
    click_map(at, TEST + j)
    assert not at.exception, [e.value for e in at.exception]
    heading = [m.value for m in at.markdown if m.value.startswith("### ")][0]
    label = int(CODES.labels[j])
    assert heading.startswith(f"### training #{j} ") and heading.endswith(str(label))
    train = load_dataset("digits", download=False).train
    originals = [im for im in at.get("image") if "original" in im.captions]
    assert originals  # the training image itself, not a decoded stand-in
    use_a = [b for b in at.button if b.label == "Use as A"][0]
    assert use_a.disabled  # interpolation ends are test images
    assert at.number_input[0].value != TEST + j  # the test-image box keeps a test index
    edit = [b for b in at.button if b.label == "Edit with sliders"][0]
    edit.click().run()
    assert not at.exception
    assert at.session_state["slider_from"] == f"training image #{j}"  # the sliders start at its code
    assert train.labels[j] == label


def test_a_lasso_over_both_splits_gives_the_attributes_its_test_points_only():
    at = open_split("all")
    ids = [3, 7, TEST + 1, TEST + 2, 11]
    select_on_map(at, ids)
    at.session_state["view"] = "Attributes"
    at.run()
    button = [b for b in at.button if b.label.startswith("Use the map's selection")][0]
    button.click().run()
    assert not at.exception
    assert at.session_state["attr_a_ids"] == [3, 7, 11]


def test_back_on_the_test_split_a_picked_training_point_is_let_go():
    at = open_split("all")
    click_map(at, TEST + 5)
    at.session_state["map_split"] = "test"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["pick"] is None


def test_a_damaged_training_codes_file_leaves_the_test_map_and_says_how_to_mend_it(tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "digits-copy"
    shutil.copytree(DIGITS, copy)
    (copy / ckpt.TRAIN_CODES_FILE).write_bytes(b"not an npz")
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", str(tmp_path))
    at = open_app(copy)
    [warning] = [w.value for w in at.sidebar.warning]
    assert "training split is not offered" in warning and f"embed-train {copy}" in warning
    assert main_map(at).ids == list(range(TEST))  # the test map, whole


def test_a_link_opens_the_training_map_on_its_training_pick_and_keeps_both_in_the_url():
    from tests.test_share import fresh

    j = 40
    at = fresh(model="digits", split="train", pick=str(TEST + j))
    assert at.session_state["map_split"] == "train" and at.session_state["pick"] == TEST + j
    shown = main_map(at)
    assert shown.ids[0] == TEST and len(shown.ids) == len(CODES.mu)  # the training map, not the test one
    assert any(m.value.startswith(f"### training #{j} ") for m in at.markdown)  # inspected as the link says
    at.session_state["map_split"] = "test"
    at.run()
    assert "split" not in at.query_params  # the test map, the default, stays out of the URL
    at.session_state["map_split"] = "all"
    at.run()
    click_map(at, TEST + 7)
    assert at.query_params["split"] == "all" and at.query_params["pick"] == str(TEST + 7)  # what a link will carry


def test_a_link_to_a_split_or_pick_the_model_lacks_is_ignored_and_named():
    from explorer.app import share
    from explorer.app.state import VIEWS

    values, ignored = share.from_params({"split": "train", "pick": str(TEST + 3)}, 2, TEST, ("pca",), VIEWS)
    assert "split" not in values and "pick" not in values  # no training codes: the test map, no training pick
    assert any("embed-train" in i for i in ignored) and any(f"pick={TEST + 3}" in i for i in ignored)
    values, ignored = share.from_params({"split": "train", "pick": "3"}, 2, TEST, ("pca",), VIEWS, n_train=100)
    assert values == {"split": "train"} and ignored == ["pick=3 (this map has 100 points)"]  # a test id
    values, ignored = share.from_params({"split": "all", "pick": str(TEST + 99)}, 2, TEST, ("pca",), VIEWS, 100)
    assert values == {"split": "all", "pick": TEST + 99} and not ignored
    assert share.from_params({"split": "everything"}, 2, TEST, ("pca",), VIEWS, 100)[1] == ["split=everything"]


def test_a_cached_umap_of_the_whole_dataset_is_offered_on_its_maps(tmp_path, monkeypatch):
    """embed-train --umap caches it (umap-learn is optional): the app offers it without umap-learn."""
    import dataclasses
    import shutil

    model = tmp_path / "digits-with-umap"
    shutil.copytree(DIGITS, model)
    umap = np.random.default_rng(0).normal(size=(TEST + len(CODES.mu), 2)).astype(np.float32)
    ckpt.save_train_codes(model, dataclasses.replace(CODES, umap_all=umap))
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", str(tmp_path))
    at = open_app(model)
    at.session_state["map_split"] = "all"
    at.run()
    assert "UMAP (not metric)" in at.radio(key="projection").options
    at.radio(key="projection").set_value("umap").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = main_map(at)
    ndc = (umap - (umap.min(axis=0) + umap.max(axis=0)) / 2) / (np.ptp(umap, axis=0).max() / 2) * 0.9
    np.testing.assert_allclose(shown.xy, ndc, atol=1e-4)  # the cached coordinates, all 1,797 points
    ckpt.save_train_codes(model, dataclasses.replace(CODES, umap_all=None))  # without it, not offered there
    at = open_app(model)
    at.session_state["map_split"] = "all"
    at.run()
    assert "UMAP (not metric)" not in at.radio(key="projection").options and at.session_state["projection"] == "pca"
