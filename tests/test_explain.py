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
    """The components ``name`` on the page: the view in the main area, the loaders in the sidebar."""
    return [e.proto for part in (at.main, at.sidebar) for e in part.get("bidi_component") if e.proto.component_name == name]


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


def test_the_map_is_coloured_by_a_cached_score_and_the_inspector_offers_to_explain_the_pick():
    from explorer.app.scatter import VALUES_MAGIC, read_values_blob
    from explorer.checkpoint import load_scores

    scores, k = load_scores(DIGITS, len(load_embedding(DIGITS).mu))
    worst = int(np.argmax(scores["nelbo"]))
    at = fresh(model="digits", view="Map", pick=str(worst))
    radio = at.radio(key="map_colour_by")
    assert radio.value == "class" and "−ELBO" in radio.options
    assert not [e for e in at.main.get("bidi_component") if e.proto.bytes[:8] == VALUES_MAGIC]  # by class: none sent
    radio.set_value("nelbo").run()
    [values] = [e.proto for e in at.main.get("bidi_component") if e.proto.bytes[:8] == VALUES_MAGIC]
    header, scaled, raw = read_values_blob(values.bytes)
    np.testing.assert_allclose(raw, scores["nelbo"])  # the whole test map, in its order
    assert scaled[worst] == 1 and header["label"] == "−ELBO"
    view = json.loads([e.proto for e in at.main.get("bidi_component")
                       if e.proto.component_name == "latent_explorer.map_view"][0].json)
    assert view["values_id"] == header["values_id"]
    caption = [c.value for c in at.caption if c.value.startswith("−ELBO ")][0]
    assert f"−ELBO {scores['nelbo'][worst]:.1f} nats" in caption and "0 of 359 test images score worse" in caption
    [explain] = [b for b in at.button if b.label == "Explain this image"]
    explain.click().run()
    assert at.session_state["view"] == "Explain"
    data = json.loads(sent(at, "latent_explorer.explain")[0].json)
    assert data["start"]["name"] == f"test image #{worst}"  # the Explain view starts from the worst image
