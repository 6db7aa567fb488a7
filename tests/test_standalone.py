"""The standalone HTML builder (explorer/standalone.py) without a browser: what the file holds, that nothing in
it reaches the network, that no string can end its scripts early, its size, and its errors and CLI."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import checkpoint as ckpt
from explorer import cli, standalone
from explorer.app import weights_blob
from explorer.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "trained" / "digits"
SHIPPED = ("digits", "fashion-mnist-d2", "fashion-mnist-d16")
LEVELS = 1.0  # levels of 255 between the embedded self-test picture and torch's (rounding only)


@pytest.fixture(scope="module")
def digits_html() -> str:
    return standalone.build(DIGITS)


def embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="le-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_the_file_holds_the_points_codes_thumbnails_and_decoder_of_the_checkpoint(digits_html):
    data = embedded(digits_html)
    emb = ckpt.load_embedding(DIGITS)
    mu = np.frombuffer(base64.b64decode(data["mu"]), "<f4").reshape(emb.mu.shape)
    assert np.array_equal(mu, emb.mu.astype(np.float32))
    xy = np.frombuffer(base64.b64decode(data["xy"]), "<f4").reshape(-1, 2)
    assert np.allclose(xy, emb.pca, atol=1e-5)
    assert base64.b64decode(data["decoder"]) == weights_blob.pack(ckpt.load(DIGITS).model, model_id="digits")
    assert [c["name"] for c in data["classes"]] == [str(d) for d in range(10)]
    sheet = Image.open(io.BytesIO(base64.b64decode(data["thumbnails"]["png"])))
    assert sheet.format == "PNG" and data["thumbnails"]["count"] == len(emb.mu)  # digits: every test image kept


def test_the_self_test_picture_is_torchs_decode_of_its_z(digits_html):
    data = embedded(digits_html)
    model = ckpt.load(DIGITS).model
    with torch.no_grad():
        expected = model.decode(torch.tensor([data["selftest"]["z"]], dtype=torch.float32))[0].numpy() * 255
    got = np.frombuffer(base64.b64decode(data["selftest"]["expected"]), np.uint8).reshape(expected.shape)
    assert np.abs(got - expected).max() <= LEVELS


def test_nothing_in_the_file_points_outside_it(digits_html):
    assert not re.search(r"""(src|href|url|action)\s*[=(]\s*["']?\s*(https?:)?//""", digits_html, re.I)
    assert not re.search(r"""(fetch|import|XMLHttpRequest|WebSocket|EventSource)\s*\(\s*["'`]https?:""", digits_html)
    assert not re.search(r"https?://", digits_html), \
        "an address in the file (no vendored licence text is inlined, so none may appear)"


def test_a_caption_or_class_name_cannot_end_the_script_early(tmp_path):
    hostile = "</script><script>alert(1)</script><!--"
    html = standalone.build(DIGITS, title=hostile, tour=[{"z": [0.0] * 8, "caption": hostile}])
    assert html.count("</script>") == 2  # the data's and the code's own ends, nothing else
    assert embedded(html)["tour"][0]["caption"] == hostile and embedded(html)["title"] == hostile
    assert "<title>&lt;/script&gt;" in html


@pytest.mark.slow
@pytest.mark.parametrize("model", SHIPPED)
def test_every_shipped_model_fits_the_email_budget(model):
    size = len(standalone.build(ROOT / "trained" / model).encode())
    assert size < standalone.EMAIL_BUDGET_BYTES, f"{model}: {size / 2**20:.1f} MB"


def test_a_tour_stop_of_the_wrong_length_is_refused_with_the_latent_size():
    with pytest.raises(standalone.StandaloneError, match="list of 8 finite numbers"):
        standalone.validate_tour([{"z": [0.0, 1.0]}], 8)
    with pytest.raises(standalone.StandaloneError, match="positive number"):
        standalone.validate_tour([{"z": [0.0] * 8, "seconds": 0}], 8)
    assert standalone.validate_tour([{"z": [1] * 8}], 8) == [{"z": [1.0] * 8, "caption": "", "seconds": 2.0}]


def test_a_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint folder"):
        standalone.build(tmp_path / "nope")


def test_a_decoder_the_page_cannot_run_says_why(monkeypatch):
    def refuse(model, model_id=""):
        raise weights_blob.UnsupportedDecoder("the activation GELU is not implemented in the browser decoder")

    monkeypatch.setattr(standalone, "pack", refuse)
    with pytest.raises(standalone.StandaloneError, match="cannot run this model's decoder: the activation GELU"):
        standalone.build(DIGITS)


def test_the_latent_plane_is_refused_for_a_model_that_is_not_2d():
    with pytest.raises(standalone.StandaloneError, match="not offered for a 8-D model: choose one of pca, tsne"):
        standalone.build(DIGITS, projection="latent")


def test_the_cli_writes_the_file_and_prints_its_path_and_size(tmp_path, capsys):
    out = tmp_path / "digits.html"
    assert cli.main(["-q", "export-html", str(DIGITS), "-o", str(out), "--projection", "tsne"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and f"{out.stat().st_size:,} bytes" in printed
    assert embedded(out.read_text())["map"]["key"] == "tsne"


def test_the_cli_says_what_is_wrong_with_a_tour_file(tmp_path, capsys):
    tour = tmp_path / "tour.json"
    tour.write_text("{not json")
    assert cli.main(["-q", "export-html", str(DIGITS), "-o", str(tmp_path / "x.html"), "--tour", str(tour)]) == 2
    assert "cannot read the tour" in capsys.readouterr().err


def test_the_app_offers_the_offline_explorer_as_one_download(media):
    from tests.app_support import open_app

    at = open_app(DIGITS)
    [button] = [b for b in at.get("download_button") if b.proto.label == "Explorer (offline HTML)"]
    html, name, mime = media.download(button)
    assert name == "digits-explorer.html" and mime == "text/html"
    assert embedded(html.decode())["model"] == "digits"


def test_a_recorded_tour_travels_in_the_offline_file_as_its_moves_of_z(media):
    from explorer.app import recording
    from tests.app_support import open_app

    tour = recording.Tour("digits", (recording.Step(0.0, {"view": "Sliders", "z": ",".join(["0"] * 8)}),
                                     recording.Step(2.0, {"view": "Sliders", "z": ",".join(["1"] + ["0"] * 7)}, "z1 up")))
    at = open_app(DIGITS, recorded_tour=tour)
    [button] = [b for b in at.get("download_button") if b.proto.label == "Explorer (offline HTML), with the tour"]
    html, _, _ = media.download(button)
    stops = embedded(html.decode())["tour"]
    assert [s["z"][0] for s in stops] == [0.0, 1.0] and stops[1]["caption"] == "z1 up"
    assert stops[0]["hold"] + stops[1]["seconds"] == pytest.approx(2.0)  # z1 is up at 2 s, as when recorded
