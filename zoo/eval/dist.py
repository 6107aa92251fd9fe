"""torch.distributed for `zoo eval` under torchrun: one process per device, images sharded by rank,
results gathered on rank 0 (gloo on CPU, nccl on GPU). Without RANK/WORLD_SIZE it is a no-op."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we initialised the process group, so we tear it down

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, items: list[Any]) -> list[Any]:
        """This rank's items: every world_size-th, starting at rank (balanced, order kept)."""
        return items[self.rank::self.world_size]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""
        if self.world_size == 1:
            return [obj]
        import torch.distributed as td

        out: list[Any] = [None] * self.world_size
        td.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as td

            td.destroy_process_group()
            self.owns_group = False


def from_env() -> tuple[int, int, int]:
    return (int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
            int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: str, auto: bool = False) -> tuple[Dist, str]:
    """Join the torchrun group if there is one; returns it and the device this rank should use.

    One process per GPU: rank `LOCAL_RANK` takes cuda:LOCAL_RANK. When torchrun starts more processes on a node
    than it has GPUs (`--nproc_per_node 2` on a one-GPU machine died with "CUDA error: invalid device ordinal"),
    a device chosen by "auto" falls back to the CPU on every rank (gloo; said once on stderr), and a CUDA device
    asked for by name is refused in one line that says what to run. Every rank of a node decides alike (from
    LOCAL_WORLD_SIZE and the visible GPU count), so no rank waits on a backend the others did not pick."""
    rank, world, local = from_env()
    if world <= 1:
        return Dist(), device
    import torch
    import torch.distributed as td

    if device.startswith("cuda"):
        device = _rank_device(device, auto, rank, local, torch.cuda.device_count())
        if device.startswith("cuda"):
            torch.cuda.set_device(local)
    owns = False
    if not td.is_initialized():
        td.init_process_group("nccl" if device.startswith("cuda") else "gloo")
        owns = True
    return Dist(td.get_rank(), td.get_world_size(), local, owns), device


def _rank_device(device: str, auto: bool, rank: int, local: int, visible: int) -> str:
    """cuda:LOCAL_RANK when this node has a GPU per process; else cpu (auto) or a one-line InputError."""
    import sys

    from zoo.errors import ArgumentError

    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", str(local + 1)))
    if per_node <= visible and local < visible:
        return f"cuda:{local}"
    fix = (f"run torchrun --nproc_per_node {visible} (one process per GPU)" if visible else "no GPU is visible")
    if auto:
        if rank == 0:
            print(f"zoo eval: {per_node} processes on this node but {visible} CUDA GPU(s): every rank runs on the "
                  f"CPU (gloo); to use the GPUs, {fix}", file=sys.stderr)
        return "cpu"
    raise ArgumentError("device", f"{{0}} {device}: torchrun started {per_node} processes on this node but only "
                                  f"{visible} CUDA GPU(s) are visible; {fix}, or use {{0}} cpu")
