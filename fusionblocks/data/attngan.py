"""CUB-200-2011 and COCO-2014 in the AttnGAN/DM-GAN/FF-GAN layout ([FF-GAN: data layout][ffgan-data]), with the FF-GAN
transform ([training recipe][ffgan-training]).

Layout under ``root`` (e.g. ``data/birds``):

    captions.pickle                 [train_caps, test_caps, ixtoword, wordtoix] (optional, see below)
    train/filenames.pickle          list of keys;  train/class_info.pickle (optional) class ids aligned with them
    test/filenames.pickle           test/class_info.pickle (optional)
    text/<key>.txt                  raw captions, one per line (needed without captions.pickle)
    CUB_200_2011/images/<key>.jpg, CUB_200_2011/images.txt, CUB_200_2011/bounding_boxes.txt     (CUB)
    images/<key>.jpg                                                                             (COCO)

DF-GAN's variant of the layout also works: ``captions_DAMSM.pickle`` (used when there is no ``captions.pickle``;
``captions_file=`` names another file), and COCO images under
``images/train2014/`` / ``images/val2014/`` (chosen by the key's ``COCO_train2014_`` / ``COCO_val2014_`` prefix)
when ``images/<key>.jpg`` does not exist.

Captions come from, in order of preference:

1. ``vocabulary=`` (a ``Vocabulary`` or a path to the project's JSON vocabulary): the raw ``text/<key>.txt``
   files are tokenised and encoded; the first ``captions_per_image`` captions with at least one known word are kept.
2. ``captions.pickle``: read with the restricted unpickler of ``fusionblocks.text`` (plain lists/dicts/str/int
   only, Python-2 byte strings decoded). Its vocabulary (``self.vocabulary``) is the one the released DAMSM
   weights were trained with ([data layout][ffgan-data]): reuse it.
3. Neither: a vocabulary is built from the ``text/`` captions of train then test (indices in order of first
   appearance; not compatible with released DAMSM weights).

``filenames.pickle`` / ``class_info.pickle`` are read with the same restricted unpickler. Without
``class_info.pickle`` every image is its own class (ids 0..N-1).

Each item (``random_transform=True``): CUB bounding-box crop
([`bbox_crop_box`][fusionblocks.data.transforms.bbox_crop_box]),
Resize(int(imsize*76/64)) -> RandomCrop(imsize) -> RandomHorizontalFlip, pyramid ``base_size * 2**k`` from the crop;
one of the image's captions chosen uniformly; captions longer than ``max_words`` cut to a random ordered subset.
Randomness comes from a per-item generator seeded by ``(seed, epoch, index)`` (``item_random``); call
[`set_epoch`][fusionblocks.data.attngan.AttnGANDataset.set_epoch] each epoch.

Shapes:
    ``item["images"][k]``: (3, base_size * 2**k, base_size * 2**k) in [-1, 1]; ``item["tokens"]``: (max_words,) long.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from .._checks import check_positive_int
from ..text import Vocabulary, load_attngan_captions, safe_unpickle
from .item_random import check_seed, item_generator
from .tokens import caption_tokens
from .transforms import bbox_crop_box, image_pyramid, load_rgb, resize_crop_flip

__all__ = [
    "AttnGANDataset",
    "CUBDataset",
    "COCODataset",
    "CAPTIONS_PICKLES",
    "find_captions_pickle",
    "read_key_list",
    "read_class_info",
    "read_cub_bboxes",
]

_DEFAULT_CAPTIONS_PER_IMAGE = {"cub": 10, "coco": 5}

#: The captions pickles of the AttnGAN layout, in order of preference (AttnGAN/DM-GAN/FF-GAN, then DF-GAN).
CAPTIONS_PICKLES = ("captions.pickle", "captions_DAMSM.pickle")


def find_captions_pickle(root: str | os.PathLike, captions_file: str = "auto") -> Path | None:
    """The captions pickle of an AttnGAN-layout folder, or None when it has none.

    Args:
        root: The data folder.
        captions_file: A file name under ``root``, or ``"auto"`` for the first of ``CAPTIONS_PICKLES`` that
            exists.
    """
    names = CAPTIONS_PICKLES if captions_file == "auto" else (captions_file,)
    for name in names:
        path = Path(root) / name
        if path.is_file():
            return path
    return None


def _safe_load(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"cannot read {str(path)!r}: {exc}") from exc
    try:
        return safe_unpickle(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot safely unpickle {str(path)!r}: {exc}") from exc


def read_key_list(path: str | os.PathLike) -> list[str]:
    """Read a ``filenames.pickle`` (a list of string keys) with the restricted unpickler."""
    keys = _safe_load(Path(path))
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{os.fspath(path)!r}: expected a list of string keys, got {type(keys).__name__}")
    return list(keys)


def read_class_info(path: str | os.PathLike, expected: int) -> list[int]:
    """Read a ``class_info.pickle`` (list of ints aligned with the keys) with the restricted unpickler."""
    ids = _safe_load(Path(path))
    if not isinstance(ids, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValueError(f"{os.fspath(path)!r}: expected a list of int class ids")
    if len(ids) != expected:
        raise ValueError(f"{os.fspath(path)!r}: {len(ids)} class ids for {expected} filenames")
    return [int(i) for i in ids]


def read_cub_bboxes(cub_dir: str | os.PathLike) -> dict[str, tuple[float, float, float, float]]:
    """Map CUB keys (``<class folder>/<stem>``) to ``(x, y, w, h)`` from ``images.txt`` + ``bounding_boxes.txt``.

    Rows are matched by image id (the first column of both files).
    """
    cub = Path(cub_dir)
    names: dict[str, str] = {}
    for n, line in enumerate((cub / "images.txt").read_text().splitlines(), 1):
        if line.strip():
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{str(cub / 'images.txt')!r}:{n}: expected '<id> <path>', got {line!r}")
            names[parts[0]] = os.path.splitext(parts[1])[0]
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for n, line in enumerate((cub / "bounding_boxes.txt").read_text().splitlines(), 1):
        if line.strip():
            parts = line.split()
            if len(parts) != 5 or parts[0] not in names:
                raise ValueError(f"{str(cub / 'bounding_boxes.txt')!r}:{n}: expected '<id> x y w h' for a known id")
            x, y, w, h = (float(v) for v in parts[1:])
            boxes[names[parts[0]]] = (x, y, w, h)
    return boxes


class AttnGANDataset(Dataset):
    """CUB-200 / COCO in the AttnGAN layout (module docstring).

    Args:
        root: the data directory.
        split: ``"train"`` or ``"test"``.
        dataset: ``"cub"``, ``"coco"`` or ``"auto"`` (CUB when ``root/CUB_200_2011`` exists or the path contains
            ``"birds"``, as the official code decides).
        base_size: smallest pyramid size (64 officially).
        num_scales: pyramid levels (3 officially: 64/128/256).
        max_words: token array length (18 CUB / 12 COCO for training; 25 / 20 at evaluation).
        captions_per_image: captions per image; inferred from ``captions.pickle`` (must divide evenly), else
            10 for CUB and 5 for COCO.
        vocabulary: ``Vocabulary``, a path to its JSON, or ``None`` (module docstring for the caption sources).
        random_transform: random crop and flip (training, and the official test transform too); ``False`` gives
            a deterministic centre crop.
        seed: base seed for the per-item generators; ``None`` uses torch's per-worker generator.
        check_files: check at construction that every image file exists (a missing one raises, naming it).
        captions_file: name of the captions pickle under ``root``; ``"auto"`` takes ``captions.pickle``, else
            DF-GAN's ``captions_DAMSM.pickle``
            ([`find_captions_pickle`][fusionblocks.data.attngan.find_captions_pickle]).

    Items: ``images`` (list), ``image`` (= ``images[-1]``), ``caption`` (str: the raw line, or the decoded words
    of a pickled caption), ``caption_index``, ``tokens`` (max_words,) long, ``length`` int, ``class_id`` int,
    ``key`` str.

    Shapes:
        ``images[k]``: (3, base_size * 2**k, base_size * 2**k); ``tokens``: (max_words,).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        dataset: str = "auto",
        base_size: int = 64,
        num_scales: int = 3,
        max_words: int = 18,
        captions_per_image: int | None = None,
        vocabulary: Any = None,
        random_transform: bool = True,
        seed: int | None = 0,
        check_files: bool = True,
        captions_file: str = "auto",
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root: {str(self.root)!r} is not a directory")
        if split not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
        if dataset == "auto":
            dataset = "cub" if (self.root / "CUB_200_2011").is_dir() or "birds" in str(self.root) else "coco"
        if dataset not in ("cub", "coco"):
            raise ValueError(f"dataset: expected 'cub', 'coco' or 'auto', got {dataset!r}")
        self.split, self.dataset = split, dataset
        self.base_size = check_positive_int(base_size, "base_size")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.sizes = [base_size * 2**k for k in range(num_scales)]
        self.imsize = self.sizes[-1]
        self.max_words = check_positive_int(max_words, "max_words")
        if captions_per_image is not None:
            check_positive_int(captions_per_image, "captions_per_image")
        self.random_transform = bool(random_transform)
        self.seed = check_seed(seed)
        self.epoch = 0
        found = find_captions_pickle(self.root, captions_file)
        if found is None and captions_file != "auto":
            raise FileNotFoundError(f"captions_file: {str(self.root / captions_file)!r} not found")
        self.captions_file: str | None = found.name if found is not None else None

        self.keys = read_key_list(self.root / split / "filenames.pickle")
        info = self.root / split / "class_info.pickle"
        self.class_ids = read_class_info(info, len(self.keys)) if info.is_file() else list(range(len(self.keys)))

        self._load_captions(vocabulary, captions_per_image)
        for i, ids in enumerate(self._ids):
            if not ids:
                raise ValueError(f"image {self.keys[i]!r} has no caption with a known word")
            for k, cap in enumerate(ids):
                if not cap:
                    raise ValueError(f"caption {k} of image {self.keys[i]!r} is empty (length 0)")

        if dataset == "cub":
            self.image_dir = self.root / "CUB_200_2011" / "images"
            self.bboxes: dict[str, tuple[float, float, float, float]] | None = read_cub_bboxes(
                self.root / "CUB_200_2011"
            )
            missing = [k for k in self.keys if k not in self.bboxes]
            if missing:
                raise ValueError(
                    f"{str(self.root / 'CUB_200_2011' / 'images.txt')!r} has no entry for key {missing[0]!r}"
                )
        else:
            self.image_dir = self.root / "images"
            self.bboxes = None
        if check_files:
            for key in self.keys:
                if not self.image_path(key).is_file():
                    raise FileNotFoundError(f"image file {str(self.image_path(key))!r} not found (key {key!r})")

    # ------------------------------------------------------------------ captions
    def _load_captions(self, vocabulary: Any, captions_per_image: int | None) -> None:
        self._texts: list[list[str]] | None = None
        pickle_path = self.root / self.captions_file if self.captions_file else None
        if vocabulary is None and pickle_path is not None:
            try:
                caps = load_attngan_captions(pickle_path)
            except pickle.UnpicklingError as exc:
                raise ValueError(f"cannot safely unpickle {str(pickle_path)!r}: {exc}") from exc
            flat = caps.train if self.split == "train" else caps.test
            n = len(self.keys)
            if n == 0 or len(flat) % n:
                raise ValueError(
                    f"{str(pickle_path)!r}: {len(flat)} {self.split} captions do not divide evenly over {n} filenames"
                )
            cpi = len(flat) // n
            if captions_per_image is not None and captions_per_image != cpi:
                raise ValueError(f"captions_per_image: {captions_per_image} given, but {str(pickle_path)!r} has {cpi}")
            self.vocabulary = caps.vocabulary
            self.captions_per_image = cpi
            self._ids = [flat[i * cpi : (i + 1) * cpi] for i in range(n)]
            return
        self.captions_per_image = captions_per_image or _DEFAULT_CAPTIONS_PER_IMAGE[self.dataset]
        if vocabulary is None:
            raw: list[str] = []
            for s in ("train", "test"):  # the official builder's order: train then test
                names = self.root / s / "filenames.pickle"
                keys = self.keys if s == self.split else (read_key_list(names) if names.is_file() else [])
                for k in keys:
                    raw.extend(self._read_text_file(k))
            vocabulary = Vocabulary.build(raw)
        elif isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = Vocabulary.load(vocabulary)
        self.vocabulary = vocabulary
        self._ids, self._texts = [], []
        for k in self.keys:
            ids, texts = [], []
            for line in self._read_text_file(k):
                enc = list(vocabulary.encode(line))
                if enc:
                    ids.append(enc)
                    texts.append(line)
                if len(ids) == self.captions_per_image:
                    break
            self._ids.append(ids)
            self._texts.append(texts)

    def _read_text_file(self, key: str) -> list[str]:
        path = self.root / "text" / f"{key}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"caption file {str(path)!r} not found (and no captions.pickle)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read caption file {str(path)!r}: {exc}") from exc
        return [ln.strip() for ln in text.splitlines() if ln.strip()]

    # ------------------------------------------------------------------ access
    def image_path(self, key: str) -> Path:
        """The image file of ``key`` (COCO: ``images/<key>.jpg``, else DF-GAN's ``images/{train,val}2014/``)."""
        path = self.image_dir / f"{key}.jpg"
        if self.dataset == "coco" and not path.is_file():
            for sub in ("train2014", "val2014"):
                if f"_{sub}_" in key or key.startswith(f"COCO_{sub}"):
                    alt = self.image_dir / sub / f"{key}.jpg"
                    if alt.is_file():
                        return alt
        return path

    def __len__(self) -> int:
        return len(self.keys)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch that seeds each item's generator (other captions, crops and word subsets)."""
        self.epoch = int(check_seed(epoch, "epoch", allow_none=False))  # type: ignore[arg-type]

    def captions(self, index: int) -> list[str]:
        """The captions of image ``index`` as strings."""
        if self._texts is not None:
            return list(self._texts[index])
        return [self.vocabulary.decode(ids) for ids in self._ids[index]]

    def token_ids(self, index: int) -> list[list[int]]:
        """The captions of image ``index`` as word-index lists (no padding)."""
        return [list(c) for c in self._ids[index]]

    def caption_bank(self) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """Every caption with its image index and class id (for R-precision mismatches).

        Shapes:
            ``image_index``, ``class_ids``: (num_captions,) long.
        """
        caps: list[str] = []
        img: list[int] = []
        for i in range(len(self)):
            c = self.captions(i)
            caps.extend(c)
            img.extend([i] * len(c))
        image_index = torch.tensor(img, dtype=torch.long)
        return caps, image_index, torch.tensor(self.class_ids, dtype=torch.long)[image_index]

    def load_crop(self, index: int) -> Any:
        """The image of ``index`` as RGB PIL, cropped to its bounding box for CUB."""
        key = self.keys[index]
        img = load_rgb(self.image_path(key))
        if self.bboxes is not None:
            img = img.crop(bbox_crop_box(self.bboxes[key], img.width, img.height))
        return img

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index: {index} out of range for {len(self)} images")
        index = index % len(self)
        rng = item_generator(self.seed, self.epoch, index)
        ids = self._ids[index]
        k = int(rng.integers(len(ids)))
        crop = resize_crop_flip(self.load_crop(index), self.imsize, rng if self.random_transform else None)
        images = image_pyramid(crop, self.sizes)
        tokens, length = caption_tokens(ids[k], self.max_words, rng)
        caption = self._texts[index][k] if self._texts is not None else self.vocabulary.decode(ids[k])
        return {
            "images": images,
            "image": images[-1],
            "caption": caption,
            "caption_index": k,
            "tokens": tokens,
            "length": length,
            "class_id": self.class_ids[index],
            "key": self.keys[index],
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, dataset={self.dataset!r}, "
            f"images={len(self)}, sizes={self.sizes}, max_words={self.max_words})"
        )


class CUBDataset(AttnGANDataset):
    """CUB-200-2011 in the AttnGAN layout (``dataset="cub"``); see
    [`AttnGANDataset`][fusionblocks.data.attngan.AttnGANDataset].

    Shapes:
        As [`AttnGANDataset`][fusionblocks.data.attngan.AttnGANDataset].
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", **kwargs: Any) -> None:
        kwargs.setdefault("max_words", 18)
        super().__init__(root, split, dataset="cub", **kwargs)


class COCODataset(AttnGANDataset):
    """COCO-2014 in the AttnGAN layout (``dataset="coco"``, images under ``images/``); see
    [`AttnGANDataset`][fusionblocks.data.attngan.AttnGANDataset].

    Shapes:
        As [`AttnGANDataset`][fusionblocks.data.attngan.AttnGANDataset].
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", **kwargs: Any) -> None:
        kwargs.setdefault("max_words", 12)
        super().__init__(root, split, dataset="coco", **kwargs)
