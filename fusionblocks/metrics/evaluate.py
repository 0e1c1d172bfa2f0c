"""One call that samples images from captions and computes FID, KID, IS, R-precision, CLIP score and attribute
accuracy, streaming over batches. It needs only a sampling callable, so it works with any generator."""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import torch

from .feature_stats import FeatureStats, load_stats
from .frechet import frechet_distance
from .inception import InceptionFeatureExtractor
from .inception_score import inception_score
from .kid import kernel_inception_distance
from .reference import compute_reference_stats
from .report import EvalReport

__all__ = ["METRICS", "SampleFn", "evaluate", "parse_metrics"]

#: Metric names understood by ``evaluate`` (``rprec_clip`` is R-precision with CLIP encoders).
METRICS: tuple[str, ...] = ("fid", "kid", "is", "rprec", "rprec_clip", "clip", "attributes")

#: ``sample_fn(captions) -> images``: ``B`` captions → ``(B, 3, H, W)`` float images in ``[-1, 1]``.
SampleFn = Callable[[list[str]], torch.Tensor]

_SMALL_N = 10_000


def parse_metrics(metrics: str | Sequence[str]) -> list[str]:
    """``"fid,kid"`` or ``["fid", "kid"]`` → validated, de-duplicated list (``"all"`` = every metric)."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [str(n).strip().lower() for n in names if str(n).strip()]
    if names == ["all"]:
        return list(METRICS)
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise ValueError(f"metrics: unknown {unknown} (expected a subset of {list(METRICS)} or 'all')")
    return list(dict.fromkeys(names))


def _caption_source(captions: Any) -> tuple[list[str], torch.Tensor | None]:
    """Captions (and class ids when the source has them) from a list of strings or a dataset."""
    if isinstance(captions, str):
        raise TypeError("captions: expected a sequence of strings or a dataset, got a single str")
    if hasattr(captions, "caption_bank"):  # CaptionedShapes: every caption of every image, with class ids
        texts, _image_index, class_ids = captions.caption_bank()
        return list(texts), torch.as_tensor(class_ids, dtype=torch.long)
    if isinstance(captions, Sequence) and all(isinstance(c, str) for c in captions):
        return list(captions), None
    if hasattr(captions, "__len__") and hasattr(captions, "__getitem__"):
        items = [captions[i] for i in range(len(captions))]
        if not all(isinstance(it, dict) and isinstance(it.get("caption"), str) for it in items):
            raise TypeError("captions: dataset items must be dicts with a 'caption' string")
        ids = [it.get("class_id") for it in items]
        class_ids = torch.tensor(ids, dtype=torch.long) if all(isinstance(i, int) for i in ids) else None
        return [it["caption"] for it in items], class_ids
    raise TypeError(f"captions: expected a sequence of strings or a dataset, got {type(captions).__name__}")


def _reference_stats(reference: Any, extractor: InceptionFeatureExtractor, batch_size: int) -> FeatureStats:
    if isinstance(reference, FeatureStats):
        return reference
    if isinstance(reference, (str, os.PathLike)):
        return load_stats(reference)
    if isinstance(reference, torch.Tensor) and reference.ndim == 2:
        return FeatureStats.from_features(reference, name="reference", keep_features=True, meta={"source": "features"})
    return compute_reference_stats(reference, extractor, batch_size=batch_size, source="images")


def _check_batch(images: Any, count: int) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"sample_fn: expected it to return a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[0] != count or images.shape[1] != 3:
        raise ValueError(f"sample_fn: expected images of shape ({count}, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"sample_fn: expected floating-point images in [-1, 1], got dtype {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError("sample_fn: returned NaN or infinite pixel values")
    return images.detach().float()


def _rprec_candidates(requested: int, class_ids: torch.Tensor | None, num_captions: int, sample_index: torch.Tensor) -> int:
    if class_ids is None:
        eligible = num_captions - 1
    else:
        counts = torch.bincount(class_ids)
        eligible = int(num_captions - counts[class_ids[sample_index]].max())
    return max(2, min(requested, eligible + 1))


@torch.no_grad()
def evaluate(
    sample_fn: SampleFn,
    captions: Any,
    *,
    metrics: str | Sequence[str] = ("fid", "kid", "is"),
    num_samples: int | None = None,
    batch_size: int = 16,
    reference: Any = None,
    inception: InceptionFeatureExtractor | None = None,
    inception_weights: str | os.PathLike[str] | None = None,
    allow_random_weights: bool = False,
    resize_filter: str = "bilinear",
    clip_scorer: Any = None,
    clip_model: str = "ViT-B-32",
    clip_weights: str | os.PathLike[str] | None = None,
    text_encoder: Any = None,
    image_encoder: Any = None,
    caption_class_ids: torch.Tensor | Sequence[int] | None = None,
    rprec_candidates: int = 100,
    rprec_folds: int = 10,
    attribute_judge: Any = None,
    shape_classifier_path: str | os.PathLike[str] | None = None,
    is_splits: int = 10,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int | None = 0,
    device: str | torch.device = "cpu",
) -> EvalReport:
    """Sample ``num_samples`` images from ``captions`` with ``sample_fn`` and compute ``metrics`` on them.

    Sample ``i`` uses caption ``i mod M`` (M captions), in batches of ``batch_size``; images are not kept, only the
    features each metric needs. Every number comes with the settings it depends on (see ``docs/evaluation.md``).

    Metrics:
        - ``fid``: Fréchet distance of Inception pool features to ``reference``.
        - ``kid``: KID (cubic kernel, ``kid_subsets`` subsets of ``kid_subset_size``) to the reference features.
        - ``is``: Inception Score over ``is_splits`` splits.
        - ``rprec``: R-precision with ``text_encoder``/``image_encoder`` (e.g. the DAMSM pair): optimistic when they
          are the encoders the generator was trained against.
        - ``rprec_clip``: the same with the CLIP model of ``clip_scorer`` / ``clip_weights`` (an independent check).
        - ``clip``: CLIP score ``100·max(cos, 0)``, averaged.
        - ``attributes``: CaptionedShapes attribute accuracy (``attribute_judge`` or one built from
          ``shape_classifier_path``).

    Args:
        sample_fn: ``sample_fn(captions: list[str]) -> (B, 3, H, W)`` images in ``[-1, 1]``.
        captions: A list of captions, a dataset of dict items with ``"caption"`` (and optionally ``"class_id"``),
            or a [`fusionblocks.data.CaptionedShapes`][fusionblocks.data.shapes.dataset.CaptionedShapes] (all its
            captions, with class ids).
        metrics: Names from ``METRICS`` (list or comma-separated string; ``"all"``).
        num_samples: Images to generate; default ``len(captions)``. Published FIDs use about 30,000.
        batch_size: Captions per ``sample_fn`` call.
        reference: For ``fid``/``kid``: an ``.npz`` path (``mu``/``sigma``; KID also needs ``features``), a
            [`FeatureStats`][fusionblocks.metrics.feature_stats.FeatureStats], real images ``(N, 3, H, W)`` / a dataset
            of them, or reference features ``(N, 2048)``.
        inception: A ready [`InceptionFeatureExtractor`][fusionblocks.metrics.inception.InceptionFeatureExtractor];
            otherwise one is built from ``inception_weights``.
        inception_weights: Local Inception checkpoint (see
            [`InceptionFeatureExtractor`][fusionblocks.metrics.inception.InceptionFeatureExtractor]).
        allow_random_weights: Allow random Inception/CLIP weights (tests only; recorded and warned about).
        resize_filter: Resize filter to 299² for a built extractor.
        clip_scorer: A ready [`fusionblocks.metrics.CLIPScorer`][fusionblocks.metrics.clip_scorer.CLIPScorer];
            otherwise built from ``clip_model`` /
            ``clip_weights``.
        clip_model: open_clip architecture for a built scorer.
        clip_weights: Local open_clip checkpoint for a built scorer.
        text_encoder: Text encoder for ``rprec`` (returns ``TextFeatures``; its ``sentence`` is used).
        image_encoder: Image encoder for ``rprec`` (returns ``(regions, codes)``; the codes are used).
        caption_class_ids: Class of each caption (mismatches for R-precision come from other classes).
        rprec_candidates: Candidates per image (100; clipped to what the caption pool allows, and recorded).
        rprec_folds: R-precision folds (10; clipped to N).
        attribute_judge: A ready
            [`fusionblocks.metrics.AttributeJudge`][fusionblocks.metrics.attribute_judge.AttributeJudge].
        shape_classifier_path: Cache file of the judge's shape classifier (trained in seconds when absent).
        is_splits: IS splits (10; clipped to N).
        kid_subsets: KID subsets (100).
        kid_subset_size: KID subset size (1000; clipped to N).
        seed: When not None, ``torch.manual_seed(seed)`` before sampling, and the seed of KID subsets and
            R-precision draws.
        device: Device of the feature extractors.

    Returns:
        An [`EvalReport`][fusionblocks.metrics.report.EvalReport]; write it with
        [`write_json`][fusionblocks.metrics.report.write_json] /
        [`write_markdown`][fusionblocks.metrics.report.write_markdown].

    Shapes:
        - ``sample_fn`` output: ``(B, 3, H, W)`` in ``[-1, 1]`` for ``B`` captions.
    """
    if not callable(sample_fn):
        raise TypeError(f"sample_fn: expected a callable captions -> images, got {type(sample_fn).__name__}")
    names = parse_metrics(metrics)
    texts, source_class_ids = _caption_source(captions)
    if not texts:
        raise ValueError("captions: expected at least one caption")
    class_ids = source_class_ids
    if caption_class_ids is not None:
        class_ids = torch.as_tensor(caption_class_ids, dtype=torch.long)
        if class_ids.shape != (len(texts),):
            raise ValueError(f"caption_class_ids: expected shape ({len(texts)},), got {tuple(class_ids.shape)}")
    total = len(texts) if num_samples is None else int(num_samples)
    if total < 2:
        raise ValueError(f"num_samples: expected at least 2, got {total}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")

    warnings: list[str] = []
    settings: dict[str, Any] = {"metrics": names, "num_samples": total, "num_captions": len(texts), "batch_size": batch_size, "seed": seed}
    report = EvalReport(settings=settings, warnings=warnings)

    # ---- the extractors each metric needs
    extractor = None
    if {"fid", "kid", "is"} & set(names):
        extractor = inception or InceptionFeatureExtractor(
            inception_weights, allow_random_weights=allow_random_weights, resize_filter=resize_filter
        )
        extractor = extractor.to(device)
        settings["inception"] = extractor.description
        if extractor.random_weights:
            warnings.append("Inception has RANDOM weights: FID/KID/IS values are meaningless (test mode)")
    ref_stats = None
    if {"fid", "kid"} & set(names):
        if reference is None:
            raise ValueError("reference: FID/KID need reference statistics (.npz), real images or reference features")
        assert extractor is not None
        ref_stats = _reference_stats(reference, extractor, batch_size)
        settings["reference"] = dict(ref_stats.meta)
        if "kid" in names and ref_stats.features is None:
            raise ValueError("reference: KID needs reference features; give real images or an .npz with 'features'")
        for key in ("weights_fingerprint", "resize_filter", "feature_extractor"):
            ref_value = ref_stats.meta.get(key)
            if ref_value is not None and ref_value != extractor.description.get(key):
                warnings.append(f"reference statistics were computed with {key}={ref_value!r}, not {extractor.description.get(key)!r}")
    scorer = None
    if {"clip", "rprec_clip"} & set(names):
        if clip_scorer is None:
            from .clip_scorer import CLIPScorer

            clip_scorer = CLIPScorer(clip_model, clip_weights, allow_random_weights=allow_random_weights, device=device)
        scorer = clip_scorer
        settings["clip"] = scorer.description
        if scorer.random_weights:
            warnings.append("CLIP has RANDOM weights: CLIP score / CLIP R-precision are meaningless (test mode)")
    if "rprec" in names and (text_encoder is None or image_encoder is None):
        missing = "text_encoder" if text_encoder is None else "image_encoder"
        raise ValueError(f"{missing}: metric 'rprec' needs both text_encoder and image_encoder (e.g. the DAMSM pair)")
    judge, tally = None, None
    if "attributes" in names:
        if attribute_judge is None:
            from .attribute_judge import AttributeJudge

            attribute_judge = AttributeJudge.build(shape_classifier_path)
        judge = attribute_judge
        tally = judge.new_tally()

    # ---- sample and accumulate
    if seed is not None:
        torch.manual_seed(seed)
    sample_index = torch.arange(total) % len(texts)
    pools, logits, clip_scores, clip_images, damsm_codes = [], [], [], [], []
    image_size = None
    modes = [(m, m.training) for m in (text_encoder, image_encoder) if isinstance(m, torch.nn.Module)]
    for module, _ in modes:
        module.eval()
    try:
        for start in range(0, total, batch_size):
            batch_captions = [texts[int(i)] for i in sample_index[start : start + batch_size]]
            images = _check_batch(sample_fn(batch_captions), len(batch_captions))
            if image_size is None:
                image_size = list(images.shape[-2:])
                if float(images.min()) < -1.01 or float(images.max()) > 1.01:
                    warnings.append("sample_fn returned values outside [-1, 1]; they are clamped")
            images = images.clamp(-1.0, 1.0)
            if extractor is not None:
                out = extractor(images.to(device))
                pools.append(out.pool.float().cpu())  # float32 storage; statistics are computed in float64
                logits.append(out.logits.float().cpu())
            if scorer is not None:
                embeddings = scorer.encode_images(images.to(device)).cpu()
                if "clip" in names:
                    text_emb = scorer.encode_captions(batch_captions).cpu()
                    clip_scores.append(100.0 * (embeddings * text_emb).sum(-1).clamp(min=0.0).double())
                if "rprec_clip" in names:
                    clip_images.append(embeddings)
            if "rprec" in names:
                device_images = images.to(next(iter(image_encoder.parameters())).device) if isinstance(image_encoder, torch.nn.Module) else images
                damsm_codes.append(image_encoder(device_images)[1].detach().float().cpu())
            if judge is not None:
                judge.update(tally, images.cpu(), batch_captions)
        settings["image_size"] = image_size

        # ---- scores
        if extractor is not None:
            pool = torch.cat(pools)
            if "fid" in names:
                assert ref_stats is not None
                gen = FeatureStats.from_features(pool, name="generated features")
                report.metrics["fid"] = {
                    "value": frechet_distance(gen.mu, gen.sigma, ref_stats.mu, ref_stats.sigma),
                    "num_samples": total,
                    "reference_samples": ref_stats.meta.get("num_samples"),
                }
                if total < _SMALL_N:
                    warnings.append(f"FID from {total} < {_SMALL_N} samples is biased upwards; published numbers use ~30k")
            if "kid" in names:
                assert ref_stats is not None and ref_stats.features is not None
                kid = kernel_inception_distance(pool, ref_stats.features, kid_subsets, kid_subset_size, seed=seed or 0)
                report.metrics["kid"] = {"mean": kid.mean, "std": kid.std, "num_subsets": kid.num_subsets, "subset_size": kid.subset_size}
            if "is" in names:
                score = inception_score(torch.cat(logits), splits=min(is_splits, total))
                report.metrics["is"] = {"mean": score.mean, "std": score.std, "splits": score.splits, "num_classes": extractor.num_classes}
        if "clip" in names:
            scores = torch.cat(clip_scores)
            report.metrics["clip"] = {"mean": float(scores.mean()), "std": float(scores.std(unbiased=False)), "num_samples": total}
        for name, codes in (("rprec", damsm_codes), ("rprec_clip", clip_images)):
            if name not in names:
                continue
            from .r_precision import r_precision

            if name == "rprec":
                caption_codes = torch.cat(
                    [text_encoder(texts[i : i + batch_size]).sentence.detach().float().cpu() for i in range(0, len(texts), batch_size)]
                )
            else:
                assert scorer is not None
                caption_codes = torch.cat([scorer.encode_captions(texts[i : i + batch_size]).cpu() for i in range(0, len(texts), batch_size)])
            candidates = _rprec_candidates(rprec_candidates, class_ids, len(texts), sample_index)
            if candidates < rprec_candidates:
                warnings.append(f"{name}: only {candidates} candidates per image (requested {rprec_candidates}); use more captions")
            generator = torch.Generator().manual_seed(seed or 0)
            result = r_precision(
                torch.cat(codes),
                caption_codes,
                sample_index,
                image_class_ids=class_ids[sample_index] if class_ids is not None else None,
                caption_class_ids=class_ids,
                num_candidates=candidates,
                folds=min(rprec_folds, total),
                generator=generator,
            )
            report.metrics[name] = {
                "mean": result.mean,
                "std": result.std,
                "num_candidates": candidates,
                "folds": min(rprec_folds, total),
                "class_aware": class_ids is not None,
            }
        if judge is not None:
            report.metrics["attributes"] = judge.result(tally).to_dict()
    finally:
        for module, training in modes:
            module.train(training)
    return report
