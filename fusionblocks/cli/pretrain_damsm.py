"""``fusionblocks pretrain-damsm``: pre-train the DAMSM text and image encoders of a config on its dataset."""

from __future__ import annotations

import argparse

from ._common import add_device_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain-damsm", help="pre-train the DAMSM encoders", description=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset")
    src.add_argument("--config")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--steps", type=int, help="training steps")
    p.add_argument("--out", required=True, help="output folder for the encoder weights")
    p.add_argument("--data", help="dataset folder (overrides data.root)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int, default=0)
    add_device_args(p)
    p.set_defaults(command="pretrain-damsm")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("pretrain-damsm: waiting for fusionblocks.train.damsm_pretrain")
