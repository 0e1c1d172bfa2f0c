"""The CaptionedShapes dataset: items rendered on the fly, each a pure function of its seed, split and index."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..._checks import check_positive_int
from ...text.vocabulary import Vocabulary
from ..pyramid import pyramid, pyramid_sizes
from ..tokens import caption_tokens
from .grammar import SceneAttributes, captions_for_scene, class_id_of
from .negatives import sample_hard_negatives
from .render import PlacedObject, render_scene
from .sample import sample_scene

__all__ = ["CaptionedShapes", "SPLITS"]

#: Split name -> the entry of every item's random stream key.
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}


class CaptionedShapes(Dataset):
    """Procedural captioned shapes: one or two coloured shapes per image, with captions of the grammar in
    ``fusionblocks.data.shapes.grammar`` and the geometry of ``fusionblocks.data.shapes.render``.

    Args:
        size: number of images.
        resolution: rendered side ``R`` (any positive int; 64 is the demo default).
        split: ``"train"``, ``"val"`` or ``"test"``; each split draws from its own random stream.
        seed: base seed; item ``i`` is a pure function of ``(seed, split, i)`` and the epoch (caption choice).
        max_objects: 1 or 2 objects per image (the count is uniform in ``1..max_objects``).
        captions_per_image: captions kept per image, drawn without replacement from the scene's template
            captions (with replacement only when more are asked for than exist).
        num_scales: pyramid levels in ``item["images"]``: sizes ``R / 2**(num_scales-1), ..., R`` made from the
            rendered image with antialiased bilinear downsampling (``fusionblocks.data.pyramid``).
        supersample: antialiasing samples per pixel side.
        vocabulary: optional ``Vocabulary``; when given, items also carry ``tokens`` / ``length``.
        max_words: length of ``tokens`` (with ``vocabulary``); the longest template caption has 14 words, longer
            captions would keep a random ordered subset of words.
        hard_negatives: when positive, items also carry ``negative_captions``: this many captions that each
            change exactly one attribute the item's caption states
            ([sample_hard_negatives][fusionblocks.data.shapes.negatives.sample_hard_negatives]), drawn anew every
            epoch; for contrastive (DAMSM) training with hard negatives.
        mirror_negatives: with ``hard_negatives``, a caption that states a relation always gets its mirrored
            caption (the relation reversed: each object on the other's side) as its first negative
            ([mirrored_caption][fusionblocks.data.shapes.negatives.mirrored_caption]); this is what teaches an
            encoder which object is where.
        cache: keep each image's scene and rendering (with its pyramid) in memory after its first use, so that
            later epochs skip the rendering; items are the same either way. Costs about ``12·R²`` bytes per image
            (12 KB at 32 px, 48 MB for 4,096 such images) in each process that reads the dataset.

    Items are dicts: ``image`` (3, R, R) in [-1, 1]; ``images`` list (pyramid); ``caption`` str;
    ``caption_index`` int; ``attributes``
    [SceneAttributes][fusionblocks.data.shapes.grammar.SceneAttributes]; ``class_id`` int
    ([class_id_of][fusionblocks.data.shapes.grammar.class_id_of]);
    ``key`` str (``"<split>/<i>"``); ``tokens`` (max_words,) long / ``length`` int with a vocabulary; and
    ``negative_captions`` (a list of ``hard_negatives`` str) when asked for.

    Call ``set_epoch`` before each epoch to draw other captions; rendering does not depend on the epoch.

    Shapes:
        ``image``: (3, R, R); ``images[k]``: (3, R / 2**(num_scales-1-k), ...); ``tokens``: (max_words,).
    """

    def __init__(
        self,
        size: int = 1000,
        resolution: int = 64,
        split: str = "train",
        seed: int = 0,
        max_objects: int = 2,
        captions_per_image: int = 3,
        num_scales: int = 1,
        supersample: int = 4,
        vocabulary: Vocabulary | None = None,
        max_words: int = 16,
        hard_negatives: int = 0,
        mirror_negatives: bool = False,
        cache: bool = False,
    ) -> None:
        self.size = check_positive_int(size, "size")
        self.resolution = check_positive_int(resolution, "resolution")
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
        if max_objects not in (1, 2):
            raise ValueError(f"max_objects: expected 1 or 2, got {max_objects!r}")
        self.split = split
        self.seed = seed
        self.max_objects = max_objects
        self.captions_per_image = check_positive_int(captions_per_image, "captions_per_image")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.scales = pyramid_sizes(resolution, num_scales)
        self.supersample = check_positive_int(supersample, "supersample")
        self.vocabulary = vocabulary
        self.max_words = check_positive_int(max_words, "max_words")
        if isinstance(hard_negatives, bool) or not isinstance(hard_negatives, int) or hard_negatives < 0:
            raise ValueError(f"hard_negatives: expected a non-negative int, got {hard_negatives!r}")
        self.hard_negatives = hard_negatives
        if not isinstance(mirror_negatives, bool):
            raise ValueError(f"mirror_negatives: expected a bool, got {mirror_negatives!r}")
        if mirror_negatives and not hard_negatives:
            raise ValueError("mirror_negatives: needs hard_negatives >= 1 (the mirrored caption is one of them)")
        self.mirror_negatives = mirror_negatives
        if not isinstance(cache, bool):
            raise ValueError(f"cache: expected a bool, got {cache!r}")
        self.cache = cache
        self._cached: dict[int, tuple[Any, ...]] = {}
        self.epoch = 0

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch used to draw each item's caption."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch: expected a non-negative int, got {epoch!r}")
        self.epoch = epoch

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int, got {type(index).__name__}")
        i = int(index)
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(f"index: {index} out of range for a dataset of size {self.size}")
        return i

    def _scene(self, i: int) -> tuple[SceneAttributes, tuple[PlacedObject, ...], list[str]]:
        rng = np.random.default_rng([self.seed, SPLITS[self.split], i])
        attributes, placed = sample_scene(rng, self.max_objects)
        bank = captions_for_scene(attributes)
        k = self.captions_per_image
        picks = rng.choice(len(bank), size=k, replace=k > len(bank))
        return attributes, placed, [bank[int(j)] for j in picks]

    def attributes(self, index: int) -> SceneAttributes:
        """Ground-truth attributes of image ``index``."""
        return self._scene(self._index(index))[0]

    def layout(self, index: int) -> tuple[PlacedObject, ...]:
        """Exact geometry of image ``index`` (aligned with ``attributes(index).objects``)."""
        return self._scene(self._index(index))[1]

    def captions(self, index: int) -> list[str]:
        """The ``captions_per_image`` captions of image ``index``."""
        return self._scene(self._index(index))[2]

    def class_id(self, index: int) -> int:
        """Class id of image ``index`` ([class_id_of][fusionblocks.data.shapes.grammar.class_id_of])."""
        return class_id_of(self.attributes(index))

    def render(self, index: int, resolution: int | None = None) -> torch.Tensor:
        """Image ``index`` rendered at ``resolution`` (default: the dataset's), (3, R, R) in [-1, 1]."""
        return render_scene(self.layout(index), resolution or self.resolution, self.supersample)

    def all_captions(self) -> list[list[str]]:
        """Captions of every image, ``[i][k]``."""
        return [self._scene(i)[2] for i in range(self.size)]

    def caption_bank(self) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """Flat caption list for R-precision: ``(captions, image_index, class_ids)``.

        Caption ``j`` belongs to image ``image_index[j] = j // captions_per_image``.

        Shapes:
            ``image_index`` and ``class_ids``: (size * captions_per_image,) long.
        """
        caps: list[str] = []
        cls: list[int] = []
        for i in range(self.size):
            attributes, _, c = self._scene(i)
            caps.extend(c)
            cls.extend([class_id_of(attributes)] * len(c))
        image_index = torch.arange(self.size).repeat_interleave(self.captions_per_image)
        return caps, image_index, torch.tensor(cls, dtype=torch.long)

    def _rendered(self, i: int) -> tuple[SceneAttributes, list[str], torch.Tensor, list[torch.Tensor]]:
        """Scene ``i``'s attributes, captions, image and pyramid (from the cache when ``cache`` is on)."""
        found = self._cached.get(i)
        if found is None:
            attributes, placed, captions = self._scene(i)
            image = render_scene(placed, self.resolution, self.supersample)
            found = (attributes, captions, image, pyramid(image, self.scales))
            if self.cache:
                self._cached[i] = found
        if not self.cache:
            return found
        attributes, captions, image, images = found
        copy = image.clone()  # callers may write into their item; the cache must not change
        return attributes, list(captions), copy, [copy if level is image else level.clone() for level in images]

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self._index(index)
        attributes, captions, image, images = self._rendered(i)
        crng = np.random.default_rng([self.seed, SPLITS[self.split], i, self.epoch, 1])
        k = int(crng.integers(len(captions)))
        item: dict[str, Any] = {
            "image": image,
            "images": images,
            "caption": captions[k],
            "caption_index": k,
            "attributes": attributes,
            "class_id": class_id_of(attributes),
            "key": f"{self.split}/{i}",
        }
        if self.vocabulary is not None:
            item["tokens"], item["length"] = caption_tokens(self.vocabulary.encode(captions[k]), self.max_words, crng)
        if self.hard_negatives:
            nrng = np.random.default_rng([self.seed, SPLITS[self.split], i, self.epoch, 2])
            item["negative_captions"] = sample_hard_negatives(captions[k], self.hard_negatives, nrng,
                                                             mirror_first=self.mirror_negatives)
        return item

    def __repr__(self) -> str:
        return (
            f"CaptionedShapes(size={self.size}, resolution={self.resolution}, split={self.split!r}, seed={self.seed}, "
            f"max_objects={self.max_objects}, captions_per_image={self.captions_per_image}, "
            f"num_scales={self.num_scales}"
            + (f", hard_negatives={self.hard_negatives}" if self.hard_negatives else "")
            + (", mirror_negatives=True" if self.mirror_negatives else "")
            + (", cache=True)" if self.cache else ")")
        )
