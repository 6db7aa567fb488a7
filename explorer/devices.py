"""Which device to run on, and a record of the software and hardware a run used."""

from __future__ import annotations

import platform
from importlib import metadata

import torch

from explorer.errors import ExplorerError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ExplorerError("--device cuda was asked for, but PyTorch sees no CUDA GPU here. Use --device auto or cpu.")
    return device


def device_name(device: torch.device) -> str:
    """A human name of the device, e.g. 'NVIDIA H100 80GB HBM3' or 'cpu (x86_64, 2 threads)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"cpu ({platform.machine()}, {threads} thread{'' if threads == 1 else 's'})"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for package in ("numpy", "scikit-learn", "safetensors"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    from explorer import __version__

    versions["latent-explorer"] = __version__
    if torch.cuda.is_available():
        versions["cuda"] = str(torch.version.cuda)
    return versions
