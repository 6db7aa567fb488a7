"""The ELBO, KL and IWAE math, checked against torch.distributions and hand computations."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from explorer.config import ModelConfig
from explorer.model import VAE
from explorer.objectives import (
    bernoulli_log_prob,
    gaussian_log_prob,
    kl_to_standard_normal,
    log_normal_diag,
    log_standard_normal,
)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 5, generator=g) * 2, torch.randn(7, 5, generator=g)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), expected)


def test_kl_is_zero_only_at_the_prior():
    zeros = torch.zeros(1, 3)
    assert kl_to_standard_normal(zeros, zeros).abs().max() == 0
    assert (kl_to_standard_normal(zeros + 0.1, zeros) > 0).all()


def test_log_densities_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = (torch.randn(4, 3, generator=g) for _ in range(3))
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    torch.testing.assert_close(log_normal_diag(z, mu, logvar), q.log_prob(z))
    prior = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    torch.testing.assert_close(log_standard_normal(z), prior.log_prob(z))


def test_bernoulli_log_prob_by_hand():
    # One image of three pixels; soft target 0.5 is allowed (summed BCE on [0, 1] pixels).
    x = torch.tensor([0.0, 1.0, 0.5]).view(1, 1, 1, 3)
    logits = torch.tensor([0.0, 2.0, -1.0]).view(1, 1, 1, 3)
    sig = lambda v: 1 / (1 + math.exp(-v))
    by_hand = math.log(1 - sig(0)) + math.log(sig(2)) + 0.5 * math.log(sig(-1)) + 0.5 * math.log(1 - sig(-1))
    assert bernoulli_log_prob(x, logits).item() == pytest.approx(by_hand, rel=1e-6)


def test_gaussian_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(2)
    x, mean, log_sigma = torch.rand(2, 1, 3, 3, generator=g), torch.rand(2, 1, 3, 3, generator=g), torch.randn(2, 1, 3, 3, generator=g)
    expected = Normal(mean, log_sigma.exp()).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(gaussian_log_prob(x, mean, log_sigma), expected)
    shared = torch.tensor(-1.0)  # one scale for all pixels broadcasts
    expected = Normal(mean, shared.exp()).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(gaussian_log_prob(x, mean, shared), expected)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_elbo_terms_match_an_independent_computation(likelihood):
    torch.manual_seed(0)
    model = VAE(ModelConfig(image_shape=(1, 4, 4), latent_dim=3, architecture="mlp", hidden_dims=(8,), likelihood=likelihood))
    x = torch.rand(5, 1, 4, 4)
    terms = model.elbo(x, torch.Generator().manual_seed(3))

    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(3))
    z = mu + torch.exp(0.5 * logvar) * eps
    out = model.decoder(z)
    if likelihood == "bernoulli":
        p_x = Independent(Bernoulli(logits=out), 3)
        recon = -(x * torch.log(p_x.base_dist.probs) + (1 - x) * torch.log1p(-p_x.base_dist.probs)).flatten(1).sum(1)
    else:
        mean, log_sigma = torch.sigmoid(out[:, :1]), out[:, 1:].clamp(min=model.config.min_log_sigma)
        recon = -Independent(Normal(mean, log_sigma.exp()), 3).log_prob(x)
    kl = kl_divergence(Independent(Normal(mu, torch.exp(0.5 * logvar)), 1), Independent(Normal(torch.zeros(3), torch.ones(3)), 1))
    torch.testing.assert_close(terms.recon, recon, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(terms.kl, kl, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(terms.neg_elbo, recon + kl, rtol=1e-5, atol=1e-4)


def test_gradients_flow_through_the_reparameterisation():
    mu = torch.tensor([[0.5, -1.0]], requires_grad=True)
    logvar = torch.tensor([[0.2, -0.4]], requires_grad=True)
    eps = torch.randn(1, 2, generator=torch.Generator().manual_seed(0))
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(1, 2))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)  # dz/dlogvar

    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden_dims=(4,)))
    model.elbo(torch.rand(3, 1, 8, 8)).neg_elbo.mean().backward()
    encoder_grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in encoder_grads)
