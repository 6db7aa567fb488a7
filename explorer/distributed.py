"""Data-parallel training under ``torchrun``: which process this is, and the few collectives we need.

``torchrun --nproc_per_node=N -m explorer train ...`` starts N processes with RANK, WORLD_SIZE and
LOCAL_RANK set. Each one trains a DistributedDataParallel replica on its shard of every global batch
(NCCL on GPUs, gloo on CPUs); rank 0 alone writes checkpoints and logs. Without torchrun this is a
single process and every helper here is a no-op.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from explorer.devices import resolve_device
from explorer.errors import TrainingError


@dataclass(frozen=True)
class Distributed:
    rank: int  # this process, 0..world_size-1
    world_size: int  # processes taking part
    device: torch.device  # where this process trains

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, metrics and logs; the others only train."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device_name: str) -> Distributed:
        """Join the process group torchrun set up, or describe a single process."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        device = resolve_device(device_name)
        if world_size == 1:
            return cls(rank=0, world_size=1, device=device)
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            if local_rank >= torch.cuda.device_count():
                raise TrainingError(
                    f"torchrun started {world_size} processes on this node but PyTorch sees "
                    f"{torch.cuda.device_count()} GPU(s). Use --nproc_per_node={torch.cuda.device_count()}."
                )
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return cls(rank=rank, world_size=world_size, device=device)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call in the training loop: a DDP replica when distributed, else ``model``."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, batch_indices: torch.Tensor) -> torch.Tensor:
        """This rank's share of a global batch: every world_size-th index, starting at rank."""
        return batch_indices[self.rank :: self.world_size]

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over all ranks, in place (collective: every rank must call it)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def barrier(self) -> None:
        """Wait for every rank: tearing down while a peer still talks makes gloo abort the process."""
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            # The DDP wrapper sits in reference cycles; collect it while its process group still exists,
            # or its gloo work objects die at interpreter exit and abort the process (SIGABRT).
            gc.collect()
            dist.destroy_process_group()
