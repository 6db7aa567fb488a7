"""The math of the VAE objective, as pure functions on tensors.

All log-probabilities are in nats and summed over pixels or latent dimensions, so every quantity is
"per image". Shapes: x (B, C, H, W); mu, logvar, z (B, D).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class ElboTerms:
    """Per-example terms of the negative ELBO, in nats per image."""

    recon: torch.Tensor  # (B,) reconstruction negative log-likelihood -log p(x|z), one z sample
    kl_per_dim: torch.Tensor  # (B, D) KL(q(z_d|x) || N(0, 1)) for each latent dimension

    @property
    def kl(self) -> torch.Tensor:  # (B,)
        return self.kl_per_dim.sum(dim=1)

    @property
    def neg_elbo(self) -> torch.Tensor:  # (B,)
        return self.recon + self.kl


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per dimension, closed form. (B, D) -> (B, D)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension. (..., D) -> (...)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(dim=-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dimension. (..., D) -> (...)."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)


def bernoulli_log_prob(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x|z) for a Bernoulli decoder, summed over pixels: (B, C, H, W) -> (B,).

    Pixels in [0, 1] are used as soft targets, which makes this minus the summed binary cross-entropy,
    the reconstruction term the pytorch/examples VAE reports.
    """
    nll = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none")
    return -nll.flatten(start_dim=1).sum(dim=1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, sigma^2) summed over pixels: (B, C, H, W) -> (B,). log_sigma broadcasts."""
    x, mean = x.float(), mean.float()
    log_sigma = log_sigma.float().expand_as(x)
    log_px = -0.5 * LOG_2PI - log_sigma - 0.5 * ((x - mean) * torch.exp(-log_sigma)).pow(2)
    return log_px.flatten(start_dim=1).sum(dim=1)


def log_importance_weights(
    log_px_z: torch.Tensor, z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for n samples of z per image: (n, B) in, (n, B) out.

    ``z`` is (n, B, D), ``mu`` and ``logvar`` (B, D). The IWAE bound is logsumexp over n, minus log n.
    """
    return log_px_z + log_standard_normal(z) - log_normal_diag(z, mu, logvar)
