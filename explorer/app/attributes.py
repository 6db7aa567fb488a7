"""Attribute vectors: the direction between two groups' mean codes, and how consistently it works. No streamlit.

A direction d = mean(mu_B) - mean(mu_A) moves any code z to z + t d ("more of B, less of A").
Whether d means something is measured in pixel space: the share of group-A points whose decoded
image gets closer to group B's mean decoded image when moved by d (t = 1), next to the same share
for random directions of the same length (what chance alone gives).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CONSISTENCY_SAMPLE = 256  # group-A points decoded to measure consistency: enough for +-3% at 95%
RANDOM_DIRECTIONS = 4  # random directions averaged for the chance baseline


def members(labels: np.ndarray, chosen: list[int] | tuple[int, ...]) -> np.ndarray:
    """Indices of the points whose label is one of ``chosen``: (N,) -> (K,)."""
    return np.flatnonzero(np.isin(labels, np.asarray(list(chosen), dtype=labels.dtype)))


def direction(mu: np.ndarray, group_a: np.ndarray, group_b: np.ndarray) -> np.ndarray:
    """mean(mu[B]) - mean(mu[A]): (N, D), index arrays -> (D,). Raises ValueError on an empty group."""
    if len(group_a) == 0 or len(group_b) == 0:
        raise ValueError("Both groups need at least one point.")
    return (mu[group_b].mean(axis=0) - mu[group_a].mean(axis=0)).astype(np.float32)


def move(z: np.ndarray, d: np.ndarray, amount: float | np.ndarray) -> np.ndarray:
    """z + amount * d; ``amount`` may be (T,) to give the (T, D) path of one point."""
    amounts = np.asarray(amount, dtype=np.float32)
    return (z + amounts[..., None] * d).astype(np.float32) if amounts.ndim else (z + amounts * d).astype(np.float32)


def closer_share(before: np.ndarray, after: np.ndarray, target: np.ndarray) -> float:
    """Share of images (M, ...) that are nearer ``target`` (...) after than before, in Euclidean pixel distance."""
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    goal = target.reshape(1, -1)
    d_before = np.linalg.norm(flat(before) - goal, axis=1)
    d_after = np.linalg.norm(flat(after) - goal, axis=1)
    return float(np.mean(d_after < d_before))


def sample(indices: np.ndarray, k: int = CONSISTENCY_SAMPLE, seed: int = 0) -> np.ndarray:
    """At most ``k`` of ``indices``, a fixed random choice (so the number does not flicker between reruns)."""
    if len(indices) <= k:
        return indices
    return np.sort(np.random.default_rng(seed).choice(indices, k, replace=False))


def random_like(d: np.ndarray, seed: int) -> np.ndarray:
    """A random direction as long as ``d``."""
    r = np.random.default_rng(seed).standard_normal(d.shape).astype(np.float32)
    return r * (np.linalg.norm(d) / max(float(np.linalg.norm(r)), 1e-12))


def consistency(decode: Callable[[np.ndarray], np.ndarray], mu: np.ndarray, group_a: np.ndarray,
                group_b: np.ndarray, d: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(share of sampled A points moved by ``d`` that decode closer to B's mean image, the same for random
    directions of equal length). ``decode`` maps (M, D) codes to (M, C, H, W) images."""
    a = mu[sample(group_a, seed=seed)]
    target = decode(mu[sample(group_b, seed=seed + 1)]).mean(axis=0)  # group B's mean decoded image
    before = decode(a)
    share = closer_share(before, decode(a + d), target)
    chance = np.mean([closer_share(before, decode(a + random_like(d, seed + 2 + k)), target)
                      for k in range(RANDOM_DIRECTIONS)])
    return share, float(chance)
