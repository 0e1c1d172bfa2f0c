"""``fusionblocks probe-text``: do a run's text features carry every CaptionedShapes attribute?

Per attribute (colour, size, shape, position, relation) it reports how well the sentence vectors and the mean word
vectors separate the values on held-out captions (a linear probe fitted on training captions), and the
DAMSM R-precision against hard negatives: the true caption against every caption that changes one attribute.

Examples:

    fusionblocks probe-text --checkpoint runs/demo
    fusionblocks probe-text --checkpoint runs/demo --json probe.json
"""

from __future__ import annotations

import argparse
import json

from ._common import apply_threads, non_negative_int, plain_text, positive_int, writable_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe-text", help="probe a run's text features for each CaptionedShapes attribute",
                       description=plain_text(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="run folder, its checkpoints/ folder or a step folder")
    p.add_argument("--json", help="also write the report to this JSON file")
    p.add_argument("--fit-scenes", type=positive_int, default=400,
                   help="training-split one-object scenes the centroids are fitted on (default 400)")
    p.add_argument("--eval-scenes", type=positive_int, default=200,
                   help="held-out one-object scenes to classify and rank (default 200)")
    p.add_argument("--relation-scenes", type=positive_int, default=100,
                   help="two-object scenes per split for the relation (default 100)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the CaptionedShapes scenes")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch ops")
    p.set_defaults(command="probe-text")


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    out = writable_file(args.json, "--json") if args.json else None
    from ..metrics.text_probe import probe_text_features
    from ..train.restore import load_gan

    gan, checkpoint = load_gan(args.checkpoint)
    report = probe_text_features(gan.text_encoder, gan.image_encoder, fit_scenes=args.fit_scenes,
                                 eval_scenes=args.eval_scenes, relation_scenes=args.relation_scenes, seed=args.seed)
    report.settings["checkpoint"] = str(checkpoint.path)
    print(f"text features of {checkpoint.path} (step {checkpoint.step}); held-out CaptionedShapes captions")
    print(report.format())
    if gan.image_encoder is None:
        print("(no image encoder in this run: hard-negative R-precision skipped)")
    if out is not None:
        out.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        print(f"report: {out}")
    return 0
