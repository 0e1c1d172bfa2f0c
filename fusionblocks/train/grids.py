"""Image grids as PNG (PIL): samples with their captions, and word-attention maps under each sample."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

__all__ = ["to_pil", "save_images", "caption_grid", "attention_grid", "caption_words"]


def _check_images(images: object, name: str = "images") -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{name}: expected (B, 3, H, W) or (B, 1, H, W), got {tuple(images.shape)}")
    return images


def to_pil(image: torch.Tensor, scale: int = 1) -> Image.Image:
    """One image in ``[-1, 1]`` → ``PIL.Image`` (RGB), optionally enlarged ``scale``× (nearest neighbour).

    Shapes:
        image: (3, H, W) or (1, H, W).
    """

    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"image: expected a (3, H, W) tensor, got {getattr(image, 'shape', type(image))}")
    x = image.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    pil = Image.fromarray(x.permute(1, 2, 0).contiguous().numpy(), mode="RGB")
    if scale != 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def save_images(images: torch.Tensor, folder: str | os.PathLike[str], prefix: str = "sample") -> list[Path]:
    """Save each image as ``folder/{prefix}_{i:04d}.png``.

    Shapes:
        images: (B, 3, H, W) in [-1, 1].
    """
    _check_images(images)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = folder / f"{prefix}_{i:04d}.png"
        to_pil(img).save(path)
        paths.append(path)
    return paths


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:

    return ImageFont.load_default()


def _text_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str = "Ag") -> int:
    box = font.getbbox(text)
    return int(box[3] - box[1]) + 3


def caption_grid(
    images: torch.Tensor,
    captions: Sequence[str] | None = None,
    *,
    columns: int = 4,
    cell: int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Image.Image:
    """A grid of images, each with its caption (wrapped, PIL's default font) underneath.

    Args:
        images: The images.
        captions: One caption per image (or ``None`` for no captions).
        columns: Images per row.
        cell: Side of each drawn image in pixels (default: at least 128, an integer multiple of the image size).
        path: When given, the grid is also saved there as PNG.

    Returns:
        The ``PIL.Image``.

    Shapes:
        images: (B, 3, H, W) in [-1, 1]; ``len(captions) == B``.
    """
    _check_images(images)
    b, _, h, w = images.shape
    if captions is not None and len(captions) != b:
        raise ValueError(f"captions: expected {b} captions (one per image), got {len(captions)}")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    scale = max(1, (cell or 128) // max(h, w))
    cw, ch = w * scale, h * scale
    font = _font()
    line_h = _text_height(font)
    chars = max(8, cw // 6)
    wrapped = [textwrap.wrap(c, chars)[:4] for c in captions] if captions is not None else [[] for _ in range(b)]
    text_h = line_h * max((len(t) for t in wrapped), default=0) + (4 if captions else 0)
    cols = min(columns, b)
    rows = (b + cols - 1) // cols
    pad = 4
    grid = Image.new("RGB", (cols * (cw + pad) + pad, rows * (ch + text_h + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for i in range(b):
        r, c = divmod(i, cols)
        x0, y0 = pad + c * (cw + pad), pad + r * (ch + text_h + pad)
        grid.paste(to_pil(images[i], scale), (x0, y0))
        for k, line in enumerate(wrapped[i]):
            draw.text((x0, y0 + ch + 2 + k * line_h), line, fill=(0, 0, 0), font=font)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        grid.save(path)
    return grid


def caption_words(caption: str) -> list[str]:
    """Lower-case word tokens of a caption (labels for attention maps)."""
    return re.findall(r"[a-z0-9]+", caption.lower())


def attention_grid(
    images: torch.Tensor,
    attention: torch.Tensor,
    captions: Sequence[str],
    *,
    max_words: int = 8,
    cell: int = 64,
    path: str | os.PathLike[str] | None = None,
    words: Sequence[Sequence[str]] | None = None,
) -> Image.Image:
    """One row per sample: the image, then the attention map of each word over the image, labelled.

    Maps are min-max normalised per word and blended over a darkened copy of the image (red = attended).

    Args:
        images: The samples.
        attention: Word-attention maps of one generator stage (any spatial size; resized to ``cell``).
        captions: One caption per sample (labels the rows and, word by word, the maps).
        max_words: Maps drawn per row.
        cell: Side of each tile.
        path: When given, also save as PNG.
        words: Token strings per sample (default: [`caption_words`][fusionblocks.train.grids.caption_words] of each
            caption).

    Returns:
        The ``PIL.Image``.

    Shapes:
        images: (B, 3, H, W) in [-1, 1]; attention: (B, T, h, w) with non-negative weights.
    """
    _check_images(images)
    if not isinstance(attention, torch.Tensor) or attention.ndim != 4 or attention.shape[0] != images.shape[0]:
        raise ValueError(
            f"attention: expected (B, T, h, w) with B = {images.shape[0]}, got {getattr(attention, 'shape', None)}"
        )
    if len(captions) != images.shape[0]:
        raise ValueError(f"captions: expected {images.shape[0]} captions, got {len(captions)}")
    b, t = attention.shape[:2]
    toks = [list(w) for w in words] if words is not None else [caption_words(c) for c in captions]
    n_maps = min(max_words, t)
    font = _font()
    line_h = _text_height(font)
    pad = 2
    width = (n_maps + 1) * (cell + pad) + pad
    row_h = line_h + cell + line_h + pad
    grid = Image.new("RGB", (width, b * row_h + pad), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    imgs = torch.nn.functional.interpolate(images.detach().float().cpu(), size=(cell, cell), mode="nearest")
    att = torch.nn.functional.interpolate(attention.detach().float().cpu(), size=(cell, cell), mode="bilinear")
    lo = att.amin(dim=(2, 3), keepdim=True)
    hi = att.amax(dim=(2, 3), keepdim=True)
    att = (att - lo) / (hi - lo).clamp_min(1e-8)
    for i in range(b):
        y0 = pad + i * row_h
        draw.text((pad, y0), captions[i][: width // 6], fill=(0, 0, 0), font=font)
        grid.paste(to_pil(imgs[i]), (pad, y0 + line_h))
        base = imgs[i].clamp(-1, 1).add(1).div(2) * 0.35
        for k in range(min(n_maps, max(len(toks[i]), 1))):
            a = att[i, k]
            tile = base.clone()
            tile[0] = (tile[0] + a).clamp(0, 1)
            tile[1] = (tile[1] + 0.3 * a).clamp(0, 1)
            x0 = pad + (k + 1) * (cell + pad)
            grid.paste(to_pil(tile * 2 - 1), (x0, y0 + line_h))
            label = toks[i][k] if k < len(toks[i]) else f"#{k}"
            draw.text((x0, y0 + line_h + cell + 1), label[:10], fill=(0, 0, 0), font=font)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        grid.save(path)
    return grid
