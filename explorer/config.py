"""Configuration dataclasses: one per concern, typed, with defaults.

The model is built from ``ModelConfig`` alone; the trainer reads ``TrainConfig``. The CLI derives its
flags from these fields one to one (see ``explorer.cli``), and checkpoints store them as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, Literal

from explorer.errors import CheckpointError

Architecture = Literal["mlp", "conv"]
Likelihood = Literal["bernoulli", "gaussian"]
GaussianScale = Literal["per_pixel", "shared"]
Activation = Literal["relu", "silu"]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["fp32", "bf16"]
Schedule = Literal["constant", "cosine"]
Compile = Literal["off", "default", "reduce-overhead", "max-autotune"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a VAE's modules; sizes never come from literals elsewhere."""

    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W) of the images the model reads
    latent_dim: int = 16  # dimensions of z
    architecture: Architecture = "conv"  # encoder/decoder family
    hidden_dims: tuple[int, ...] = (32, 64)  # mlp: hidden widths; conv: channels per stride-2 layer
    fc_dim: int = 256  # conv only: width of the dense layer between the conv stack and the latents
    activation: Activation = "relu"  # nonlinearity between layers
    likelihood: Likelihood = "bernoulli"  # p(x|z): Bernoulli on logits, or Gaussian
    gaussian_scale: GaussianScale = "per_pixel"  # gaussian only: sigma_theta(z) per pixel, or one learned scalar
    min_log_sigma: float = -4.5  # gaussian only: floor on log sigma, so flat pixels cannot drive the NLL to -inf

    def __post_init__(self) -> None:
        _check_literal(self, "architecture", Architecture)
        _check_literal(self, "likelihood", Likelihood)
        _check_literal(self, "gaussian_scale", GaussianScale)
        _check_literal(self, "activation", Activation)
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {self.image_shape}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {self.latent_dim}")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ValueError(f"hidden_dims must be non-empty positive widths, got {self.hidden_dims}")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained. Each field is one command-line flag of ``explorer train``."""

    dataset: str = "digits"  # built-in name (digits, fashion-mnist, mnist) or a path to images / .npz / .npy
    data_dir: str | None = None  # extra folder to look for dataset files in
    image_size: int | None = None  # resize images to this square size (mixed-size folders: most common size)
    labels: str | None = None  # labels of a .npz/.npy dataset kept in their own file (.npy, or .npz of one array)
    class_names: str | None = None  # class names: a text file, one per line, or a CSV (FILE.csv:COLUMN picks one)
    epochs: int = 30  # passes over the training split
    batch_size: int = 128  # images per optimiser step
    lr: float = 1e-3  # Adam learning rate (peak, when a schedule is used)
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    lr_schedule: Schedule = "constant"  # constant, or cosine decay to zero over all steps
    grad_clip: float | None = None  # clip the global gradient norm to this value (None: no clipping)
    kl_warmup_epochs: float = 0.0  # KL weight rises linearly from 0 to 1 over this many epochs
    val_fraction: float = 0.1  # share of the training split held out to pick the best epoch
    seed: int = 0  # seeds the split, initialisation, batches and sampling
    device: Device = "auto"  # auto picks CUDA when present, else CPU
    precision: Precision = "fp32"  # bf16 runs forward/backward under autocast (CUDA or CPU)
    compile: Compile = "off"  # torch.compile the training step (mode); reduce-overhead adds CUDA graphs on a GPU
    embed_tsne: bool = True  # compute the t-SNE map of the test split at the end (slow on large sets)

    def __post_init__(self) -> None:
        _check_literal(self, "lr_schedule", Schedule)
        _check_literal(self, "device", Device)
        _check_literal(self, "precision", Precision)
        _check_literal(self, "compile", Compile)
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")


def _check_literal(obj: Any, name: str, literal: Any) -> None:
    allowed = typing.get_args(literal)
    value = getattr(obj, name)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from JSON, refusing unknown fields with a clear message."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise CheckpointError(
            f"{cls.__name__} has no field(s) {', '.join(unknown)}: this config was written by another "
            "program or a newer version of Latent Explorer. Upgrade, or retrain the model."
        )
    kwargs = {}
    for key, value in data.items():
        if isinstance(value, list):  # JSON has no tuples
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"Invalid {cls.__name__} in checkpoint: {err}") from err


def field_help(cls: type) -> dict[str, str]:
    """The one-line comment of each field, read from the source, for the CLI's --help."""
    import inspect

    lines = inspect.getsource(cls).splitlines()
    helps = {}
    for line in lines:
        stripped = line.strip()
        if ":" in stripped and "#" in stripped and not stripped.startswith(("#", "def", "class")):
            name = stripped.split(":", 1)[0].strip()
            helps[name] = stripped.split("#", 1)[1].strip()
    return helps

