"""Batching for the caption datasets: stack per scale, keep strings as lists, never sort by length.

The official loader sorted every batch by caption length (for ``pack_padded_sequence``); the library's text
encoders accept unsorted lengths, so the batch order is kept and batch size 1 works.

Batch keys (each present when the items have the singular key):

=================  ============================================  ==================
item key           batch key                                     batch value
=================  ============================================  ==================
``images``         ``images``                                    list of (B, 3, s, s), one per scale
``image``          ``image``                                     (B, 3, H, W)
``caption``        ``captions``                                  list[str | None]
``caption_index``  ``caption_indices``                           (B,) long
``tokens``         ``tokens``                                    (B, max_words) long
``length``         ``lengths``                                   (B,) long
``class_id``       ``class_ids``                                 (B,) long
``key``            ``keys``                                      list[str]
``attributes``     ``attributes``                                list[SceneAttributes]
=================  ============================================  ==================

Shapes:
    See the table; ``B = len(batch)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

__all__ = ["collate_captions"]

_RENAME = {
    "caption": "captions",
    "caption_index": "caption_indices",
    "length": "lengths",
    "class_id": "class_ids",
    "key": "keys",
}


def collate_captions(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Collate dataset items into a batch (module docstring for the keys), in the given order.

    Args:
        batch: items from ``CaptionedShapes``, ``CaptionFolder`` or ``AttnGANDataset`` (all with the same keys).

    Returns:
        The batch dict.

    Raises:
        ValueError: ``batch`` is empty, items have different keys or a scale has mismatched shapes.

    Shapes:
        ``images[k]``: (B, 3, s_k, s_k); ``tokens``: (B, max_words); ``lengths``/``class_ids``: (B,).
    """
    if not batch:
        raise ValueError("batch: expected at least one item, got an empty batch")
    keys = set(batch[0])
    for n, item in enumerate(batch):
        if set(item) != keys:
            raise ValueError(f"batch: item {n} has keys {sorted(item)}, item 0 has {sorted(keys)}")
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [item[key] for item in batch]
        name = _RENAME.get(key, key)
        if key == "images":
            scales = len(values[0])
            if any(len(v) != scales for v in values):
                raise ValueError("batch: items have different numbers of scales in 'images'")
            out[name] = [_stack([v[k] for v in values], f"images[{k}]") for k in range(scales)]
        elif key in ("image", "tokens"):
            out[name] = _stack(values, key)
        elif key in ("caption_index", "length", "class_id"):
            out[name] = torch.as_tensor([int(v) for v in values], dtype=torch.long)
        else:
            out[name] = list(values)
    return out


def _stack(tensors: list[torch.Tensor], name: str) -> torch.Tensor:
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"batch: '{name}' has different shapes across items: {sorted(shapes)}")
    return torch.stack(tensors, 0)
