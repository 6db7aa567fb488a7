"""Uploads in the running app (AppTest): each kind of file gives what a user should see, and the app goes on."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image

from explorer.app.session import KEEP_BYTES
from explorer.app.uploads import MAX_UPLOAD_MB
from tests.app_support import DIGITS, open_app
from tests.test_app import image_of
from tests.test_uploads import BAD, GOOD, dark_stroke_on_white, encoded

FASHION = DIGITS.parent / "fashion-mnist-d16"


def upload(at, name: str, data: bytes):
    at.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("kind", ["grey PNG", "colour JPEG", "palette PNG", "RGBA PNG", "CMYK JPEG", "16-bit PNG",
                                  "10,000 x 10,000 JPEG"])
def test_a_good_upload_shows_input_prepared_image_reconstruction_map_and_neighbours(kind, media):  # noqa: F811
    at = upload(open_app(FASHION, "My image"), "mine.png", GOOD[kind])
    assert not at.error
    prepared = image_of(at, media, "prepared for the model (28x28)")
    assert prepared.shape[0] >= 150
    assert image_of(at, media, "reconstruction (decoded mu)").shape == prepared.shape
    neighbours = [c for im in at.get("image") for c in im.captions if c.startswith("#")]
    assert len(neighbours) == 8
    assert any("exact, projected" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_upload_says_why_and_the_app_keeps_working(kind):
    data, message = BAD[kind]
    at = upload(open_app(FASHION, "My image"), "bad.png", data)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    at = upload(at, "good.png", GOOD["grey PNG"])  # the next good file works
    assert not at.error and any("good.png" in c.value for c in at.caption)


def test_a_bad_file_after_a_good_one_keeps_the_good_one(media):  # noqa: F811
    at = upload(open_app(FASHION, "My image"), "good.png", GOOD["grey PNG"])
    at = upload(at, "bad.txt", b"not an image")
    assert any("Still showing good.png" in e.value for e in at.error)
    assert image_of(at, media, "reconstruction (decoded mu)").shape[0] >= 150


def test_on_tsne_the_upload_is_placed_approximately_and_says_so():
    at = upload(open_app(FASHION, "My image", projection="tsne"), "mine.png", GOOD["grey PNG"])
    assert any("approximate" in c.value for c in at.caption)


def test_the_upload_can_be_interpolated_to_and_edited_with_the_sliders(media):  # noqa: F811
    at = upload(open_app(DIGITS, "My image"), "one.png", encoded(dark_stroke_on_white()))
    at.button(key="upload_as_b").click().run()
    at.session_state["view"] = "Interpolate"
    at.run()
    assert any("B = your image one.png" in m.value for m in at.markdown)
    at.session_state["view"] = "My image"
    at.run()
    at.button(key="upload_sliders").click().run()
    assert at.session_state["view"] == "Sliders"
    assert any("Started from your image one.png" in c.value for c in at.caption)  # the live view says it too
    at.segmented_control(key="w:slider_engine").set_value("server").run()
    assert any("Started from your image one.png" in c.value for c in at.caption)
    recon = image_of(at, media, "decoded from the sliders' z")
    assert recon.shape[0] >= 400 and np.ptp(recon) > 50  # a shape, not a flat image


def test_an_upload_is_prepared_again_for_another_model(media):  # noqa: F811
    at = upload(open_app(DIGITS, "My image"), "one.png", GOOD["colour JPEG"])
    assert image_of(at, media, "prepared for the model (8x8)").shape[0] >= 150
    at.session_state["model_choice"] = str(FASHION.resolve())
    at.run()
    assert image_of(at, media, "prepared for the model (28x28)").shape[0] >= 150


def test_a_file_over_the_upload_limit_is_refused_with_the_limit_named():
    too_big = GOOD["grey PNG"] + bytes(MAX_UPLOAD_MB * 2**20)
    at = upload(open_app(DIGITS, "My image"), "huge.png", too_big)
    assert any(f"the limit is {MAX_UPLOAD_MB} MB" in e.value for e in at.error)


def test_the_upload_limit_matches_the_servers():
    config = (DIGITS.parents[1] / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {MAX_UPLOAD_MB}" in config


def test_a_remembered_class_the_model_lacks_is_dropped_instead_of_breaking_the_attributes_tab():
    at = open_app(DIGITS, "Attributes")
    at.session_state["attr_b_labels"] = at.session_state["w:attr_b_labels"] = [42]
    at.run()
    assert not at.exception and any("at least one class" in i.value for i in at.info)


def canvas_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_a_drawing_on_the_canvas_is_encoded_like_an_upload(media):  # noqa: F811
    """AppTest cannot draw: it injects what the canvas sends when a stroke ends (a PNG data URL)."""
    at = open_app(DIGITS, "My image")
    at.session_state["drawing_canvas"] = {"drawn": canvas_url(encoded(dark_stroke_on_white()))}
    at.run()
    assert not at.exception and not at.error
    assert any("Showing your drawing.png" in c.value for c in at.caption)
    assert image_of(at, media, "reconstruction (decoded mu)").shape[0] >= 150


@pytest.mark.parametrize("sent", ["data:text/html;base64,PGI+", "data:image/png;base64,@@@", 42,
                                  "data:image/png;base64," + "A" * 8])
def test_anything_else_from_the_canvas_is_ignored_or_refused_with_a_message(sent):
    at = open_app(DIGITS, "My image")
    at.session_state["drawing_canvas"] = {"drawn": sent}
    at.run()
    assert not at.exception
    assert not any("Showing" in c.value for c in at.caption) or at.error


def test_a_large_upload_is_kept_small_in_the_session():
    photo = encoded(Image.fromarray(np.random.default_rng(0).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)))
    assert len(photo) > KEEP_BYTES
    at = upload(open_app(DIGITS, "My image"), "noise.png", photo)
    assert not at.error and len(at.session_state["upload"].data) <= KEEP_BYTES
