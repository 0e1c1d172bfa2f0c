"""CaptionFolder: a folder of the user's own captioned images, no pickles needed.

Two layouts are accepted (``captions="auto"`` picks ``jsonl`` when ``<root>/captions.jsonl`` exists):

* ``txt``: every image ``<name>.jpg|.jpeg|.png|.webp`` (searched recursively) has a ``<name>.txt`` next to it
  with one caption per line (blank lines skipped).
* ``jsonl``: ``captions.jsonl`` (or any file given as ``captions=PATH``) with one JSON object per line,
  ``{"file": "<path relative to root>", "caption": "..."}`` or ``{"file": ..., "captions": ["...", ...]}``;
  several lines may name the same file.

Bad input raises an error naming the offending file: at construction, a caption file that cannot be read or decoded,
a caption file or JSONL entry whose image is missing, an image without a caption file (``txt`` layout; pass
``skip_uncaptioned=True`` to ignore such images), an empty caption (or a caption file with no caption), a caption with
no token, and, with a ``vocabulary``, a caption with no in-vocabulary word (it would have length 0).
An image that exists but cannot be decoded raises at load time, naming the file.

Items are dicts like the AttnGAN datasets': ``images`` (the pyramid, smallest first), ``image`` (the last level),
``caption`` (str), ``caption_index``, ``class_id`` (= image index: each image its own class), ``key`` (path relative
to ``root`` without extension), and ``tokens``/``length`` when a vocabulary is given.

Shapes:
    ``images[k]``: (3, base_size * 2**k, base_size * 2**k); ``tokens``: (max_words,) long.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from .._checks import check_positive_int
from ..text import Vocabulary, tokenize
from .item_random import check_seed, item_generator
from .tokens import caption_tokens
from .transforms import IMAGE_EXTENSIONS, image_pyramid, load_rgb, resize_crop_flip

__all__ = ["CaptionFolder"]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"caption file {str(path)!r} is not valid UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise ValueError(f"cannot read caption file {str(path)!r}: {exc}") from exc


class CaptionFolder(Dataset):
    """Captioned images from a folder (see the module docstring for the layouts and the checks).

    Args:
        root: the folder.
        captions: ``"auto"``, ``"txt"``, ``"jsonl"`` or a path to a JSONL file (relative paths inside it are
            resolved against ``root``).
        base_size: smallest pyramid size.
        num_scales: pyramid levels; the transform works at ``imsize = base_size * 2**(num_scales-1)``.
        random_transform: random crop + horizontal flip (training); ``False`` gives a centre crop (evaluation).
        seed: base seed of the per-item generators (caption choice, word subsampling, crop); ``None`` uses
            torch's per-worker generator (not reproducible by index).
        vocabulary: optional ``fusionblocks.text.Vocabulary`` for ``tokens``/``length``; ``"build"`` builds one
            from the folder's captions (``self.vocabulary``; words in order of first appearance, files sorted).
        max_words: token array length; longer captions keep a random ordered subset of words.
        skip_uncaptioned: ``txt`` layout: ignore images without a ``.txt`` instead of raising.

    Shapes:
        ``item["images"][k]``: (3, s_k, s_k); ``item["tokens"]``: (max_words,).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        captions: str | os.PathLike = "auto",
        base_size: int = 64,
        num_scales: int = 1,
        random_transform: bool = True,
        seed: int | None = 0,
        vocabulary: Any = None,
        max_words: int = 18,
        skip_uncaptioned: bool = False,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root: {str(self.root)!r} is not a directory")
        self.base_size = check_positive_int(base_size, "base_size")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.sizes = [base_size * 2**k for k in range(num_scales)]
        self.imsize = self.sizes[-1]
        self.random_transform = bool(random_transform)
        self.seed = check_seed(seed)
        self.max_words = check_positive_int(max_words, "max_words")
        self.epoch = 0

        layout = captions
        if layout == "auto":
            layout = "jsonl" if (self.root / "captions.jsonl").is_file() else "txt"
        if layout == "txt":
            entries = self._scan_txt(skip_uncaptioned)
        elif layout == "jsonl":
            entries = self._scan_jsonl(self.root / "captions.jsonl")
        elif isinstance(captions, (str, os.PathLike)) and Path(captions).suffix == ".jsonl":
            entries = self._scan_jsonl(Path(captions))
        else:
            raise ValueError(f"captions: expected 'auto', 'txt', 'jsonl' or a .jsonl path, got {captions!r}")
        if not entries:
            raise ValueError(f"root: no captioned images found in {str(self.root)!r} (layout {layout!r})")
        self.layout = layout
        self.files: list[Path] = [e[0] for e in entries]
        self._captions: list[list[str]] = [e[1] for e in entries]
        if isinstance(vocabulary, str) and vocabulary == "build":
            vocabulary = Vocabulary.build(c for caps in self._captions for c in caps)
        elif isinstance(vocabulary, str):
            raise ValueError(f"vocabulary: expected a Vocabulary, 'build' or None, got {vocabulary!r}")
        self.vocabulary = vocabulary
        self.keys = [str(f.relative_to(self.root).with_suffix("")) if f.is_relative_to(self.root) else str(f)
                     for f in self.files]
        self._token_ids: list[list[list[int]]] | None = None
        if vocabulary is not None:
            self._token_ids = []
            for src, caps in zip([e[2] for e in entries], self._captions):
                ids = [list(vocabulary.encode(c)) for c in caps]
                for c, i in zip(caps, ids):
                    if not i:
                        raise ValueError(f"caption {c!r} in {src!r} has no in-vocabulary word (length 0)")
                self._token_ids.append(ids)

    # ------------------------------------------------------------------ scanning
    def _check_caption(self, caption: object, source: str) -> str:
        if not isinstance(caption, str):
            raise ValueError(f"caption in {source!r}: expected a string, got {type(caption).__name__}")
        caption = caption.strip()
        if not caption:
            raise ValueError(f"empty caption in {source!r}")
        if not tokenize(caption):
            raise ValueError(f"caption {caption!r} in {source!r} has no word (only punctuation or symbols)")
        return caption

    def _scan_txt(self, skip_uncaptioned: bool) -> list[tuple[Path, list[str], str]]:
        images = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        by_stem: dict[Path, Path] = {}
        for p in images:
            other = by_stem.setdefault(p.with_suffix(""), p)
            if other != p:
                raise ValueError(
                    f"images {str(other)!r} and {str(p)!r} share the caption file {p.stem}.txt; rename one"
                )
        entries = []
        texts = sorted(p for p in self.root.rglob("*.txt") if p.is_file())
        captioned = set()
        for t in texts:
            image = by_stem.get(t.with_suffix(""))
            if image is None:
                raise FileNotFoundError(
                    f"caption file {str(t)!r} has no image (looked for {t.stem}{{{','.join(IMAGE_EXTENSIONS)}}})"
                )
            lines = [ln.strip() for ln in _read_text(t).splitlines()]
            caps = [self._check_caption(ln, str(t)) for ln in lines if ln]
            if not caps:
                raise ValueError(f"caption file {str(t)!r} contains no caption (empty caption)")
            entries.append((image, caps, str(t)))
            captioned.add(image)
        missing = [p for p in images if p not in captioned]
        if missing and not skip_uncaptioned:
            raise FileNotFoundError(
                f"image {str(missing[0])!r} has no caption file {str(missing[0].with_suffix('.txt'))!r}"
                + (f" (and {len(missing) - 1} more images)" if len(missing) > 1 else "")
                + "; pass skip_uncaptioned=True to ignore uncaptioned images"
            )
        entries.sort(key=lambda e: str(e[0]))
        return entries

    def _scan_jsonl(self, path: Path) -> list[tuple[Path, list[str], str]]:
        if not path.is_file():
            raise FileNotFoundError(f"captions: JSONL file {str(path)!r} not found")
        merged: dict[Path, list[str]] = {}
        for n, line in enumerate(_read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"cannot parse caption file {where!r} as JSON: {exc}") from exc
            if not isinstance(rec, dict) or not isinstance(rec.get("file"), str):
                raise ValueError(f"caption file {where!r}: expected an object with a 'file' string")
            if "captions" in rec:
                caps = rec["captions"]
                if not isinstance(caps, list) or not caps:
                    raise ValueError(f"caption file {where!r}: 'captions' must be a non-empty list (empty caption)")
            elif "caption" in rec:
                caps = [rec["caption"]]
            else:
                raise ValueError(f"caption file {where!r}: expected a 'caption' or 'captions' field")
            image = self.root / rec["file"]
            if not image.is_file():
                raise FileNotFoundError(f"image file {str(image)!r} listed in {where!r} not found")
            src = f"{where} ({rec['file']})"
            merged.setdefault(image, []).extend(self._check_caption(c, src) for c in caps)
        return [(img, caps, str(path)) for img, caps in merged.items()]

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch used to seed each item's generator (reproducible captions/crops per epoch)."""
        self.epoch = int(check_seed(epoch, "epoch", allow_none=False))  # type: ignore[arg-type]

    def captions(self, index: int) -> list[str]:
        """All captions of image ``index``."""
        return list(self._captions[index])

    def all_captions(self) -> list[list[str]]:
        """Captions of every image, ``[i][k]``."""
        return [list(c) for c in self._captions]

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index: {index} out of range for {len(self)} images")
        index = index % len(self)
        rng = item_generator(self.seed, self.epoch, index)
        caps = self._captions[index]
        k = int(rng.integers(len(caps)))
        img = load_rgb(self.files[index])
        crop = resize_crop_flip(img, self.imsize, rng if self.random_transform else None)
        images = image_pyramid(crop, self.sizes)
        item: dict[str, Any] = {
            "images": images,
            "image": images[-1],
            "caption": caps[k],
            "caption_index": k,
            "class_id": index,
            "key": self.keys[index],
        }
        if self._token_ids is not None:
            item["tokens"], item["length"] = caption_tokens(self._token_ids[index][k], self.max_words, rng)
        return item

    def __repr__(self) -> str:
        return f"CaptionFolder(root={str(self.root)!r}, images={len(self)}, layout={self.layout!r}, sizes={self.sizes})"
