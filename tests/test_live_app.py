"""The live views under AppTest: which path each model gets, and the fallback for a decoder the page cannot run.

AppTest does not run component JavaScript (it sees the live pad as an UnknownElement); what the browser
does is tested in test_live_browser.py. Here: the server side of the choice, the note, and what a release
hands back to Python.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from torch import nn

from explorer import model as model_module
from explorer.app import resources, sliders, state
from explorer.app.weights_blob import unpack_header
from explorer.checkpoint import load
from tests.app_support import DIGITS, main_map, open_app


def live_elements(at) -> list:
    return [e for e in at.main.get("bidi_component") if getattr(e, "key", None) in (state.LIVE_SLIDERS, state.INTERP_SCRUB)]


@pytest.fixture
def unsupported_model(tmp_path, monkeypatch):
    """A copy of the digits checkpoint whose decoder is built with GELU: a layer the browser decoder lacks."""
    copy = tmp_path / "digits-gelu"
    shutil.copytree(DIGITS, copy)
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", str(tmp_path))
    monkeypatch.setitem(model_module.ACTIVATIONS, "relu", nn.GELU)  # no weights change: the checkpoint loads
    return copy


def test_an_unsupported_decoder_falls_back_to_server_sliders_with_a_note(unsupported_model):
    at = open_app(unsupported_model, "Sliders")
    assert not at.exception and not at.error
    [note] = [i.value for i in at.info if "in-page decoder cannot run" in i.value]
    assert "GELU" in note
    assert at.slider and not live_elements(at)  # Streamlit's own sliders, decoded on the server
    assert [im for im in at.get("image") if "decoded from the sliders' z" in im.captions]
    assert any("Decoding on the server" in c.value for c in at.sidebar.caption)


def test_an_unsupported_decoder_offers_no_probe_and_no_scrubber(unsupported_model):
    at = open_app(unsupported_model, "Map")
    assert at.toggle(key="w:map_probe").proto.disabled
    assert any("cannot run this model" in c.value for c in at.caption)
    at = open_app(unsupported_model, "Interpolate")
    assert not at.exception and not live_elements(at)
    assert any("Scrubbing needs the in-page decoder" in c.value for c in at.caption)


def test_a_supported_model_gets_the_live_pad_and_can_switch_to_server_sliders():
    at = open_app(DIGITS, "Sliders")
    assert live_elements(at) and not at.slider
    assert any("On release the server gets z" in c.value for c in at.caption)
    at.segmented_control(key="w:slider_engine").set_value("server").run()
    assert at.slider and not live_elements(at)


def test_the_probe_is_offered_on_pca_and_explained_away_on_tsne():
    at = open_app(DIGITS, "Map")
    at.toggle(key="w:map_probe").set_value(True).run()
    assert not at.exception and not at.get("plotly_chart") and main_map(at) is None  # the probe's map replaces it
    assert [e for e in at.main.get("bidi_component") if getattr(e, "key", None) == "probe_pca"]
    at = open_app(DIGITS, "Map", projection="tsne")
    toggle = at.toggle(key="w:map_probe")
    assert toggle.proto.disabled and "offered on the PCA map only" in toggle.proto.help
    assert not any("offered on the PCA map only" in c.value for c in at.caption)  # said on hover, not in the way


def test_a_release_hands_z_to_the_sliders_state():
    at = open_app(DIGITS, "Sliders")
    z = np.linspace(-1, 1, 8).round(3).tolist()
    at.session_state[state.LIVE_SLIDERS] = {"z": {"z": z, "source": "sliders"}}
    with pytest.MonkeyPatch.context() as mp:  # run the callback against AppTest's session state
        mp.setattr(sliders.st, "session_state", at.session_state)
        sliders.take_live_z()
    assert [at.session_state[f"dim{i}"] for i in range(8)] == pytest.approx(z)


def test_the_page_gets_the_decoder_once_packed_per_model_version():
    first = resources.weights(str(DIGITS.resolve()))
    assert first is resources.weights(str(DIGITS.resolve()))  # cached: packed once for every session
    header = unpack_header(first.blob)
    assert header["model_id"] == first.model_id and header["latent_dim"] == 8
    assert len(first.blob) < 1.2 * 4 * sum(p.numel() for p in load(DIGITS).model.decoder.parameters())
