"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from .._precision import PRECISIONS

__all__ = [
    "plain_text", "add_device_args", "apply_threads", "read_captions", "positive_int", "non_negative_int",
    "positive_float",
    "writable_file", "check_folder_path", "config_source",
]


_LITERAL = re.compile(r"``([^`]+)``")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_CROSS_REF = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")


def plain_text(doc: str | None) -> str:
    """A module docstring as plain text for ``--help``: no ````literal```` quotes, no ``::`` block markers, no
    cross-reference or role markup."""
    text = _CROSS_REF.sub(r"\1", _ROLE.sub(r"\1", _LITERAL.sub(r"\1", doc or "")))
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return re.sub(r"::$", ":", text, flags=re.MULTILINE)


def config_source(text: str) -> str:
    """argparse type of ``--config``: a YAML file or a preset name; a folder is a usage error (exit 2) instead of
    an unknown-preset message."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; expected a YAML config file or a preset name")
    return text


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--batch-size 0`` is a usage error, exit 2).
    """
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (>= 1), got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0.
    """
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def check_folder_path(path: str | Path, flag: str) -> Path:
    """``path`` must be a folder or creatable as one: no existing file at it or at any of its parents.

    Raises:
        ValueError: Naming the flag and the file in the way.
    """
    path = Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                what = "is a file" if candidate == path else f"is a file, so {path} cannot be created"
                raise ValueError(f"{flag}: {candidate} {what}; expected a folder")
            break
    return path


def writable_file(path: str | Path, flag: str) -> Path:
    """Check before any work that ``path`` can be written (its folder is created); returns it as a ``Path``.

    Raises:
        OSError: The folder cannot be created or the file cannot be opened for writing (names the path).
        ValueError: ``path`` is an existing folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag}: {path} is a folder; expected a file name")
    check_folder_path(path.parent, flag)
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    with open(path, "ab"):
        pass
    if not existed:
        os.unlink(path)
    return path


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--precision``."""
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--precision", default="auto", choices=list(PRECISIONS),
        help="autocast precision (auto: bf16 on CUDA and CPU; fp16 is not offered)",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=None,
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
