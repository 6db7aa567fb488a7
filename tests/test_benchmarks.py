"""The training and IWAE benchmarks run end to end on the CPU and print JSON that adds up.

Their figures are measured by hand and committed under benchmarks/results/; these tests only keep the
scripts working, so a GPU session can run them first time. Epochs and samples are cut to the minimum.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.train_speed import time_to_reach

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "2"}


def run_json(script: str, *args: str) -> dict:
    module = "benchmarks." + script.removesuffix(".py")  # run as the README says: python -m benchmarks.<name>
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, cwd=ROOT,
                            text=True, env=ENV, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_time_to_reach_a_loss_is_the_first_epoch_at_or_below_it():
    run = {"elapsed_seconds": [1.0, 2.0, 3.0], "test_neg_elbo": [250.0, 244.0, 245.0]}
    assert time_to_reach(run, 244.0) == 2.0
    assert time_to_reach(run, 249.0) == 2.0
    assert time_to_reach(run, 243.0) is None  # never reached: no figure, not the last epoch's


def test_every_iwae_batching_estimates_the_same_bound():
    report = run_json("iwae_speed.py", "--checkpoint", str(ROOT / "trained" / "digits"), "--k", "64",
                      "--images", "40", "--shapes", "8x16", "40x64", "--device", "cpu")
    runs = [report["reference_per_image"], *report["batched"]]
    assert [(r["images_per_batch"], r["samples_per_call"]) for r in runs] == [(1, 64), (100, 250), (8, 16), (40, 64)]
    bounds = [r["nll_iwae"] for r in runs]
    assert max(bounds) - min(bounds) < 0.5  # the same bound up to Monte Carlo noise, however it is batched
    assert 10 < bounds[0] < 60  # nats per digits image: the shipped model's 24.5, give or take k
    for r in runs:
        assert r["seconds_projected_for_test_split"] == pytest.approx(r["seconds"] * 359 / 40)
    fastest = min(runs[1:], key=lambda r: r["seconds"])
    assert report["ratios"]["speedup_fastest_vs_per_image"] == pytest.approx(runs[0]["seconds"] / fastest["seconds"])


@pytest.mark.slow
def test_the_ladder_adds_one_setting_per_rung_and_skips_cuda_graphs_on_a_cpu():
    report = run_json("train_ladder.py", "--epochs", "1", "--device", "cpu")
    rungs = report["rungs"]
    assert [r["rung"] for r in rungs] == ["eager", "bf16", "batch-1024", "compile"]
    assert rungs[0]["settings"] == {"batch_size": 128, "lr": 1e-3, "precision": "fp32", "compile": "off",
                                    "lr_schedule": "cosine"}
    assert rungs[-1]["settings"] == {"batch_size": 1024, "lr": 3e-3, "precision": "bf16", "compile": "default",
                                     "lr_schedule": "cosine"}
    assert rungs[0]["speedup_over_rung_below"] is None and rungs[0]["speedup_over_eager"] == 1.0
    for below, rung in zip(rungs, rungs[1:]):
        assert rung["speedup_over_rung_below"] == pytest.approx(below["seconds_per_epoch"] / rung["seconds_per_epoch"])
    for rung in rungs:  # one epoch of Fashion-MNIST: learning has begun, nothing diverged
        assert math.isfinite(rung["test_neg_elbo_final"]) and rung["test_neg_elbo_final"] < 400


def test_the_video_render_benchmark_reports_a_time_per_second_of_tour_that_adds_up(tmp_path):
    report = run_json("video_render.py", "--models", "digits", "--sizes", "1280x720", "--formats", "gif",
                      "--out", str(tmp_path / "video.json"))
    figures = report["models"]["digits"]["gif 1280x720"]
    assert figures["frames"] == round(report["tour"]["seconds"] * figures["fps"]) + 1
    split = sum(figures["split_s_per_tour_s"].values())
    assert 0 < split <= figures["render_s_per_tour_s"] * 1.05  # the parts are inside the whole
    assert json.loads((tmp_path / "video.json").read_text()) == report
