"""The ``fusionblocks`` command: ``list``, ``info``, ``train``, ``sample``, ``pretrain-damsm``, ``convert``, ``eval``,
``vocab``.

Each subcommand lives in its own small module with ``add_parser(subparsers)`` and ``run(args) -> int``; heavy
imports happen inside ``run`` so that ``fusionblocks --help`` and ``fusionblocks list`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

__all__ = ["main", "build_parser", "COMMANDS"]

# subcommand name -> module (relative to this package)
COMMANDS: dict[str, str] = {
    "list": ".list_cmd",
    "info": ".info",
    "train": ".train",
    "sample": ".sample",
    "pretrain-damsm": ".pretrain_damsm",
    "convert": ".convert",
    "eval": ".eval_cmd",
    "vocab": ".vocab",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="fusionblocks",
        description="Text-image fusion components for text-to-image GANs (FF-GAN, DF-GAN, AttnGAN-style).",
    )
    parser.add_argument("--version", action="version", version=f"fusionblocks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in COMMANDS.items():
        importlib.import_module(module, __name__).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    Errors the user can fix (bad arguments, missing or corrupt files, bad config keys) are printed as one line
    ``fusionblocks <command>: error: ...`` with exit status 2; anything else propagates with its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command], __name__)
    from ..train.checkpoint import CheckpointError

    try:
        return int(module.run(args) or 0)
    except (CheckpointError, FileNotFoundError, FileExistsError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"fusionblocks {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fusionblocks {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
