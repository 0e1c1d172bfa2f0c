"""``fusionblocks list [KIND] [--pattern GLOB]``: registered components (and presets)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered components", description=__doc__)
    p.add_argument("kind", nargs="?", default=None,
                   help="layer, text_encoder, image_encoder, loss, generator, discriminator, model (default: all)")
    p.add_argument("--pattern", default="*", help="fnmatch pattern, e.g. 'ffgan.*'")
    p.set_defaults(command="list")


def run(args: argparse.Namespace) -> int:
    from ..registry import KINDS, list_components

    if args.kind is not None and args.kind not in KINDS:
        raise ValueError(f"KIND: expected one of {', '.join(KINDS)}, got {args.kind!r}")
    kinds = [args.kind] if args.kind else list(KINDS)
    for kind in kinds:
        names = list_components(kind, args.pattern)
        if args.kind:
            print("\n".join(names))
        else:
            print(f"{kind} ({len(names)}):")
            for name in names:
                print(f"  {name}")
    return 0
