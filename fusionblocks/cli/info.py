"""``fusionblocks info [RUN]``: versions, devices, registered components and plugins (loaded, failed, overrides);
with a run folder (or checkpoint), what that run was trained with: its step, config, vocabulary and encoders with
their files' SHA-256."""

from __future__ import annotations

import argparse
import platform
from importlib import metadata

from .._version import __version__
from ..registry import KINDS, list_components, plugin_report
from ._common import plain_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="versions, devices, registered components; or what a run used",
                       description=plain_text(__doc__))
    p.add_argument("run", nargs="?", metavar="RUN",
                   help="a run folder, its checkpoints/ folder or a step folder: show its encoders and vocabulary")
    p.set_defaults(command="info")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _short(digest: str | None) -> str:
    return digest[:16] if digest else "-"


def run_info(path: str) -> list[str]:
    """The lines ``fusionblocks info RUN`` prints for a run folder or checkpoint.
    """
    from ..train.checkpoint import load_checkpoint

    ck = load_checkpoint(path, groups=[], load_optimizers=False)
    files = ck.meta.get("files", {})
    config = ck.config or {}
    provenance = ck.state.get("provenance") or {}
    lines = [f"checkpoint   {ck.path} (step {ck.step}, config {config.get('name', '?')!r}, "
             f"recipe {ck.state.get('recipe', '?')})"]
    vocab = provenance.get("vocabulary")
    words = ck.state.get("vocabulary")
    if vocab:
        lines.append(f"vocabulary   {vocab.get('size')} words from {vocab.get('source')}")
    elif words:
        lines.append(f"vocabulary   {len(words)} words (source not recorded)")
    else:
        lines.append("vocabulary   none (the text encoder tokenizes by itself)")
    for group in ("text_encoder", "image_encoder"):
        entry = provenance.get(group)
        section = config.get("text" if group == "text_encoder" else "image", {})
        if entry is None and group == "image_encoder" and f"{group}.safetensors" not in files:
            lines.append(f"{group:<15}none")
            continue
        entry = entry or {"name": section.get("encoder"), "weights": section.get("weights")}
        if entry.get("weights"):
            origin = f"pre-trained from {entry['weights']} (sha256 {_short(entry.get('weights_sha256'))})"
        else:
            origin = "RANDOM initial weights (no weights file given)"
        lines.append(f"{group:<15}{entry.get('name')}: {origin}")
        if entry.get("backbone_weights") is not None or "backbone_weights" in entry:
            backbone = entry.get("backbone_weights")
            lines.append(f"{'':<15}backbone: " + (
                f"{backbone} (sha256 {_short(entry.get('backbone_weights_sha256'))})" if backbone else "none given"))
        stored = files.get(f"{group}.safetensors", {})
        if stored:
            lines.append(f"{'':<15}in this checkpoint: {group}.safetensors (sha256 {_short(stored.get('sha256'))})")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.run is not None:
        print("\n".join(run_info(args.run)))
        return 0
    import torch

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
    report = plugin_report()
    print(f"plugins      {', '.join(report['loaded']) or 'none loaded'}")
    for message in report["failed"]:
        print(f"  failed     {message}")
    for line in report["overrides"]:
        print(f"  override   {line}")
    return 0
