"""``fusionblocks info``: versions, devices and the number of registered components."""

from __future__ import annotations

import argparse
import platform


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="versions, devices, registered components", description=__doc__)
    p.set_defaults(command="info")


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(args: argparse.Namespace) -> int:
    import torch

    from .. import __version__
    from ..registry import KINDS, list_components
    from ..train.device import resolve_precision, select_device

    device = select_device("auto")
    print(f"fusionblocks {__version__}")
    print(f"python       {platform.python_version()} ({platform.machine()})")
    for dist in ("torch", "torchvision", "timm", "open_clip_torch", "safetensors", "numpy"):
        print(f"{dist:<12} {_version(dist)}".replace("open_clip_torch ", "open_clip    "))
    print(f"device       {device} (CUDA available: {torch.cuda.is_available()}, "
          f"GPUs: {torch.cuda.device_count()}, CPU threads: {torch.get_num_threads()})")
    if device.type == "cuda":
        print(f"gpu          {torch.cuda.get_device_name(device)}")
    print(f"precision    {resolve_precision('auto', device)} (autocast default)")
    counts = {kind: len(list_components(kind)) for kind in KINDS}
    print(f"components   {sum(counts.values())} registered: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
