"""The app under Streamlit's AppTest: every view on each shipped checkpoint and on a tiny 28x28 model.

AppTest cannot click a plotly chart: a click is injected as the selection the chart would send.
Images and downloads are read back from Streamlit's media storage and decoded with Pillow.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.app.state import EndKind, MapRenderer
from explorer.checkpoint import load, load_embedding
from explorer.embedding import umap_available
from explorer.latent import slider_ranges
from tests.app_support import (
    APP,
    DIGITS,
    click_map,
    main_map,
    open_app,
    pixels,
    select_on_map,
    train_tiny_fashion_like,
    without_dataset,
)

TRAINED = DIGITS.parent
SHIPPED = ("digits", "fashion-mnist-d16", "fashion-mnist-d2")  # every checkpoint in trained/
VIEWS = ("Map", "Sliders", "Interpolate", "My image", "Attributes", "Samples", "Decoded plane", "Explain", "Model card")


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    tiny = train_tiny_fashion_like(root)
    without_dataset(tiny, root)
    return root


@pytest.fixture
def models(models_root, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", str(models_root))
    shipped = {name: TRAINED / name for name in SHIPPED}
    return {**shipped, "tiny": models_root / "tiny-fashion", "no-data": models_root / "tiny-fashion-no-data"}



def server_sliders(at: AppTest) -> AppTest:
    """Switch the Sliders tab from the live pad (JS, not run by AppTest) to Streamlit's sliders."""
    at.segmented_control(key="w:slider_engine").set_value("server").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def image_of(at, media, caption: str) -> np.ndarray:
    [element] = [im for im in at.get("image") if caption in im.captions]
    return pixels(media.by_url(element.value[0]))


def download(at, media, label: str) -> bytes:
    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    return media.by_url(button.proto.url)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("model", [*SHIPPED, "tiny", "no-data"])
def test_every_view_renders_without_errors(models, model, view):
    at = open_app(models[model], view)
    assert not at.error, [e.value for e in at.error]
    explain = any(e.proto.component_name == "latent_explorer.explain" for e in at.main.get("bidi_component"))
    assert at.get("image") or at.get("plotly_chart") or main_map(at) or at.get("metric") or at.get("file_uploader") \
        or (view == "Explain" and explain)


def test_the_app_opens_on_the_digits_model_with_its_class_names():
    at = open_app(DIGITS)
    assert at.selectbox(key="model_choice").format_func(at.selectbox(key="model_choice").value) == "digits"
    assert "digits" in at.sidebar.caption[0].value
    shown = main_map(at)
    assert shown.classes == [str(d) for d in range(10)]
    assert shown.axis_titles[0].startswith("PCA component 1 (")


def test_the_plotly_renderer_draws_the_same_map():
    at = open_app(DIGITS, map_renderer=MapRenderer.PLOTLY)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert main_map(at) is None
    assert [trace["name"] for trace in figure["data"]] == [str(d) for d in range(10)]
    assert figure["layout"]["xaxis"]["title"]["text"].startswith("PCA component 1 (")
    assert sorted(map_points(at)) == main_map(open_app(DIGITS)).ids
    at = click_map(at, 7)
    assert "#7" in at.markdown[0].value


@pytest.mark.parametrize("name", ["fashion-mnist-d16", "fashion-mnist-d2"])
def test_a_model_query_parameter_opens_that_model(name):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["model"] = name
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="model_choice").value == str((TRAINED / name).resolve())
    assert "fashion-mnist" in at.sidebar.caption[0].value and len(main_map(at).ids) == 10_000


def test_an_unknown_model_query_parameter_opens_the_default_with_a_warning():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["model"] = "no-such-model"
    at.run()
    assert any("no-such-model" in w.value for w in at.sidebar.warning)
    assert at.selectbox(key="model_choice").value == str(DIGITS.resolve())


def test_the_tsne_map_says_it_is_not_metric_and_the_legend_has_fashion_names(models):
    at = open_app(models["tiny"], projection="tsne")  # no cached t-SNE: computed once, then cached
    shown = main_map(at)
    assert "not metric" in shown.axis_titles[0]
    assert "Ankle boot" in shown.classes


@pytest.mark.skipif(not umap_available(), reason="needs umap-learn (in requirements-dev.txt)")
def test_the_umap_map_is_computed_once_marked_not_metric_and_places_new_points_approximately(models, monkeypatch):
    from explorer import projection

    calls = []
    real = projection.fit_umap
    monkeypatch.setattr(projection, "fit_umap", lambda mu, **kw: calls.append(len(mu)) or real(mu, **kw))
    for _ in range(2):  # the second session finds the map in the cache
        at = open_app(DIGITS, projection="umap")
        assert not at.error and not at.exception
    assert calls == [len(load_embedding(DIGITS).mu)]
    assert main_map(at).axis_titles[0] == "UMAP 1 (not metric)"
    assert any("UMAP keeps neighbours together" in c.value for c in at.caption)
    assert "UMAP has no inverse" in at.toggle(key="w:map_probe").proto.help  # no large probe view on it
    at.session_state["view"] = "Interpolate"
    at.run()
    assert any("Approximate: UMAP cannot place new points" in c.value for c in at.caption)


def test_a_click_on_the_map_reaches_the_inspector(models, media):
    labels = load_embedding(DIGITS).labels
    at = click_map(open_app(DIGITS), 42)
    assert "#42" in at.markdown[0].value and f"{labels[42]}" in at.markdown[0].value
    original, recon = image_of(at, media, "original"), image_of(at, media, "reconstruction (decoded mu)")
    assert original.shape == recon.shape and original.shape[0] >= 200  # upscaled for a projector
    assert not np.array_equal(original, recon)
    neighbours = [c for im in at.get("image") for c in im.captions if c.startswith("#")]
    assert len(neighbours) == 8 and "#42 " not in " ".join(neighbours)  # the point is not its own neighbour


def test_edit_with_sliders_starts_the_sliders_at_the_points_mu(models):
    at = click_map(open_app(DIGITS), 7)
    at.button[[b.label for b in at.button].index("Edit with sliders")].click().run()
    assert at.session_state["view"] == "Sliders"
    server_sliders(at)
    mu = load_embedding(DIGITS).mu
    ranges = slider_ranges(mu)
    for slider in at.slider:
        dim = int(slider.label.split(" ")[0][1:]) - 1
        assert slider.value == pytest.approx(np.clip(mu[7, dim], *ranges[dim]), abs=1e-5)


def test_the_sliders_caption_says_what_the_sliders_hold(models):
    """A picked point does not move the sliders by itself: the caption says the origin until asked."""
    at = click_map(open_app(DIGITS), 5)
    at.session_state["view"] = "Sliders"
    server_sliders(at.run())
    assert all(slider.value == 0.0 for slider in at.slider)
    captions = " ".join(c.value for c in at.caption)
    assert "Started from the origin, z = 0." in captions and "Started from test image #5" not in captions
    at.button(key="sliders_from_pick").click().run()
    mu, ranges = load_embedding(DIGITS).mu, slider_ranges(load_embedding(DIGITS).mu)
    for slider in at.slider:
        dim = int(slider.label.split(" ")[0][1:]) - 1
        assert slider.value == pytest.approx(np.clip(mu[5, dim], *ranges[dim]), abs=1e-5)
    assert "Started from test image #5." in " ".join(c.value for c in at.caption)


def test_sliders_are_ordered_by_kl_and_collapsed_ones_hidden_until_asked(models):
    at = server_sliders(open_app(DIGITS, "Sliders"))
    kl = load(DIGITS).metrics.test.kl_per_dim
    shown = [int(s.label.split(" ")[0][1:]) - 1 for s in at.slider]
    assert shown == sorted((i for i in range(8) if kl[i] > 0.01), key=lambda i: -kl[i])
    at.toggle[0].set_value(True).run()
    assert len(at.slider) == 8 and sum("collapsed" in s.label for s in at.slider) == 3


def test_moving_a_slider_changes_the_decoded_image(models, media):
    at = server_sliders(open_app(DIGITS, "Sliders"))
    before = image_of(at, media, "decoded from the sliders' z")
    top = at.slider[0]
    top.set_value(top.max).run()
    assert not at.exception
    after = image_of(at, media, "decoded from the sliders' z")
    assert before.shape == after.shape and np.abs(after.astype(int) - before.astype(int)).max() > 10
    at.button[[b.label for b in at.button].index("Reset")].click().run()
    assert np.array_equal(image_of(at, media, "decoded from the sliders' z"), before)


@pytest.mark.parametrize("steps", [2, 7])
def test_interpolation_yields_the_requested_frames_and_valid_downloads(models, media, steps):
    at = open_app(DIGITS, "Interpolate")
    at.slider(key="w:interp_steps").set_value(steps).run()
    assert any(f"{steps} frames" in m.value for m in at.markdown)
    gif = Image.open(io.BytesIO(download(at, media, "GIF")))
    assert gif.format == "GIF" and gif.n_frames == max(steps, 2 * steps - 2)  # played A -> B -> A
    strip = Image.open(io.BytesIO(download(at, media, "Strip")))
    assert strip.format == "PNG"
    frame = gif.size[0] * 0 + strip.size[1]  # square frames: as wide as the strip is high
    assert abs(strip.size[0] - steps * frame) <= 2 * steps  # steps frames side by side, thin gaps


def test_interpolating_from_a_random_prior_draw_differs_from_a_data_point(models, media):
    at = open_app(DIGITS, "Interpolate")
    before = pixels(download(at, media, "Strip"))
    at.segmented_control(key="w:a_kind").set_value(EndKind.PRIOR).run()
    after = pixels(download(at, media, "Strip"))
    assert before.shape == after.shape and not np.array_equal(before, after)


def test_samples_download_is_a_png_grid_that_changes_with_the_seed(models, media):
    at = open_app(DIGITS, "Samples")
    first = Image.open(io.BytesIO(download(at, media, "Download PNG")))
    assert first.format == "PNG" and first.size[0] == first.size[1] >= 400
    at.number_input(key="w:sample_seed").set_value(3).run()
    second = pixels(download(at, media, "Download PNG"))
    assert second.shape == np.asarray(first.convert("L")).shape and not np.array_equal(second, np.asarray(first.convert("L")))


def test_samples_and_the_plane_follow_a_model_retrained_in_place(models, models_root, media):
    """Caches derived from a checkpoint are keyed by its files' versions, not its path alone."""
    import os
    import shutil

    import torch

    from explorer import checkpoint as ckpt

    folder = models_root / "retrained-in-place"
    shutil.copytree(models["tiny"], folder)
    first = open_app(folder, "Samples")
    before = pixels(download(first, media, "Download PNG"))
    plane_before = pixels(download(open_app(folder, "Decoded plane"), media, "Download the mosaic (PNG)"))
    model = ckpt.load(folder).model
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.add_(torch.randn_like(p))
    ckpt.save_weights(folder, model)  # what a retrain into the same folder leaves behind
    later = os.stat(folder / ckpt.WEIGHTS_FILE).st_mtime + 10
    os.utime(folder / ckpt.WEIGHTS_FILE, (later, later))  # a later version even on a coarse-grained clock
    after = pixels(download(open_app(folder, "Samples"), media, "Download PNG"))
    plane_after = pixels(download(open_app(folder, "Decoded plane"), media, "Download the mosaic (PNG)"))
    assert before.shape == after.shape and not np.array_equal(before, after)
    assert plane_before.shape == plane_after.shape and not np.array_equal(plane_before, plane_after)


def test_folders_in_the_models_variable_that_give_no_model_are_named_with_the_reason(tmp_path, monkeypatch):
    import os

    empty, file = tmp_path / "empty", tmp_path / "a-file.txt"
    empty.mkdir()
    file.write_text("not a folder")
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", os.pathsep.join([str(empty), str(file), str(tmp_path / "gone")]))
    at = open_app(DIGITS)
    said = " ".join(w.value for w in at.sidebar.warning)
    assert f"{empty} holds no checkpoint" in said
    assert f"{file} is a file" in said and f"{tmp_path / 'gone'} does not exist" in said
    assert said.count("Ignored in $LATENT_EXPLORER_MODELS") == 3


def test_the_model_card_names_both_training_times_as_info_does(models):
    from explorer import checkpoint as ckpt

    metrics = ckpt.read_metrics(DIGITS)
    text = " ".join(m.value for m in open_app(DIGITS, "Model card").markdown)
    assert f"{metrics.train_seconds:.0f} s in the epochs themselves" in text
    assert f"{metrics.wall_seconds:.0f} s wall clock" in text
    info = subprocess.run([sys.executable, "-m", "explorer", "info", str(DIGITS)], capture_output=True, text=True)
    assert f"in {metrics.wall_seconds:.0f} s wall clock ({metrics.train_seconds:.0f} s in the epochs themselves)" \
        in info.stdout


@pytest.mark.parametrize("view", ["Map", "Sliders"])
def test_weights_that_do_not_load_are_said_in_the_page(models, models_root, view):
    """The weights are read on first use (after the map is drawn): their error still reaches the user."""
    import shutil

    from explorer import checkpoint as ckpt

    folder = models_root / f"torn-weights-{view}"
    shutil.copytree(models["tiny"], folder)
    (folder / ckpt.WEIGHTS_FILE).write_bytes(b"not safetensors at all")
    at = open_app(folder, view)
    assert any("Cannot open this model" in e.value and "not a readable safetensors file" in e.value for e in at.error)


def test_a_model_without_its_dataset_still_works_and_says_how_to_get_the_data(models, media):
    at = click_map(open_app(models["no-data"]), 3)
    assert any("not on this machine" in w.value for w in at.warning)
    assert image_of(at, media, "decoded mu").shape[0] >= 200
    at = server_sliders(open_app(models["no-data"], "Sliders"))
    assert image_of(at, media, "decoded from the sliders' z").shape[0] >= 400 and not at.warning


def test_the_latent_plane_is_offered_for_two_dimensional_models(models):
    at = open_app(models["tiny"])
    assert "latent" in at.sidebar.radio(key="projection").options or \
        any("latent plane" in o for o in at.sidebar.radio(key="projection").options)
    at = open_app(DIGITS)
    assert not any("latent plane" in o for o in at.sidebar.radio(key="projection").options)


@pytest.mark.parametrize("typed, message", [("/tmp", "outside the folders"), ("trained", "no config.json")])
def test_a_typed_folder_that_is_not_an_allowed_checkpoint_is_refused(typed, message):
    at = open_app(DIGITS, model_choice="__typed__", typed_path=typed)
    assert any(message in e.value for e in at.sidebar.error)
    assert not at.get("plotly_chart") and main_map(at) is None


def map_points(at) -> list[int]:
    """Test-set ids on the main map, drawn by either renderer."""
    shown = main_map(at)
    if shown is not None:
        return shown.ids
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [i for trace in figure["data"] for i in trace.get("customdata", [])]


def test_a_smaller_map_shows_a_fixed_subset_whose_clicks_reach_the_inspector():
    fashion = DIGITS.parent / "fashion-mnist-d16"
    assert len(map_points(open_app(fashion))) == 10_000  # all of the test set by default
    at = open_app(fashion)
    at.selectbox(key="w:map_points").set_value(1000).run()
    ids = map_points(at)
    assert len(ids) == 1000 and len(set(ids)) == 1000 and max(ids) < 10_000
    again = open_app(fashion)
    again.selectbox(key="w:map_points").set_value(1000).run()
    assert map_points(again) == ids  # the same subset every time
    picked = ids[123]
    at = click_map(at, picked)
    assert f"#{picked}" in at.markdown[0].value


def test_new_tsne_settings_are_computed_once_and_cached(models, monkeypatch):
    from explorer import projection

    calls = []
    real = projection.fit_tsne
    monkeypatch.setattr(projection, "fit_tsne", lambda mu, **kw: calls.append((len(mu), kw)) or real(mu, **kw))
    for _ in range(2):  # the second session finds the result in the cache
        at = open_app(models["tiny"], projection="tsne")
        at.select_slider(key="w:tsne_perplexity").set_value(5.0).run()
        assert not at.error and not at.exception
    assert [kw["perplexity"] for _, kw in calls].count(5.0) == 1
    assert len(map_points(at)) == len(load_embedding(models["tiny"]).mu)


def test_a_lasso_on_the_map_selects_a_group_marks_its_first_and_is_taken_once():
    at = select_on_map(open_app(DIGITS), [5, 9, 30], "lasso")
    shown = main_map(at)
    assert shown.selection == [5, 9, 30] and shown.marked == 5
    assert "#5" in at.markdown[0].value
    at.number_input(key="w:inspect_index").set_value(12).run()  # a pick typed after the lasso
    at.run()  # the lasso's report is still the component's state: it must not take the pick back
    assert "#12" in at.markdown[0].value and main_map(at).marked == 12 and main_map(at).selection == [5, 9, 30]
    at.session_state["view"] = "Attributes"
    at.run()
    assert any(b.label == "Use the map's selection (3 points)" for b in at.button)


def test_a_map_query_parameter_opens_the_plotly_map():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["map"] = "plotly"
    at.run()
    assert not at.exception and at.get("plotly_chart") and main_map(at) is None
