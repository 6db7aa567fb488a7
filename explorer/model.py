"""The variational autoencoder, built from a ``ModelConfig`` alone.

encode(x) -> (mu, logvar) of q(z|x); z = mu + sigma * eps; decode_params(z) -> the parameters of
p(x|z) (Bernoulli logits, or a Gaussian's mean and log sigma); decode(z) -> the mean image.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from explorer.config import ModelConfig
from explorer.objectives import (
    ElboTerms,
    bernoulli_log_prob,
    gaussian_log_prob,
    kl_to_standard_normal,
)

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "silu": nn.SiLU}

# Every conv layer halves the spatial size: kernel 4, stride 2, padding 1 maps n to floor(n / 2).
CONV_KERNEL, CONV_STRIDE, CONV_PADDING = 4, 2, 1

DECODE_BATCH = 4096  # codes decoded at once by decode_array: a plane, a path or a video in a few calls


def params_per_pixel(config: ModelConfig) -> int:
    """How many numbers the decoder emits per pixel: logits, mean, or mean and log sigma."""
    if config.likelihood == "gaussian" and config.gaussian_scale == "per_pixel":
        return 2
    return 1


def conv_sizes(config: ModelConfig) -> list[tuple[int, int]]:
    """Spatial sizes (H, W) before each conv layer and after the last: len(hidden_dims) + 1 entries."""
    _, h, w = config.image_shape
    sizes = [(h, w)]
    for _ in config.hidden_dims:
        h, w = h // CONV_STRIDE, w // CONV_STRIDE
        if h < 1 or w < 1:
            raise ValueError(
                f"Images of {config.image_shape[1]}x{config.image_shape[2]} are too small for "
                f"{len(config.hidden_dims)} stride-2 conv layers; pass fewer --hidden-dims."
            )
        sizes.append((h, w))
    return sizes


class MLPEncoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        widths = [math.prod(config.image_shape), *config.hidden_dims]
        layers: list[nn.Module] = [nn.Flatten()]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), ACTIVATIONS[config.activation]()]
        layers.append(nn.Linear(widths[-1], 2 * config.latent_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 2D)
        return self.net(x)


class MLPDecoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c, h, w = config.image_shape
        self.out_shape = (params_per_pixel(config) * c, h, w)
        widths = [config.latent_dim, *reversed(config.hidden_dims)]
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), ACTIVATIONS[config.activation]()]
        layers.append(nn.Linear(widths[-1], math.prod(self.out_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, P*C, H, W)
        return self.net(z).view(z.shape[0], *self.out_shape)


class ConvEncoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        channels = [config.image_shape[0], *config.hidden_dims]
        act = ACTIVATIONS[config.activation]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PADDING), act()]
        h, w = conv_sizes(config)[-1]
        layers += [
            nn.Flatten(),
            nn.Linear(channels[-1] * h * w, config.fc_dim),
            act(),
            nn.Linear(config.fc_dim, 2 * config.latent_dim),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 2D)
        return self.net(x)


class ConvDecoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        sizes = conv_sizes(config)  # encoder sizes, largest first
        act = ACTIVATIONS[config.activation]
        h, w = sizes[-1]
        self.start_shape = (config.hidden_dims[-1], h, w)
        self.fc = nn.Sequential(
            nn.Linear(config.latent_dim, config.fc_dim),
            act(),
            nn.Linear(config.fc_dim, math.prod(self.start_shape)),
            act(),
        )
        out_channels = params_per_pixel(config) * config.image_shape[0]
        channels = [*reversed(config.hidden_dims), out_channels]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            (h_in, w_in), (h_out, w_out) = sizes[-1 - i], sizes[-2 - i]
            # A transposed conv maps n to 2n; output_padding recovers the odd sizes floor() lost.
            pad = (h_out - CONV_STRIDE * h_in, w_out - CONV_STRIDE * w_in)
            layers.append(nn.ConvTranspose2d(c_in, c_out, CONV_KERNEL, CONV_STRIDE, CONV_PADDING, output_padding=pad))
            if i < len(channels) - 2:
                layers.append(act())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, P*C, H, W)
        return self.net(self.fc(z).view(z.shape[0], *self.start_shape))


ENCODERS: dict[str, type[nn.Module]] = {"mlp": MLPEncoder, "conv": ConvEncoder}
DECODERS: dict[str, type[nn.Module]] = {"mlp": MLPDecoder, "conv": ConvDecoder}


class VAE(nn.Module):
    """A VAE with a diagonal Gaussian posterior, a N(0, I) prior and a Bernoulli or Gaussian decoder."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = ENCODERS[config.architecture](config)
        self.decoder = DECODERS[config.architecture](config)
        if config.likelihood == "gaussian" and config.gaussian_scale == "shared":
            self.log_sigma = nn.Parameter(torch.zeros(()))  # one learned scale for every pixel

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in [0, 1] -> mu, logvar, each (B, D)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): differentiable in mu and logvar. (B, D)."""
        eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_params(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) -> the decoder's raw output (B, P*C, H, W): logits, or mean and log-sigma channels."""
        return self.decoder(z)

    def _gaussian_params(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config.image_shape[0]
        mean = torch.sigmoid(out[:, :c])  # the mean lives in the pixel range [0, 1]
        log_sigma = out[:, c:] if self.config.gaussian_scale == "per_pixel" else self.log_sigma
        return mean, log_sigma.clamp(min=self.config.min_log_sigma)

    def log_likelihood(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x|z) from the decoder output, summed over pixels: (B,)."""
        if self.config.likelihood == "bernoulli":
            return bernoulli_log_prob(x, out)
        mean, log_sigma = self._gaussian_params(out)
        return gaussian_log_prob(x, mean, log_sigma)

    def mean_image(self, out: torch.Tensor) -> torch.Tensor:
        """The mean of p(x|z) from the decoder output: (B, C, H, W) in [0, 1]."""
        if self.config.likelihood == "bernoulli":
            return torch.sigmoid(out)
        return self._gaussian_params(out)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) -> mean image (B, C, H, W) in [0, 1]."""
        return self.mean_image(self.decode_params(z))

    @torch.no_grad()
    def decode_array(self, z: np.ndarray, batch: int = DECODE_BATCH) -> np.ndarray:
        """(N, D) or (D,) codes as a NumPy array -> (N, C, H, W) float32 mean images in [0, 1].

        What the app, the offline file and the video decode with: no gradients, ``batch`` codes at a time,
        on the model's device.
        """
        z = np.atleast_2d(np.asarray(z, dtype=np.float32))
        device = next(self.parameters()).device
        parts = [self.decode(torch.from_numpy(z[start:start + batch]).to(device)).cpu().numpy()
                 for start in range(0, len(z), batch)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.config.image_shape), np.float32)

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ElboTerms:
        """Per-example negative-ELBO terms from one posterior sample per image."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        recon = -self.log_likelihood(x, self.decode_params(z))
        return ElboTerms(recon=recon, kl_per_dim=kl_to_standard_normal(mu.float(), logvar.float()))

    forward = elbo

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
        """n mean images decoded from z ~ N(0, temperature^2 I): (n, C, H, W). Same seed, same images."""
        device = next(self.parameters()).device
        generator = torch.Generator(device=device).manual_seed(seed)
        z = temperature * torch.randn((n, self.config.latent_dim), device=device, generator=generator)
        return self.decode(z)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
