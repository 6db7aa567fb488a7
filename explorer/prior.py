"""Prior holes: the aggregate posterior against the prior N(0, I), and a Gaussian mixture as the contrast.

A VAE's prior is N(0, I), but the codes the encoder gives the data (the aggregate posterior) need not fill
it: a draw from the prior can land where no image's code lies, and decodes to something the data never
shows. The textbooks' contrast is a mixture of Gaussians fitted to the codes: ``fit_mixture`` chooses its
number of components by BIC (scikit-learn's GaussianMixture). ``realism`` measures which prior's samples
look more like the data, as the model itself sees it: each sample is decoded, the decoded image is
encoded again, and the distance from that code to the nearest real code is taken. A decoded image that
lies on the data's manifold re-encodes among the data's codes; one from a hole in the aggregate
posterior re-encodes away from them. The same measure on held-out real codes (decoded and re-encoded) is
the reference a good sampler reaches. It ranks samplers by their typical draws, not by their worst: the
encoder pulls even a wild image back towards the data, so one draw far in the tails does not score far.
``aggregate_on_plane`` draws the holes on a linear map: the aggregate posterior q(z) = mean_n q(z|x_n),
projected on the plane, is the mixture of the projected Gaussians (exact, as each q(z|x) projects to a
Gaussian), and the prior projects to N(-W m, I) (the plane's rows are orthonormal). Each is summarised by
the regions that hold 50% and 90% of its mass; the prior's mass outside the codes' 90% region is what a
prior sample risks on this plane.
No torch at import; no streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.mixture import GaussianMixture

    from explorer.model import VAE

MAX_COMPONENTS = 10
HDR_MASSES = (0.5, 0.9)  # the contours: the smallest regions holding half and nine tenths of the mass
PLANE_GRID = 64  # cells a side of the grid the aggregate posterior's density is evaluated on
_GRID_CHUNK = 256  # grid points per block of the (points, codes) density sum: 256 x 10,000 float64 = 20 MB


@dataclass(frozen=True)
class PlaneDensity:
    """The aggregate posterior on a plane: its density on a grid, and the regions of the prior and of it."""

    x: np.ndarray  # (G,) the grid's column centres, in the plane's units
    y: np.ndarray  # (G,) its row centres
    density: np.ndarray  # (G, G) q(z) on the plane at (y[row], x[col])
    levels: dict[float, float]  # mass -> the density above which the grid holds that share of q(z)'s mass
    prior_centre: np.ndarray  # (2,) where N(0, I) sits on the plane
    prior_outside: float  # the prior's mass on the plane outside the codes' 90% region

    @staticmethod
    def prior_radius(mass: float) -> float:
        """The radius of the disc holding ``mass`` of a 2-D standard normal: 1 - exp(-r^2 / 2) = mass."""
        return float(np.sqrt(-2 * np.log1p(-mass)))


def _hdr_levels(density: np.ndarray, cell_area: float, masses: tuple[float, ...]) -> dict[float, float]:
    """For each mass, the density level whose super-level set on the grid holds that share of the grid's mass."""
    values = np.sort(density.ravel())[::-1]
    held = np.cumsum(values) * cell_area
    held /= held[-1]
    return {m: float(values[min(np.searchsorted(held, m), len(values) - 1)]) for m in masses}


def aggregate_on_plane(mu: np.ndarray, logvar: np.ndarray, components: np.ndarray, mean: np.ndarray,
                       *, grid: int = PLANE_GRID, stds: float = 3.5) -> PlaneDensity:
    """The aggregate posterior of codes ``mu``, ``logvar`` (N, D) on the plane p = W (z - mean), W (2, D).

    Each q(z|x_n) projects to N(W (mu_n - mean), W diag(sigma_n^2) W^T), so q(z) on the plane is their mean:
    exact, not a kernel estimate. The grid covers the codes and the prior's region to ``stds``.
    """
    w, m = np.asarray(components, np.float64), np.asarray(mean, np.float64)
    centres = (np.asarray(mu, np.float64) - m) @ w.T  # (N, 2)
    var = np.exp(np.asarray(logvar, np.float64))  # (N, D)
    a, b, d = var @ (w[0] ** 2), var @ (w[0] * w[1]), var @ (w[1] ** 2)  # each code's 2x2 covariance
    det = a * d - b * b
    prior_centre = -w @ m
    lo = np.minimum(centres.min(axis=0), prior_centre - stds)
    hi = np.maximum(centres.max(axis=0), prior_centre + stds)
    xs, ys = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
    px, py = (g.ravel() for g in np.meshgrid(xs, ys))
    density = np.empty(px.size)
    norm = 1 / (2 * np.pi * np.sqrt(det))
    for start in range(0, px.size, _GRID_CHUNK):
        dx = px[start : start + _GRID_CHUNK, None] - centres[None, :, 0]  # (chunk, N)
        dy = py[start : start + _GRID_CHUNK, None] - centres[None, :, 1]
        q = (d * dx * dx - 2 * b * dx * dy + a * dy * dy) / det  # the Mahalanobis distance squared
        density[start : start + _GRID_CHUNK] = (norm * np.exp(-0.5 * q)).mean(axis=1)
    density = density.reshape(grid, grid)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    levels = _hdr_levels(density, cell, HDR_MASSES)
    prior = np.exp(-0.5 * ((px - prior_centre[0]) ** 2 + (py - prior_centre[1]) ** 2)) / (2 * np.pi)
    inside_grid = prior.sum() * cell
    outside = float(prior[density.ravel() < levels[max(HDR_MASSES)]].sum() * cell + max(0.0, 1 - inside_grid))
    return PlaneDensity(xs, ys, density, levels, prior_centre, min(outside, 1.0))


@dataclass(frozen=True)
class Mixture:
    model: GaussianMixture
    bic: dict[int, float]  # BIC by number of components: the lowest was chosen

    @property
    def components(self) -> int:
        return int(self.model.n_components)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """(n, D) float32 draws (seeded: the same seed gives the same draws)."""
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n, self.model.weights_)
        draws = [rng.multivariate_normal(self.model.means_[k], self.model.covariances_[k], size=c)
                 for k, c in enumerate(counts) if c]
        z = np.concatenate(draws) if draws else np.zeros((0, self.model.means_.shape[1]))
        return z[rng.permutation(len(z))].astype(np.float32)


def fit_mixture(mu: np.ndarray, *, max_components: int = MAX_COMPONENTS, seed: int = 0) -> Mixture:
    """A full-covariance Gaussian mixture of the codes ``mu`` (N, D), its size chosen by BIC among 1..max."""
    from sklearn.mixture import GaussianMixture  # here: scikit-learn costs a second to import

    mu = np.asarray(mu, np.float64)
    fits, bic = {}, {}
    for k in range(1, max_components + 1):
        gmm = GaussianMixture(n_components=k, covariance_type="full", random_state=seed, reg_covar=1e-5).fit(mu)
        fits[k], bic[k] = gmm, float(gmm.bic(mu))
    return Mixture(fits[min(bic, key=bic.get)], bic)


def realism(model: VAE, z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(n,) distance from the re-encoding of each decoded z to the nearest code in ``reference`` (M, D)."""
    import torch

    with torch.no_grad():
        images = model.decode(torch.as_tensor(np.asarray(z, np.float32)))
        again, _ = model.encode(images)
    again = again.numpy().astype(np.float64)
    ref = np.asarray(reference, np.float64)
    d2 = (again**2).sum(1)[:, None] - 2 * again @ ref.T + (ref**2).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(axis=1), 0))
