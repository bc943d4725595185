"""Single-process or torchrun (DistributedDataParallel) training, behind one small interface.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; gloo serves CPUs (and tests), NCCL GPUs. Only rank 0
evaluates, writes events and exports; every rank stops together.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as tdist
from torch import nn


class Dist:
    def __init__(self, device: str = "cpu") -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = device
        if self.world > 1 and not tdist.is_initialized():
            backend = "nccl" if device.startswith("cuda") else "gloo"
            tdist.init_process_group(backend, timeout=timedelta(minutes=30))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, net: nn.Module) -> nn.Module:
        if self.world == 1:
            return net
        ids = [self.local_rank] if self.device.startswith("cuda") else None
        return nn.parallel.DistributedDataParallel(net, device_ids=ids, find_unused_parameters=True)

    def barrier(self) -> None:
        if self.world > 1:
            tdist.barrier()

    def should_stop(self, local: bool) -> bool:
        """True on every rank if any rank ran out of time."""
        if self.world == 1:
            return local
        flag = torch.tensor([1.0 if local else 0.0])
        tdist.all_reduce(flag, op=tdist.ReduceOp.MAX)
        return bool(flag.item())

    def close(self) -> None:
        if self.world > 1 and tdist.is_initialized():
            tdist.destroy_process_group()
