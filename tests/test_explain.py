"""The Explain view on the server side: what it sends the page (the page's side: tests/test_browser_explain.py)."""

from __future__ import annotations

import json

import numpy as np

from explorer.app.weights_blob import unpack_header
from explorer.checkpoint import load_embedding
from explorer.data import load_dataset
from tests.app_support import DIGITS
from tests.test_share import fresh


def sent(at, name: str):
    return [e.proto for e in at.main.get("bidi_component") if e.proto.component_name == name]


def test_the_view_sends_the_encoder_once_the_pick_to_start_from_and_the_pca_plane():
    at = fresh(model="digits", view="Explain", pick="5")  # a link: the pick is the model's own from the start
    [view] = sent(at, "latent_explorer.explain")
    data = json.loads(view.json)
    test = load_dataset("digits", download=False, test_only=True).test
    emb = load_embedding(DIGITS)
    assert data["start"]["name"] == "test image #5"
    np.testing.assert_allclose(data["start"]["pixels"], test.images[5].ravel(), atol=1e-4)  # the pick itself
    np.testing.assert_allclose(data["pca"]["components"], emb.pca_components, atol=1e-6)
    np.testing.assert_allclose(data["pca"]["mean"], emb.pca_mean, atol=1e-6)
    assert len(data["points"]["x"]) == len(emb.mu)  # digits' 359: all of them (at most 2,000 are sent)
    [encoder] = sent(at, "latent_explorer.encoder_weights")
    header = unpack_header(encoder.bytes)
    assert header["format"] == "latent-explorer-encoder" and header["model_id"] == data["model_id"]
    assert header["likelihood"]["kind"] == "bernoulli"
    # Another pick, another start; the encoder's bytes are unchanged (Streamlit does not send them again).
    at.session_state["pick"] = 9
    at.run()
    assert json.loads(sent(at, "latent_explorer.explain")[0].json)["start"]["name"] == "test image #9"
    assert sent(at, "latent_explorer.encoder_weights")[0].bytes == encoder.bytes
