"""What each speed setting adds, one rung at a time, in one process on one device; prints JSON.

    python -m benchmarks.train_ladder [--device auto] [--epochs 10] [--model mlp|conv] [--out ...]

Trains the same model on Fashion-MNIST once per rung, each rung adding one setting to the one below:

  eager        our trainer as it ships: data on the device, no per-step sync, fp32, batch 128
  bf16         + bf16 autocast
  batch-1024   + batch 1024 with a 3x peak learning rate and a cosine schedule
  compile      + torch.compile (default mode)
  cuda-graphs  + torch.compile's reduce-overhead mode (CUDA graphs; only on a GPU)

and reports, for each, the median seconds per epoch (the first epoch, which pays for compiling, is
left out of the median and reported on its own), the test negative ELBO after the last epoch, and
the speed-up over the rung below and over the first rung. benchmarks/NOTES.md holds what each rung
was expected to gain, written before it was measured.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


from benchmarks.train_speed import REFERENCE_MODEL, SHIPPED_MODEL, emit, run_ours
from explorer.config import TrainConfig
from explorer.data import load_dataset
from explorer.devices import device_name, library_versions, resolve_device

RUNGS = [
    ("eager", {}),
    ("bf16", {"precision": "bf16"}),
    ("batch-1024", {"batch_size": 1024, "lr": 3e-3}),
    ("compile", {"compile": "default"}),
    ("cuda-graphs", {"compile": "reduce-overhead"}),
]
SHOWN = ("batch_size", "lr", "precision", "compile", "lr_schedule")  # the TrainConfig fields the rungs change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", choices=("mlp", "conv"), default="mlp",
                        help="mlp: the reference's 784-400-20; conv: the shipped fashion-mnist-d16 model")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    device = resolve_device(args.device)
    data = load_dataset("fashion-mnist")
    test_images = torch.from_numpy(data.test.images)
    model = REFERENCE_MODEL if args.model == "mlp" else SHIPPED_MODEL
    settings = dict(dataset="fashion-mnist", device=args.device, embed_tsne=False, val_fraction=1 / 60,
                    epochs=args.epochs, lr_schedule="cosine")
    rungs = []
    for name, change in RUNGS:
        settings = {**settings, **change}
        if settings.get("compile") == "reduce-overhead" and device.type != "cuda":
            continue  # CUDA graphs need a GPU
        config = TrainConfig(**settings)
        run = run_ours(name, model, config, data, test_images)
        later = run["epoch_seconds"][1:] or run["epoch_seconds"]
        rungs.append({"rung": name, "settings": {k: getattr(config, k) for k in SHOWN},
                      "seconds_per_epoch": float(np.median(later)), "first_epoch_seconds": run["epoch_seconds"][0],
                      "test_neg_elbo_final": run["test_neg_elbo"][-1], **run})
    for below, rung in zip([None, *rungs], rungs):
        rung["speedup_over_rung_below"] = None if below is None else \
            below["seconds_per_epoch"] / rung["seconds_per_epoch"]
        rung["speedup_over_eager"] = rungs[0]["seconds_per_epoch"] / rung["seconds_per_epoch"]
    summary = {"device": device_name(device), "versions": library_versions(), "model": args.model,
               "epochs": args.epochs, "rungs": rungs}
    emit(summary, args.out)


if __name__ == "__main__":
    main()
