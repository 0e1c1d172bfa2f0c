"""Build the training dataset a model config describes (``config.data``), sized to the generator's scales."""

from __future__ import annotations

import os
from typing import Any

from torch.utils.data import Dataset

from .. import data as fbdata

__all__ = ["build_dataset", "DATASETS"]

DATASETS = ("captioned_shapes", "cub", "coco", "folder")


def build_dataset(
    config: Any,
    *,
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    seed: int = 0,
    vocabulary: Any = None,
) -> Dataset:
    """The dataset of ``config.data`` with images at the model's output sizes.

    Args:
        config: An ``FFGANConfig``.
        split: ``"train"`` or ``"test"`` (CaptionedShapes also ``"val"``).
        root: Overrides ``config.data.root`` (data folder for ``cub``/``coco``/``folder``).
        seed: Seed of the per-item randomness (caption choice, crops, flips).
        vocabulary: Vocabulary used to add token ids to items. ``None``: the one
            [`vocabulary_for_config`][fusionblocks.data.dataset_vocabulary.vocabulary_for_config] decides
            (``text.vocabulary`` when set, else the
            dataset's own: its captions pickle, or one built from its captions), when the text encoder uses one.

    Returns:
        ``CaptionedShapes``, ``CUBDataset``, ``COCODataset`` or ``CaptionFolder``.

    Raises:
        ValueError: Unknown ``config.data.dataset``, or a folder dataset without a root.

    Shapes:
        Items hold ``image`` (3, S, S) in [-1, 1] with ``S = config.model.image_size`` (and ``images`` pyramids).
    """
    d, m, t = config.data, config.model, config.text
    kwargs = dict(d.kwargs)
    root = root if root is not None else d.root
    if d.dataset == "captioned_shapes":
        kwargs.setdefault("size", 4096)
        kwargs.setdefault("max_objects", 2)
        return fbdata.CaptionedShapes(
            resolution=m.image_size, split=split, seed=seed, captions_per_image=d.captions_per_image, **kwargs
        )
    if d.dataset not in DATASETS:
        raise ValueError(f"config.data.dataset: expected one of {DATASETS}, got {d.dataset!r}")
    if root is None:
        raise ValueError(f"config.data.root: the {d.dataset!r} dataset needs a data folder (set data.root or --data)")
    common = dict(base_size=m.image_sizes[0], num_scales=m.num_stages, max_words=t.max_words, seed=seed)
    uses_vocabulary = fbdata.encoder_uses_vocabulary(t.encoder)
    if vocabulary is None and uses_vocabulary:
        explicit = fbdata.explicit_vocabulary(config)
        vocabulary = explicit.vocabulary if explicit is not None else None
    if vocabulary is not None:
        common["vocabulary"] = vocabulary
    elif d.dataset == "folder" and uses_vocabulary:
        common["vocabulary"] = "build"  # the folder's own vocabulary (cub/coco read theirs from the pickle)
    if d.dataset == "folder":
        return fbdata.CaptionFolder(root, **common, **kwargs)
    cls = fbdata.CUBDataset if d.dataset == "cub" else fbdata.COCODataset
    test_split = "test" if split != "train" else "train"
    return cls(root, test_split, captions_per_image=d.captions_per_image, **common, **kwargs)
