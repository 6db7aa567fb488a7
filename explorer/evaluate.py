"""Test-split numbers the field reports: negative ELBO and its terms, the IWAE bound, active units."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from explorer.checkpoint import Checkpoint
from explorer.data import load_dataset, missing_files
from explorer.devices import resolve_device
from explorer.errors import DataError
from explorer.latent import ACTIVE_VARIANCE, informative_dimensions
from explorer.model import VAE
from explorer.objectives import kl_to_standard_normal, log_importance_weights

log = logging.getLogger(__name__)

DEFAULT_IWAE_K = 500  # the floor the field reports; each doubling costs twice the time
IWAE_BATCH = (100, 250)  # images per batch x samples per decoder call: 25,000 decoder rows (benchmarks/iwae_speed.py)


@torch.no_grad()
def elbo_stats(
    model: VAE, images: torch.Tensor | np.ndarray, *, batch_size: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Mean negative ELBO, reconstruction and KL (nats per image) over ``images``, one z per image.

    Sums are kept on the device and read once at the end, so there is no host sync per batch.
    """
    device = next(model.parameters()).device
    images = torch.as_tensor(images)
    generator = torch.Generator(device=device).manual_seed(seed)
    recon_sum = torch.zeros((), device=device, dtype=torch.float64)
    kl_dim_sum = torch.zeros(model.config.latent_dim, device=device, dtype=torch.float64)
    mu_sum = torch.zeros(model.config.latent_dim, device=device, dtype=torch.float64)
    mu_square_sum = torch.zeros(model.config.latent_dim, device=device, dtype=torch.float64)
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device, non_blocking=True)
        terms = model.elbo(x, generator)
        recon_sum += terms.recon.double().sum()
        kl_dim_sum += terms.kl_per_dim.double().sum(dim=0)
        mu = model.encode(x)[0].double()  # a second encoder pass: cheap beside the IWAE bound
        mu_sum += mu.sum(dim=0)
        mu_square_sum += mu.square().sum(dim=0)
    n = len(images)
    kl_per_dim = (kl_dim_sum / n).cpu().numpy()
    recon = float(recon_sum) / n
    mu_mean = mu_sum / n
    mu_variance = (mu_square_sum / n - mu_mean.square()).clamp_min(0).cpu().numpy()  # Cov_x(E_q[z]), diagonal
    return {
        "neg_elbo": recon + float(kl_per_dim.sum()),
        "recon": recon,
        "kl": float(kl_per_dim.sum()),
        "kl_per_dim": [float(v) for v in kl_per_dim],
        "mu_variance_per_dim": [float(v) for v in mu_variance],
        "active_units": int((mu_variance > ACTIVE_VARIANCE).sum()),  # Burda et al.
        "collapsed_dims": int((~informative_dimensions(kl_per_dim)).sum()),  # average KL <= COLLAPSED_KL
    }


def _draws(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, n: int,
           generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """n draws z ~ q(z|x) for each image of x (B, C, H, W): log p(x|z) and the log importance weights, (n, B) each."""
    batch = x.shape[0]
    z = mu + torch.exp(0.5 * logvar) * torch.randn((n, *mu.shape), device=x.device, generator=generator)  # (n, B, D)
    x_rep = x.unsqueeze(0).expand(n, *x.shape).reshape(n * batch, *x.shape[1:])
    log_px_z = model.log_likelihood(x_rep, model.decode_params(z.reshape(n * batch, -1))).view(n, batch)
    return log_px_z, log_importance_weights(log_px_z, z, mu, logvar)


def iwae_bound(
    model: VAE, x: torch.Tensor, k: int, *, chunk_size: int = 256, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The importance-weighted bound log p(x) >= log (1/k) sum_i p(x, z_i) / q(z_i|x) (Burda et al.).

    Returns (B,) lower bounds on log p(x) in nats; negate for an NLL estimate. ``k = 1`` is the ELBO.
    Samples are drawn ``chunk_size`` at a time and folded into a running logsumexp, so memory is
    O(B * chunk_size) whatever k is.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    mu, logvar = model.encode(x)  # (B, D) each
    mu, logvar = mu.float(), logvar.float()
    running = torch.full((x.shape[0],), -math.inf, device=x.device)  # logsumexp so far, (B,)
    done = 0
    while done < k:
        n = min(chunk_size, k - done)
        _, log_w = _draws(model, x, mu, logvar, n, generator)
        running = torch.logaddexp(running, torch.logsumexp(log_w, dim=0))
        done += n
    return running - math.log(k)


@torch.no_grad()
def image_bounds(model: VAE, x: torch.Tensor, k: int, *, chunk_size: int = 100, seed: int = 0,
                 progress: Callable[[int], None] | None = None) -> tuple[float, float]:
    """(ELBO, IWAE_k) of one image (1, C, H, W) from the same k draws of q(z|x), in nats.

    The ELBO is the mean of the log importance weights, IWAE_k their log-mean-exp: ELBO <= IWAE_k <= log p(x),
    so IWAE_k - ELBO is a lower bound on the gap log p(x) - ELBO = KL(q(z|x) || p(z|x)), tighter as k
    grows. ``progress(done)`` is told after each chunk of draws.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    generator = torch.Generator(device=x.device).manual_seed(seed)
    mu, logvar = (t.float() for t in model.encode(x))
    weights, done = [], 0
    while done < k:
        n = min(chunk_size, k - done)
        weights.append(_draws(model, x, mu, logvar, n, generator)[1][:, 0].double())
        done += n
        if progress is not None:
            progress(done)
    log_w = torch.cat(weights)
    return float(log_w.mean()), float(torch.logsumexp(log_w, dim=0) - math.log(k))


SCORE_NAMES = ("nelbo", "recon", "kl", "nll_iwae", "gap")  # per-image scores, in nats (scores.npz)


@torch.no_grad()
def per_image_scores(model: VAE, images: torch.Tensor | np.ndarray, k: int, *, batch_size: int = 100,
                     seed: int = 0, progress: bool = False) -> dict[str, np.ndarray]:
    """Per image, from k draws of q(z|x) each (nats, float32 arrays of len(images)):

    recon     -E_q[log p(x|z)], the mean over the draws;
    kl        KL(q(z|x) || N(0, I)), closed form;
    nelbo     recon + kl, the negative ELBO;
    nll_iwae  -IWAE_k, an upper bound on -log p(x);
    gap       IWAE_k minus the ELBO of the same draws (>= 0): a lower bound on KL(q(z|x) || p(z|x)).
    """
    device = next(model.parameters()).device
    images = torch.as_tensor(images)
    generator = torch.Generator(device=device).manual_seed(seed)
    out = {name: [] for name in SCORE_NAMES}
    for start in tqdm(range(0, len(images), batch_size), desc=f"scores k={k}", disable=not progress, leave=False):
        x = images[start : start + batch_size].to(device)
        mu, logvar = (t.float() for t in model.encode(x))
        log_px_z, log_w = (t.double() for t in _draws(model, x, mu, logvar, k, generator))
        recon = -log_px_z.mean(dim=0)
        kl = kl_to_standard_normal(mu, logvar).sum(dim=1).double()
        iwae = torch.logsumexp(log_w, dim=0) - math.log(k)
        for name, value in (("recon", recon), ("kl", kl), ("nelbo", recon + kl), ("nll_iwae", -iwae),
                            ("gap", iwae - log_w.mean(dim=0))):
            out[name].append(value.cpu().numpy())
    return {name: np.concatenate(values).astype(np.float32) for name, values in out.items()}


@torch.no_grad()
def iwae_nll(
    model: VAE, images: torch.Tensor | np.ndarray, k: int, *, batch_size: int = IWAE_BATCH[0],
    chunk_size: int = IWAE_BATCH[1], seed: int = 0, progress: bool = False,
) -> float:
    """Mean of -IWAE_k over ``images``: an upper bound on the NLL, tighter as k grows (nats per image)."""
    device = next(model.parameters()).device
    images = torch.as_tensor(images)
    generator = torch.Generator(device=device).manual_seed(seed)
    total = torch.zeros((), device=device, dtype=torch.float64)
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=f"IWAE k={k}", disable=not progress, leave=False):
        x = images[start : start + batch_size].to(device, non_blocking=True)
        total -= iwae_bound(model, x, k, chunk_size=chunk_size, generator=generator).double().sum()
    return float(total) / len(images)


def _files_now(checkpoint: Checkpoint, dataset: str | None, labels: str | None,
               class_names: str | None) -> tuple[str, str | None, str | None]:
    """The dataset, labels and class-names files to read: where the user says they moved, else where training
    read them. DataError, with the flag to pass, for any that is not on disk."""
    tc = checkpoint.train_config
    now = (dataset or checkpoint.dataset, labels or tc.labels, class_names or tc.class_names)
    missing = missing_files(*now)
    typed = {"--dataset": dataset, "--labels": labels, "--class-names": class_names}
    wrong = [f"{path} (given to {flag})" for flag, path in missing.items() if typed[flag]]
    if wrong:
        raise DataError(f"Nothing is at {' or '.join(wrong)}. Check the path.")
    if missing:
        files = " and ".join(f"{flag} {path}" for flag, path in missing.items())
        command = " ".join([f"python -m explorer evaluate {checkpoint.path}",
                            *(f"{flag} {path}" for flag, path in typed.items() if path),
                            *(f"{flag} NEW/PATH" for flag in missing)])
        relative = not all(Path(path).expanduser().is_absolute() for path in missing.values())
        where = f" (looked for from {Path.cwd()})" if relative else ""
        one = len(missing) == 1
        raise DataError(f"This model was trained with {files}, which {'is' if one else 'are'} no longer there{where}. "
                        f"If {'it has' if one else 'they have'} moved, say where to: {command}")
    return now


def evaluate(
    checkpoint: Checkpoint,
    *,
    iwae_k: int = DEFAULT_IWAE_K,
    device: str = "auto",
    data_dir: str | None = None,
    dataset: str | None = None,
    labels: str | None = None,
    class_names: str | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """All test-split numbers of a checkpoint, as one JSON-ready dict.

    ``dataset``, ``labels``, ``class_names``: where the checkpoint's own dataset file or folder and its labels and
    class-names files are now, when they have moved since training.
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    tc = checkpoint.train_config
    source, labels, class_names = _files_now(checkpoint, dataset, labels, class_names)
    data = load_dataset(source, data_dir=data_dir or tc.data_dir, image_size=tc.image_size, download=True,
                        test_only=True, labels=labels, class_names=class_names)
    model = checkpoint.model.to(dev)
    test = torch.as_tensor(data.test.images)
    result: dict[str, Any] = elbo_stats(model, test, seed=seed)
    if iwae_k > 0:
        result["nll_iwae"] = iwae_nll(model, test, iwae_k, seed=seed, progress=progress)
    result.update(
        iwae_k=iwae_k,
        n_test=len(test),
        dataset=checkpoint.dataset,
        device=str(dev),
        seconds=round(time.perf_counter() - started, 2),
    )
    return result
