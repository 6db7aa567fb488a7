"""Pure latent-space math for the explorer: interpolation paths, slider ranges, dimension order.

NumPy in, NumPy out; no model and no UI, so every function is tested on its own.
"""

from __future__ import annotations

import numpy as np

SLIDER_STDS = 3.0  # a slider spans the encoded means' mean +- this many standard deviations
COLLAPSED_KL = 0.01  # nats: a dimension whose average KL is at most this has collapsed to the prior
ACTIVE_VARIANCE = 0.01  # Burda et al. (2016): a unit is active when Cov_x(E_q[z_d]) exceeds 1e-2


def lerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` points on the straight line from a to b, both included: (D,), (D,) -> (steps, D)."""
    return lerp_at(a, b, np.linspace(0.0, 1.0, steps))


def lerp_at(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The straight line from a to b at positions ``t`` (M,) in [0, 1]: (D,), (D,) -> (M, D)."""
    t = np.asarray(t, np.float64)[:, None]
    return (1.0 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation: the angle moves linearly and the norm linearly from |a| to |b|.

    Under a N(0, I) prior most mass lies near a shell, which a straight line between two codes cuts
    through; slerp stays near it. Falls back to lerp when a and b are (anti)parallel or zero.
    """
    return slerp_at(a, b, np.linspace(0.0, 1.0, steps))


def slerp_at(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``slerp`` at positions ``t`` (M,) in [0, 1]: (D,), (D,) -> (M, D)."""
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0 or norm_b == 0:
        return lerp_at(a, b, t)
    unit_a, unit_b = a / norm_a, b / norm_b
    omega = np.arccos(np.clip(unit_a @ unit_b, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp_at(a, b, t)
    t = np.asarray(t, np.float64)[:, None]
    direction = (np.sin((1.0 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / np.sin(omega)
    return direction * ((1.0 - t) * norm_a + t * norm_b)


INTERPOLATIONS = {"linear": lerp, "spherical": slerp}
INTERPOLATIONS_AT = {"linear": lerp_at, "spherical": slerp_at}  # the same curves at any positions t


def interpolate(a: np.ndarray, b: np.ndarray, steps: int, mode: str = "linear") -> np.ndarray:
    if steps < 2:
        raise ValueError(f"An interpolation needs at least 2 steps, got {steps}")
    if mode not in INTERPOLATIONS:
        raise ValueError(f"mode must be one of {', '.join(INTERPOLATIONS)}, got {mode!r}")
    return INTERPOLATIONS[mode](np.asarray(a, np.float64), np.asarray(b, np.float64), steps).astype(np.float32)


def slider_ranges(mu: np.ndarray, stds: float = SLIDER_STDS) -> np.ndarray:
    """Per-dimension (low, high) covering the data: mean +- ``stds`` standard deviations. (N, D) -> (D, 2).

    A dimension with no spread (collapsed) still gets the prior's +- ``stds``, so its slider moves.
    """
    center, spread = mu.mean(axis=0), mu.std(axis=0)
    spread = np.where(spread > 1e-6, spread, 1.0)
    return np.stack([center - stds * spread, center + stds * spread], axis=1).astype(np.float32)


def dimension_order(kl_per_dim: np.ndarray) -> np.ndarray:
    """Latent dimensions sorted by average KL, most informative first (ties keep index order)."""
    return np.argsort(-np.asarray(kl_per_dim), kind="stable")


def informative_dimensions(kl_per_dim: np.ndarray, threshold: float = COLLAPSED_KL) -> np.ndarray:
    """Boolean mask of dimensions whose average KL exceeds ``threshold`` nats; the others have collapsed.

    A collapsed dimension's posterior is the prior for every image, so the decoder reads nothing from
    it: the sliders hide those. This is not Burda et al.'s active units (see ``active_units``).
    """
    return np.asarray(kl_per_dim) > threshold


def active_units(mu: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> np.ndarray:
    """Boolean mask of Burda et al.'s active units: Cov_x(E_q[z_d]) > ``threshold``. (N, D) -> (D,).

    The variance across the data of the posterior mean: a unit is active when its code moves with the
    image. It differs from the KL count: a mean that barely moves under a shrunken sigma still pays KL.
    """
    return np.asarray(mu, np.float64).var(axis=0) > threshold


def nearest_neighbours(codes: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None) -> np.ndarray:
    """Indices of the ``k`` rows of ``codes`` (N, D) closest to ``query`` (D,) in Euclidean distance."""
    distances = np.linalg.norm(codes - query, axis=1)
    if exclude is not None:
        distances[exclude] = np.inf
    k = min(k, len(codes) - (exclude is not None))
    nearest = np.argpartition(distances, k)[:k] if k < len(codes) else np.arange(len(codes))
    return nearest[np.argsort(distances[nearest], kind="stable")]
