"""Faults during training: SIGKILL at moments spread over a whole run, and a disk that fills up while
saving. What is on disk always loads, the message says what to do, and --resume finishes the run
exactly as an uninterrupted one would have."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from explorer import checkpoint as ckpt
from explorer.cli import main

TRIALS = 10
EPOCHS = 8  # with the "config written" and "embedding written" moments: one kill moment per trial
ARGS = ["--dataset", "digits", "--epochs", str(EPOCHS), "--latent-dim", "4", "--architecture", "mlp",
        "--hidden-dims", "64", "--batch-size", "128", "--no-embed-tsne", "--device", "cpu"]
POLL_S = 0.002
# One intra-op thread: on a shared, busy machine two spinning threads make each epoch 20x slower.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture
def one_thread():
    """Resume in this process with one thread too, as the killed run had."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def epochs_saved(out: Path) -> int:
    try:
        return len(json.loads((out / ckpt.METRICS_FILE).read_text())["history"])
    except (OSError, ValueError, KeyError):  # not written yet
        return 0


def kill_moments() -> list[tuple[str, object]]:
    """(what to wait for, argument): from before the first epoch to the final metrics write."""
    return ([("file", ckpt.CONFIG_FILE)] + [("epochs", k) for k in range(1, EPOCHS + 1)]
            + [("file", ckpt.EMBEDDING_FILE)])


def history(out: Path) -> list[float]:
    return [r["val_neg_elbo"] for r in json.loads((out / ckpt.METRICS_FILE).read_text())["history"]]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_at_moments_spread_over_the_run_never_loses_the_checkpoint(tmp_path, one_thread, capsys):
    rng = random.Random(0)
    assert main(["-q", "train", *ARGS, "--out", str(tmp_path / "reference")]) == 0
    reference = history(tmp_path / "reference")
    records = json.loads((tmp_path / "reference" / ckpt.METRICS_FILE).read_text())["history"]
    epoch_seconds = sum(r["seconds"] for r in records) / len(records)
    moments = kill_moments()
    assert len(moments) == TRIALS
    for trial, (kind, arg) in enumerate(moments):
        out = tmp_path / f"run{trial}"
        proc = subprocess.Popen([sys.executable, "-m", "explorer", "-q", "train", *ARGS, "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ONE_THREAD)
        reached = (lambda: (out / arg).exists()) if kind == "file" else (lambda: epochs_saved(out) >= arg)
        deadline = time.monotonic() + 60
        while not reached() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
        # A random moment after the event, within about an epoch: inside the next epoch or its writes, the
        # finishing work (test split, embedding), or at once for the final metrics write.
        time.sleep(0.0 if arg == ckpt.EMBEDDING_FILE else rng.uniform(0.0, epoch_seconds))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
        assert all(ckpt.is_temporary(name) for name in leftovers), leftovers  # only a killed write's temporaries
        if ckpt.is_checkpoint(out):
            ckpt.load(out)  # whatever was on disk at the kill is a whole checkpoint
        if (out / ckpt.METRICS_FILE).exists():
            json.loads((out / ckpt.METRICS_FILE).read_text())

        code = main(["-q", "train", "--resume", "--out", str(out)])
        if code != 0:
            assert "already finished" in capsys.readouterr().err  # killed after it had completed
        finished = json.loads((out / ckpt.METRICS_FILE).read_text())
        assert finished["status"] == "complete"
        assert history(out) == pytest.approx(reference, rel=1e-5), f"trial {trial}: the resumed run differs"
        ckpt.load(out)
        assert not [p for p in out.iterdir() if ckpt.is_temporary(p.name)] and not (out / ckpt.RESUME_FILE).exists()


# ---------------------------------------------------------------- the disk fills up while saving

MODEL_FLAGS = ["--latent-dim", "2", "--architecture", "mlp", "--hidden-dims", "16"]
SHORT = ["--dataset", "digits", "--epochs", "3", "--batch-size", "256", "--no-embed-tsne", "--device", "cpu",
         *MODEL_FLAGS]


class FullDisk:
    """Makes the n-th write of one checkpoint file fail half-way with ENOSPC, as a full disk would."""

    def __init__(self, monkeypatch, name: str, nth: int):
        self.name, self.nth, self.writes, self.full, self.before = name, nth, 0, True, None
        self.real = ckpt.atomic_write
        monkeypatch.setattr(ckpt, "atomic_write", self.atomic_write)  # checkpoint.py writes every file of the folder

    def atomic_write(self, path: Path, write) -> None:
        if path.name == self.name:
            self.writes += 1
        if not (self.full and path.name == self.name and self.writes == self.nth):
            return self.real(path, write)
        self.before = path.read_bytes() if path.exists() else None

        def half_then_full(tmp: Path) -> None:
            write(tmp)
            with open(tmp, "r+b") as f:  # only half of it fitted
                f.truncate(f.seek(0, os.SEEK_END) // 2)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

        self.real(path, half_then_full)


FULL_DISK_MOMENTS = {  # id -> (file whose write fails, which write of it, the advice)
    "config.json at the start": (ckpt.CONFIG_FILE, 1, "run the same command again"),
    "model.safetensors in epoch 2": (ckpt.WEIGHTS_FILE, 2, "--resume"),
    "resume.safetensors in epoch 2": (ckpt.RESUME_FILE, 2, "--resume"),
    "metrics.json in epoch 2": (ckpt.METRICS_FILE, 2, "--resume"),
    "embedding.npz at the end": (ckpt.EMBEDDING_FILE, 1, "--resume"),
    "the final metrics.json": (ckpt.METRICS_FILE, 4, "--resume"),
}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> list[float]:
    """The validation curve of the run every disk-full case must end up with."""
    out = tmp_path_factory.mktemp("full-disk") / "reference"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["-q", "train", *SHORT, "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)
    return history(out)


@pytest.mark.parametrize("moment", FULL_DISK_MOMENTS)
def test_a_full_disk_stops_training_clearly_and_resume_finishes(tmp_path, monkeypatch, capsys, one_thread,
                                                                 uninterrupted, moment):
    name, nth, advice = FULL_DISK_MOMENTS[moment]
    out = tmp_path / "run"
    disk = FullDisk(monkeypatch, name, nth)
    assert main(["-q", "train", *SHORT, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert disk.writes == nth, "the failing write never happened"
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no traceback
    assert "the disk is full" in err and "Free some disk space" in err and advice in err, err

    # The file whose write failed still holds what it held before; nothing half-written is left.
    assert ((out / name).read_bytes() if (out / name).exists() else None) == disk.before
    assert not out.exists() or not [p.name for p in out.iterdir() if p.name.startswith(".")]
    if ckpt.is_checkpoint(out):
        ckpt.load(out)

    disk.full = False  # space was freed
    again = ["train", *SHORT] if advice != "--resume" else ["train", "--resume"]
    assert main(["-q", *again, "--out", str(out)]) == 0, capsys.readouterr().err
    assert json.loads((out / ckpt.METRICS_FILE).read_text())["status"] == "complete"
    assert history(out) == pytest.approx(uninterrupted, rel=1e-5), "the resumed run lost or changed an epoch"
    ckpt.load(out)


def test_a_full_disk_in_other_commands_is_one_clear_line(tmp_path, monkeypatch, capsys, one_thread):
    out = tmp_path / "run"
    assert main(["-q", "train", *SHORT, "--out", str(out)]) == 0
    before = (out / ckpt.METRICS_FILE).read_bytes()
    FullDisk(monkeypatch, ckpt.METRICS_FILE, 1)
    assert main(["-q", "evaluate", str(out), "--iwae-k", "0", "--save"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no traceback
    assert "No space left on device" in err and "Free some disk space" in err, err
    assert (out / ckpt.METRICS_FILE).read_bytes() == before
