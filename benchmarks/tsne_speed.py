"""t-SNE of a model's codes on this machine: scikit-learn (Barnes-Hut) against openTSNE (FFT-accelerated).

    python -m benchmarks.tsne_speed [--checkpoint trained/fashion-mnist-d16] [--sizes 10000 70000]
                                    [--out benchmarks/results/tsne-speed-cpu.json]

The codes are the posterior means of the checkpoint's test split followed by its training split
(Fashion-MNIST: 10,000 + 60,000), encoded once; each size takes the first N. Both libraries get the
same codes, 2 threads (the machine's cores), perplexity 30, PCA initialisation and a fixed seed: the
app's settings (explorer.embedding.fit_tsne). Seconds are wall-clock for the whole fit, the two
libraries alternating per size. Also reported: how well each keeps neighbours, the share of each
point's 10 nearest codes that are among its 10 nearest on the map (on a fixed sample of 2,000 points),
so that "faster" is not bought with a worse map. Prints one JSON object and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.app_common import emit, machine

THREADS = 2


def sklearn_tsne(mu: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=30.0, init="pca", learning_rate="auto", random_state=seed,
                n_jobs=THREADS).fit_transform(mu)


def open_tsne(mu: np.ndarray, seed: int) -> np.ndarray:
    from openTSNE import TSNE

    return np.asarray(TSNE(n_components=2, perplexity=30.0, initialization="pca", learning_rate="auto",
                           negative_gradient_method="fft", random_state=seed, n_jobs=THREADS).fit(mu))


def neighbours_kept(mu: np.ndarray, xy: np.ndarray, k: int = 10, sample: int = 2000) -> float:
    from sklearn.neighbors import NearestNeighbors

    rows = np.random.default_rng(0).choice(len(mu), min(sample, len(mu)), replace=False)
    near_z = NearestNeighbors(n_neighbors=k + 1).fit(mu).kneighbors(mu[rows], return_distance=False)[:, 1:]
    near_xy = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy[rows], return_distance=False)[:, 1:]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(near_z, near_xy)]))


def codes(checkpoint: Path) -> np.ndarray:
    from explorer.checkpoint import load
    from explorer.data import load_dataset
    from explorer.embedding import encode

    ckpt = load(checkpoint)
    tc = ckpt.train_config
    data = load_dataset(ckpt.dataset, data_dir=tc.data_dir, image_size=tc.image_size, download=False,
                        labels=tc.labels, class_names=tc.class_names)
    return np.concatenate([encode(ckpt.model, data.test.images)[0], encode(ckpt.model, data.train.images)[0]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("trained/fashion-mnist-d16"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 70_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tsne-speed-cpu.json"))
    args = parser.parse_args()
    import openTSNE
    import sklearn

    mu = codes(args.checkpoint).astype(np.float32)
    results = []
    for i, n in enumerate(args.sizes):
        row = {"points": min(n, len(mu))}
        order = [("sklearn", sklearn_tsne), ("openTSNE", open_tsne)]
        for name, fit in (order if i % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            xy = fit(mu[:n], args.seed)
            row[f"{name}_s"] = round(time.perf_counter() - t0, 1)
            row[f"{name}_neighbours_kept"] = round(neighbours_kept(mu[:n], xy), 3)
        row["sklearn_over_openTSNE"] = round(row["sklearn_s"] / row["openTSNE_s"], 2)
        results.append(row)
        print(row, flush=True)
    emit({"machine": machine(), "versions": {"scikit-learn": sklearn.__version__, "openTSNE": openTSNE.__version__},
          "checkpoint": str(args.checkpoint), "method": __doc__.split("\n\n", 2)[2].strip(), "results": results},
         args.out)


if __name__ == "__main__":
    main()
