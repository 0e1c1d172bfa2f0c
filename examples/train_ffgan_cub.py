"""Train FF-GAN on CUB-200-2011 with the official recipe (preset ``cub256``), on GPU(s).

The official recipe (docs/ffgan.md, "Presets" and "Training recipe"): 3 stages 64²→128²→256², ngf 64 / ndf 32,
batch 4 per process, Adam 2e-4 β=(0.5, 0.999) for G and each D, BCE per scale + DAMSM (λ=5, γ=4/5/10) + CA KL,
EMA 0.999, 800 epochs.
The DAMSM encoders must be pre-trained first (official ``text_encoder200.pth`` / ``image_encoder200.pth``, or
``fusionblocks pretrain-damsm``), and the vocabulary is the dataset's ``captions.pickle``.

Data: the AttnGAN layout::

    DATA/
      CUB_200_2011/images/..., CUB_200_2011/bounding_boxes.txt, images.txt
      text/<class>/<image>.txt          (10 captions per image)
      train/filenames.pickle  test/filenames.pickle  train/class_info.pickle ...
      captions.pickle

Run (one GPU, or several with torchrun)::

    python examples/train_ffgan_cub.py --data data/birds --text-encoder DAMSMencoders/bird/text_encoder200.pth \\
        --image-encoder DAMSMencoders/bird/image_encoder200.pth --out runs/ffgan_cub
    torchrun --nproc_per_node 4 examples/train_ffgan_cub.py --data data/birds ... --out runs/ffgan_cub
    python examples/train_ffgan_cub.py ... --out runs/ffgan_cub --resume      # continue after an interruption

``--smoke`` runs the same recipe (3 stages, BCE + DAMSM + KL, EMA) for a few steps on CPU on a tiny model and the
built-in CaptionedShapes data, to check the installation.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _official_recipe  # noqa: E402  (the driver shared with the other official-recipe example)

PRESET = "cub256"


def parse_args(argv=None):
    return _official_recipe.parse_args(
        argv, description=__doc__, dataset="CUB (holding CUB_200_2011/, text/, captions.pickle)", out="runs/ffgan_cub", epochs=800,
        epochs_help="official: 800 (evaluated at 650)", batch_size=4,
    )


def main(argv=None) -> None:
    _official_recipe.run(PRESET, parse_args(argv))


if __name__ == "__main__":
    main()
