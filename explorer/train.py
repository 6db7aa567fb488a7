"""Training: minimise the negative ELBO, keep the best epoch, survive kills, resume exactly.

The loop reads batches by index from tensors that live on the training device when they fit, keeps
running sums on the device and synchronises with the host only every ``LOG_EVERY`` steps (for the
progress bar and the NaN check) and once per epoch. Under torchrun each process trains on its shard
of every global batch (explorer.distributed) and rank 0 alone writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from explorer.metrics import Metrics
from explorer.model import VAE, count_parameters

log = logging.getLogger(__name__)

LOG_EVERY = 50  # steps between host syncs for the progress bar and the non-finite check
GPU_DATA_SHARE = 0.5  # keep the training set on the GPU when it needs at most this share of free memory
# What --resume may change; the rest must match the run. Compiling changes how the step runs, not what it
# computes, so a run started eagerly on a CPU may go on compiled on a GPU.
RESUMABLE_OVERRIDES = ("epochs", "device", "compile")
EXTRA_EPOCHS_HINT = 10  # the longer run that the message for a finished run suggests
RESUME_COMMAND = "continue with `python -m explorer train --resume --out {out}`"
EPOCH_SEED_STRIDE = 100_003  # a prime above any epoch count: (seed, epoch) pairs give distinct seeds
RANK_SEED_STRIDE = 1_009  # a prime above any process count: ranks draw distinct noise


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


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of one epoch's batch order: it depends only on (seed, epoch), so a resumed run sees the same batches."""
    return seed * EPOCH_SEED_STRIDE + epoch


def noise_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of the reparameterisation noise in one epoch on one rank: a resumed run draws the same noise."""
    return epoch_seed(seed, epoch) * RANK_SEED_STRIDE + rank


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


@dataclasses.dataclass
class RunState:
    """Where a run stands after its last finished epoch; the resume file's metadata records it (same keys)."""

    epoch: int = 0  # the last epoch finished (0: none yet)
    best_val: float = math.inf  # validation neg. ELBO of the best epoch; inf until a full-weight epoch ran
    best_epoch: int = 0  # the epoch whose weights model.safetensors holds (0: none yet)
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)  # one record per epoch
    wall_seconds: float = 0.0  # the whole run so far, across interruptions

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        return cls(**{key: data[key] for key in cls.keys()})

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.keys()}


@dataclasses.dataclass
class _Run:
    """What every epoch of one run uses: the model, its step, the data on the device and the schedule."""

    model: VAE
    optimizer: torch.optim.Optimizer
    step_loss: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    train_x: torch.Tensor  # (N, C, H, W) on the device when it fits, else pinned host memory
    val_x: torch.Tensor  # (N_val, C, H, W) on the host
    steps_per_epoch: int
    total_steps: int
    config: TrainConfig
    dist: Distributed
    out: Path
    progress: bool
    beta_now: torch.Tensor  # () on the device: the KL weight the compiled step reads
    beta_held: float = 1.0  # the value beta_now holds, so it is refilled only when the weight changes


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
    prior_wall = state.wall_seconds  # time spent by the run before an interruption
    train_np, val_np = split_train_val(data, train_config.val_fraction, train_config.seed)
    train_x, val_x = place(train_np, device), torch.from_numpy(val_np)
    steps_per_epoch = steps_in_epoch(len(train_x), train_config.batch_size, dist.world_size)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=train_config.precision == "bf16")

    def forward_loss(x: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's loss and the batch's summed reconstruction and KL: all that torch.compile may fuse."""
        with autocast:
            terms = net(x)
        return (terms.recon + beta * terms.kl).mean(), terms.recon.sum(), terms.kl.sum()

    # beta is a device tensor, so the KL warm-up changes a value, not the compiled graph (no recompiles).
    step_loss = forward_loss if train_config.compile == "off" else \
        torch.compile(forward_loss, mode=train_config.compile, dynamic=False)
    run = _Run(model, optimizer, step_loss, train_x, val_x, steps_per_epoch, steps_per_epoch * train_config.epochs,
               train_config, dist, out, progress, beta_now=torch.ones((), device=device))
    if dist.is_main:
        log.info("Training %s (%d parameters) on %s%s, %d images", model_config.architecture,
                 count_parameters(model), device_name(device),
                 f" x {dist.world_size} processes" if dist.enabled else "", len(train_x))

    def wall() -> float:
        return prior_wall + time.perf_counter() - started

    for epoch in range(state.epoch + 1, train_config.epochs + 1):
        record = _epoch(run, epoch, state)
        _end_epoch(run, record, state, wall, on_epoch_end)

    if dist.is_main:
        _finish(out, model, data, train_config, state, dist, progress, wall=wall)
        log.info("Done in %.1fs: %s", state.wall_seconds, out)
    return out


def _epoch(run: _Run, epoch: int, state: RunState) -> dict[str, float]:
    """Train one epoch and validate: the epoch's history record. Raises TrainingError if the loss is not finite."""
    epoch_start = time.perf_counter()
    model, optimizer, tc, dist = run.model, run.optimizer, run.config, run.dist
    n, batch_size, device = len(run.train_x), tc.batch_size, dist.device
    model.train()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed(tc.seed, epoch)))
    perm = perm.to(run.train_x.device)
    torch.manual_seed(noise_seed(tc.seed, epoch, dist.rank))
    sums = torch.zeros(4, device=device, dtype=torch.float64)  # this rank's loss, recon, kl, count
    bar = tqdm(range(run.steps_per_epoch), desc=f"epoch {epoch}/{tc.epochs}", disable=not run.progress,
               leave=False, unit="step")
    for step in bar:
        global_step = (epoch - 1) * run.steps_per_epoch + step
        beta = kl_weight(global_step, run.steps_per_epoch, tc.kl_warmup_epochs)
        for group in optimizer.param_groups:
            group["lr"] = tc.lr * lr_factor(global_step, run.total_steps, tc.lr_schedule)
        batch = dist.shard(perm[step * batch_size : (step + 1) * batch_size])
        x = run.train_x[batch].to(device, non_blocking=True)
        if beta != run.beta_held:
            run.beta_now.fill_(beta)  # a launch with a scalar argument: no host sync
            run.beta_held = beta
        loss, recon_sum, kl_sum = run.step_loss(x, run.beta_now)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        optimizer.step()
        with torch.no_grad():
            sums[:3] += torch.stack([loss.detach() * len(x), recon_sum.detach(), kl_sum.detach()]).double()
            sums[3] += len(x)  # a scalar argument, not a host-to-device copy
        if step % LOG_EVERY == LOG_EVERY - 1 or step == run.steps_per_epoch - 1:
            running = dist.sum(sums.clone()).cpu()  # the one host sync in LOG_EVERY steps, all ranks
            _check_finite(float(running[0]), epoch, step, run.out, state)
            bar.set_postfix(loss=f"{running[0] / running[3]:.2f}", refresh=False)
    bar.close()

    model.eval()
    val = elbo_stats(model, run.val_x, seed=tc.seed)
    _check_finite(val["neg_elbo"], epoch, run.steps_per_epoch, run.out, state)
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
    return {k: float(v) if k != "epoch" else v for k, v in record.items()}


def _end_epoch(
    run: _Run, record: dict[str, float], state: RunState, wall: Callable[[], float],
    on_epoch_end: Callable[[int, VAE], None] | None,
) -> None:
    """Record a finished epoch in ``state``, then (rank 0) save its weights if best, the resume state and metrics."""
    epoch, val_neg_elbo = record["epoch"], record["val_neg_elbo"]
    state.history.append(record)
    state.epoch = epoch
    kept = (f"Files are replaced only once written in full, so what was saved before is intact: the run can "
            f"resume after epoch {epoch - 1}." if epoch > 1 else "No epoch had been saved yet.")
    # Only a full-weight objective is a fair comparison: epochs inside the KL warm-up are not "best".
    improved = record["kl_weight"] >= 1.0 and val_neg_elbo < state.best_val
    never_best = state.best_epoch == 0 and epoch == run.config.epochs  # never left the warm-up
    if improved or never_best:
        state.best_val = val_neg_elbo if improved else state.best_val
        state.best_epoch = epoch
    state.wall_seconds = wall()
    if not run.dist.is_main:
        return  # every rank took the same decisions above; only rank 0 writes them down
    out = run.out
    with _writing(out, f"epoch {epoch}", kept, RESUME_COMMAND.format(out=out)):
        if improved or never_best:
            ckpt.save_weights(out, run.model)
        ckpt.save_resume(out, run.model, run.optimizer, state.to_json())
        ckpt.write_json(out / ckpt.METRICS_FILE, _metrics(state, run.dist, run.config, run.model, status="running"))
    if on_epoch_end is not None:
        on_epoch_end(epoch, run.model)
    log.info("epoch %d: train %.2f, val neg ELBO %.2f (best %.2f at epoch %d), %.1fs", epoch,
             record["train_neg_elbo"], val_neg_elbo, state.best_val, state.best_epoch, record["seconds"])


def _start_or_resume(
    out: Path, model: VAE, optimizer: torch.optim.Optimizer, model_config: ModelConfig,
    train_config: TrainConfig, data: Dataset, resume: bool, is_main: bool = True,
) -> RunState:
    """Fresh state for a new run, or the saved state of an interrupted one (weights, optimiser, history).

    Only rank 0 checks and writes the folder; the other ranks of a torchrun job just read it.
    """
    if not is_main:
        saved = _read_resume_state(out, model, optimizer) if resume else None
        # None: rank 0 decided to start over (the run was killed before its first epoch was saved)
        return saved if saved is not None else RunState()
    has_run = (out / ckpt.CONFIG_FILE).exists()
    if not resume:
        if has_run:
            raise TrainingError(
                f"{out} already holds a run. Pass --resume to continue it, or choose another --out; "
                "nothing was overwritten."
            )
        with _writing(out, "the run's config", "Nothing was trained yet.", "run the same command again"):
            ckpt.save_config(out, model_config, train_config, data.class_names)
        return RunState()
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
    saved = _read_resume_state(out, model, optimizer)
    if saved is None:
        metrics = ckpt.read_metrics(out)
        if metrics.status == "complete":
            return _extend_finished(out, model, model_config, train_config, data, metrics)
        log.warning("No resume state in %s (killed before the first epoch ended); starting from epoch 1.", out)
        with _writing(out, "the run's config", "No epoch had been saved yet.", RESUME_COMMAND.format(out=out)):
            ckpt.save_config(out, model_config, train_config, data.class_names)
        return RunState()
    if saved.epoch >= train_config.epochs:
        log.warning("%s has already trained %d epochs, and --epochs %d asks for no more: it is tested and finished "
                    "as it stands, without training.", out, saved.epoch, train_config.epochs)
    with _writing(out, "the run's config", "The run's saved state is unchanged.", RESUME_COMMAND.format(out=out)):
        ckpt.save_config(out, model_config, train_config, data.class_names)  # records a changed --epochs
    log.info("Resuming %s after epoch %d", out, saved.epoch)
    return saved


def _extend_finished(
    out: Path, model: VAE, model_config: ModelConfig, train_config: TrainConfig, data: Dataset, metrics: Metrics,
) -> RunState:
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
    return RunState(epoch=done, best_val=best_val, best_epoch=metrics.best_epoch or done,
                    history=[dict(record) for record in metrics.history], wall_seconds=metrics.wall_seconds or 0.0)


def _schedule_on_extension(tc: TrainConfig, done: int) -> str:
    """What the learning rate does when a run that finished ``done`` epochs is extended to ``tc.epochs``."""
    if tc.lr_schedule == "constant":
        return f"the learning rate stays at {tc.lr:g}"
    restart = tc.lr * lr_factor(done, tc.epochs, tc.lr_schedule)  # the factor depends on the share of steps done
    return (f"the {tc.lr_schedule} schedule is now spread over {tc.epochs} epochs, so the learning rate, which had "
            f"reached 0, starts again at {restart:.3g} in epoch {done + 1} and decays to 0 by epoch {tc.epochs}")


def _read_resume_state(out: Path, model: VAE, optimizer: torch.optim.Optimizer) -> RunState | None:
    """Load weights and optimiser from the resume state; the saved loop state, or None if there is none.

    No RNG state is kept: batch order and noise are seeded per epoch, so a resumed epoch replays exactly.
    """
    try:
        saved = ckpt.read_resume(out, model, optimizer, required=RunState.keys())
    except ckpt.DamagedResumeError as err:
        raise TrainingError(
            f"The resume state {err.path} is damaged ({err.reason}), so the run cannot continue exactly. Delete "
            "that file and --resume again to restart the run from epoch 1, or train into a new --out."
        ) from err
    return None if saved is None else RunState.from_json(saved)


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


def _check_finite(value: float, epoch: int, step: int, out: Path, state: RunState) -> None:
    if math.isfinite(value):
        return
    kept = (
        f"The last good checkpoint in {out} (best epoch {state.best_epoch}, resume point epoch "
        f"{state.epoch}) is intact; `--resume` continues from it."
        if state.epoch > 0 else "No epoch had finished, so no weights were saved."
    )
    raise TrainingError(
        f"The training loss became {value} at epoch {epoch}, step {step}, and training stopped. Nothing from "
        f"this epoch was saved. {kept} Try a lower --lr, --grad-clip 100, or --precision fp32."
    )


def _metrics(state: RunState, dist: Distributed, tc: TrainConfig, model: VAE, status: str) -> dict:
    device = dist.device
    running = {"pid": os.getpid(), "host": socket.gethostname()} if status == "running" else {}  # to tell a kill
    return {**running,
        "status": status,
        "history": state.history,
        "best_epoch": state.best_epoch,
        "best_val_neg_elbo": state.best_val if math.isfinite(state.best_val) else None,
        "parameters": count_parameters(model),
        "device": device.type,
        "device_name": device_name(device),
        "processes": dist.world_size,
        "train_seconds": sum(r["seconds"] for r in state.history),
        "wall_seconds": state.wall_seconds,
        "seed": tc.seed,
        "versions": library_versions(),
    }


def _finish(
    out: Path, model: VAE, data: Dataset, tc: TrainConfig, state: RunState, dist: Distributed,
    progress: bool, wall: Callable[[], float],
) -> None:
    """Reload the best weights, measure the test split, cache the embedding, drop the resume state."""
    ckpt.load_state_dict(out / ckpt.WEIGHTS_FILE, model)
    model.eval()
    test = elbo_stats(model, data.test.images, seed=tc.seed)
    embedding = compute_embedding(model, data.test.images, data.test.labels, tsne=tc.embed_tsne, seed=tc.seed,
                                  progress=progress)
    kept = f"All {state.epoch} epochs are saved and the checkpoint loads."
    with _writing(out, "the test embedding and final metrics", kept, RESUME_COMMAND.format(out=out)):
        ckpt.save_embedding(out, embedding)
        state.wall_seconds = wall()
        metrics = _metrics(state, dist, tc, model, status="complete")
        metrics["test"] = {**test, "n_test": len(data.test.images)}
        ckpt.write_json(out / ckpt.METRICS_FILE, metrics)
    (out / ckpt.RESUME_FILE).unlink(missing_ok=True)
