"""Training end to end on digits: checkpoints, resume, NaN handling, and the command line."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from explorer import checkpoint as ckpt
from explorer import train as train_module
from explorer.errors import TrainingError
from explorer.latent import COLLAPSED_KL, active_units
from explorer.train import kl_weight, lr_factor, train


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_train_then_evaluate_from_the_command_line(tmp_path):
    out = tmp_path / "digits-run"
    result = run_cli("-q", "train", "--dataset", "digits", "--epochs", "4", "--latent-dim", "4",
                     "--architecture", "mlp", "--hidden-dims", "64", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "embedding.npz", "metrics.json", "model.safetensors"]

    result = run_cli("-q", "evaluate", str(out), "--json", "--iwae-k", "50")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"neg_elbo", "recon", "kl", "nll_iwae", "iwae_k", "active_units", "collapsed_dims", "kl_per_dim",
            "mu_variance_per_dim", "n_test", "dataset", "device", "seconds"} <= set(report)
    test_mu = np.load(out / "embedding.npz")["mu"]  # the test split's posterior means, encoded at the end of training
    assert report["mu_variance_per_dim"] == pytest.approx(test_mu.astype(np.float64).var(axis=0).tolist(), abs=1e-4)
    assert report["active_units"] == int(active_units(test_mu).sum())
    assert report["collapsed_dims"] == sum(kl <= COLLAPSED_KL for kl in report["kl_per_dim"])
    assert report["n_test"] == 359 and report["dataset"] == "digits" and report["iwae_k"] == 50
    assert report["neg_elbo"] == pytest.approx(report["recon"] + report["kl"])
    assert len(report["kl_per_dim"]) == 4
    assert report["nll_iwae"] <= report["neg_elbo"] + 0.5  # the IWAE bound is the tighter one

    info = run_cli("info", str(out))
    assert info.returncode == 0 and "digits" in info.stdout and "neg ELBO" in info.stdout


def test_every_config_field_is_a_train_flag():
    from explorer.config import ModelConfig, TrainConfig

    text = run_cli("train", "--help").stdout
    for cls, skip in ((ModelConfig, {"image_shape"}), (TrainConfig, set())):
        for field in dataclasses.fields(cls):
            if field.name not in skip:
                assert "--" + field.name.replace("_", "-") in text


def test_cli_errors_are_one_clear_line_without_a_traceback(tmp_path):
    result = run_cli("evaluate", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "No checkpoint folder" in result.stderr


def test_training_improves_and_keeps_the_best_epoch(tmp_path, digits, tiny_model_config, tiny_train_config):
    out = train(tiny_model_config, dataclasses.replace(tiny_train_config, epochs=6), tmp_path / "run",
                progress=False, data=digits)
    metrics = json.loads((out / ckpt.METRICS_FILE).read_text())
    history = metrics["history"]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1]["val_neg_elbo"] < history[0]["val_neg_elbo"]
    best = min(history, key=lambda r: r["val_neg_elbo"])
    assert metrics["best_epoch"] == best["epoch"] and metrics["status"] == "complete"
    assert metrics["device"] == "cpu" and metrics["seed"] == 0 and "torch" in metrics["versions"]
    assert math.isfinite(metrics["test"]["neg_elbo"]) and metrics["test"]["n_test"] == 359
    assert not (out / ckpt.RESUME_FILE).exists()  # a finished run drops its resume state


@pytest.mark.slow
def test_a_compiled_training_step_learns_like_the_eager_one(tmp_path, digits, tiny_model_config, tiny_train_config):
    """--compile default (inductor; on the CPU it needs a C++ compiler) with a KL warm-up running through it."""
    config = dataclasses.replace(tiny_train_config, epochs=3, kl_warmup_epochs=1.5)
    runs = {mode: json.loads((train(tiny_model_config, dataclasses.replace(config, compile=mode), tmp_path / mode,
                                    progress=False, data=digits) / ckpt.METRICS_FILE).read_text())
            for mode in ("off", "default")}
    eager, compiled = (runs[m]["history"] for m in ("off", "default"))
    assert [r["kl_weight"] for r in compiled] == [r["kl_weight"] for r in eager]  # the warm-up reached the graph
    assert compiled[-1]["val_neg_elbo"] < compiled[0]["val_neg_elbo"]
    # Same data and start; only the noise draws differ (inductor has its own RNG): a few percent apart at most.
    assert compiled[-1]["val_neg_elbo"] == pytest.approx(eager[-1]["val_neg_elbo"], rel=0.05)
    assert ckpt.load(tmp_path / "default").train_config.compile == "default"  # the run says how it was trained


def test_resume_continues_where_it_stopped_and_matches_an_uninterrupted_run(
    tmp_path, digits, tiny_model_config, tiny_train_config, monkeypatch
):
    full = train(tiny_model_config, tiny_train_config, tmp_path / "full", progress=False, data=digits)

    saves = 0
    real_save = ckpt.save_resume

    def save_then_die(*args, **kwargs):
        nonlocal saves
        real_save(*args, **kwargs)
        saves += 1
        if saves == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C right after epoch 2 was saved

    monkeypatch.setattr(ckpt, "save_resume", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model_config, tiny_train_config, tmp_path / "cut", progress=False, data=digits)
    monkeypatch.setattr(ckpt, "save_resume", real_save)
    assert json.loads((tmp_path / "cut" / ckpt.METRICS_FILE).read_text())["status"] == "running"
    ckpt.load(tmp_path / "cut")  # an interrupted run is still a loadable checkpoint

    train(tiny_model_config, tiny_train_config, tmp_path / "cut", resume=True, progress=False, data=digits)
    resumed = json.loads((tmp_path / "cut" / ckpt.METRICS_FILE).read_text())
    uninterrupted = json.loads((full / ckpt.METRICS_FILE).read_text())
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3]
    assert [r["val_neg_elbo"] for r in resumed["history"]] == [r["val_neg_elbo"] for r in uninterrupted["history"]]
    assert (tmp_path / "cut" / ckpt.WEIGHTS_FILE).read_bytes() == (full / ckpt.WEIGHTS_FILE).read_bytes()


def test_a_nan_loss_stops_cleanly_and_keeps_the_last_good_checkpoint(
    tmp_path, digits, tiny_model_config, tiny_train_config, monkeypatch
):
    one_epoch = train(tiny_model_config, dataclasses.replace(tiny_train_config, epochs=1), tmp_path / "one",
                      progress=False, data=digits)
    steps_per_epoch = math.ceil(len(train_module.split_train_val(digits, 0.1, 0)[0]) / tiny_train_config.batch_size)
    # The loss turns NaN in the middle of epoch 2.
    monkeypatch.setattr(train_module, "kl_weight",
                        lambda step, *a: math.nan if step >= steps_per_epoch + 3 else kl_weight(step, *a))
    with pytest.raises(TrainingError, match=r"(?s)nan at epoch 2.*intact.*--resume"):
        train(tiny_model_config, tiny_train_config, tmp_path / "nan", progress=False, data=digits)
    assert (tmp_path / "nan" / ckpt.WEIGHTS_FILE).read_bytes() == (one_epoch / ckpt.WEIGHTS_FILE).read_bytes()
    metrics = json.loads((tmp_path / "nan" / ckpt.METRICS_FILE).read_text())
    assert len(metrics["history"]) == 1 and metrics["status"] == "running"
    ckpt.load(tmp_path / "nan")


def test_a_run_started_eagerly_resumes_compiled(tmp_path, digits, tiny_model_config, tiny_train_config, monkeypatch):
    """A run begun on a laptop goes on where torch.compile pays: compiling is how the step runs, not what."""
    real_save = ckpt.save_resume

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C right after epoch 1 was saved

    monkeypatch.setattr(ckpt, "save_resume", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_model_config, tiny_train_config, tmp_path / "run", progress=False, data=digits)
    monkeypatch.setattr(ckpt, "save_resume", real_save)
    modes = []  # the real compile takes ~20 s on this CPU and is tested above; here only the choice matters
    monkeypatch.setattr(train_module.torch, "compile", lambda fn, mode, dynamic: modes.append(mode) or fn)
    out = train(tiny_model_config, dataclasses.replace(tiny_train_config, compile="reduce-overhead"),
                tmp_path / "run", resume=True, progress=False, data=digits)
    assert modes == ["reduce-overhead"]
    assert [r["epoch"] for r in json.loads((out / ckpt.METRICS_FILE).read_text())["history"]] == [1, 2, 3]
    assert ckpt.load(out).train_config.compile == "reduce-overhead"  # the folder says how it went on


def test_an_existing_run_is_never_overwritten(tmp_path, digits, tiny_model_config, tiny_train_config):
    out = train(tiny_model_config, dataclasses.replace(tiny_train_config, epochs=1), tmp_path / "run",
                progress=False, data=digits)
    before = (out / ckpt.WEIGHTS_FILE).read_bytes()
    with pytest.raises(TrainingError, match="already holds a run"):
        train(tiny_model_config, tiny_train_config, out, progress=False, data=digits)
    with pytest.raises(TrainingError, match="already finished"):
        train(tiny_model_config, dataclasses.replace(tiny_train_config, epochs=1), out, resume=True,
              progress=False, data=digits)
    with pytest.raises(TrainingError, match="lr"):
        train(tiny_model_config, dataclasses.replace(tiny_train_config, lr=0.1), out, resume=True,
              progress=False, data=digits)
    assert (out / ckpt.WEIGHTS_FILE).read_bytes() == before


def test_schedules():
    assert lr_factor(0, 100, "cosine") == 1.0 and lr_factor(100, 100, "cosine") == pytest.approx(0.0)
    assert lr_factor(50, 100, "constant") == 1.0
    assert kl_weight(0, 10, 2.0) == 0.0 and kl_weight(10, 10, 2.0) == 0.5 and kl_weight(30, 10, 2.0) == 1.0
    assert kl_weight(0, 10, 0.0) == 1.0
