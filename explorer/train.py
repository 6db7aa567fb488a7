"""Training: minimise the negative ELBO, keep the best epoch, survive kills, resume exactly.

The loop reads batches by index from tensors that live on the training device when they fit, keeps
running sums on the device and synchronises with the host only every ``LOG_EVERY`` steps (for the
progress bar and the NaN check) and once per epoch. Under torchrun each process trains on its shard
of every global batch (explorer.distributed) and rank 0 alone writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from explorer import checkpoint as ckpt
from explorer.config import ModelConfig, TrainConfig
from explorer.data import Dataset, canonical_name, load_dataset
from explorer.devices import device_name, library_versions
from explorer.distributed import Distributed
from explorer.embedding import compute_embedding
from explorer.errors import TrainingError, is_disk_full
from explorer.evaluate import elbo_stats
from explorer.model import VAE, count_parameters

log = logging.getLogger(__name__)

LOG_EVERY = 50  # steps between host syncs for the progress bar and the non-finite check
GPU_DATA_SHARE = 0.5  # keep the training set on the GPU when it needs at most this share of free memory
# What --resume may change; the rest must match the run. Compiling changes how the step runs, not what it
# computes, so a run started eagerly on a CPU may go on compiled on a GPU.
RESUMABLE_OVERRIDES = ("epochs", "device", "compile")
ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}  # what AdamW keeps per parameter, saved for --resume
EXTRA_EPOCHS_HINT = 10  # the longer run that the message for a finished run suggests
RESUME_COMMAND = "continue with `python -m explorer train --resume --out {out}`"


def lr_factor(step: int, total_steps: int, schedule: str) -> float:
    """Multiplier of the peak learning rate at ``step``: constant, or cosine from 1 to 0."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    return 1.0


def kl_weight(step: int, steps_per_epoch: int, warmup_epochs: float) -> float:
    """KL weight beta at ``step``: rises linearly from 0 to 1 over the warm-up, then stays at 1."""
    if warmup_epochs <= 0:
        return 1.0
    return min(1.0, step / (warmup_epochs * steps_per_epoch))


def split_train_val(data: Dataset, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, disjoint hold-out of the training split: (train images, val images)."""
    n = len(data.train.images)
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(val_fraction * n))
    return data.train.images[order[n_val:]], data.train.images[order[:n_val]]


def place(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """The images as a tensor on ``device`` when they fit, else in pinned host memory."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    if device.type != "cuda":
        return x
    free, _ = torch.cuda.mem_get_info(device)
    if x.numel() * x.element_size() <= GPU_DATA_SHARE * free:
        return x.to(device)
    log.info("Training set does not fit in GPU memory; streaming batches from pinned host memory.")
    return x.pin_memory()


def noise_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of the reparameterisation noise in one epoch on one rank: a resumed run draws the same noise."""
    return (seed * 100_003 + epoch) * 1_009 + rank


def steps_in_epoch(n: int, batch_size: int, world_size: int) -> int:
    """Global batches per epoch; a last batch too small to give every rank an image is dropped."""
    if batch_size < world_size:
        raise TrainingError(f"--batch-size {batch_size} is smaller than the {world_size} processes sharing each "
                            f"batch. Use a batch size of at least {world_size}.")
    steps = math.ceil(n / batch_size)
    return steps - 1 if 0 < n % batch_size < world_size else steps


def train(
    model_config: ModelConfig,
    train_config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    data: Dataset | None = None,
    on_epoch_end: Callable[[int, VAE], None] | None = None,
) -> Path:
    """Train a VAE into the checkpoint folder ``out`` and return its path. See the module docstring.

    ``on_epoch_end(epoch, model)`` is called on rank 0 after each epoch is saved (benchmarks use it).
    """
    dist = Distributed.from_env(train_config.device)
    try:
        out = _train(model_config, train_config, Path(out), dist, resume=resume, progress=progress and dist.is_main,
                     data=data, on_epoch_end=on_epoch_end)
        dist.barrier()  # the other ranks wait here while rank 0 writes the embedding and final metrics
        return out
    finally:
        dist.close()


def _train(
    model_config: ModelConfig, train_config: TrainConfig, out: Path, dist: Distributed, *, resume: bool,
    progress: bool, data: Dataset | None, on_epoch_end: Callable[[int, VAE], None] | None,
) -> Path:
    started = time.perf_counter()
    if data is None:
        data = load_dataset(train_config.dataset, data_dir=train_config.data_dir, image_size=train_config.image_size,
                            labels=train_config.labels, class_names=train_config.class_names)
    model_config = dataclasses.replace(model_config, image_shape=data.image_shape)
    device = dist.device
    torch.manual_seed(train_config.seed)  # the same initial weights on every rank
    model = VAE(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)

    state = _start_or_resume(out, model, optimizer, model_config, train_config, data, resume, dist.is_main)
    net = dist.wrap(model)  # after resuming: DDP broadcasts rank 0's weights when it wraps
    prior_wall = state["wall_seconds"]  # time spent by the run before an interruption
    train_np, val_np = split_train_val(data, train_config.val_fraction, train_config.seed)
    train_x, val_x = place(train_np, device), torch.from_numpy(val_np)
    n, batch_size = len(train_x), train_config.batch_size
    steps_per_epoch = steps_in_epoch(n, batch_size, dist.world_size)
    total_steps = steps_per_epoch * train_config.epochs
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=train_config.precision == "bf16")

    def forward_loss(x: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's loss and the batch's summed reconstruction and KL: all that torch.compile may fuse."""
        with autocast:
            terms = net(x)
        return (terms.recon + beta * terms.kl).mean(), terms.recon.sum(), terms.kl.sum()

    # beta is a device tensor, so the KL warm-up changes a value, not the compiled graph (no recompiles).
    step_loss = forward_loss if train_config.compile == "off" else \
        torch.compile(forward_loss, mode=train_config.compile, dynamic=False)
    beta_now, beta_held = torch.ones((), device=device), 1.0
    if dist.is_main:
        log.info("Training %s (%d parameters) on %s%s, %d images", model_config.architecture,
                 count_parameters(model), device_name(device),
                 f" x {dist.world_size} processes" if dist.enabled else "", n)

    for epoch in range(state["epoch"] + 1, train_config.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        # Batch order depends only on (seed, epoch), so a resumed run sees the same batches.
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(train_config.seed * 100_003 + epoch))
        perm = perm.to(train_x.device)
        torch.manual_seed(noise_seed(train_config.seed, epoch, dist.rank))
        sums = torch.zeros(4, device=device, dtype=torch.float64)  # this rank's loss, recon, kl, count
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{train_config.epochs}", disable=not progress,
                   leave=False, unit="step")
        for step in bar:
            global_step = (epoch - 1) * steps_per_epoch + step
            beta = kl_weight(global_step, steps_per_epoch, train_config.kl_warmup_epochs)
            for group in optimizer.param_groups:
                group["lr"] = train_config.lr * lr_factor(global_step, total_steps, train_config.lr_schedule)
            batch = dist.shard(perm[step * batch_size : (step + 1) * batch_size])
            x = train_x[batch].to(device, non_blocking=True)
            if beta != beta_held:
                beta_now.fill_(beta)  # a launch with a scalar argument: no host sync
                beta_held = beta
            loss, recon_sum, kl_sum = step_loss(x, beta_now)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if train_config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
            optimizer.step()
            with torch.no_grad():
                sums[:3] += torch.stack([loss.detach() * len(x), recon_sum.detach(), kl_sum.detach()]).double()
                sums[3] += len(x)  # a scalar argument, not a host-to-device copy
            if step % LOG_EVERY == LOG_EVERY - 1 or step == steps_per_epoch - 1:
                running = dist.sum(sums.clone()).cpu()  # the one host sync in LOG_EVERY steps, all ranks
                _check_finite(float(running[0]), epoch, step, out, state)
                bar.set_postfix(loss=f"{running[0] / running[3]:.2f}", refresh=False)
        bar.close()

        model.eval()
        val = elbo_stats(model, val_x, seed=train_config.seed)
        _check_finite(val["neg_elbo"], epoch, steps_per_epoch, out, state)
        totals = running.numpy()  # summed over ranks at the epoch's last step
        record = {
            "epoch": epoch,
            "train_loss": totals[0] / totals[3],
            "train_neg_elbo": (totals[1] + totals[2]) / totals[3],
            "train_recon": totals[1] / totals[3],
            "train_kl": totals[2] / totals[3],
            "val_neg_elbo": val["neg_elbo"],
            "val_recon": val["recon"],
            "val_kl": val["kl"],
            "kl_weight": beta,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - epoch_start,
        }
        state["history"].append({k: float(v) if k != "epoch" else v for k, v in record.items()})
        state["epoch"] = epoch
        kept = (f"Files are replaced only once written in full, so what was saved before is intact: the run can "
                f"resume after epoch {epoch - 1}." if epoch > 1 else "No epoch had been saved yet.")
        # Only a full-weight objective is a fair comparison: epochs inside the KL warm-up are not "best".
        improved = beta >= 1.0 and val["neg_elbo"] < state["best_val"]
        never_best = state["best_epoch"] == 0 and epoch == train_config.epochs  # never left the warm-up
        if improved or never_best:
            state["best_val"] = val["neg_elbo"] if improved else state["best_val"]
            state["best_epoch"] = epoch
        state["wall_seconds"] = prior_wall + time.perf_counter() - started
        if not dist.is_main:
            continue  # every rank took the same decisions above; only rank 0 writes them down
        with _writing(out, f"epoch {epoch}", kept, RESUME_COMMAND.format(out=out)):
            if improved or never_best:
                ckpt.save_weights(out, model)
            _save_resume_state(out, model, optimizer, state)
            ckpt.write_json(out / ckpt.METRICS_FILE, _metrics(state, dist, train_config, model, status="running"))
        if on_epoch_end is not None:
            on_epoch_end(epoch, model)
        log.info("epoch %d: train %.2f, val neg ELBO %.2f (best %.2f at epoch %d), %.1fs", epoch,
                 record["train_neg_elbo"], val["neg_elbo"], state["best_val"], state["best_epoch"], record["seconds"])

    if dist.is_main:
        _finish(out, model, data, train_config, state, dist, progress,
                wall=lambda: prior_wall + time.perf_counter() - started)
        log.info("Done in %.1fs: %s", state["wall_seconds"], out)
    return out


def _start_or_resume(
    out: Path, model: VAE, optimizer: torch.optim.Optimizer, model_config: ModelConfig,
    train_config: TrainConfig, data: Dataset, resume: bool, is_main: bool = True,
) -> dict[str, Any]:
    """Fresh state for a new run, or the saved state of an interrupted one (weights, optimiser, history).

    Only rank 0 checks and writes the folder; the other ranks of a torchrun job just read it.
    """
    fresh = {"epoch": 0, "best_val": math.inf, "best_epoch": 0, "history": [], "wall_seconds": 0.0}
    if not is_main:
        return _read_resume_state(out / ckpt.RESUME_FILE, model, optimizer, fresh) if resume else fresh
    has_run = (out / ckpt.CONFIG_FILE).exists()
    if not resume:
        if has_run:
            raise TrainingError(
                f"{out} already holds a run. Pass --resume to continue it, or choose another --out; "
                "nothing was overwritten."
            )
        with _writing(out, "the run's config", "Nothing was trained yet.", "run the same command again"):
            ckpt.save_config(out, model_config, train_config, data.class_names)
        return fresh
    if not has_run:
        raise TrainingError(f"Nothing to resume in {out}: it has no {ckpt.CONFIG_FILE}. Start without --resume.")
    ckpt.remove_stale_temporaries(out)
    saved_model, saved_train, _ = ckpt.read_config(out)
    # A path recorded as 'data/' by an older version (or by train() itself) is the same dataset as 'data'.
    saved_train = dataclasses.replace(saved_train, dataset=canonical_name(saved_train.dataset))
    now_train = dataclasses.replace(train_config, dataset=canonical_name(train_config.dataset))
    changed = [
        f"--{f.name.replace('_', '-')} (the run has {getattr(saved, f.name)!r}, this command {getattr(now, f.name)!r})"
        for saved, now, cls in ((saved_model, model_config, ModelConfig), (saved_train, now_train, TrainConfig))
        for f in dataclasses.fields(cls)
        if f.name not in RESUMABLE_OVERRIDES + ("image_shape",) and getattr(saved, f.name) != getattr(now, f.name)
    ]
    if changed:
        those = "that flag" if len(changed) == 1 else "those flags"
        raise TrainingError(
            f"--resume must continue the same run, but this command changes {'; '.join(changed)}. Drop {those} "
            f"(the run's own values are in {out / ckpt.CONFIG_FILE}): only "
            f"{', '.join('--' + o for o in RESUMABLE_OVERRIDES[:-1])} and --{RESUMABLE_OVERRIDES[-1]} may change on "
            "resume. Or train into a new --out."
        )
    resume_path = out / ckpt.RESUME_FILE
    if not resume_path.is_file():
        metrics = ckpt.read_metrics(out)
        if metrics.status == "complete":
            return _extend_finished(out, model, model_config, train_config, data, metrics, fresh)
        log.warning("No resume state in %s (killed before the first epoch ended); starting from epoch 1.", out)
        with _writing(out, "the run's config", "No epoch had been saved yet.", RESUME_COMMAND.format(out=out)):
            ckpt.save_config(out, model_config, train_config, data.class_names)
        return fresh
    saved = _read_resume_state(resume_path, model, optimizer, fresh)
    if saved["epoch"] >= train_config.epochs:
        log.warning("%s has already trained %d epochs, and --epochs %d asks for no more: it is tested and finished "
                    "as it stands, without training.", out, saved["epoch"], train_config.epochs)
    with _writing(out, "the run's config", "The run's saved state is unchanged.", RESUME_COMMAND.format(out=out)):
        ckpt.save_config(out, model_config, train_config, data.class_names)  # records a changed --epochs
    log.info("Resuming %s after epoch %d", out, saved["epoch"])
    return saved


def _extend_finished(
    out: Path, model: VAE, model_config: ModelConfig, train_config: TrainConfig, data: Dataset, metrics: Any,
    fresh: dict[str, Any],
) -> dict[str, Any]:
    """``--resume --epochs N`` on a finished run: train on from its checkpoint, N epochs in all.

    A finished run keeps no optimiser state (it would triple the folder's size), so the weights continue from
    the checkpoint's best epoch and AdamW starts afresh; the schedule is laid over the N epochs and taken up at
    the step reached, so a cosine schedule's learning rate rises again (the warning says to what).
    """
    done = metrics.epochs
    if train_config.epochs <= done:
        raise TrainingError(
            f"The run in {out} already finished its {done} epoch{'s' if done != 1 else ''}; there is nothing to "
            f"resume. To train it longer, ask for more epochs in all: python -m explorer train --resume --out {out} "
            f"--epochs {done + EXTRA_EPOCHS_HINT}")
    ckpt.load_state_dict(out / ckpt.WEIGHTS_FILE, model)
    log.warning("Extending the finished run in %s from %d to %d epochs: it goes on from the weights of its best "
                "epoch (%d) with a fresh optimiser state, which a finished run does not keep; %s.", out, done,
                train_config.epochs, metrics.best_epoch or done, _schedule_on_extension(train_config, done))
    with _writing(out, "the run's config", "The finished run is unchanged.", RESUME_COMMAND.format(out=out)):
        ckpt.save_config(out, model_config, train_config, data.class_names)  # records the new --epochs
    best_val = metrics.best_val_neg_elbo if metrics.best_val_neg_elbo is not None else math.inf
    return {**fresh, "epoch": done, "best_val": best_val, "best_epoch": metrics.best_epoch or done,
            "history": [dict(record) for record in metrics.history], "wall_seconds": metrics.wall_seconds or 0.0}


def _schedule_on_extension(tc: TrainConfig, done: int) -> str:
    """What the learning rate does when a run that finished ``done`` epochs is extended to ``tc.epochs``."""
    if tc.lr_schedule == "constant":
        return f"the learning rate stays at {tc.lr:g}"
    restart = tc.lr * lr_factor(done, tc.epochs, tc.lr_schedule)  # the factor depends on the share of steps done
    return (f"the {tc.lr_schedule} schedule is now spread over {tc.epochs} epochs, so the learning rate, which had "
            f"reached 0, starts again at {restart:.3g} in epoch {done + 1} and decays to 0 by epoch {tc.epochs}")


def _read_resume_state(
    resume_path: Path, model: VAE, optimizer: torch.optim.Optimizer, fresh: dict[str, Any]
) -> dict[str, Any]:
    """Load weights and optimiser from ``resume.safetensors``; return the saved loop state.

    No RNG state is kept: batch order and noise are seeded per epoch, so a resumed epoch replays exactly.
    """
    if not resume_path.is_file():
        return fresh  # rank 0 decided to start over (killed before the first epoch was saved)
    tensors = ckpt.load_state_dict(resume_path, model, prefix="model.")
    from safetensors import safe_open

    try:  # the file was written whole (atomic_write), so a failure here means it was edited or is not ours
        with safe_open(str(resume_path), framework="pt") as f:
            saved = json.loads(f.metadata()["state"])
        missing = set(fresh) - set(saved)
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
        raise TrainingError(
            f"The resume state {resume_path} is damaged ({type(err).__name__}: {err}), so the run cannot continue "
            "exactly. Delete that file and --resume again to restart the run from epoch 1, or train into a new --out."
        ) from err
    return saved


def _save_resume_state(out: Path, model: VAE, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """One file holds weights, optimiser and history, so they can never disagree after a kill."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    optim = optimizer.state_dict()
    for index, values in optim["state"].items():
        for name, value in values.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value)
    meta = {**state, "param_groups": optim["param_groups"]}
    ckpt.save_tensors(out / ckpt.RESUME_FILE, tensors, metadata={"state": json.dumps(meta)})


@contextlib.contextmanager
def _writing(out: Path, what: str, kept: str, then: str) -> Iterator[None]:
    """Turn a failed write, a full disk above all, into a TrainingError that says what is kept and what to do."""
    try:
        yield
    except OSError as err:
        if is_disk_full(err):
            cause, fix = "the disk is full", "Free some disk space"
        else:
            cause, fix = "the write failed", "Fix the cause (is the folder writable?)"
        raise TrainingError(f"Could not save {what} in {out}: {cause} ({err}). {kept} {fix}, then {then}.") from err


def _check_finite(value: float, epoch: int, step: int, out: Path, state: dict[str, Any]) -> None:
    if math.isfinite(value):
        return
    kept = (
        f"The last good checkpoint in {out} (best epoch {state['best_epoch']}, resume point epoch "
        f"{state['epoch']}) is intact; `--resume` continues from it."
        if state["epoch"] > 0 else "No epoch had finished, so no weights were saved."
    )
    raise TrainingError(
        f"The training loss became {value} at epoch {epoch}, step {step}, and training stopped. Nothing from "
        f"this epoch was saved. {kept} Try a lower --lr, --grad-clip 100, or --precision fp32."
    )


def _metrics(state: dict[str, Any], dist: Distributed, tc: TrainConfig, model: VAE, status: str) -> dict:
    device = dist.device
    running = {"pid": os.getpid(), "host": socket.gethostname()} if status == "running" else {}  # to tell a kill
    return {**running,
        "status": status,
        "history": state["history"],
        "best_epoch": state["best_epoch"],
        "best_val_neg_elbo": state["best_val"] if math.isfinite(state["best_val"]) else None,
        "parameters": count_parameters(model),
        "device": device.type,
        "device_name": device_name(device),
        "processes": dist.world_size,
        "train_seconds": sum(r["seconds"] for r in state["history"]),
        "wall_seconds": state["wall_seconds"],
        "seed": tc.seed,
        "versions": library_versions(),
    }


def _finish(
    out: Path, model: VAE, data: Dataset, tc: TrainConfig, state: dict[str, Any], dist: Distributed,
    progress: bool, wall: Callable[[], float],
) -> None:
    """Reload the best weights, measure the test split, cache the embedding, drop the resume state."""
    ckpt.load_state_dict(out / ckpt.WEIGHTS_FILE, model)
    model.eval()
    test = elbo_stats(model, data.test.images, seed=tc.seed)
    embedding = compute_embedding(model, data.test.images, data.test.labels, tsne=tc.embed_tsne, seed=tc.seed,
                                  progress=progress)
    kept = f"All {state['epoch']} epochs are saved and the checkpoint loads."
    with _writing(out, "the test embedding and final metrics", kept, RESUME_COMMAND.format(out=out)):
        ckpt.save_embedding(out, embedding)
        state["wall_seconds"] = wall()
        metrics = _metrics(state, dist, tc, model, status="complete")
        metrics["test"] = {**test, "n_test": len(data.test.images)}
        ckpt.write_json(out / ckpt.METRICS_FILE, metrics)
    (out / ckpt.RESUME_FILE).unlink(missing_ok=True)
