"""``fusionblocks list [KIND] [--pattern GLOB]``: registered components (and presets).

Components that do not come from fusionblocks itself are followed by their source (a plugin's distribution or the
registering module), and by the entry they replaced when registered with ``override=True``.
"""

from __future__ import annotations

import argparse

from ..registry import KINDS, describe, list_components
from ._common import plain_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered components", description=plain_text(__doc__))
    p.add_argument("kind", nargs="?", default=None,
                   help="layer, text_encoder, image_encoder, loss, generator, discriminator, model (default: all)")
    p.add_argument("--pattern", default="*", help="fnmatch pattern, e.g. 'ffgan.*'")
    p.set_defaults(command="list")


def _line(kind: str, name: str) -> str:
    """The name, plus where it comes from when that is not fusionblocks itself, and what it overrides."""
    info = describe(kind, name)
    notes = [] if info["source"] == "fusionblocks" else [f"from {info['source']}"]
    if info["replaced"]:
        notes.append(f"overrides {info['replaced']}")
    return f"{name}  ({'; '.join(notes)})" if notes else name


def run(args: argparse.Namespace) -> int:
    if args.kind is not None and args.kind not in KINDS:
        raise ValueError(f"KIND: expected one of {', '.join(KINDS)}, got {args.kind!r}")
    kinds = [args.kind] if args.kind else list(KINDS)
    for kind in kinds:
        names = list_components(kind, args.pattern)
        if args.kind:
            print("\n".join(_line(kind, name) for name in names))
        else:
            print(f"{kind} ({len(names)}):")
            for name in names:
                print(f"  {_line(kind, name)}")
    return 0
