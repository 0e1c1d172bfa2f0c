"""Image loading and the AttnGAN/FF-GAN image transform ([FF-GAN: training recipe][ffgan-training]), driven by a
per-item random generator.

``Resize(int(imsize * 76 / 64), shorter side) -> RandomCrop(imsize) -> RandomHorizontalFlip``, then a pyramid of
``base_size * 2**k`` (k < num_scales) made from the crop with PIL bilinear resizing (the last level is the crop),
each normalised to [-1, 1]. ``imsize = base_size * 2**(num_scales - 1)`` (64/128/256 for the defaults).
CUB images are first cropped to their bounding box ([`bbox_crop_box`][fusionblocks.data.transforms.bbox_crop_box]).

Shapes:
    ``image_pyramid(img, ...)`` -> list of (3, s, s) float tensors in [-1, 1], smallest first.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .._checks import check_positive_int

__all__ = [
    "IMAGE_EXTENSIONS",
    "load_rgb",
    "bbox_crop_box",
    "resize_size",
    "resize_crop_flip",
    "pil_to_tensor",
    "image_pyramid",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp")


def load_rgb(path: str | os.PathLike) -> Image.Image:
    """Open an image file as RGB; an unreadable or missing file raises naming the path."""
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except FileNotFoundError:
        raise FileNotFoundError(f"image file not found: {os.fspath(path)!r}") from None
    except Exception as exc:  # PIL raises several types for corrupt files
        raise ValueError(f"cannot read image file {os.fspath(path)!r}: {exc}") from exc


def bbox_crop_box(bbox: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """The CUB bounding-box crop ([FF-GAN: training recipe][ffgan-training]): centre ``(x + w/2, y + h/2)`` (floored),
    half-size
    ``r = floor(0.75 * max(w, h))``, clipped to the image, so the crop need not be square.

    Args:
        bbox: ``(x, y, w, h)`` in pixels, as in ``bounding_boxes.txt``.
        width: image width.
        height: image height.

    Returns:
        ``(x1, y1, x2, y2)`` for ``PIL.Image.crop``.
    """
    if len(bbox) != 4:
        raise ValueError(f"bbox: expected (x, y, w, h), got {bbox!r}")
    x, y, w, h = (float(v) for v in bbox)
    r = int(np.floor(0.75 * max(w, h)))
    cx = int(np.floor(x + w / 2))
    cy = int(np.floor(y + h / 2))
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def resize_size(width: int, height: int, shorter: int) -> tuple[int, int]:
    """``(w, h)`` after resizing the shorter side to ``shorter`` keeping the aspect ratio (torchvision rule:
    the longer side is ``int(shorter * long / short)``).
    """
    if width <= height:
        return shorter, int(shorter * height / width)
    return int(shorter * width / height), shorter


def resize_crop_flip(img: Image.Image, imsize: int, rng: np.random.Generator | None) -> Image.Image:
    """Resize the shorter side to ``int(imsize * 76 / 64)`` (bilinear), crop ``imsize`` x ``imsize`` and flip.

    Args:
        img: the input image.
        imsize: output side.
        rng: the item's generator: random crop position and a horizontal flip with probability 0.5. ``None``
            gives the deterministic centre crop without flip (evaluation).
    """
    check_positive_int(imsize, "imsize")
    w, h = resize_size(img.width, img.height, int(imsize * 76 / 64))
    img = img.resize((w, h), Image.Resampling.BILINEAR)
    if rng is None:
        left, top = (w - imsize) // 2, (h - imsize) // 2
        flip = False
    else:
        left = int(rng.integers(0, w - imsize + 1))
        top = int(rng.integers(0, h - imsize + 1))
        flip = bool(rng.random() < 0.5)
    img = img.crop((left, top, left + imsize, top + imsize))
    if flip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> (3, H, W) float in [-1, 1] (mean 0.5, std 0.5 normalisation).

    Shapes:
        Output: (3, H, W).
    """
    arr = np.asarray(img.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray((arr * np.float32(1 / 127.5) - np.float32(1.0)).transpose(2, 0, 1)))


def image_pyramid(img: Image.Image, sizes: Sequence[int]) -> list[torch.Tensor]:
    """PIL bilinear resizes of ``img`` to each size (the image itself where the size matches), in [-1, 1].

    Shapes:
        Output: [(3, s, s) for s in sizes].
    """
    out = []
    for s in sizes:
        level = img if (img.width, img.height) == (s, s) else img.resize((s, s), Image.Resampling.BILINEAR)
        out.append(pil_to_tensor(level))
    return out
