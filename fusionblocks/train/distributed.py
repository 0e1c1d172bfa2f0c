"""Process-group helpers for running the trainer under ``torchrun`` (DDP; NCCL on GPU, gloo on CPU)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "DistInfo",
    "init_distributed",
    "dist_info",
    "is_main_process",
    "barrier",
    "all_gather_objects",
    "parameter_hash",
    "FreezeAwareDDP",
    "wrap_ddp",
    "broadcast_module",
    "unwrap",
]


@dataclass(frozen=True)
class DistInfo:
    """Rank, world size and local rank of this process (``1``/``0``/``0`` when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    """The current process group's rank and world size."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistInfo()


def init_distributed(device: torch.device | str | None = None) -> DistInfo:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE``/``RANK``/``MASTER_ADDR``...).

    Does nothing when ``WORLD_SIZE`` is unset or 1, or when a group is already initialised. The backend is NCCL
    for CUDA devices and gloo otherwise.

    Args:
        device: The device this rank will train on (chooses the backend).
    """
    if dist.is_available() and dist.is_initialized():
        return dist_info()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but torch.distributed is not available in this build")
    dev = torch.device(device) if device is not None else None
    backend = "nccl" if dev is not None and dev.type == "cuda" else "gloo"
    if dev is not None and dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(backend=backend)
    return dist_info()


def is_main_process() -> bool:
    """True on rank 0 (and when not distributed)."""
    return dist_info().is_main


def barrier() -> None:
    """Synchronise all ranks (no-op when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_gather_objects(obj: Any) -> list[Any]:
    """Gather one picklable object from each rank (``[obj]`` when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def parameter_hash(module: nn.Module, *, buffers: bool = True) -> str:
    """SHA-256 over a module's parameters (and buffers), in name order, of their exact bytes.

    Two replicas with identical weights give the same hash; used to check DDP keeps ranks in sync.
    """
    digest = hashlib.sha256()
    items: list[tuple[str, torch.Tensor]] = list(module.named_parameters())
    if buffers:
        items += list(module.named_buffers())
    for name, tensor in sorted(items, key=lambda kv: kv[0]):
        digest.update(name.encode())
        t = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


class FreezeAwareDDP(nn.Module):
    """A ``DistributedDataParallel`` wrapper that bypasses DDP while the module is frozen.

    Recipes freeze the discriminators (``requires_grad_(False)``) during the generator step. Calling a DDP module
    then would make DDP wait for gradients that never arrive ("expected to have finished reduction in the prior
    iteration"). While every parameter is frozen this wrapper calls the inner module directly; otherwise it goes
    through DDP, which averages the gradients across ranks.

    Args:
        ddp: The DDP-wrapped module.

    Shapes:
        Same as the wrapped module.
    """

    def __init__(self, ddp: nn.parallel.DistributedDataParallel) -> None:
        super().__init__()
        self.ddp = ddp

    @property
    def module(self) -> nn.Module:
        return self.ddp.module

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        if any(p.requires_grad for p in self.ddp.module.parameters()):
            return self.ddp(*args, **kwargs)
        return self.ddp.module(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "ddp" or name.startswith("__"):
                raise
            return getattr(self.ddp.module, name)


def wrap_ddp(module: nn.Module, device: torch.device, *, find_unused_parameters: bool = False) -> nn.Module:
    """Wrap ``module`` for data-parallel training when a process group is active (else return it unchanged).

    Modules without trainable parameters are returned unchanged.

    Shapes:
        Same as the wrapped module.
    """
    if not (dist.is_available() and dist.is_initialized()) or not any(p.requires_grad for p in module.parameters()):
        return module
    ids = [device.index] if device.type == "cuda" else None
    ddp = nn.parallel.DistributedDataParallel(
        module, device_ids=ids, find_unused_parameters=find_unused_parameters
    )
    return FreezeAwareDDP(ddp)


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers into every rank's ``module`` (no-op when not distributed).

    Used for modules that DDP does not wrap (frozen encoders), so that every rank encodes text identically.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=src)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside DDP / [`FreezeAwareDDP`][fusionblocks.train.distributed.FreezeAwareDDP] /
    ``torch.compile`` wrappers.
    """
    while True:
        if isinstance(module, FreezeAwareDDP):
            module = module.ddp.module
        elif isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod  # type: ignore[assignment]
        else:
            return module
