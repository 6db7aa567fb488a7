"""The IWAE bound and the test-split numbers, on a small model."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.config import ModelConfig
from explorer.evaluate import iwae_bound
from explorer.model import VAE
from explorer.objectives import log_importance_weights


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return VAE(ModelConfig(image_shape=(1, 6, 6), latent_dim=4, architecture="mlp", hidden_dims=(16,))).eval()


def test_iwae_bound_is_above_the_elbo_and_grows_with_k(small_model):
    x = (torch.rand(200, 1, 6, 6, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    with torch.no_grad():
        elbo = -small_model.elbo(x, torch.Generator().manual_seed(0)).neg_elbo.mean()
        bounds = {k: iwae_bound(small_model, x, k, generator=torch.Generator().manual_seed(k)).mean() for k in (1, 10, 100)}
    # k = 1 is an unbiased estimate of the ELBO; more samples can only tighten the bound on average.
    assert bounds[1] == pytest.approx(elbo.item(), abs=1.0)
    assert elbo <= bounds[10] <= bounds[100]
    assert bounds[100] - elbo > 0.1  # a real gap, not equality by accident


def test_iwae_chunking_estimates_the_same_bound(small_model):
    # Chunks fold into a running logsumexp; a mistake there (a missing -log k, a lost chunk) shifts the
    # estimate by nats, far more than the sampling noise at this k.
    x = torch.rand(20, 1, 6, 6, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        whole = iwae_bound(small_model, x, 1000, chunk_size=1000, generator=torch.Generator().manual_seed(5))
        chunked = iwae_bound(small_model, x, 1000, chunk_size=7, generator=torch.Generator().manual_seed(6))
    assert chunked.mean().item() == pytest.approx(whole.mean().item(), abs=0.03)


def test_log_importance_weights_are_the_joint_over_the_proposal():
    # by hand, one dimension: z = 1 under q = N(0, 2^2) against p(z) = N(0, 1):
    # log N(1; 0, 1) - log N(1; 0, 4) = -1/2 + 1/8 + log 2
    one = torch.ones(1, 1, 1)
    weight = log_importance_weights(torch.zeros(1, 1), one, torch.zeros(1, 1), torch.full((1, 1), math.log(4.0)))
    assert weight.item() == pytest.approx(-0.5 + 0.125 + math.log(2.0), rel=1e-6)
    # where q is the prior itself, the weight is the likelihood alone
    torch.manual_seed(3)
    z, log_px_z = torch.randn(5, 2, 3), torch.randn(5, 2)
    assert torch.allclose(log_importance_weights(log_px_z, z, torch.zeros(2, 3), torch.zeros(2, 3)), log_px_z)


def test_one_images_bounds_come_from_the_same_draws_and_order_as_the_theory_says():
    from explorer.checkpoint import load
    from explorer.data import load_dataset
    from explorer.evaluate import image_bounds, iwae_bound

    model = load(Path(__file__).resolve().parents[1] / "trained" / "digits").model
    x = torch.as_tensor(load_dataset("digits", download=False, test_only=True).test.images[3:4])
    seen = []
    elbo, iwae = image_bounds(model, x, 500, chunk_size=100, seed=7, progress=seen.append)
    assert seen == [100, 200, 300, 400, 500]
    assert elbo < iwae < 0  # ELBO <= IWAE_k <= log p(x), and a Bernoulli likelihood is at most 1
    with torch.no_grad():  # the same draws as iwae_bound's with one chunk: the same bound
        reference = float(iwae_bound(model, x, 500, chunk_size=500, generator=torch.Generator().manual_seed(7))[0])
    same_seed_one_chunk = image_bounds(model, x, 500, chunk_size=500, seed=7)[1]
    assert abs(same_seed_one_chunk - reference) < 1e-3
    one = image_bounds(model, x, 1, seed=7)
    assert one[0] == one[1]  # k = 1: the IWAE bound is the ELBO


def test_per_image_scores_add_up_and_match_one_images_bounds():
    from explorer.checkpoint import load
    from explorer.data import load_dataset
    from explorer.evaluate import image_bounds, per_image_scores

    model = load(Path(__file__).resolve().parents[1] / "trained" / "digits").model
    x = torch.as_tensor(load_dataset("digits", download=False, test_only=True).test.images[:40])
    scores = per_image_scores(model, x, 400, batch_size=16)
    assert all(len(v) == 40 for v in scores.values())
    np.testing.assert_allclose(scores["recon"] + scores["kl"], scores["nelbo"], rtol=1e-6)
    assert (scores["gap"] >= 0).all() and (scores["nll_iwae"] <= scores["nelbo"] + 0.5).all()
    elbo, iwae = image_bounds(model, x[7:8], 4000, seed=1)  # many more draws: close to the truth
    assert abs(-iwae - scores["nll_iwae"][7]) < 0.3 and abs(-elbo - scores["nelbo"][7]) < 0.5
