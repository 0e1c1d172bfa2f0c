"""Turn dataset items / collated batches into the recipes' [`TrainBatch`][fusionblocks.train.recipes.TrainBatch]."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from ..data import collate_captions, pyramid
from ..recipes import TrainBatch

__all__ = ["collate_items", "to_train_batch"]


def collate_items(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch dataset items in order (``fusionblocks.data.collate_captions``; never sorted by length).

    Shapes:
        items: B dicts with ``image`` (3, H, W) and/or ``images`` [(3, s, s)] → ``image`` (B, 3, H, W),
        ``images`` [(B, 3, s, s)], ``captions`` B strings, ``class_ids`` (B,), ``tokens`` (B, T), ``lengths`` (B,).
    """
    return collate_captions(items)


def _first(batch: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in batch and batch[key] is not None:
            return batch[key]
    return None


def to_train_batch(
    batch: Mapping[str, Any],
    sizes: Sequence[int],
    device: torch.device,
    *,
    channels_last: bool = False,
) -> Any:
    """Move a collated batch to ``device`` and give it one real image per generator output scale.

    When the batch's ``images`` pyramid already has exactly ``sizes``, it is used as is; otherwise the largest
    available image is resized to each size (bilinear, antialiased;
    [`fusionblocks.data.pyramid`][fusionblocks.data.pyramid.pyramid]).

    Args:
        batch: A collated batch (see [`collate_items`][fusionblocks.train.batches.collate_items]).
        sizes: Generator output sizes, smallest first.
        device: Target device.
        channels_last: Convert images to channels-last memory format.

    Returns:
        ``fusionblocks.train.recipes.TrainBatch``.

    Shapes:
        images: [(B, 3, s, s) for s in sizes]; tokens (B, T); lengths, class_ids (B,).
    """
    pyr = _first(batch, "images")
    if pyr is not None and [int(t.shape[-1]) for t in pyr] == list(sizes):
        images = list(pyr)
    else:
        top = _first(batch, "image")
        if top is None and pyr is not None:
            top = pyr[-1]
        if top is None:
            raise ValueError("batch: has neither 'image' nor 'images'")
        images = pyramid(top.to(device, non_blocking=True), list(sizes))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    images = [t.to(device, non_blocking=True).contiguous(memory_format=fmt) for t in images]
    captions = _first(batch, "caption", "captions")
    tokens = _first(batch, "tokens")
    lengths = _first(batch, "length", "lengths")
    class_ids = _first(batch, "class_id", "class_ids")
    negatives = _first(batch, "negative_captions")
    return TrainBatch(
        images=images,
        captions=list(captions) if captions is not None else None,
        tokens=tokens.to(device) if tokens is not None else None,
        lengths=lengths.to(device) if lengths is not None else None,
        class_ids=class_ids.to(device) if isinstance(class_ids, torch.Tensor) else None,
        negative_captions=[list(group) for group in negatives] if negatives is not None else None,
    )
