"""Training killed with SIGKILL at random moments: what is on disk always loads, and --resume finishes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from explorer import checkpoint as ckpt

TRIALS = 3


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_at_random_moments_never_leaves_a_corrupt_checkpoint(tmp_path):
    rng = random.Random(0)
    args = ["--dataset", "digits", "--epochs", "40", "--latent-dim", "4", "--architecture", "mlp",
            "--hidden-dims", "64", "--batch-size", "32", "--no-embed-tsne"]
    for trial in range(TRIALS):
        out = tmp_path / f"run{trial}"
        proc = subprocess.Popen([sys.executable, "-m", "explorer", "-q", "train", *args, "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until training has started writing (config.json exists), then kill at a random moment.
        deadline = time.monotonic() + 60
        while not (out / ckpt.CONFIG_FILE).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 2.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
        if ckpt.is_checkpoint(out):
            ckpt.load(out)  # whatever was on disk at the kill is a whole checkpoint
        if (out / ckpt.METRICS_FILE).exists():
            json.loads((out / ckpt.METRICS_FILE).read_text())
        result = subprocess.run([sys.executable, "-m", "explorer", "-q", "train", "--resume", "--out", str(out)],
                                capture_output=True, text=True, timeout=300)
        finished = json.loads((out / ckpt.METRICS_FILE).read_text()) if (out / ckpt.METRICS_FILE).exists() else {}
        if result.returncode != 0:
            assert "already finished" in result.stderr, result.stderr  # killed after it had completed
        assert finished.get("status") == "complete"
        assert [r["epoch"] for r in finished["history"]] == list(range(1, 41))
        ckpt.load(out)
        # A killed write leaves at most a hidden temporary, which --resume cleans up.
        assert all(name.endswith(".tmp") for name in leftovers)
        assert not list(out.glob(".*.tmp"))
