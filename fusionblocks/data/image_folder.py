"""ImageFolder: a folder of images (generated samples, or real images without captions) for evaluation and FID
reference statistics.

Images (``.jpg``/``.jpeg``/``.png``/``.webp``, searched recursively, sorted by path) are resized so that the shorter
side is ``image_size`` (bilinear) and centre-cropped to a square; an image already ``image_size`` square is used as
it is. When ``<name>.txt`` sits next to an image, its first non-empty line is the image's caption (``fusionblocks
sample`` writes one per image, so its output is usable for CLIP score and R-precision). When some images have a
caption file, those without one (e.g. ``grid.png``) are left out and listed in ``skipped``.

Shapes:
    ``item["image"]``: (3, image_size, image_size) in [-1, 1].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

from .._checks import check_positive_int
from .transforms import IMAGE_EXTENSIONS, load_rgb, pil_to_tensor

__all__ = ["ImageFolder", "centre_square"]


def centre_square(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to ``size`` (bilinear) and crop the centre ``size`` x ``size`` square."""
    if (img.width, img.height) == (size, size):
        return img
    scale = size / min(img.width, img.height)
    w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
    img = img.resize((w, h), Image.Resampling.BILINEAR)
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


class ImageFolder(Dataset):
    """Images of a folder, square at ``image_size``, with captions from sibling ``.txt`` files when all have one.

    Args:
        root: The folder.
        image_size: Output side; ``None`` takes the first image's shorter side.
        limit: Use at most this many images (the first ones in path order, after leaving out uncaptioned ones).

    Raises:
        FileNotFoundError: ``root`` is not a directory.
        ValueError: no image in ``root``.

    Shapes:
        ``item["image"]``: (3, S, S) in [-1, 1].
    """

    def __init__(self, root: str | os.PathLike[str], image_size: int | None = None, limit: int | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root: {str(self.root)!r} is not a directory")
        files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not files:
            raise ValueError(f"root: no images ({', '.join(IMAGE_EXTENSIONS)}) found in {str(self.root)!r}")
        captioned = [p for p in files if p.with_suffix(".txt").is_file()]
        self.skipped: list[Path] = [p for p in files if captioned and p not in set(captioned)]
        files = captioned or files
        if limit is not None:
            files = files[: check_positive_int(limit, "limit")]
        self.files = files
        if image_size is None:
            first = load_rgb(files[0])
            image_size = min(first.width, first.height)
        self.image_size = check_positive_int(image_size, "image_size")
        self.captions: list[str] | None = None
        if captioned:
            self.captions = [self._first_line(p.with_suffix(".txt")) for p in files]

    @staticmethod
    def _first_line(path: Path) -> str:
        try:
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read caption file {str(path)!r}: {exc}") from exc
        if not lines:
            raise ValueError(f"caption file {str(path)!r} contains no caption")
        return lines[0]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index: {index} out of range for {len(self)} images")
        path = self.files[index]
        item: dict[str, Any] = {
            "image": pil_to_tensor(centre_square(load_rgb(path), self.image_size)),
            "key": str(path.relative_to(self.root).with_suffix("")),
        }
        if self.captions is not None:
            item["caption"] = self.captions[index]
        return item

    def __repr__(self) -> str:
        return f"ImageFolder(root={str(self.root)!r}, images={len(self)}, image_size={self.image_size})"
