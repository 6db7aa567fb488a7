"""How long the IWAE bound takes, per batching, in one process on one device; prints JSON.

    python -m benchmarks.iwae_speed [--checkpoint trained/fashion-mnist-d16] [--k 5000] [--images 200]
                                    [--device auto] [--out benchmarks/results/iwae-speed-<device>.json]

Times ``explorer.evaluate.iwae_nll`` on the first ``--images`` test images with k importance samples,
for each batching in ``--shapes`` (images per batch x samples per decoder call), against the
per-image reference: one image at a time, all k samples of it in one decoder call, as IWAE code is
commonly written. Reports seconds, decoder passes per second, the seconds projected for all 10,000
test images (the issue's goal: under 60 s on one H100/H200 at k = 5000), the bound itself (every
batching must give the same number within Monte Carlo noise), and the ratios to the reference.
On a CPU a full k = 5000 run over Fashion-MNIST's test split takes over an hour, hence the subset.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


from benchmarks.train_speed import emit
from explorer import checkpoint as ckpt
from explorer.data import load_dataset
from explorer.devices import device_name, library_versions, resolve_device
from explorer.evaluate import IWAE_BATCH, iwae_nll


def parse_shape(text: str) -> tuple[int, int]:
    images, samples = text.lower().split("x")
    return int(images), int(samples)


def timed(model, images: torch.Tensor, k: int, batch_size: int, chunk_size: int, device: torch.device) -> dict:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    iwae_nll(model, images[:batch_size], min(k, chunk_size), batch_size=batch_size, chunk_size=chunk_size)  # warm
    sync()
    start = time.perf_counter()
    nll = iwae_nll(model, images, k, batch_size=batch_size, chunk_size=chunk_size, seed=0)  # reads the result
    seconds = time.perf_counter() - start
    return {"images_per_batch": batch_size, "samples_per_call": chunk_size, "rows_per_call": batch_size * chunk_size,
            "seconds": seconds, "decoder_passes_per_second": len(images) * k / seconds, "nll_iwae": nll}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=Path("trained/fashion-mnist-d16"))
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--images", type=int, default=200, help="first N test images (10,000 is the whole split)")
    parser.add_argument("--shapes", nargs="+", type=parse_shape, default=[(100, 1000), (500, 1000)],
                        metavar="IMAGESxSAMPLES", help="batchings to time besides evaluate's own (100x250)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    device = resolve_device(args.device)
    checkpoint = ckpt.load(args.checkpoint)
    model = checkpoint.model.to(device).eval()
    data = load_dataset(checkpoint.dataset, test_only=True)
    n_test = len(data.test.images)
    images = torch.as_tensor(data.test.images[: args.images]).to(device)

    reference = timed(model, images, args.k, 1, args.k, device)
    shapes = [IWAE_BATCH, *(s for s in args.shapes if s != IWAE_BATCH)]
    runs = [timed(model, images, args.k, b, s, device) for b, s in shapes]  # runs[0]: evaluate's
    best = min(runs, key=lambda r: r["seconds"])
    project = lambda r: r["seconds"] * n_test / len(images)  # noqa: E731
    summary = {
        "device": device_name(device),
        "versions": library_versions(),
        "checkpoint": str(args.checkpoint),
        "k": args.k,
        "images_timed": len(images),
        "images_in_test_split": n_test,
        "reference_per_image": {**reference, "seconds_projected_for_test_split": project(reference)},
        "batched": [{**r, "seconds_projected_for_test_split": project(r)} for r in runs],
        "ratios": {
            "fastest_batching": f"{best['images_per_batch']}x{best['samples_per_call']}",
            "speedup_fastest_vs_per_image": reference["seconds"] / best["seconds"],
            "speedup_evaluate_default_vs_per_image": reference["seconds"] / runs[0]["seconds"],
            "projected_seconds_fastest": project(best),
            "goal_seconds_gpu": 60,
        },
    }
    emit(summary, args.out)


if __name__ == "__main__":
    main()
