"""The in-page decoder and encoder (explorer/app/pad/decoder.mjs) against torch: node runs the same JS file
the browser gets.

Parity: on 100+ random latent vectors per model, the JS mean image matches ``VAE.decode`` within 1e-4 on
pixels in [0, 1]; on real test images (and noise), the JS mu and logvar match ``VAE.encode`` within 1e-4;
for every shipped checkpoint and for every architecture the project can build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explorer import model as model_module
from explorer.app.weights_blob import MAGIC, UnsupportedDecoder, pack, pack_encoder, unpack_header, unsupported_reason
from explorer.checkpoint import load
from explorer.config import ModelConfig
from explorer.model import VAE

ROOT = Path(__file__).resolve().parents[1]
DECODER_JS = ROOT / "explorer" / "app" / "pad" / "decoder.mjs"
RUNNER = ROOT / "tests" / "js" / "decode_parity.mjs"
ENCODE_RUNNER = ROOT / "tests" / "js" / "encode_parity.mjs"
ELBO_RUNNER = ROOT / "tests" / "js" / "elbo_parity.mjs"
SHIPPED = ("digits", "fashion-mnist-d16", "fashion-mnist-d2")
VECTORS = 128
TOLERANCE = 1e-4  # max absolute difference on pixels in [0, 1]
NODE = shutil.which("node")

needs_node = pytest.mark.skipif(NODE is None, reason="needs node (v18+) to run the browser decoder's JS file")


def js_decode(blob: bytes, z: np.ndarray, image_shape: tuple[int, ...], folder: Path) -> np.ndarray:
    """Decode (M, D) latents with decoder.mjs under node: (M, C, H, W) float32."""
    (folder / "blob").write_bytes(blob)
    (folder / "z").write_bytes(np.ascontiguousarray(z, dtype="<f4").tobytes())
    subprocess.run([NODE, str(RUNNER), str(DECODER_JS), str(folder / "blob"), str(folder / "z"),
                    str(folder / "out"), str(folder / "times.json")], check=True, capture_output=True, timeout=120)
    return np.fromfile(folder / "out", dtype="<f4").reshape(len(z), *image_shape)


def torch_decode(model: VAE, z: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.decode(torch.from_numpy(z)).numpy()


def random_latents(latent_dim: int, seed: int = 0) -> np.ndarray:
    """Draws from the prior, some at twice its scale: the sliders reach +-3 standard deviations of the data."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((VECTORS, latent_dim))
    z[VECTORS // 2 :] *= 2.0
    return z.astype(np.float32)


@needs_node
@pytest.mark.parametrize("name", SHIPPED)
def test_the_browser_decoder_matches_torch_on_every_shipped_checkpoint(name, tmp_path):
    folder = ROOT / "trained" / name
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"trained/{name} is not in this checkout")
    model = load(folder).model
    z = random_latents(model.config.latent_dim)
    expected = torch_decode(model, z)
    got = js_decode(pack(model), z, model.config.image_shape, tmp_path)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert expected.std() > 0.05  # real images, not a blank that would match anything


ARCHITECTURES = {
    "mlp-silu": ModelConfig(image_shape=(1, 8, 8), latent_dim=3, architecture="mlp", hidden_dims=(32, 16),
                            activation="silu"),
    "conv-odd-size": ModelConfig(image_shape=(1, 13, 11), latent_dim=5, hidden_dims=(4, 6), fc_dim=24),
    "conv-gaussian-per-pixel": ModelConfig(image_shape=(3, 12, 12), latent_dim=4, hidden_dims=(5, 7), fc_dim=16,
                                           likelihood="gaussian", activation="silu"),
    "mlp-gaussian-shared": ModelConfig(image_shape=(3, 6, 6), latent_dim=2, architecture="mlp", hidden_dims=(20,),
                                       likelihood="gaussian", gaussian_scale="shared"),
}


@needs_node
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_browser_decoder_matches_torch_on_every_architecture(name, tmp_path):
    torch.manual_seed(0)
    model = VAE(ARCHITECTURES[name]).eval()
    with torch.no_grad():  # larger weights than the default init, so activations and the link are exercised
        for p in model.decoder.parameters():
            p.mul_(3.0)
    z = random_latents(model.config.latent_dim, seed=1)
    expected = torch_decode(model, z)
    got = js_decode(pack(model), z, model.config.image_shape, tmp_path)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE


def test_the_blob_is_float32_weights_behind_a_small_header():
    model = VAE(ARCHITECTURES["conv-odd-size"])
    blob = pack(model)
    header = unpack_header(blob)
    decoder_floats = sum(p.numel() for p in model.decoder.parameters())
    assert blob[:4] == MAGIC and header["floats"] == decoder_floats
    assert len(blob) - 4 * decoder_floats < 2048  # the header is small; the encoder is not sent
    ops = [layer["op"] for layer in header["layers"]]
    assert ops == ["linear", "relu", "linear", "relu", "reshape", "conv_transpose2d", "relu", "conv_transpose2d",
                   "sigmoid_mean"]
    assert [layer["output_padding"] for layer in header["layers"] if "output_padding" in layer] == [[0, 1], [1, 1]]


def test_an_activation_the_browser_cannot_run_is_reported_not_packed(monkeypatch):
    monkeypatch.setitem(model_module.ACTIVATIONS, "relu", nn.GELU)
    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden_dims=(4, 4), fc_dim=8))
    assert "GELU" in unsupported_reason(model)
    with pytest.raises(UnsupportedDecoder, match="GELU"):
        pack(model)
    silu = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden_dims=(4, 4), fc_dim=8, activation="silu")
    assert unsupported_reason(VAE(silu)) is None


@needs_node
def test_the_parity_runner_reports_decode_times(tmp_path):
    model = VAE(ARCHITECTURES["mlp-silu"])
    js_decode(pack(model), random_latents(3), model.config.image_shape, tmp_path)
    times = json.loads((tmp_path / "times.json").read_text())
    assert len(times) == VECTORS and all(t >= 0 for t in times)


def js_encode(blob: bytes, x: np.ndarray, latent_dim: int, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Encode (M, C, H, W) images with decoder.mjs's loadEncoder under node: mu, logvar as (M, D) float32."""
    (folder / "blob").write_bytes(blob)
    (folder / "x").write_bytes(np.ascontiguousarray(x, dtype="<f4").tobytes())
    subprocess.run([NODE, str(ENCODE_RUNNER), str(DECODER_JS), str(folder / "blob"), str(folder / "x"),
                    str(folder / "out"), str(folder / "times.json")], check=True, capture_output=True, timeout=120)
    out = np.fromfile(folder / "out", dtype="<f4").reshape(len(x), 2, latent_dim)
    return out[:, 0], out[:, 1]


def torch_encode(model: VAE, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        mu, logvar = model.encode(torch.from_numpy(np.ascontiguousarray(x, np.float32)))
    return mu.numpy(), logvar.numpy()


def images_for(shape: tuple[int, ...], real: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Real images where there are some, then uniform noise and blanks: what a drawing pad can send."""
    rng = np.random.default_rng(seed)
    noise = rng.random((32, *shape)).astype(np.float32)
    blanks = np.stack([np.zeros(shape, np.float32), np.ones(shape, np.float32)])
    return np.concatenate([x for x in (real, noise, blanks) if x is not None])


@needs_node
@pytest.mark.parametrize("name", SHIPPED)
def test_the_browser_encoder_matches_torch_on_every_shipped_checkpoint(name, tmp_path):
    from explorer.data import load_dataset

    folder = ROOT / "trained" / name
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"trained/{name} is not in this checkout")
    checkpoint = load(folder)
    model = checkpoint.model
    try:
        real = load_dataset(checkpoint.dataset, download=False, test_only=True).test.images[:96]
    except Exception:  # noqa: BLE001 - the dataset is not on this machine: noise and blanks still test it
        real = None
    x = images_for(model.config.image_shape, real)
    mu, logvar = torch_encode(model, x)
    got_mu, got_logvar = js_encode(pack_encoder(model), x, model.config.latent_dim, tmp_path)
    assert np.abs(got_mu - mu).max() <= TOLERANCE and np.abs(got_logvar - logvar).max() <= TOLERANCE
    assert mu.std() > 0.1  # codes that differ from image to image, not a constant that would match anything


@needs_node
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_browser_encoder_matches_torch_on_every_architecture(name, tmp_path):
    torch.manual_seed(0)
    model = VAE(ARCHITECTURES[name]).eval()
    with torch.no_grad():  # larger weights than the default init, so every activation is exercised
        for p in model.encoder.parameters():
            p.mul_(3.0)
    x = images_for(model.config.image_shape, seed=2)
    mu, logvar = torch_encode(model, x)
    got_mu, got_logvar = js_encode(pack_encoder(model), x, model.config.latent_dim, tmp_path)
    assert got_mu.shape == mu.shape
    assert np.abs(got_mu - mu).max() <= TOLERANCE and np.abs(got_logvar - logvar).max() <= TOLERANCE


def test_the_encoder_blob_holds_the_encoder_alone_in_torchs_order():
    model = VAE(ARCHITECTURES["conv-odd-size"])
    blob = pack_encoder(model)
    header = unpack_header(blob)
    floats = sum(p.numel() for p in model.encoder.parameters())
    assert header["format"] == "latent-explorer-encoder" and header["floats"] == floats
    assert len(blob) - 4 * floats < 2048
    assert [layer["op"] for layer in header["layers"]] == ["reshape", "conv2d", "relu", "conv2d", "relu", "flatten",
                                                            "linear", "relu", "linear", "gaussian_posterior"]
    mlp = unpack_header(pack_encoder(VAE(ARCHITECTURES["mlp-silu"])))
    assert [layer["op"] for layer in mlp["layers"]][:2] == ["linear", "silu"]  # its input is already flat


@needs_node
@pytest.mark.parametrize("name", [*SHIPPED, *ARCHITECTURES])
def test_the_pages_elbo_terms_are_torchs_for_the_same_eps(name, tmp_path):
    """The Explain view's numbers: -log p(x|z) and KL(q(z|x) || N(0, I)) of one draw z = mu + sigma * eps."""
    from explorer.objectives import kl_to_standard_normal

    if name in SHIPPED:
        folder = ROOT / "trained" / name
        if not (folder / "model.safetensors").is_file():
            pytest.skip(f"trained/{name} is not in this checkout")
        model = load(folder).model
    else:
        torch.manual_seed(0)
        model = VAE(ARCHITECTURES[name]).eval()
        if model.config.likelihood == "gaussian" and model.config.gaussian_scale == "shared":
            with torch.no_grad():
                model.log_sigma.fill_(-1.3)  # not the initial 0: the page must read the learned value
    x = images_for(model.config.image_shape, seed=3)
    eps = np.random.default_rng(4).standard_normal((len(x), model.config.latent_dim)).astype(np.float32)
    with torch.no_grad():
        xt = torch.from_numpy(x)
        mu, logvar = model.encode(xt)
        z = mu + torch.exp(0.5 * logvar) * torch.from_numpy(eps)
        recon = -model.log_likelihood(xt, model.decode_params(z)).double().numpy()
        kl = kl_to_standard_normal(mu, logvar).sum(dim=1).double().numpy()
    (tmp_path / "enc").write_bytes(pack_encoder(model))
    (tmp_path / "dec").write_bytes(pack(model))
    (tmp_path / "x").write_bytes(x.astype("<f4").tobytes())
    (tmp_path / "eps").write_bytes(eps.astype("<f4").tobytes())
    subprocess.run([NODE, str(ELBO_RUNNER), str(DECODER_JS), *(str(tmp_path / f) for f in ("enc", "dec", "x", "eps", "out"))],
                   check=True, capture_output=True, timeout=120)
    got = np.fromfile(tmp_path / "out", dtype="<f8").reshape(len(x), 2)
    np.testing.assert_allclose(got[:, 0], recon, rtol=1e-4, atol=1e-3)  # sums of hundreds of float32 terms
    np.testing.assert_allclose(got[:, 1], kl, rtol=1e-4, atol=1e-4)
