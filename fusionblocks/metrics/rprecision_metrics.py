"""R-precision as metric objects: with the model's own encoder pair (``rprec``, e.g. DAMSM) or with CLIP
(``rprec_clip``). Only the captions that some image's candidates name are encoded, each distinct string once."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from .clip_scorer import CLIPScorer
from .metric import EvalBatch, Metric, register_metric
from .r_precision import sample_mismatched_captions, score_candidates

__all__ = ["RPrecisionMetric", "CLIPRPrecisionMetric", "feasible_candidates"]


def feasible_candidates(
    requested: int, class_ids: torch.Tensor | None, num_captions: int, image_caption_index: torch.Tensor
) -> int:
    """The number of candidates the caption pool allows every image (the true caption + distinct mismatches from
    other classes, or from every other caption without classes), at most ``requested`` and at least 2.

    Shapes:
        class_ids: ``(M,)``; image_caption_index: ``(N,)``.
    """
    if class_ids is None:
        eligible = num_captions - 1
    else:
        counts = torch.bincount(class_ids)
        eligible = int(num_captions - counts[class_ids[image_caption_index]].max())
    return max(2, min(requested, eligible + 1))


def _module_device(module: Any) -> torch.device:
    if isinstance(module, nn.Module):
        for tensor in list(module.parameters()) + list(module.buffers()):
            return tensor.device
    return torch.device("cpu")


@register_metric("rprec", paper="AttnGAN (CVPR 2018)")
class RPrecisionMetric(Metric):
    """R-precision of generated images against their captions with an image/text encoder pair in a shared space.

    Each image's candidates are its true caption and ``num_candidates - 1`` captions of other classes, drawn with
    a local generator seeded by ``seed``; only the captions some candidate names are encoded (each distinct string
    once). With the encoders the generator was trained against (DAMSM) the number is optimistic.

    Args:
        text_encoder: ``text_encoder(captions) -> TextFeatures``; its ``sentence`` is used.
        image_encoder: ``image_encoder(images) -> (regions, codes)``; the codes are used.
        captions: The caption pool (batches refer to it by ``caption_index``).
        class_ids: Class of each caption in the pool (mismatches come from other classes); None: any other caption.
        num_candidates: Candidates per image (100; clipped to what the pool allows, and warned about).
        folds: Folds (10; clipped to the sample count).
        seed: Seed of the local generator for the mismatch draws and the folds.
        batch_size: Captions encoded per call.

    Shapes:
        captions: ``M`` strings; class_ids: ``(M,)``; batches of ``(B, 3, H, W)`` images.
    """

    name = "rprec"

    def __init__(self, text_encoder: Any, image_encoder: Any, captions: Sequence[str],
                 class_ids: torch.Tensor | Sequence[int] | None = None, num_candidates: int = 100, folds: int = 10,
                 seed: int = 0, batch_size: int = 64) -> None:
        super().__init__()
        if text_encoder is None or image_encoder is None:
            missing = "text_encoder" if text_encoder is None else "image_encoder"
            raise ValueError(
                f"{missing}: metric {self.name!r} needs both text_encoder and image_encoder (e.g. the DAMSM pair)"
            )
        self.text_encoder, self.image_encoder = text_encoder, image_encoder
        self._setup(captions, class_ids, num_candidates, folds, seed, batch_size)
        self.protocol["encoders"] = [type(text_encoder).__name__, type(image_encoder).__name__]

    def _setup(self, captions: Sequence[str], class_ids: Any, num_candidates: int, folds: int, seed: int,
               batch_size: int) -> None:
        if isinstance(captions, str) or not captions:
            raise ValueError("captions: expected a non-empty caption pool")
        self.captions = list(captions)
        self.class_ids = None if class_ids is None else torch.as_tensor(class_ids, dtype=torch.long)
        if self.class_ids is not None and self.class_ids.shape != (len(self.captions),):
            raise ValueError(f"class_ids: expected shape ({len(self.captions)},), got {tuple(self.class_ids.shape)}")
        self.num_candidates, self.folds, self.seed, self.batch_size = num_candidates, folds, seed, batch_size
        self._codes: list[torch.Tensor] = []
        self._index: list[torch.Tensor] = []
        self.protocol.update({"seed": seed, "class_aware": self.class_ids is not None, "replacement": False})

    # ------------------------------------------------------------------ encoders (overridden for CLIP)
    def image_codes(self, batch: EvalBatch) -> torch.Tensor:
        """Codes of the batch's images, float32 on the CPU."""
        images = batch.images.to(_module_device(self.image_encoder))
        return self.image_encoder(images)[1].detach().float().cpu()

    def caption_codes(self, captions: list[str]) -> torch.Tensor:
        """Codes of ``captions``, float32 on the CPU."""
        return self.text_encoder(captions).sentence.detach().float().cpu()

    # ------------------------------------------------------------------ accumulate / compute
    def update(self, batch: EvalBatch) -> None:
        """Add the image codes of ``batch`` and which pool caption each image was generated from."""
        assert batch.caption_index is not None
        if int(batch.caption_index.max()) >= len(self.captions) or int(batch.caption_index.min()) < 0:
            raise ValueError(f"caption_index: expected indices into the pool of {len(self.captions)} captions")
        self._codes.append(self.image_codes(batch))
        self._index.append(batch.caption_index.long().cpu())
        self._count(batch)

    def _encode_distinct(self, indices: torch.Tensor) -> torch.Tensor:
        """Codes of pool captions ``indices``, encoding each distinct string once."""
        texts = [self.captions[int(i)] for i in indices]
        distinct = sorted(dict.fromkeys(texts), key=len)  # similar lengths batched together: less padding
        position = {t: k for k, t in enumerate(distinct)}
        step = self.batch_size
        chunks = [self.caption_codes(distinct[k : k + step]) for k in range(0, len(distinct), step)]
        codes = torch.cat(chunks)
        self.protocol["captions_encoded"] = len(distinct)
        return codes[torch.tensor([position[t] for t in texts], dtype=torch.long)]

    def _compute(self) -> dict[str, Any]:
        image_codes, index = torch.cat(self._codes), torch.cat(self._index)
        count, pool = image_codes.shape[0], len(self.captions)
        candidates = feasible_candidates(self.num_candidates, self.class_ids, pool, index)
        if candidates < self.num_candidates:
            self.warnings.append(
                f"{self.name}: only {candidates} candidates per image (requested {self.num_candidates}); "
                "use more captions"
            )
        folds = min(self.folds, count)
        generator = torch.Generator().manual_seed(self.seed)
        image_classes = self.class_ids[index] if self.class_ids is not None else None
        mismatches = sample_mismatched_captions(index, pool, candidates - 1, image_classes, self.class_ids,
                                                generator=generator)
        chosen = torch.cat([index[:, None], mismatches], dim=1)
        needed, local = torch.unique(chosen, return_inverse=True)
        result = score_candidates(image_codes, self._encode_distinct(needed), local, folds, generator)
        self.protocol.update({"num_candidates": candidates, "folds": folds})
        return {
            "mean": result.mean,
            "std": result.std,
            "num_candidates": candidates,
            "folds": folds,
            "class_aware": self.class_ids is not None,
        }


@register_metric("rprec_clip", paper="CLIP R-precision (Park et al. 2021)")
class CLIPRPrecisionMetric(RPrecisionMetric):
    """R-precision with a CLIP model as the encoder pair (independent of the generator's own encoders).

    Args:
        scorer: A [`CLIPScorer`][fusionblocks.metrics.clip_scorer.CLIPScorer] (local weights).
        captions: The caption pool.
        class_ids: See [`RPrecisionMetric`][fusionblocks.metrics.rprecision_metrics.RPrecisionMetric].
        num_candidates: See ``RPrecisionMetric``.
        folds: See ``RPrecisionMetric``.
        seed: See ``RPrecisionMetric``.
        batch_size: See ``RPrecisionMetric``.
        text_cache: A dict of CLIP caption embeddings to share with the ``clip`` metric (filled here).

    Shapes:
        As [`RPrecisionMetric`][fusionblocks.metrics.rprecision_metrics.RPrecisionMetric].
    """

    name = "rprec_clip"

    def __init__(self, scorer: CLIPScorer, captions: Sequence[str],
                 class_ids: torch.Tensor | Sequence[int] | None = None, num_candidates: int = 100, folds: int = 10,
                 seed: int = 0, batch_size: int = 64, text_cache: dict[str, torch.Tensor] | None = None) -> None:
        Metric.__init__(self)
        self.scorer = scorer
        self.text_cache = {} if text_cache is None else text_cache
        self._setup(captions, class_ids, num_candidates, folds, seed, batch_size)
        self.protocol["clip"] = scorer.description
        if scorer.random_weights:
            self.warnings.append("CLIP has RANDOM weights: CLIP score / CLIP R-precision are meaningless (test mode)")

    def image_codes(self, batch: EvalBatch) -> torch.Tensor:
        return clip_image_embeddings(self.scorer, batch)

    def caption_codes(self, captions: list[str]) -> torch.Tensor:
        return clip_caption_embeddings(self.scorer, captions, self.text_cache)


def clip_image_embeddings(scorer: CLIPScorer, batch: EvalBatch) -> torch.Tensor:
    """CLIP image embeddings of a batch (CPU float32), computed once per batch and scorer.

    Shapes:
        ``(B, E)``.
    """
    def encode() -> torch.Tensor:
        return scorer.encode_images(batch.images.to(_module_device(scorer))).float().cpu()

    return batch.cached(("clip_images", id(scorer)), encode)


def clip_caption_embeddings(
    scorer: CLIPScorer, captions: Sequence[str], cache: dict[str, torch.Tensor]
) -> torch.Tensor:
    """CLIP text embeddings of ``captions`` (CPU float32), each distinct string encoded once per ``cache``.

    Shapes:
        ``(len(captions), E)``.
    """
    missing = [c for c in dict.fromkeys(captions) if c not in cache]
    if missing:
        for caption, embedding in zip(missing, scorer.encode_captions(missing).float().cpu()):
            cache[caption] = embedding
    return torch.stack([cache[c] for c in captions])
