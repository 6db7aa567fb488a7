"""The typed record of ``metrics.json``: how a run went and how good its model is.

Training writes it (``train.py``) and ``evaluate --save`` adds an evaluation; ``checkpoint.py`` reads
and writes the file. Older files lack newer fields: those read as None, never as a made-up number.
Keys this version does not know are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scores:
    """The test split's numbers, in nats per image: at the end of training, or from ``evaluate``."""

    neg_elbo: float
    recon: float
    kl: float
    kl_per_dim: tuple[float, ...]  # (D,) average KL(q(z_d|x) || N(0, 1))
    n_test: int | None = None
    active_units: int | None = None  # Burda et al.: Cov_x(E_q[z_d]) > 0.01 (before 2026-12: a KL count)
    collapsed_dims: int | None = None  # average KL <= 0.01 nats
    mu_variance_per_dim: tuple[float, ...] | None = None  # (D,) Cov_x(E_q[z_d]), the diagonal
    nll_iwae: float | None = None  # -IWAE_k, an upper bound on -log p(x)
    iwae_k: int | None = None
    dataset: str | None = None
    device: str | None = None
    seconds: float | None = None  # how long the evaluation took
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scores:
        return _from_json(cls, data, tuples=("kl_per_dim", "mu_variance_per_dim"))

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@dataclass(frozen=True)
class Metrics:
    """What ``metrics.json`` records about a run."""

    status: str = "unknown"  # "running" while training, "complete" after its last epoch and test
    pid: int | None = None  # while running: the training process, so a killed run can be told from a live one
    host: str | None = None  # while running: the machine it runs on
    history: tuple[dict[str, float], ...] = ()  # one record per epoch: losses, lr, kl_weight, seconds
    best_epoch: int | None = None  # the epoch whose weights the checkpoint holds (lowest val. neg. ELBO)
    best_val_neg_elbo: float | None = None
    parameters: int | None = None
    device: str | None = None  # "cpu", "cuda"
    device_name: str | None = None
    processes: int | None = None  # torchrun world size
    train_seconds: float | None = None  # the epochs' own time: training steps and validation
    wall_seconds: float | None = None  # the whole run: also loading data, the test split, the map, saving
    seed: int | None = None
    versions: dict[str, str] | None = None
    test: Scores | None = None  # measured at the end of training
    evaluation: Scores | None = None  # the last `evaluate --save`
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metrics:
        data = dict(data)
        for name in ("test", "evaluation"):
            if isinstance(data.get(name), dict):
                data[name] = Scores.from_json(data[name])
        return _from_json(cls, data, tuples=("history",))

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @property
    def latest(self) -> Scores | None:
        """The fullest test numbers there are: the last evaluation, else training's own."""
        return self.evaluation or self.test

    @property
    def epochs(self) -> int:
        return len(self.history)

    def still_running(self) -> bool:
        """Whether a run recorded as running is alive: its process exists on this machine (else it was killed).

        A run on another machine cannot be checked from here, and counts as running.
        """
        import os
        import socket

        if self.status != "running":
            return False
        if self.pid is None or self.host != socket.gethostname():
            return self.pid is not None  # old files (no pid) were killed or finished long ago
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: alive
            return True
        return True


def _from_json(cls: type, data: dict[str, Any], tuples: tuple[str, ...] = ()) -> Any:
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: (tuple(v) if k in tuples and v is not None else v) for k, v in data.items() if k in names}
    return cls(**known, extra={k: v for k, v in data.items() if k not in names})


def _to_json(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name == "extra" or value is None:
            continue
        if isinstance(value, (Scores, Metrics)):
            value = value.to_json()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return {**out, **record.extra}
