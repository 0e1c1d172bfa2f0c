"""Pixel measurements on CaptionedShapes-style images: palette labels, connected objects, their colour, centroid,
area and a normalised mask crop (the input of the shape classifier). Vectorised over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .._checks import check_image_features
from ..data.shapes import BACKGROUND, COLORS

__all__ = ["SegmentedObjects", "palette_tensor", "palette_labels", "hue_labels", "connected_components",
           "segment_objects"]

#: Side of the square mask crops fed to the shape classifier.
CROP_SIZE = 24


def palette_tensor() -> tuple[torch.Tensor, list[str]]:
    """The CaptionedShapes palette with the background first: ``(1 + len(COLORS), 3)`` RGB in 0..255, and names."""
    names = ["background", *COLORS]
    rgb = torch.tensor([BACKGROUND, *COLORS.values()], dtype=torch.float32)
    return rgb, names


def palette_labels(images: torch.Tensor) -> torch.Tensor:
    """Index of the nearest palette colour (0 = background) of every pixel.

    Shapes:
        - images: ``(B, 3, H, W)`` in ``[-1, 1]``; output ``(B, H, W)`` long.
    """
    rgb, _ = palette_tensor()
    rgb = rgb.to(images.device)
    batch, _, height, width = images.shape
    pixels = ((images.float().clamp(-1.0, 1.0) + 1.0) * 127.5).flatten(2).transpose(1, 2)  # (B, HW, 3)
    # squared distance up to the per-pixel constant |p|²: |c|² − 2 p·c, minimised over the palette (last dim)
    dist = (rgb * rgb).sum(-1) - 2.0 * pixels @ rgb.T  # (B, HW, P)
    return dist.argmin(dim=-1).view(batch, height, width)


def hue_labels(images: torch.Tensor) -> torch.Tensor:
    """Index (1-based, as in ``palette_tensor``) of the
    palette colour whose RGB direction is closest to each pixel's (highest cosine), ignoring brightness.

    The renderer draws every object pixel as ``coverage × colour`` over black, so a pixel's direction in RGB is its
    colour whatever its brightness; nearest-colour distance would call a dim yellow pixel green. Used for the
    colour vote of foreground pixels.

    Shapes:
        - images: ``(B, 3, H, W)`` in ``[-1, 1]``; output ``(B, H, W)`` long in ``1 .. len(COLORS)``.
    """
    rgb, _ = palette_tensor()
    colours = F.normalize(rgb[1:].to(images.device), dim=1)  # (P-1, 3), background excluded
    batch, _, height, width = images.shape
    pixels = ((images.float().clamp(-1.0, 1.0) + 1.0) * 127.5).flatten(2).transpose(1, 2)  # (B, HW, 3)
    return (pixels @ colours.T).argmax(dim=-1).view(batch, height, width) + 1


def _max3x3(x: torch.Tensor) -> torch.Tensor:
    """3×3 max filter with zero padding as two separable shifted maxima (stride-1 ``max_pool2d`` is ~10× slower on
    CPU). Inputs are non-negative, so zero padding equals ``-inf`` padding."""
    p = F.pad(x, (1, 1, 0, 0))
    rows = torch.maximum(torch.maximum(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    p = F.pad(rows, (0, 0, 1, 1))
    return torch.maximum(torch.maximum(p[..., :-2, :], p[..., 1:-1, :]), p[..., 2:, :])


def connected_components(mask: torch.Tensor, max_iterations: int | None = None) -> torch.Tensor:
    """8-connected components of a boolean mask, whole batch at once.

    Every foreground pixel starts with its own id ``1 + flat index``; each round takes the maximum over the 3×3
    neighbourhood and then follows labels as pointers (``L[p] ← max(L[p], L[L[p]])``, path doubling), so labels only
    move to larger ids of the same component and converge in a few rounds. Each pixel ends with the largest id of
    its component; background is 0.

    Shapes:
        - mask: ``(B, H, W)`` bool; output ``(B, H, W)`` long component ids.
    """
    if mask.ndim != 3 or mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a (B, H, W) bool tensor, got {tuple(mask.shape)} {mask.dtype}")
    batch, height, width = mask.shape
    fg = mask.view(batch, -1)
    labels = torch.arange(1, height * width + 1, dtype=torch.long, device=mask.device).expand(batch, -1) * fg
    limit = max_iterations if max_iterations is not None else height * width
    for _ in range(limit):  # rounds of a whole-batch propagation (not a loop over the batch)
        grown = _max3x3(labels.view(batch, 1, height, width).float()).view(batch, -1).long() * fg
        for _jump in range(2):
            pointed = grown.gather(1, (grown - 1).clamp(min=0))
            grown = torch.where(fg, torch.maximum(grown, pointed), grown)
        if torch.equal(grown, labels):
            break
        labels = grown
    return labels.view(batch, height, width)


@dataclass
class SegmentedObjects:
    """The ``k`` largest foreground objects of each image (sorted by area, largest first).

    Attributes:
        valid: Whether slot k holds an object (area above the minimum).
        area: Area as a fraction of the image.
        centroid: ``(x, y)`` centroid in fractions of width/height (x right, y down).
        color: Majority palette colour index (1-based; 0 for empty slots).
        crops: Mask crops around each object's bounding box, ``CROP_SIZE``² in ``[0, 1]``.

    Shapes:
        - valid ``(B, k)`` bool; area ``(B, k)``; centroid ``(B, k, 2)``; color ``(B, k)`` long;
          crops ``(B, k, 1, CROP_SIZE, CROP_SIZE)``.
    """

    valid: torch.Tensor
    area: torch.Tensor
    centroid: torch.Tensor
    color: torch.Tensor
    crops: torch.Tensor


def segment_objects(images: torch.Tensor, k: int = 2, min_area: float = 0.002) -> SegmentedObjects:
    """Segment foreground (nearest palette colour is not the background) into 8-connected objects and measure the
    ``k`` largest: area, centroid, majority colour and a square mask crop (side 1.25 × the longer bounding-box side,
    centred on the box), resampled bilinearly to ``CROP_SIZE``². Each foreground pixel votes for the colour of its
    RGB direction ([`hue_labels`][fusionblocks.metrics.shapes_segmentation.hue_labels]), so dim (antialiased or
    under-saturated) pixels vote for their own hue.

    Args:
        images: Images in ``[-1, 1]`` (CaptionedShapes palette on a black background).
        k: Objects kept per image.
        min_area: Objects smaller than this fraction of the image are ignored (specks).

    Shapes:
        - images: ``(B, 3, H, W)``; output:
          [`SegmentedObjects`][fusionblocks.metrics.shapes_segmentation.SegmentedObjects] with ``k`` slots per image.
    """
    images = check_image_features(images, "images", channels=3)
    batch, _, height, width = images.shape
    labels = palette_labels(images)  # (B, H, W)
    comp = connected_components(labels > 0)  # (B, H, W)
    n_bins = height * width + 1
    flat = comp.view(batch, -1)
    ones = torch.ones_like(flat, dtype=torch.float32)
    area = torch.zeros(batch, n_bins, device=images.device).scatter_add_(1, flat, ones)
    area[:, 0] = 0.0  # background
    top_area, top_id = area.topk(min(k, n_bins - 1), dim=1)  # (B, k)
    valid = top_area >= max(min_area * height * width, 1.0)

    ys, xs = torch.meshgrid(
        (torch.arange(height, device=images.device, dtype=torch.float32) + 0.5) / height,
        (torch.arange(width, device=images.device, dtype=torch.float32) + 0.5) / width,
        indexing="ij",
    )
    member = flat[:, None, :] == top_id[:, :, None]  # (B, k, HW)
    member_f = member.float()
    count = member_f.sum(-1).clamp(min=1.0)
    cx = (member_f * xs.reshape(1, 1, -1)).sum(-1) / count
    cy = (member_f * ys.reshape(1, 1, -1)).sum(-1) / count
    n_colors = palette_tensor()[0].shape[0]
    hues = hue_labels(images)
    votes = (member_f[..., None] * F.one_hot(hues.view(batch, 1, -1), n_colors).float()).sum(2)  # (B, k, P)
    votes[..., 0] = -1.0
    color = torch.where(valid, votes.argmax(-1), torch.zeros_like(top_id))

    # bounding boxes in pixel units, then a square crop around the box centre
    big = float(max(height, width) + 1)
    px = xs.reshape(1, 1, -1) * width - 0.5
    py = ys.reshape(1, 1, -1) * height - 0.5
    x_min = torch.where(member, px, torch.full_like(px, big)).amin(-1)
    x_max = torch.where(member, px, torch.full_like(px, -big)).amax(-1)
    y_min = torch.where(member, py, torch.full_like(py, big)).amin(-1)
    y_max = torch.where(member, py, torch.full_like(py, -big)).amax(-1)
    side = (torch.maximum(x_max - x_min, y_max - y_min) + 1.0) * 1.25
    side = torch.where(valid, side, torch.ones_like(side))
    centre_x = torch.where(valid, (x_min + x_max) / 2, torch.zeros_like(side))
    centre_y = torch.where(valid, (y_min + y_max) / 2, torch.zeros_like(side))
    # affine grid in normalised coordinates (align_corners=False: pixel i has centre (2i+1)/W - 1)
    theta = torch.zeros(batch * top_id.shape[1], 2, 3, device=images.device)
    theta[:, 0, 0] = (side / width).reshape(-1)
    theta[:, 1, 1] = (side / height).reshape(-1)
    theta[:, 0, 2] = ((2 * centre_x + 1) / width - 1).reshape(-1)
    theta[:, 1, 2] = ((2 * centre_y + 1) / height - 1).reshape(-1)
    masks = member_f.view(-1, 1, height, width)
    grid = F.affine_grid(theta, [masks.shape[0], 1, CROP_SIZE, CROP_SIZE], align_corners=False)
    crops = F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    crops = crops.view(batch, top_id.shape[1], 1, CROP_SIZE, CROP_SIZE) * valid[:, :, None, None, None]
    return SegmentedObjects(
        valid=valid,
        area=top_area / (height * width) * valid,
        centroid=torch.stack([cx, cy], dim=-1),
        color=color,
        crops=crops,
    )
