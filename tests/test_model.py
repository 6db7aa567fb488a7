"""The VAE's public methods, for every architecture and likelihood the config allows."""

import dataclasses

import pytest
import torch

from explorer.config import ModelConfig
from explorer.model import VAE

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 7, 9)]  # digits, MNIST-like, odd colour sizes
VARIANTS = [
    dict(architecture="mlp", hidden_dims=(32,)),
    dict(architecture="conv", hidden_dims=(8, 16), fc_dim=32),
    dict(architecture="conv", hidden_dims=(8,), fc_dim=16, likelihood="gaussian"),
    dict(architecture="mlp", hidden_dims=(16, 16), likelihood="gaussian", gaussian_scale="shared", activation="silu"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(str(x) for x in v.values()))
def test_encode_decode_sample_have_the_promised_shapes(shape, variant):
    config = ModelConfig(image_shape=shape, latent_dim=5, **variant)
    model = VAE(config).eval()
    x = torch.rand(4, *shape)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 5)
    image = model.decode(mu)
    assert image.shape == (4, *shape)
    assert image.min() >= 0 and image.max() <= 1
    terms = model.elbo(x)
    assert terms.recon.shape == terms.kl.shape == (4,) and terms.kl_per_dim.shape == (4, 5)
    assert torch.isfinite(terms.neg_elbo).all()


def test_sample_is_reproducible_by_seed_and_temperature_scales_the_spread():
    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=3, architecture="mlp", hidden_dims=(16,))).eval()
    torch.testing.assert_close(model.sample(6, seed=1), model.sample(6, seed=1))
    assert not torch.equal(model.sample(6, seed=1), model.sample(6, seed=2))
    # Temperature 0 decodes the prior mean for every sample.
    cold = model.sample(4, seed=3, temperature=0.0)
    torch.testing.assert_close(cold, cold[:1].expand_as(cold))


def test_sizes_come_from_the_config():
    small = VAE(ModelConfig(image_shape=(1, 28, 28), latent_dim=2, hidden_dims=(8, 16), fc_dim=32))
    wide = VAE(dataclasses.replace(small.config, hidden_dims=(16, 32)))
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(wide) > count(small)


def test_too_many_conv_layers_for_a_small_image_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        VAE(ModelConfig(image_shape=(1, 8, 8), hidden_dims=(8, 8, 8, 8)))


@pytest.mark.parametrize("field,value", [("architecture", "transformer"), ("likelihood", "poisson"), ("latent_dim", 0)])
def test_invalid_config_values_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{field: value})


def test_decode_array_decodes_numpy_codes_in_batches_as_one_decode_would():
    import numpy as np

    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=3, architecture="mlp", hidden_dims=(16,))).eval()
    z = np.random.default_rng(0).normal(size=(10, 3))
    with torch.no_grad():
        whole = model.decode(torch.from_numpy(z.astype(np.float32))).numpy()
    batched = model.decode_array(z, batch=3)  # four calls, the last one short
    assert batched.dtype == np.float32 and batched.shape == (10, 1, 8, 8)
    np.testing.assert_allclose(batched, whole, atol=1e-6)
    np.testing.assert_allclose(model.decode_array(z[4]), whole[4:5], atol=1e-6)  # one code (D,): one image
    assert model.decode_array(np.zeros((0, 3))).shape == (0, 1, 8, 8)
