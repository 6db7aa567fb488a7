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
