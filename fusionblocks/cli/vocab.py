"""``fusionblocks vocab build DATA --out vocab.json``: the vocabulary a dataset gives its text encoder, as a file.

The same rules as training (``fusionblocks.data.dataset_vocabulary``): an AttnGAN-layout folder (CUB / COCO) gives
the vocabulary of its ``captions.pickle`` (else ``captions_DAMSM.pickle``, else one built from ``text/``); a folder
of captioned images gives one built from its captions. Training does this by itself; use the file to pin a
vocabulary across datasets (``--set text.vocabulary=vocab.json``). Example:

    fusionblocks vocab build my_data --out my_data_vocab.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ._common import plain_text, writable_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vocab", help="build a dataset's vocabulary file", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    b = actions.add_parser("build", help="write the vocabulary of DATA as JSON", description=plain_text(__doc__),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("data", metavar="DATA", help="dataset folder (AttnGAN layout, or images with captions)")
    b.add_argument("--out", required=True, help="output JSON file")
    b.add_argument("--dataset", default="auto", choices=["auto", "folder", "cub", "coco"],
                   help="layout of DATA (auto: cub/coco when it has train/filenames.pickle, else folder)")
    b.add_argument("--captions-file", default="auto",
                   help="AttnGAN layout: the captions pickle to read "
                        "(auto: captions.pickle, else captions_DAMSM.pickle)")
    b.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(command="vocab")


def detect_layout(root: Path) -> str:
    """``"cub"``, ``"coco"`` (AttnGAN layout, told apart as the official code does) or ``"folder"``.
    """
    if (root / "train" / "filenames.pickle").is_file():
        return "cub" if (root / "CUB_200_2011").is_dir() or "birds" in str(root) else "coco"
    return "folder"


def run(args: argparse.Namespace) -> int:
    from ..data import dataset_vocabulary

    root = Path(args.data)
    if not root.is_dir():
        raise FileNotFoundError(f"DATA: {str(root)!r} is not a directory")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"--out: {out} exists (pass --force to overwrite)")
    writable_file(out, "--out")
    layout = detect_layout(root) if args.dataset == "auto" else args.dataset
    kwargs = {"captions_file": args.captions_file} if layout != "folder" else {}
    found = dataset_vocabulary(layout, root, **kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    found.vocabulary.save(partial)
    os.replace(partial, out)
    print(f"{out}: {len(found.vocabulary)} words ({layout} layout; {found.source})")
    return 0
