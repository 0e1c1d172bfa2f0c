"""Train a DF-GAN variant built from registered blocks: DF-GAN's single-stage generator with FF-Blocks
(word-level fusion) after its 64² and 128² blocks (preset ``dfgan_ffblock``), hinge + MA-GP (docs/ffgan.md, "DF-GAN").

Change ``--preset dfgan`` for plain DF-GAN 2022, or swap parts with ``--set`` (e.g. ``--set
model.ffblock_resolutions=[32,64]``). Data: the AttnGAN layout (see ``train_ffgan.py``); the text encoder is
the pre-trained DAMSM one (only its sentence vector is used by plain DF-GAN), its vocabulary the dataset's.

    python examples/train_dfgan_variant.py --data data/birds --text-encoder DAMSMencoders/bird/text_encoder200.pth \\
        --out runs/dfgan_ffblock_cub
    python examples/train_dfgan_variant.py --smoke            # a few CPU steps on CaptionedShapes
    python examples/train_dfgan_variant.py --smoke --smoke-device --device cuda --workers 2

Flags as in ``train_ffgan.py`` (``_driver.py``); the seed defaults to DF-GAN's 100.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _driver  # noqa: E402  (the driver shared by the training examples)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _driver.add_training_args(parser, preset="dfgan_ffblock", out="runs/dfgan_variant", seed=100)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    _driver.run(parse_args(argv))


if __name__ == "__main__":
    main()
