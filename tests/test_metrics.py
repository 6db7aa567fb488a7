"""metrics.json as a typed record: every shipped file reads and writes back unchanged; old files read as None."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer import checkpoint as ckpt
from explorer.errors import CheckpointError
from explorer.metrics import Metrics, Scores

SHIPPED = sorted(p for p in (Path(__file__).resolve().parents[1] / "trained").iterdir() if ckpt.is_checkpoint(p))


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_metrics_read_typed_and_write_back_unchanged(folder, tmp_path):
    raw = json.loads((folder / ckpt.METRICS_FILE).read_text())
    metrics = ckpt.read_metrics(folder)
    assert metrics.status == "complete" and metrics.epochs == len(raw["history"]) > 0
    assert metrics.test.neg_elbo == raw["test"]["neg_elbo"]
    assert metrics.latest is metrics.evaluation and metrics.evaluation.nll_iwae < metrics.evaluation.neg_elbo
    ckpt.write_metrics(tmp_path, metrics)
    assert json.loads((tmp_path / ckpt.METRICS_FILE).read_text()) == raw


def test_an_old_file_reads_missing_numbers_as_none_and_keeps_unknown_keys(tmp_path):
    old = {"status": "complete", "history": [{"epoch": 1, "val_neg_elbo": 30.0}], "someday": {"x": 1},
           "test": {"neg_elbo": 30.0, "recon": 28.0, "kl": 2.0, "kl_per_dim": [1.0, 1.0], "active_units": 2}}
    (tmp_path / ckpt.METRICS_FILE).write_text(json.dumps(old))
    metrics = ckpt.read_metrics(tmp_path)
    assert metrics.test.collapsed_dims is None and metrics.test.nll_iwae is None and metrics.evaluation is None
    assert metrics.latest is metrics.test and metrics.train_seconds is None
    assert metrics.to_json() == old  # nothing invented, nothing lost


def test_no_file_is_an_empty_record_and_a_foreign_one_is_refused(tmp_path):
    assert ckpt.read_metrics(tmp_path) == Metrics() and Metrics().latest is None
    (tmp_path / ckpt.METRICS_FILE).write_text(json.dumps({"test": {"accuracy": 0.9}}))
    with pytest.raises(CheckpointError, match="does not hold Latent Explorer metrics"):
        ckpt.read_metrics(tmp_path)


def test_scores_from_evaluate_round_trip():
    result = {"neg_elbo": 25.0, "recon": 22.0, "kl": 3.0, "kl_per_dim": [2.0, 1.0], "mu_variance_per_dim": [0.5, 0.0],
              "active_units": 1, "collapsed_dims": 0, "nll_iwae": 24.5, "iwae_k": 500, "n_test": 359}
    scores = Scores.from_json(result)
    assert scores.kl_per_dim == (2.0, 1.0) and scores.iwae_k == 500
    assert scores.to_json() == result
