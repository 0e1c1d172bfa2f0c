"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_device_args", "read_captions"]


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--precision``.

    Shapes:
        Not tensor-valued.
    """
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--precision", default="auto", choices=["auto", "bf16", "fp32"],
        help="autocast precision (auto: bf16 on CUDA and CPU; fp16 is not offered)",
    )


def read_captions(captions: list[str] | None, captions_file: str | None) -> list[str]:
    """Captions from repeated ``--caption`` and/or a ``--captions`` file (one per line, ``#`` comments skipped).

    Raises:
        ValueError: No caption given, or the file holds none.

    Shapes:
        Not tensor-valued.
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
