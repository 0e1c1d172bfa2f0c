"""Train FF-GAN with the official recipe on CUB-200-2011 (``--preset cub256``, the default) or COCO-2014
(``--preset coco256``), on one GPU or several with torchrun.

The official recipe (docs/ffgan.md, "Presets" and "Training recipe"): 3 stages 64²→128²→256², ngf 64 / ndf 32,
Adam 2e-4 β=(0.5, 0.999) for G and each D, BCE per scale + DAMSM (γ=4/5/10) + CA KL, EMA 0.999; CUB: batch 4 per
process, λ=5, 800 epochs (evaluated at 650); COCO: batch 16, λ=50, 200 epochs (evaluated at 120). The DAMSM
encoders must be pre-trained (the released ``text_encoder200.pth`` / ``image_encoder200.pth`` with ImageNet
Inception weights, or ``fusionblocks pretrain-damsm``); the vocabulary is the dataset's own (``captions.pickle``,
``captions_DAMSM.pickle``, or one built from ``text/``).

Data: the AttnGAN layout::

    DATA/
      captions.pickle                  (or captions_DAMSM.pickle; optional)
      train/filenames.pickle  test/filenames.pickle  train/class_info.pickle ...
      text/<key>.txt                   (10 captions per image for CUB, 5 for COCO)
      CUB_200_2011/images/..., CUB_200_2011/images.txt, bounding_boxes.txt      (CUB)
      images/<key>.jpg                                                           (COCO)

Run::

    python examples/train_ffgan.py --data data/birds --text-encoder DAMSMencoders/bird/text_encoder200.pth \\
        --image-encoder DAMSMencoders/bird/image_encoder200.pth --backbone-weights inception_v3_google.pth \\
        --out runs/ffgan_cub
    python examples/train_ffgan.py --preset coco256 --data data/coco --text-encoder ... --out runs/ffgan_coco
    torchrun --nproc_per_node 4 examples/train_ffgan.py --data data/birds ... --out runs/ffgan_cub
    python examples/train_ffgan.py ... --out runs/ffgan_cub --resume      # continue after an interruption
    python examples/train_ffgan.py --smoke                                  # a few CPU steps of a tiny cub256
    python examples/train_ffgan.py --smoke --smoke-device --device cuda --workers 2   # the same on a GPU

See ``_driver.py`` for what each flag does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _driver  # noqa: E402  (the driver shared by the training examples)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _driver.add_training_args(parser, preset="cub256", out="runs/ffgan")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    _driver.run(parse_args(argv))


if __name__ == "__main__":
    main()
