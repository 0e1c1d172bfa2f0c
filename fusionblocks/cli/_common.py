"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._precision import PRECISIONS

__all__ = ["add_device_args", "apply_threads", "read_captions"]


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--precision``."""
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--precision", default="auto", choices=list(PRECISIONS),
        help="autocast precision (auto: bf16 on CUDA and CPU; fp16 is not offered)",
    )
    parser.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads for torch ops (default: torch's choice; 1 is much faster on a CPU other jobs keep busy)",
    )


def apply_threads(args: argparse.Namespace) -> None:
    """Apply ``--threads`` (when given)."""
    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            raise ValueError(f"--threads: expected >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)


def read_captions(captions: list[str] | None, captions_file: str | None) -> list[str]:
    """Captions from repeated ``--caption`` and/or a ``--captions`` file (one per line, ``#`` comments skipped).

    Raises:
        ValueError: No caption given, or the file holds none.
    """
    out = list(captions or [])
    if captions_file:
        path = Path(captions_file)
        if not path.is_file():
            raise FileNotFoundError(f"--captions: {path} does not exist")
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        out += [line for line in lines if line and not line.startswith("#")]
    if not out:
        raise ValueError("give at least one --caption TEXT or a --captions FILE")
    return out
