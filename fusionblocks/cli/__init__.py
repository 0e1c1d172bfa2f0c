"""The ``fusionblocks`` command: ``list``, ``info``, ``train``, ``sample``, ``pretrain-damsm``, ``convert``, ``eval``,
``vocab``, ``stats``, ``probe-text``.

Each subcommand lives in its own small module with ``add_parser(subparsers)`` and ``run(args) -> int``; heavy
imports happen inside ``run`` so that ``fusionblocks --help`` and ``fusionblocks list`` stay fast.
"""

from __future__ import annotations

import argparse
import errno
import functools
import importlib
import os
import pickle
import sys
import warnings
from typing import NoReturn, Sequence

import yaml

from .._version import __version__
from ..registry import ComponentArgumentError, PluginError
from ..train.run_lock import RunFolderBusyError

__all__ = ["main", "build_parser", "COMMANDS", "user_error_types", "describe_user_error"]

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
    "stats": ".stats",
    "probe-text": ".probe_text",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2 (the CLI's error contract)."""

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = _Parser(
        prog="fusionblocks",
        description="Text-image fusion components for text-to-image GANs (FF-GAN, DF-GAN, AttnGAN-style).",
    )
    parser.add_argument("--version", action="version", version=f"fusionblocks {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of user errors too (also FUSIONBLOCKS_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        importlib.import_module(module, __name__).add_parser(sub)
    return parser


def user_error_types() -> tuple[type[BaseException], ...]:
    """The exception types the CLI reports as user errors (one line, exit 2) rather than as bugs (traceback).

    Bad arguments and config values (``ValueError`` and its subclasses such as ``ConfigError``, ``KeyError`` for
    unknown names, [`ComponentArgumentError`][fusionblocks.registry.ComponentArgumentError] for wrong component
    keywords), files that are missing, unreadable, corrupt or unwritable (``OSError``, including a full disk;
    [`CheckpointError`][fusionblocks.train.checkpoint.CheckpointError], YAML and pickle errors), run folders in use
    and plugins that fail to load. Anything else is a bug and keeps its traceback.
    """
    from ..train.checkpoint import CheckpointError  # imports torch: only when an error is being reported

    return (CheckpointError, RunFolderBusyError, PluginError, ComponentArgumentError, OSError, ValueError, KeyError,
            yaml.YAMLError, pickle.UnpicklingError)


def describe_user_error(exc: BaseException) -> str:
    """One line saying what went wrong, naming the file for I/O errors.
    """
    if isinstance(exc, KeyError) and exc.args:
        return _one_line(str(exc.args[0]))
    if isinstance(exc, OSError) and exc.strerror and not _library_message(exc):
        where = exc.filename if exc.filename is not None else None
        name = errno.errorcode.get(exc.errno or -1)
        reason = f"{exc.strerror}" + (f" [{name}]" if name else "")
        return _one_line(f"{where}: {reason}" if where is not None else reason)
    text = str(exc) or type(exc).__name__
    if type(exc).__module__.startswith("yaml"):
        text = f"invalid YAML: {text}"
    return _one_line(text)


def _library_message(exc: OSError) -> bool:
    """True for OSErrors raised with our own message (a single string argument), e.g. FileNotFoundError(msg)."""
    return len(exc.args) == 1 and isinstance(exc.args[0], str)


def _show_warning(command: str, message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    print(f"fusionblocks {command}: warning: {_one_line(str(message))}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    Errors the user can fix (bad arguments or config values, missing, corrupt or unwritable files, a full disk, a
    run folder in use, a broken plugin) are printed as one line ``fusionblocks <command>: error: ...`` naming the
    argument or file, with exit status 2 ([`user_error_types`][fusionblocks.cli.user_error_types]); ``--debug`` (or
    ``FUSIONBLOCKS_DEBUG=1``) shows their traceback too. Anything else is a bug and propagates with its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("FUSIONBLOCKS_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    module = importlib.import_module(COMMANDS[args.command], __name__)
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = functools.partial(_show_warning, args.command)
            return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print(f"fusionblocks {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug or not isinstance(exc, user_error_types()):
            raise
        print(f"fusionblocks {args.command}: error: {describe_user_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
