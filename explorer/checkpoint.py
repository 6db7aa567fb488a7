"""Checkpoint folders: the one format every part of Latent Explorer reads and writes.

A checkpoint is a folder with fixed file names:

    config.json         format version, model config, training config, dataset name/shape, class names
    model.safetensors   the weights (never a pickle)
    metrics.json        per-epoch curves, final test numbers, device, wall time, seed, library versions
    embedding.npz       the test split's mu, logvar, labels and 2-D projections, so the app opens fast
    resume.safetensors  only while training: last epoch's weights and optimiser state for --resume

Every file is written to a temporary name and renamed into place, so a kill at any moment leaves
either the old or the new file, never a torn one. ``load`` is the single entry point for reading, and
this module is the only one that reads or writes these files.

torch is imported only where weights are read or written: the app reads a checkpoint's config,
metrics and cached map first, and paints the map while the model loads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors import SafetensorError, safe_open

from explorer.config import ModelConfig, TrainConfig, from_dict, to_dict
from explorer.embedding import MAP_DIMS, OPTIONAL_ARRAYS, Embedding, TrainCodes
from explorer.errors import CheckpointError
from explorer.metrics import Metrics

if TYPE_CHECKING:
    import torch

    from explorer.model import VAE

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
EMBEDDING_FILE = "embedding.npz"
TRAIN_CODES_FILE = "embedding-train.npz"  # the training split's codes and the whole dataset's t-SNE
SCORES_FILE = "scores.npz"  # per test image: -ELBO, its terms, -IWAE_k and their gap (python -m explorer score)
RESUME_FILE = "resume.safetensors"

# Extensions of pickle-based formats from other tools: named in the error, never opened.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib")


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (in eval mode) and everything recorded beside it.

    ``model`` is built and its weights read on first use (``load(..., lazy=True)``) or at once (the
    default); either way the weights are checked against the config before anything is allocated.
    """

    path: Path
    model_config: ModelConfig
    train_config: TrainConfig
    dataset: str  # the dataset name or path the model was trained on
    class_names: tuple[str, ...]
    metrics: Metrics  # empty (status 'unknown') when metrics.json is absent
    device: str = "cpu"
    _model: VAE | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def model(self) -> VAE:
        """The VAE in eval mode, loaded once (thread-safe: app sessions share a checkpoint)."""
        with self._lock:
            if self._model is None:
                self._model = _load_model(self.path, self.model_config, self.device)
            return self._model

    @property
    def embedding_path(self) -> Path:
        return self.path / EMBEDDING_FILE


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via ``write(tmp_path)`` to a temporary file beside ``path``, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp (and some writers) make 0600 files; give the usual ones
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# safetensors (0.8) writes its own temporary beside the file, named as Rust's tempfile crate names them: ".tmp"
# and six letters or digits. A kill inside save_file leaves one, next to ours.
SAFETENSORS_TEMPORARY = re.compile(r"\.tmp[A-Za-z0-9]{6}")


def is_temporary(name: str) -> bool:
    """A file name that only an interrupted write leaves: ours (".<name>.<random>.tmp") or safetensors'."""
    return (name.startswith(".") and name.endswith(".tmp")) or SAFETENSORS_TEMPORARY.fullmatch(name) is not None


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a write that was killed before its rename."""
    for tmp in (p for p in Path(folder).iterdir() if p.is_file() and is_temporary(p.name)):
        log.info("Removing %s, left by an interrupted write", tmp.name)
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2) + "\n"))


def read_metrics(folder: Path) -> Metrics:
    """The folder's metrics.json as a typed record; an empty one when there is none yet."""
    path = Path(folder) / METRICS_FILE
    if not path.is_file():
        return Metrics()
    try:
        return Metrics.from_json(read_json(path))
    except (TypeError, ValueError) as err:  # a field of the wrong kind: edited by hand, or not ours
        raise CheckpointError(f"{path} does not hold Latent Explorer metrics ({err}). Restore it, or delete it "
                              f"and run `python -m explorer evaluate {folder} --save`.") from err


def write_metrics(folder: Path, metrics: Metrics) -> None:
    write_json(Path(folder) / METRICS_FILE, metrics.to_json())


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def save_weights(folder: Path, model: VAE) -> None:
    save_tensors(folder / WEIGHTS_FILE, model.state_dict())


ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}  # what AdamW keeps per parameter, saved for --resume


class DamagedResumeError(CheckpointError):
    """resume.safetensors loads as safetensors but does not hold a whole loop state; ``reason`` says what is wrong.

    Training turns it into the message for the user: what to delete, and what a new --resume then does.
    """

    def __init__(self, path: Path, err: Exception) -> None:
        self.path = path
        self.reason = f"{type(err).__name__}: {err}"
        super().__init__(f"The resume state {path} is damaged ({self.reason}).")


def save_resume(
    folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Write ``resume.safetensors``: weights, optimiser and the loop's ``state`` (JSON) in one file.

    One file, so they can never disagree after a kill.
    """
    import torch

    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    optim = optimizer.state_dict()
    for index, values in optim["state"].items():
        for name, value in values.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value)
    meta = {**state, "param_groups": optim["param_groups"]}
    save_tensors(Path(folder) / RESUME_FILE, tensors, metadata={"state": json.dumps(meta)})


def read_resume(
    folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, required: tuple[str, ...]
) -> dict[str, Any] | None:
    """Load weights and optimiser from ``resume.safetensors``; return the saved loop state, or None without one.

    ``required``: the keys the loop state must have. A file that safetensors cannot read, or whose weights do
    not fit the model, raises the usual CheckpointError; one that reads but is incomplete, DamagedResumeError.
    """
    path = Path(folder) / RESUME_FILE
    if not path.is_file():
        return None
    tensors = load_state_dict(path, model, prefix="model.")
    try:  # the file was written whole (atomic_write), so a failure here means it was edited or is not ours
        with safe_open(str(path), framework="pt") as f:
            saved = json.loads(f.metadata()["state"])
        missing = set(required) - set(saved)
        if missing:
            raise KeyError(", ".join(sorted(missing)))
        optim_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                optim_state.setdefault(int(index), {})[name] = value
        n_params = sum(len(group["params"]) for group in optimizer.param_groups)
        incomplete = [i for i in range(n_params) if not ADAM_STATE <= set(optim_state.get(i, {}))]
        if incomplete:
            raise KeyError(f"optimiser state of parameter(s) {incomplete[:3]}")
        optimizer.load_state_dict({"state": optim_state, "param_groups": saved.pop("param_groups")})
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise DamagedResumeError(path, err) from err
    return saved


def save_config(
    folder: Path, model_config: ModelConfig, train_config: TrainConfig, class_names: tuple[str, ...]
) -> None:
    write_json(
        folder / CONFIG_FILE,
        {
            "format": "latent-explorer-checkpoint",
            "format_version": FORMAT_VERSION,
            "dataset": {
                "name": train_config.dataset,
                "image_shape": list(model_config.image_shape),
                "class_names": list(class_names),
            },
            "model": to_dict(model_config),
            "train": to_dict(train_config),
        },
    )


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not readable JSON ({err}). Restore it or retrain the model.") from err
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} should hold a JSON object. Restore it or retrain the model.")
    return data


def is_checkpoint(path: Path) -> bool:
    """Cheap test used to list models: a folder with both required files."""
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def list_checkpoints(root: Path) -> list[Path]:
    """Checkpoint folders directly under ``root``, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if is_checkpoint(p))


def read_config(path: Path) -> tuple[ModelConfig, TrainConfig, dict[str, Any]]:
    """Validate ``config.json`` of a checkpoint folder and rebuild its configs."""
    path = _require_folder(path)
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise CheckpointError(
            f"{path} has no {CONFIG_FILE}, so it is not a Latent Explorer checkpoint "
            f"(found: {_listing(path)}). Train one with `python -m explorer train --out {path}`."
        )
    data = read_json(config_path)
    version = data.get("format_version")
    if data.get("format") != "latent-explorer-checkpoint" or version is None:
        raise CheckpointError(f"{config_path} was not written by Latent Explorer (no format tag). Retrain the model.")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} uses checkpoint format version {version!r}; this Latent Explorer reads version "
            f"{FORMAT_VERSION}. Upgrade Latent Explorer, or retrain the model with this version."
        )
    for key in ("model", "train", "dataset"):
        if not isinstance(data.get(key), dict):
            raise CheckpointError(f"{config_path} lacks its '{key}' section. Retrain the model.")
    return from_dict(ModelConfig, data["model"]), from_dict(TrainConfig, data["train"]), data["dataset"]


def load_state_dict(path: Path, model: torch.nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    """Read safetensors weights into ``model``, with clear errors for wrong files and shapes."""
    import torch
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise _unreadable(path, err) from err
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    _check_shapes(path, _shapes(model.state_dict()), _shapes(state))
    not_finite = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if not_finite:
        raise CheckpointError(
            f"{path} holds NaN or infinite weights ({', '.join(not_finite[:3])}): the run that wrote them diverged. "
            "Retrain the model, e.g. with a lower --lr or --grad-clip 100."
        )
    model.load_state_dict(state)
    return tensors


def load(path: str | Path, device: str | torch.device = "cpu", *, lazy: bool = False) -> Checkpoint:
    """Load a checkpoint folder. Refuses anything else with a message that says what to do.

    ``lazy``: read the config and metrics now and the weights on first use of ``.model`` (which raises
    the same errors then); the app uses it to draw its map before torch is imported.
    """
    path = _require_folder(Path(path))
    model_config, train_config, dataset = read_config(path)
    class_names = dataset.get("class_names", [])
    if not isinstance(class_names, list) or not all(isinstance(name, str) for name in class_names):
        raise CheckpointError(f"{path / CONFIG_FILE}: dataset.class_names must be a list of names. Retrain the model.")
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(
            f"{path} has {CONFIG_FILE} but no {WEIGHTS_FILE}: training may not have finished its first "
            f"epoch. Resume it with `python -m explorer train --resume --out {path}` or retrain."
        )
    metrics = read_metrics(path)
    checkpoint = Checkpoint(
        path=path,
        model_config=model_config,
        train_config=train_config,
        dataset=str(dataset.get("name", train_config.dataset)),
        class_names=tuple(class_names),
        metrics=metrics,
        device=str(device),
    )
    if not lazy:
        checkpoint.model  # noqa: B018 - load the weights now, so their errors surface here
    return checkpoint


def _load_model(path: Path, model_config: ModelConfig, device: str) -> VAE:
    model = _build_model(path, model_config)
    load_state_dict(path / WEIGHTS_FILE, model)
    return model.eval().requires_grad_(False).to(device)


def _build_model(path: Path, model_config: ModelConfig) -> VAE:
    """The model config.json describes, checked against the weights' header before any memory is allocated."""
    import torch

    from explorer.model import VAE

    weights = path / WEIGHTS_FILE
    try:
        with torch.device("meta"):  # shapes only: a config naming absurd sizes must not fill the memory
            expected = _shapes(VAE(model_config).state_dict())
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path / CONFIG_FILE} describes a model that cannot be built ({err}). "
                              "Retrain the model.") from err
    try:
        with safe_open(str(weights), framework="pt") as f:  # reads the header only
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise _unreadable(weights, err) from err
    _check_shapes(weights, expected, found)
    return VAE(model_config)


def _shapes(tensors: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in tensors.items()}


def _check_shapes(path: Path, expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]]) -> None:
    """CheckpointError naming what differs when the tensors in ``path`` are not the ones the model has."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [f"{k}: file {found[k]} vs model {expected[k]}" for k in expected if k in found and found[k] != expected[k]]
    if missing or unexpected or wrong:
        details = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}" if missing else "",
                f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
                f"wrong shapes {', '.join(wrong[:3])}" if wrong else "",
            )
            if part
        )
        raise CheckpointError(
            f"The weights in {path} do not fit the model described by {CONFIG_FILE} ({details}). "
            "The files come from different runs; retrain the model or restore the matching pair."
        )


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    return CheckpointError(
        f"{path} is not a readable safetensors file ({err}). It may be corrupt or from another program; "
        "restore it or retrain the model."
    )


def _require_folder(path: Path) -> Path:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(
                f"{path} is a pickle-based file from another tool. Latent Explorer never unpickles files "
                "(they can run arbitrary code); it reads checkpoint folders with config.json and "
                "model.safetensors. Train a model with `python -m explorer train`."
            )
        raise CheckpointError(
            f"{path} is a file; a checkpoint is a folder holding {CONFIG_FILE} and {WEIGHTS_FILE}. "
            "Pass the folder instead."
        )
    if not path.is_dir():
        raise CheckpointError(f"No checkpoint folder at {path}. Check the path, or list models in trained/.")
    return path


def _listing(path: Path) -> str:
    names = sorted(p.name for p in path.iterdir())
    return ", ".join(names[:8]) + (" ..." if len(names) > 8 else "") if names else "nothing"


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Read an .npz with pickling disabled, as plain arrays."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{path} is not a readable .npz file ({err}); delete it and it will be recomputed.") from err


def save_embedding(folder: Path, embedding: Embedding) -> None:
    """Write ``embedding.npz``: the encoded test split and its maps, so the app opens without encoding."""
    arrays = {f.name: getattr(embedding, f.name) for f in fields(Embedding) if getattr(embedding, f.name) is not None}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object, so numpy does not append ".npz" to the temp name
            np.savez_compressed(f, **arrays)

    atomic_write(Path(folder) / EMBEDDING_FILE, write)


def load_embedding(folder: Path) -> Embedding:
    """Read ``embedding.npz`` (pickling disabled) and check that its arrays agree with each other."""
    path = Path(folder) / EMBEDDING_FILE
    arrays = load_npz(path)
    required = [f.name for f in fields(Embedding) if f.name not in OPTIONAL_ARRAYS]
    missing = [name for name in required if name not in arrays]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}; delete it and it will be recomputed.")
    n, d = arrays["mu"].shape
    expected = {
        "logvar": (n, d),
        "labels": (n,),
        "pca": (n, MAP_DIMS),
        "pca_components": (MAP_DIMS, d),
        "pca_mean": (d,),
        "pca_explained_variance_ratio": (MAP_DIMS,),
        "tsne": (n, MAP_DIMS),
    }
    for name, shape in expected.items():
        if name in arrays and arrays[name].shape != shape:
            raise CheckpointError(
                f"{path}: {name} has shape {arrays[name].shape}, expected {shape}; delete it and it will be recomputed."
            )
    return Embedding(**{name: arrays.get(name) for name in (f.name for f in fields(Embedding))})


def save_train_codes(folder: Path, codes: TrainCodes) -> None:
    """Write ``embedding-train.npz``: the training split's codes (log-variances as float16: the map never
    needs more) and, when computed, the whole dataset's t-SNE and UMAP. Fashion-MNIST: about 6 MB."""
    arrays = {"mu": codes.mu.astype(np.float32), "logvar": codes.logvar.astype(np.float16),
              "labels": codes.labels.astype(np.int16 if codes.labels.max(initial=0) < 2**15 else np.int64)}
    for name in ("tsne_all", "umap_all"):
        if getattr(codes, name) is not None:
            arrays[name] = getattr(codes, name).astype(np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    atomic_write(Path(folder) / TRAIN_CODES_FILE, write)


def _cached_arrays(path: Path, command: str) -> dict[str, np.ndarray] | None:
    """The arrays of an optional .npz a command caches beside the checkpoint; None when there is none."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{path} is not a readable .npz file ({err}); delete it, or compute it again with "
                              f"python -m explorer {command} {path.parent}.") from err


def load_train_codes(folder: Path, test_points: int) -> TrainCodes | None:
    """Read ``embedding-train.npz`` (None when there is none), checked against the test split's size."""
    path = Path(folder) / TRAIN_CODES_FILE
    arrays = _cached_arrays(path, "embed-train")
    if arrays is None:
        return None
    missing = [name for name in ("mu", "logvar", "labels") if name not in arrays]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}; delete it and compute it again "
                              "(python -m explorer embed-train).")
    m, d = arrays["mu"].shape
    expected = {"logvar": (m, d), "labels": (m,), "tsne_all": (test_points + m, MAP_DIMS),
                "umap_all": (test_points + m, MAP_DIMS)}
    for name, shape in expected.items():
        if name in arrays and arrays[name].shape != shape:
            raise CheckpointError(f"{path}: {name} has shape {arrays[name].shape}, expected {shape}; delete it "
                                  "and compute it again (python -m explorer embed-train).")
    return TrainCodes(mu=arrays["mu"].astype(np.float32), logvar=arrays["logvar"].astype(np.float32),
                      labels=arrays["labels"].astype(np.int64), tsne_all=arrays.get("tsne_all"),
                      umap_all=arrays.get("umap_all"))


def save_scores(folder: Path, scores: dict[str, np.ndarray], k: int) -> None:
    """Write ``scores.npz``: per test image, in the embedding's order, the scores of
    ``explorer.evaluate.per_image_scores`` (float32) and the number of draws they took."""
    arrays = {name: np.asarray(values, np.float32) for name, values in scores.items()}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, k=np.int64(k), **arrays)

    atomic_write(Path(folder) / SCORES_FILE, write)


def load_scores(folder: Path, test_points: int) -> tuple[dict[str, np.ndarray], int] | None:
    """(scores by name, k) from ``scores.npz``, None when there is none; checked against the test split's size."""
    path = Path(folder) / SCORES_FILE
    arrays = _cached_arrays(path, "score")
    if arrays is None:
        return None
    k = int(arrays.pop("k", 0))
    bad = [name for name, values in arrays.items() if values.shape != (test_points,)]
    if bad or not arrays:
        raise CheckpointError(f"{path} does not hold one score per test image ({test_points}); compute it again "
                              f"with python -m explorer score {Path(folder)}.")
    return {name: values.astype(np.float32) for name, values in arrays.items()}, k
