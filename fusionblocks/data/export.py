"""Write a captioned dataset to disk: as a caption folder (``<name>.png`` + ``<name>.txt``) or in the AttnGAN
layout of CUB or COCO (with or without ``captions.pickle``). The tutorials build their "own data" this way from
CaptionedShapes, and it converts any dataset whose items have ``image`` and ``caption`` into files other tools read.

Shapes:
    Items' ``image``: (3, S, S) in [-1, 1].
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from PIL import Image

from ..text import Vocabulary, tokenize

__all__ = ["write_caption_folder", "write_attngan_layout"]


def _image_and_captions(dataset: Any, index: int) -> tuple[Any, list[str], int]:
    item = dataset[index]
    captions = list(dataset.captions(index)) if hasattr(dataset, "captions") else [item["caption"]]
    return item["image"], captions, int(item.get("class_id", index))


def _to_pil(image: Any) -> Any:
    array = ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array)


def _check_target(root: Path) -> None:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"root: {str(root)!r} exists and is not an empty folder")


def write_caption_folder(dataset: Any, root: str | os.PathLike[str], *, prefix: str = "image") -> Path:
    """Write every item of ``dataset`` as ``root/<prefix>_<i>.png`` with its captions in ``<prefix>_<i>.txt`` (one per
    line): the ``txt`` layout of [`CaptionFolder`][fusionblocks.data.caption_folder.CaptionFolder].

    Args:
        dataset: Items with ``"image"`` (and ``"caption"``); its ``captions(i)`` are written when it has them.
        root: A new (or empty) folder.
        prefix: File-name prefix.

    Raises:
        FileExistsError: ``root`` holds files already.

    Shapes:
        Items' ``image``: (3, S, S) in [-1, 1].
    """
    root = Path(root)
    _check_target(root)
    root.mkdir(parents=True, exist_ok=True)
    digits = max(4, len(str(len(dataset) - 1)))
    for i in range(len(dataset)):
        image, captions, _ = _image_and_captions(dataset, i)
        stem = f"{prefix}_{i:0{digits}d}"
        _to_pil(image).save(root / f"{stem}.png")
        (root / f"{stem}.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
    return root


def write_attngan_layout(
    root: str | os.PathLike[str],
    train: Any,
    test: Any,
    *,
    captions_pickle: bool = True,
    dataset: str = "cub",
    quality: int = 95,
) -> Path:
    """Write ``train`` and ``test`` in the AttnGAN layout of CUB-200 (what
    [`CUBDataset`][fusionblocks.data.attngan.CUBDataset] reads) or, with ``dataset="coco"``, of COCO-2014 (what
    [`COCODataset`][fusionblocks.data.attngan.COCODataset] reads)::

        root/CUB_200_2011/images/<key>.jpg, CUB_200_2011/images.txt, CUB_200_2011/bounding_boxes.txt (whole image)
        root/images/<key>.jpg                (COCO, instead of CUB_200_2011/)
        root/text/<key>.txt                  captions, one per line
        root/{train,test}/filenames.pickle   keys; {train,test}/class_info.pickle: class ids (CUB only)
        root/captions.pickle                 [train_caps, test_caps, ixtoword, wordtoix] (when captions_pickle)

    Keys are ``<class:03d>.class_<class>/<split>_<i>`` (CUB) or ``COCO_{train,val}2014_<i:012d>`` (COCO, whose
    test split is val2014 as in AttnGAN's); every image of a split must have the same number of captions. The
    pickle's vocabulary is built from the train then test captions, as the official builder did.

    Raises:
        FileExistsError: ``root`` holds files already.
        ValueError: the images of a split have different numbers of captions; ``dataset`` is not cub or coco.

    Shapes:
        Items' ``image``: (3, S, S) in [-1, 1].
    """
    if dataset not in ("cub", "coco"):
        raise ValueError(f"dataset: expected 'cub' or 'coco', got {dataset!r}")
    root = Path(root)
    _check_target(root)
    cub = dataset == "cub"
    images_dir = root / "CUB_200_2011" / "images" if cub else root / "images"
    records: dict[str, list[tuple[str, list[str], int]]] = {}
    lines_images, lines_boxes = [], []
    number = 0
    for split, items in (("train", train), ("test", test)):
        records[split] = []
        for i in range(len(items)):
            image, captions, class_id = _image_and_captions(items, i)
            if cub:
                key = f"{class_id + 1:03d}.class_{class_id + 1}/{split}_{i:05d}"
            else:  # AttnGAN's COCO test split is the val2014 images
                key = f"COCO_{'train' if split == 'train' else 'val'}2014_{i:012d}"
            path = images_dir / f"{key}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            picture = _to_pil(image)
            picture.save(path, quality=quality)
            number += 1
            lines_images.append(f"{number} {key}.jpg")
            lines_boxes.append(f"{number} 0.0 0.0 {float(picture.width)} {float(picture.height)}")
            text = root / "text" / f"{key}.txt"
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text("\n".join(captions) + "\n", encoding="utf-8")
            records[split].append((key, captions, class_id))
        counts = {len(c) for _, c, _ in records[split]}
        if len(counts) > 1:
            raise ValueError(f"{split}: images have different numbers of captions {sorted(counts)}")
    if cub:
        (root / "CUB_200_2011" / "images.txt").write_text("\n".join(lines_images) + "\n")
        (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("\n".join(lines_boxes) + "\n")
    for split, rows in records.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        with open(root / split / "filenames.pickle", "wb") as f:
            pickle.dump([key for key, _, _ in rows], f, protocol=2)
        if cub:
            with open(root / split / "class_info.pickle", "wb") as f:
                pickle.dump([class_id + 1 for _, _, class_id in rows], f, protocol=2)
    if captions_pickle:
        vocabulary = Vocabulary.build(c for split in ("train", "test") for _, caps, _ in records[split] for c in caps)
        encoded = {
            split: [[vocabulary.stoi[t] for t in tokenize(c)] for _, caps, _ in rows for c in caps]
            for split, rows in records.items()
        }
        ixtoword = dict(enumerate(vocabulary.itos))
        with open(root / "captions.pickle", "wb") as f:
            pickle.dump([encoded["train"], encoded["test"], ixtoword, dict(vocabulary.stoi)], f, protocol=2)
    return root
