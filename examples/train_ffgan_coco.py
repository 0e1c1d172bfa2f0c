"""Train FF-GAN on COCO-2014 with the official recipe (preset ``coco256``), on GPU(s).

The official recipe (docs/ffgan.md, "Presets" and "Training recipe"): 3 stages 64²→128²→256², ngf 64 / ndf 32,
R_NUM 3, 12 words, batch 16 per process, Adam 2e-4 β=(0.5, 0.999) for G and each D, BCE per scale + DAMSM (λ=50,
γ=4/5/10) + CA KL, EMA 0.999, 200 epochs (evaluated at 120).
The DAMSM encoders must be pre-trained first (official ``coco/text_encoder100.pth`` / ``image_encoder100.pth``, or
``fusionblocks pretrain-damsm``), and the vocabulary is the dataset's ``captions.pickle``.

Data: the AttnGAN layout::

    DATA/
      images/COCO_train2014_*.jpg, images/COCO_val2014_*.jpg
      text/<image>.txt                  (5 captions per image)
      train/filenames.pickle  test/filenames.pickle
      captions.pickle

Run (one GPU, or several with torchrun)::

    python examples/train_ffgan_coco.py --data data/coco --text-encoder DAMSMencoders/coco/text_encoder100.pth \\
        --image-encoder DAMSMencoders/coco/image_encoder100.pth --out runs/ffgan_coco
    torchrun --nproc_per_node 4 examples/train_ffgan_coco.py --data data/coco ... --out runs/ffgan_coco
    python examples/train_ffgan_coco.py ... --out runs/ffgan_coco --resume      # continue after an interruption

``--smoke`` runs the same recipe (3 stages, BCE + DAMSM + KL, EMA) for a few steps on CPU on a tiny model and the
built-in CaptionedShapes data, to check the installation.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _official_recipe  # noqa: E402  (the driver shared with the other official-recipe example)

PRESET = "coco256"


def parse_args(argv=None):
    return _official_recipe.parse_args(
        argv, description=__doc__, dataset="COCO (holding images/, text/, captions.pickle)", out="runs/ffgan_coco", epochs=200,
        epochs_help="official: 200 (evaluated at 120)", batch_size=16,
    )


def main(argv=None) -> None:
    _official_recipe.run(PRESET, parse_args(argv))


if __name__ == "__main__":
    main()
