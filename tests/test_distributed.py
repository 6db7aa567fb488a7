"""torchrun with two gloo processes on the CPU trains like one process at the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from explorer import checkpoint as ckpt
from explorer.distributed import Distributed
from explorer.train import steps_in_epoch

ARGS = ["--dataset", "digits", "--epochs", "4", "--latent-dim", "4", "--architecture", "mlp", "--hidden-dims", "64",
        "--batch-size", "64", "--no-embed-tsne"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def history(folder) -> list[float]:
    return [r["val_neg_elbo"] for r in json.loads((folder / ckpt.METRICS_FILE).read_text())["history"]]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_and_only_rank_0_writes(tmp_path):
    single = tmp_path / "single"
    subprocess.run([sys.executable, "-m", "explorer", "-q", "train", *ARGS, "--out", str(single)],
                   check=True, env=ENV, timeout=300)
    both = tmp_path / "ddp"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "-m", "explorer", "train", *ARGS, "--out", str(both)],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(str(both)) == 1  # one rank reports, not two
    assert result.stderr.count("epoch 4: train") == 1  # one log line per epoch
    assert sorted(p.name for p in both.iterdir()) == sorted(p.name for p in single.iterdir())
    metrics = json.loads((both / ckpt.METRICS_FILE).read_text())
    assert metrics["processes"] == 2 and metrics["status"] == "complete"
    # Same initial weights, same global batches, gradients averaged over the ranks: the runs differ only
    # by the reparameterisation noise each rank draws, well under a nat per image.
    for ddp_loss, single_loss in zip(history(both), history(single), strict=True):
        assert ddp_loss == pytest.approx(single_loss, abs=0.5)
    assert history(both)[-1] < history(both)[0] - 5  # and it did learn
    ckpt.load(both)


def test_every_rank_gets_a_share_of_each_batch():
    ranks = [Distributed(rank=r, world_size=3, device=torch.device("cpu")) for r in range(3)]
    batch = torch.arange(10)
    shares = [d.shard(batch) for d in ranks]
    assert sorted(torch.cat(shares).tolist()) == list(range(10))  # disjoint and complete
    assert max(len(s) for s in shares) - min(len(s) for s in shares) <= 1


def test_a_last_batch_too_small_to_share_is_dropped():
    assert steps_in_epoch(130, 64, 1) == 3  # one process keeps the 2-image batch
    assert steps_in_epoch(129, 64, 2) == 2  # one image cannot feed two ranks
    assert steps_in_epoch(130, 64, 2) == 3
    with pytest.raises(Exception, match="at least 4"):
        steps_in_epoch(100, 2, 4)
