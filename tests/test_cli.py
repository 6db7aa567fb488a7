"""What a new user meets on the command line: every message says what to do next."""

from __future__ import annotations

import importlib.util

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from explorer import checkpoint as ckpt

TINY = ["--epochs", "1", "--latent-dim", "2", "--architecture", "mlp", "--hidden-dims", "16", "--no-embed-tsne",
        "--device", "cpu"]


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A one-epoch digits run, trained once for the tests that only read it."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = run_cli("-q", "train", "--dataset", "digits", *TINY, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("typo, closest", [("--latent-dims", "--latent-dim"), ("--epoch", "--epochs")])
def test_an_unknown_flag_shows_the_commands_usage_and_the_closest_flag(typo, closest):
    result = run_cli("train", typo, "3")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m explorer train")  # train's usage, not the top level's
    assert f"unrecognized arguments: {typo} 3. Did you mean {closest}?" in result.stderr


def test_quiet_goes_before_or_after_the_command_and_is_listed_in_its_help():
    assert "-q, --quiet" in run_cli("train", "--help").stdout
    for args in (["-q", "info", "trained/digits"], ["info", "trained/digits", "-q"]):
        result = run_cli(*args)
        assert result.returncode == 0 and "trained/digits" in result.stdout, result.stderr


def test_a_dataset_name_in_another_case_trains_on_that_dataset(tmp_path):
    result = run_cli("-q", "train", "--dataset", "DIGITS", *TINY, "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / ckpt.CONFIG_FILE).read_text())["dataset"]["name"] == "digits"


def test_a_finished_run_resumed_without_more_epochs_says_how_to_train_longer(finished):
    result = run_cli("-q", "train", "--resume", "--out", str(finished))
    assert result.returncode == 2
    assert "already finished its 1 epoch;" in result.stderr and f"--resume --out {finished} --epochs 11" in result.stderr


@pytest.mark.parametrize("schedule, what_the_lr_does", [
    ("constant", "the learning rate stays at 0.001"),
    ("cosine", "the cosine schedule is now spread over 2 epochs, so the learning rate, which had reached 0, starts "
               "again at 0.0005 in epoch 2 and decays to 0 by epoch 2"),
])
def test_a_larger_epochs_extends_a_finished_run_and_says_what_restarts(finished, tmp_path, schedule, what_the_lr_does):
    import shutil

    run = tmp_path / "run"
    if schedule == "constant":  # the module's run
        shutil.copytree(finished, run)
    else:
        assert run_cli("-q", "train", "--dataset", "digits", *TINY, "--lr-schedule", schedule,
                       "--out", str(run)).returncode == 0
    result = run_cli("train", "--resume", "--out", str(run), "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "from the weights of its best epoch (1) with a fresh optimiser state" in result.stderr
    assert what_the_lr_does in result.stderr
    metrics = ckpt.read_metrics(run)
    assert metrics.status == "complete" and [r["epoch"] for r in metrics.history] == [1, 2]
    assert ckpt.load(run).model_config.latent_dim == 2


def test_resuming_a_killed_run_with_fewer_epochs_than_it_trained_says_it_trains_no_more(tmp_path):
    from explorer.config import ModelConfig, TrainConfig
    from explorer.train import train

    def killed_after_epoch_2(epoch, model):
        if epoch == 2:
            raise KeyboardInterrupt  # after the epoch was saved, as a Ctrl-C would find it

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(ModelConfig(latent_dim=2, architecture="mlp", hidden_dims=(16,)),
              TrainConfig(epochs=3, embed_tsne=False, device="cpu"), out, progress=False,
              on_epoch_end=killed_after_epoch_2)
    result = run_cli("-q", "train", "--resume", "--out", str(out), "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "has already trained 2 epochs, and --epochs 1 asks for no more" in result.stderr
    assert ckpt.read_metrics(out).status == "complete"


def test_resume_names_the_option_that_differs_and_both_values(finished, tmp_path):
    result = run_cli("-q", "train", "--resume", "--out", str(finished), "--epochs", "3", "--lr", "0.01")
    assert result.returncode == 2
    assert "but this command changes --lr (the run has 0.001, this command 0.01). Drop that flag" in result.stderr
    result = run_cli("-q", "train", "--resume", "--out", str(finished), "--lr", "0.01", "--latent-dim", "3")
    assert "--latent-dim (the run has 2, this command 3); --lr (the run has 0.001" in result.stderr
    assert "Drop those flags" in result.stderr and "only --epochs, --device and --compile may change" in result.stderr


def test_a_trailing_slash_on_the_dataset_path_is_the_same_dataset(tmp_path):
    np.savez(tmp_path / "x.npz", np.random.default_rng(0).integers(0, 256, (60, 6, 6), dtype=np.uint8))
    assert run_cli("-q", "train", "--dataset", str(tmp_path / "x.npz"), *TINY, "--out", str(tmp_path / "r")).returncode == 0
    result = run_cli("-q", "train", "--dataset", f"{tmp_path / 'x.npz'}/", "--resume", "--out", str(tmp_path / "r"),
                     "--epochs", "2")
    assert result.returncode == 0, result.stderr
    config_path = tmp_path / "r" / ckpt.CONFIG_FILE  # a run that recorded the slash (older versions, or train())
    config = json.loads(config_path.read_text())
    config["train"]["dataset"] += "/"
    config_path.write_text(json.dumps(config))
    result = run_cli("-q", "train", "--dataset", str(tmp_path / "x.npz"), "--resume", "--out", str(tmp_path / "r"),
                     "--epochs", "3")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("moved", [("--dataset",), ("--dataset", "--labels", "--class-names")],
                         ids=["the images", "images, labels and class names"])
def test_evaluate_on_moved_data_names_the_flags_that_point_at_it(tmp_path, moved):
    files = {"--dataset": tmp_path / "x.npz", "--labels": tmp_path / "y.npy", "--class-names": tmp_path / "n.txt"}
    np.savez(files["--dataset"], np.random.default_rng(0).integers(0, 256, (60, 6, 6), dtype=np.uint8))
    np.save(files["--labels"], np.arange(60) % 3)
    files["--class-names"].write_text("circle\nsquare\ntriangle\n")
    trained = run_cli("-q", "train", *[str(part) for pair in files.items() for part in pair], *TINY,
                      "--out", str(tmp_path / "r"))
    assert trained.returncode == 0, trained.stderr
    (tmp_path / "new").mkdir()
    for flag in moved:
        files[flag] = files[flag].rename(tmp_path / "new" / files[flag].name)
    result = run_cli("-q", "evaluate", str(tmp_path / "r"), "--iwae-k", "0")
    assert result.returncode == 2 and "no longer there" in result.stderr
    assert result.stderr.rstrip().endswith(" ".join(f"{flag} NEW/PATH" for flag in moved))
    result = run_cli("-q", "evaluate", str(tmp_path / "r"), "--iwae-k", "0", "--dataset", str(tmp_path / "nope.npz"))
    assert result.returncode == 2 and f"Nothing is at {tmp_path / 'nope.npz'} (given to --dataset)" in result.stderr
    pointed = [str(part) for flag in moved for part in (flag, files[flag])]
    result = run_cli("-q", "evaluate", str(tmp_path / "r"), "--iwae-k", "0", "--json", *pointed)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n_test"] == 12


def test_info_into_head_prints_its_first_line(finished):
    cmd = f"{sys.executable} -m explorer info {finished} | head -1"
    result = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == str(finished) and "Broken pipe" not in result.stderr


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["stdout buffered, as in a shell", "PYTHONUNBUFFERED=1"])
def test_info_into_a_pipe_whose_reader_has_left_says_nothing(finished, unbuffered):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before a byte is written, as `head` is once it has its lines
    try:
        result = subprocess.run([sys.executable, "-m", "explorer", "info", str(finished)], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode == 1  # 1: what Python exits with on a broken pipe


def test_info_counts_epochs_in_words_and_names_both_times(finished):
    out = run_cli("info", str(finished)).stdout
    assert "1 epoch (best 1)" in out and "1 epochs" not in out
    assert "s wall clock (" in out and "in the epochs themselves" in out


def test_a_killed_run_is_shown_as_interrupted_with_the_command_that_resumes_it(finished, tmp_path):
    import shutil
    import socket

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    raw = json.loads((run / ckpt.METRICS_FILE).read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    (run / ckpt.METRICS_FILE).write_text(json.dumps({**raw, "status": "running", "pid": dead.pid,
                                                     "host": socket.gethostname()}))
    out = run_cli("info", str(run)).stdout
    assert f"interrupted after 1 epoch: continue with `python -m explorer train --resume --out {run}`" in out
    (run / ckpt.METRICS_FILE).write_text(json.dumps({**raw, "status": "running", "pid": os.getpid(),
                                                     "host": socket.gethostname()}))
    assert f"running (pid {os.getpid()}" in run_cli("info", str(run)).stdout


def test_embed_train_caches_the_training_codes_and_one_tsne_of_the_whole_dataset(finished, tmp_path):
    import shutil

    from explorer.data import load_dataset

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    result = run_cli("-q", "embed-train", str(run), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "1,438 training codes and a t-SNE of all 1,797" in result.stdout
    test = ckpt.load_embedding(run)
    codes = ckpt.load_train_codes(run, len(test.mu))
    data = load_dataset("digits", download=False)
    assert codes.mu.shape == (len(data.train.images), 2)
    assert codes.labels.tolist() == data.train.labels.tolist()
    assert codes.tsne_all.shape == (len(test.mu) + len(codes.mu), 2) and np.isfinite(codes.tsne_all).all()
    # The codes are the model's: a training image encodes to its stored mean.
    from explorer.embedding import encode

    mu, _ = encode(ckpt.load(run).model, data.train.images[:5])
    np.testing.assert_allclose(codes.mu[:5], mu, atol=1e-6)


def test_embed_train_umap_without_umap_learn_says_what_to_install_and_writes_nothing(finished, tmp_path, monkeypatch,
                                                                                      capsys):
    import shutil

    from explorer import cli, embedding

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    monkeypatch.setattr(embedding, "umap_available", lambda: False)  # as on a machine without umap-learn
    assert cli.main(["-q", "embed-train", str(run), "--device", "cpu", "--umap", "--no-tsne"]) == 2
    assert "pip install umap-learn" in capsys.readouterr().err
    assert not (run / ckpt.TRAIN_CODES_FILE).exists()


@pytest.mark.skipif(importlib.util.find_spec("umap") is None, reason="needs umap-learn (requirements-dev.txt)")
def test_embed_train_umap_caches_a_umap_of_the_whole_dataset(finished, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    result = run_cli("-q", "embed-train", str(run), "--device", "cpu", "--umap", "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "1,438 training codes and a UMAP of all 1,797" in result.stdout
    codes = ckpt.load_train_codes(run, 359)
    assert codes.tsne_all is None and codes.umap_all.shape == (1797, 2) and np.isfinite(codes.umap_all).all()


def test_training_codes_from_another_run_are_refused_with_what_to_do(finished, tmp_path):
    import shutil

    from explorer.embedding import TrainCodes
    from explorer.errors import CheckpointError

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    assert ckpt.load_train_codes(run, 359) is None  # none yet: the map offers the test split alone
    ckpt.save_train_codes(run, TrainCodes(mu=np.zeros((4, 2), np.float32), logvar=np.zeros((4, 2)),
                                          labels=np.zeros(4, int), tsne_all=np.zeros((10, 2))))
    with pytest.raises(CheckpointError, match="expected .*embed-train"):
        ckpt.load_train_codes(run, 359)  # 359 test + 4 training points, but a t-SNE of 10


def test_score_caches_each_test_images_elbo_terms_and_a_damaged_file_says_how_to_mend_it(finished, tmp_path):
    import shutil

    from explorer.errors import CheckpointError

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    result = run_cli("-q", "score", str(run), "--k", "20")
    assert result.returncode == 0, result.stderr
    assert "359 test images scored with 20 draws each" in result.stdout and "worst: #" in result.stdout
    scores, k = ckpt.load_scores(run, 359)
    assert k == 20 and set(scores) == {"nelbo", "recon", "kl", "nll_iwae", "gap"}
    np.testing.assert_allclose(scores["recon"] + scores["kl"], scores["nelbo"], rtol=1e-5)
    worst = int(result.stdout.split("worst: #")[1].split(",")[0])
    assert worst == int(np.argmax(scores["nelbo"]))  # the worst image it names is the worst it stored
    (run / ckpt.SCORES_FILE).write_bytes(b"not an npz")
    with pytest.raises(CheckpointError, match="python -m explorer score"):
        ckpt.load_scores(run, 359)
    assert run_cli("-q", "score", str(run), "--k", "0").returncode == 2
