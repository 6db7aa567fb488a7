"""Training speed against the reference recipe, in one process on one device; prints JSON.

    python -m benchmarks.train_speed [--device auto] [--epochs 10] [--out benchmarks/results/<device>.json]
                                     [--fast-batch-size 1024 --fast-lr 3e-3 --precision bf16 --compile default]

Trains, on Fashion-MNIST and in this order:
  reference   the pytorch/examples VAE recipe (benchmarks/reference_vae.py), ``--epochs`` epochs;
  ours-mlp    our trainer on the same MLP 784-400-20 model and batch size, to isolate the loop;
  ours-fast   the same MLP with the speed settings (--fast-batch-size, --fast-lr with a cosine schedule,
              --precision, --compile), ``--fast-epochs`` epochs: only when one of them is given;
  ours        our trainer on the shipped recipe (conv, latent_dim 16, cosine schedule), with the speed
              settings when given.
Reports seconds per epoch, the test negative ELBO after each epoch (summed BCE on [0, 1] pixels +
KL, nats per image: the same metric for all three), the wall time each of ours needs to reach the
reference's final test loss, and the ratios. Timings of the three share a process and a device.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


from benchmarks.reference_vae import run_reference
from explorer.config import ModelConfig, TrainConfig
from explorer.data import load_dataset
from explorer.devices import device_name, library_versions, resolve_device
from explorer.evaluate import elbo_stats
from explorer.train import train

REFERENCE_MODEL = ModelConfig(latent_dim=20, architecture="mlp", hidden_dims=(400,))
SHIPPED_MODEL = ModelConfig(latent_dim=16, architecture="conv")


def run_ours(name: str, model_config: ModelConfig, train_config: TrainConfig, data, test_images: torch.Tensor) -> dict:
    """Train with our trainer, measuring the test loss after every epoch (outside the timed epoch)."""
    test_losses: list[float] = []
    elapsed: list[float] = []  # training wall time at the end of each epoch, evaluation excluded
    clock = {"train": 0.0, "last": time.perf_counter()}

    def on_epoch_end(epoch: int, model) -> None:
        clock["train"] += time.perf_counter() - clock["last"]
        elapsed.append(clock["train"])
        test_losses.append(elbo_stats(model, test_images, seed=0)["neg_elbo"])
        clock["last"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        clock["last"] = time.perf_counter()
        out = train(model_config, train_config, Path(tmp) / name, progress=False, data=data,
                    on_epoch_end=on_epoch_end)
        history = json.loads((out / "metrics.json").read_text())["history"]
    return {
        "epoch_seconds": [r["seconds"] for r in history],
        "elapsed_seconds": elapsed,
        "test_neg_elbo": test_losses,
    }


def emit(summary: dict, out: Path | None) -> None:
    """Print the JSON summary, and write it to ``out`` when given."""
    text = json.dumps(summary, indent=2)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def time_to_reach(run: dict, target: float) -> float | None:
    for seconds, loss in zip(run["elapsed_seconds"], run["test_neg_elbo"]):
        if loss <= target:
            return round(seconds, 2)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the reference and ours-mlp")
    parser.add_argument("--ours-epochs", type=int, default=30, help="epochs of the shipped recipe")
    parser.add_argument("--fast-epochs", type=int, help="epochs of ours-fast (default: --epochs); a large batch takes "
                        "more epochs to reach the same loss, and the time to reach it is what counts")
    parser.add_argument("--fast-batch-size", type=int, help="batch size of ours-fast and ours")
    parser.add_argument("--fast-lr", type=float, help="peak learning rate of ours-fast and ours")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="of ours-fast and ours")
    parser.add_argument("--compile", choices=("off", "default", "reduce-overhead", "max-autotune"), default="off",
                        help="torch.compile mode of ours-fast and ours")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    speed = {k: v for k, v in {"batch_size": args.fast_batch_size, "lr": args.fast_lr, "precision": args.precision,
                               "compile": args.compile}.items() if v not in (None, "fp32", "off")}

    device = resolve_device(args.device)
    data = load_dataset("fashion-mnist")
    test_images = torch.from_numpy(data.test.images)
    as_uint8 = lambda a: np.round(a[:, 0] * 255).astype(np.uint8)  # noqa: E731  (N, 28, 28)

    reference = run_reference(as_uint8(data.train.images), as_uint8(data.test.images), args.epochs, device)
    target = reference["test_neg_elbo"][-1]
    common = dict(dataset="fashion-mnist", device=args.device, embed_tsne=False, val_fraction=1 / 60)
    ours_mlp = run_ours("ours-mlp", REFERENCE_MODEL, TrainConfig(epochs=args.epochs, **common), data, test_images)
    fast = None
    if speed:
        fast = run_ours("ours-fast", REFERENCE_MODEL,
                        TrainConfig(epochs=args.fast_epochs or args.epochs, lr_schedule="cosine", **common, **speed),
                        data, test_images)
    ours = run_ours("ours", SHIPPED_MODEL,
                    TrainConfig(epochs=args.ours_epochs, lr_schedule="cosine", **common, **speed), data, test_images)

    median = lambda xs: float(np.median(xs))  # noqa: E731
    summary = {
        "device": device_name(device),
        "versions": library_versions(),
        "reference": {"seconds_per_epoch": median(reference["epoch_seconds"]),
                      "test_neg_elbo_final": target, "epochs": args.epochs, **reference},
        "ours_mlp": {"seconds_per_epoch": median(ours_mlp["epoch_seconds"]),
                     "test_neg_elbo_final": ours_mlp["test_neg_elbo"][-1],
                     "seconds_to_reference_loss": time_to_reach(ours_mlp, target), **ours_mlp},
        "speed_settings": speed,
        "ours": {"seconds_per_epoch": median(ours["epoch_seconds"]),
                 "test_neg_elbo_final": ours["test_neg_elbo"][-1],
                 "seconds_to_reference_loss": time_to_reach(ours, target), **ours},
    }
    summary["ratios"] = {
        "epoch_speedup_same_model": summary["reference"]["seconds_per_epoch"] / summary["ours_mlp"]["seconds_per_epoch"],
        "epoch_speedup_shipped_recipe": summary["reference"]["seconds_per_epoch"] / summary["ours"]["seconds_per_epoch"],
        "reference_seconds_for_its_loss": sum(reference["epoch_seconds"]),
    }
    if fast is not None:
        # The first epoch includes torch.compile's compilation: the median over epochs leaves it out.
        summary["ours_fast"] = {"seconds_per_epoch": median(fast["epoch_seconds"]),
                                "test_neg_elbo_final": fast["test_neg_elbo"][-1],
                                "seconds_to_reference_loss": time_to_reach(fast, target), **fast}
        summary["ratios"]["epoch_speedup_fast_mlp"] = (summary["reference"]["seconds_per_epoch"]
                                                      / summary["ours_fast"]["seconds_per_epoch"])
    emit(summary, args.out)


if __name__ == "__main__":
    main()
