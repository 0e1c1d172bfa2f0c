"""R-precision: does an image's code pick its own caption among mismatched ones
([FF-GAN: R-precision][ffgan-r-precision])?

Differences from the official evaluation, all deliberate:

- captions are encoded **once** by the caller (or by
  [`r_precision_from_encoders`][fusionblocks.metrics.r_precision.r_precision_from_encoders], in batches, under
  ``torch.no_grad``); the official loop re-encodes 99 captions per sample;
- the mismatched captions are sampled with torch, vectorised (no rejection loop), from the captions whose class
  differs from the image's (or, without class ids, from every caption but the true one);
- by default the 99 mismatches of one image are distinct (``replacement=False``); the official code draws them
  independently (``replacement=True`` reproduces that);
- the folds cover **every** sample once (near-equal sizes); the official slicing drops one sample per fold.

The score works with any encoder pair in a shared space (DAMSM, CLIP): it only sees codes. DAMSM R-precision
computed with the encoders the generator was trained against is optimistic; report it as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int, check_tensor

__all__ = [
    "RPrecisionResult",
    "r_precision",
    "r_precision_from_encoders",
    "sample_mismatched_captions",
    "score_candidates",
]


@dataclass
class RPrecisionResult:
    """Result of ``r_precision``.

    Attributes:
        mean: Mean over the fold means (the reported R-precision, in ``[0, 1]``).
        std: Population standard deviation over the fold means (``numpy.std``, as reported officially).
        hits: Whether each image picked its true caption.
        fold_means: Hit rate of each fold.
        candidates: Caption index of every candidate; column 0 is the true caption.
        fold_index: The fold each sample was put in.

    Shapes:
        hits: ``(N,)`` bool; fold_means: ``(folds,)`` float64; candidates: ``(N, num_candidates)`` long;
        fold_index: ``(N,)`` long.
    """

    mean: float
    std: float
    hits: torch.Tensor
    fold_means: torch.Tensor
    candidates: torch.Tensor
    fold_index: torch.Tensor


def _check_index(value: object, name: str, length: int, upper: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name}: expected a ({length},) integer tensor, got {type(value).__name__}") from exc
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{name}: expected an integer tensor, got dtype {value.dtype}")
    if value.ndim != 1 or value.shape[0] != length:
        raise ValueError(f"{name}: expected shape ({length},), got {tuple(value.shape)}")
    value = value.to(device="cpu", dtype=torch.long)
    if upper is not None and length and (int(value.min()) < 0 or int(value.max()) >= upper):
        raise ValueError(
            f"{name}: expected indices in [0, {upper}), got values in [{int(value.min())}, {int(value.max())}]"
        )
    return value


def sample_mismatched_captions(
    true_caption_index: torch.Tensor | Sequence[int],
    num_captions: int,
    num_mismatches: int = 99,
    image_class_ids: torch.Tensor | Sequence[int] | None = None,
    caption_class_ids: torch.Tensor | Sequence[int] | None = None,
    replacement: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample, for every image, ``num_mismatches`` caption indices from the captions eligible as mismatches.

    Eligible: captions whose class differs from the image's class when class ids are given; otherwise every
    caption except the image's true one. (Without real classes, pass the id of each caption's source image as
    its "class", and each generated image's source id as the image class, to exclude all captions of the same
    source image.) Sampling is uniform over the eligible captions and vectorised over the images: the captions
    are sorted by class so that those of one class form a block, a uniform index over the rest is drawn and
    shifted past the block. Without replacement it uses Floyd's algorithm, ``num_mismatches`` vectorised steps.

    Args:
        true_caption_index: Index of each image's true caption.
        num_captions: Number of captions ``M``.
        num_mismatches: Mismatched captions per image (99 for the 100-candidate protocol).
        image_class_ids: Class of each image (give with ``caption_class_ids``).
        caption_class_ids: Class of each caption.
        replacement: Draw independently (official) instead of distinct captions per image.
        generator: CPU generator for reproducible draws.

    Returns:
        Caption indices of the mismatches (CPU, long).

    Raises:
        ValueError: some image has fewer than ``num_mismatches`` eligible captions (with ``replacement``: none);
            the message names them.

    Shapes:
        true_caption_index, image_class_ids: ``(N,)``; caption_class_ids: ``(M,)``;
        returns ``(N, num_mismatches)``.
    """
    num_captions = check_positive_int(num_captions, "num_captions")
    num_mismatches = check_positive_int(num_mismatches, "num_mismatches")
    if not isinstance(true_caption_index, torch.Tensor):
        true_caption_index = torch.as_tensor(true_caption_index)
    if true_caption_index.ndim != 1:
        raise ValueError(f"true_caption_index: expected a 1-D tensor (N,), got shape {tuple(true_caption_index.shape)}")
    count_images = true_caption_index.shape[0]
    true_index = _check_index(true_caption_index, "true_caption_index", count_images, num_captions)
    if (image_class_ids is None) != (caption_class_ids is None):
        missing = "caption_class_ids" if caption_class_ids is None else "image_class_ids"
        raise ValueError(f"{missing}: give both image_class_ids and caption_class_ids, or neither")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"generator: expected a CPU torch.Generator, got one on {generator.device}")

    if image_class_ids is None:
        order = torch.arange(num_captions)
        start = true_index  # the excluded block is the true caption itself
        count = torch.ones_like(true_index)
    else:
        image_cls = _check_index(image_class_ids, "image_class_ids", count_images)
        caption_cls = _check_index(caption_class_ids, "caption_class_ids", num_captions)
        wrong = (caption_cls[true_index] != image_cls).nonzero().flatten()
        if wrong.numel():
            raise ValueError(
                f"caption_class_ids: the true caption of image(s) {wrong.tolist()[:8]} has a class different "
                "from the image's (image_class_ids); class ids must agree for true pairs"
            )
        sorted_cls, order = torch.sort(caption_cls, stable=True)
        start = torch.searchsorted(sorted_cls, image_cls, right=False)
        count = torch.searchsorted(sorted_cls, image_cls, right=True) - start

    eligible = num_captions - count  # (N,)
    needed = 1 if replacement else num_mismatches  # independent draws may repeat a caption
    short = (eligible < needed).nonzero().flatten()
    if short.numel():
        hint = "use more captions" if replacement else "use more captions, fewer candidates or replacement=True"
        raise ValueError(
            f"num_mismatches: {short.numel()} image(s) (e.g. index {short.tolist()[:8]}) have only "
            f"{int(eligible[short].min())} eligible mismatched caption(s) (other classes), fewer than the "
            f"{needed} needed{' without replacement' if not replacement else ''}; {hint}"
        )

    rows = true_index.shape[0]
    if replacement:
        u = torch.rand(rows, num_mismatches, generator=generator, dtype=torch.float64)
        draws = (u * eligible[:, None]).long()
    else:
        # Floyd's algorithm: for j = K-k .. K-1, draw t in [0, j]; keep t unless already chosen, then keep j.
        draws = torch.empty(rows, num_mismatches, dtype=torch.long)
        for step in range(num_mismatches):
            upper = eligible - num_mismatches + step  # (N,) inclusive bound j
            u = torch.rand(rows, generator=generator, dtype=torch.float64)
            t = (u * (upper + 1)).long()
            taken = (draws[:, :step] == t[:, None]).any(dim=1)
            draws[:, step] = torch.where(taken, upper, t)
    draws = torch.minimum(draws, eligible[:, None] - 1)  # guards the float rounding of u * K
    shifted = draws + count[:, None] * (draws >= start[:, None]).long()
    return order[shifted]


def r_precision(
    image_codes: torch.Tensor,
    caption_codes: torch.Tensor,
    true_caption_index: torch.Tensor | Sequence[int],
    image_class_ids: torch.Tensor | Sequence[int] | None = None,
    caption_class_ids: torch.Tensor | Sequence[int] | None = None,
    num_candidates: int = 100,
    folds: int = 10,
    generator: torch.Generator | None = None,
    replacement: bool = False,
    chunk_size: int = 1024,
) -> RPrecisionResult:
    """R-precision of image codes against pre-encoded caption codes.

    For each image ``i``: candidates = its true caption + ``num_candidates − 1`` mismatched captions
    ([`sample_mismatched_captions`][fusionblocks.metrics.r_precision.sample_mismatched_captions]); a hit when the
    cosine similarity is largest for the true caption
    (ties go to the true caption, like the official ``argmax``). The hits are shuffled and split into ``folds``
    near-equal folds that together cover every sample; ``mean``/``std`` are over the fold means.

    Args:
        image_codes: Global codes of the (generated) images.
        caption_codes: Sentence codes of all captions, each encoded once.
        true_caption_index: Index into ``caption_codes`` of each image's caption.
        image_class_ids: Class of each image (give with ``caption_class_ids``).
        caption_class_ids: Class of each caption.
        num_candidates: Candidates per image, the true one included (100).
        folds: Number of folds (10); at most ``N``.
        generator: CPU generator for the mismatch draws and the fold shuffle.
        replacement: Draw mismatches independently (official) instead of distinct.
        chunk_size: Images scored at once (bounds memory at ``chunk_size · num_candidates · E``).

    Returns:
        [`RPrecisionResult`][fusionblocks.metrics.r_precision.RPrecisionResult].

    Shapes:
        image_codes: ``(N, E)``; caption_codes: ``(M, E)``; true_caption_index, image_class_ids: ``(N,)``;
        caption_class_ids: ``(M,)``.
    """
    image_codes = check_tensor(image_codes, "image_codes", ndim=2)
    caption_codes = check_tensor(caption_codes, "caption_codes", ndim=2)
    if caption_codes.shape[1] != image_codes.shape[1]:
        raise ValueError(
            f"caption_codes: expected (M, {image_codes.shape[1]}) to match image_codes, "
            f"got {tuple(caption_codes.shape)}"
        )
    count = image_codes.shape[0]
    if count == 0:
        raise ValueError("image_codes: expected at least one image, got shape (0, E)")
    num_candidates = check_positive_int(num_candidates, "num_candidates")
    if num_candidates < 2:
        raise ValueError(f"num_candidates: expected at least 2 (the true caption and a mismatch), got {num_candidates}")
    folds = check_positive_int(folds, "folds")
    if folds > count:
        raise ValueError(f"folds: expected at most the number of images ({count}), got {folds}")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    true_index = _check_index(true_caption_index, "true_caption_index", count, caption_codes.shape[0])

    mismatches = sample_mismatched_captions(
        true_index,
        caption_codes.shape[0],
        num_candidates - 1,
        image_class_ids,
        caption_class_ids,
        replacement=replacement,
        generator=generator,
    )
    candidates = torch.cat([true_index[:, None], mismatches], dim=1)  # (N, K)
    return score_candidates(image_codes, caption_codes, candidates, folds, generator, chunk_size)


def score_candidates(
    image_codes: torch.Tensor,
    caption_codes: torch.Tensor,
    candidates: torch.Tensor,
    folds: int = 10,
    generator: torch.Generator | None = None,
    chunk_size: int = 1024,
) -> RPrecisionResult:
    """R-precision from given candidates: image ``i`` hits when caption ``candidates[i, 0]`` (its true one) is the
    most similar of its row; hits are then shuffled into ``folds`` folds (the second half of
    ``r_precision``, for callers that encode only the captions the
    candidates name).

    Shapes:
        image_codes: ``(N, E)``; caption_codes: ``(M, E)``; candidates: ``(N, K)`` long indices into
        ``caption_codes``.
    """
    image_codes = check_tensor(image_codes, "image_codes", ndim=2)
    caption_codes = check_tensor(caption_codes, "caption_codes", ndim=2)
    count = image_codes.shape[0]
    if candidates.ndim != 2 or candidates.shape[0] != count:
        raise ValueError(f"candidates: expected shape ({count}, K), got {tuple(candidates.shape)}")
    folds = check_positive_int(folds, "folds")
    if folds > count:
        raise ValueError(f"folds: expected at most the number of images ({count}), got {folds}")
    dtype = torch.promote_types(torch.promote_types(image_codes.dtype, caption_codes.dtype), torch.float32)
    images = F.normalize(image_codes.detach().to(dtype), dim=1, eps=1e-8)
    captions = F.normalize(caption_codes.detach().to(dtype=dtype, device=images.device), dim=1, eps=1e-8)
    device_candidates = candidates.to(images.device)
    hits = torch.empty(count, dtype=torch.bool)
    for first in range(0, count, chunk_size):
        rows = slice(first, min(first + chunk_size, count))
        sims = torch.einsum("ne,nke->nk", images[rows], captions[device_candidates[rows]])
        hits[rows] = (sims.argmax(dim=1) == 0).cpu()

    order = torch.randperm(count, generator=generator)
    fold_index = torch.empty(count, dtype=torch.long)
    for fold, part in enumerate(torch.tensor_split(order, folds)):
        fold_index[part] = fold
    counts = torch.bincount(fold_index, minlength=folds).double()
    fold_means = torch.zeros(folds, dtype=torch.float64).index_add_(0, fold_index, hits.double()) / counts
    return RPrecisionResult(
        mean=float(fold_means.mean()),
        std=float(fold_means.std(unbiased=False)),
        hits=hits,
        fold_means=fold_means,
        candidates=candidates,
        fold_index=fold_index,
    )


def _module_device(module: Any, fallback: torch.device) -> torch.device:
    if isinstance(module, nn.Module):
        for tensor in list(module.parameters()) + list(module.buffers()):
            return tensor.device
    return fallback


def r_precision_from_encoders(
    images: torch.Tensor,
    captions: Sequence[str] | torch.Tensor,
    text_encoder: Any,
    image_encoder: Any,
    true_caption_index: torch.Tensor | Sequence[int] | None = None,
    caption_lengths: torch.Tensor | None = None,
    image_class_ids: torch.Tensor | Sequence[int] | None = None,
    caption_class_ids: torch.Tensor | Sequence[int] | None = None,
    num_candidates: int = 100,
    folds: int = 10,
    generator: torch.Generator | None = None,
    replacement: bool = False,
    batch_size: int = 64,
) -> RPrecisionResult:
    """Encode every image and every caption once (in batches, ``torch.no_grad``, eval mode), then ``r_precision``.

    Args:
        images: The (generated) images in ``[-1, 1]``.
        captions: All captions, as strings or as token ids (with ``caption_lengths``), each encoded once.
        text_encoder: ``text_encoder(captions[, lengths]) -> TextFeatures``; its ``.sentence`` is used.
        image_encoder: ``image_encoder(images) -> (regions, codes)``; the codes are used.
        true_caption_index: Caption of each image; default ``arange(N)`` (requires ``M == N``).
        caption_lengths: Lengths of the token-id captions.
        image_class_ids: See ``r_precision``.
        caption_class_ids: See ``r_precision``.
        num_candidates: See ``r_precision``.
        folds: See ``r_precision``.
        generator: See ``r_precision``.
        replacement: See ``r_precision``.
        batch_size: Images / captions encoded per call.

    Returns:
        [`RPrecisionResult`][fusionblocks.metrics.r_precision.RPrecisionResult].

    Shapes:
        images: ``(N, 3, H, W)``; captions: ``M`` strings or ``(M, T)`` long; caption_lengths: ``(M,)``.
    """
    images = check_tensor(images, "images", ndim=4)
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(captions, torch.Tensor):
        if captions.ndim != 2:
            raise ValueError(f"captions: expected token ids (M, T), got shape {tuple(captions.shape)}")
        if caption_lengths is not None and caption_lengths.shape != (captions.shape[0],):
            raise ValueError(
                f"caption_lengths: expected shape ({captions.shape[0]},), got {tuple(caption_lengths.shape)}"
            )
    elif isinstance(captions, str) or not isinstance(captions, Sequence):
        raise TypeError(f"captions: expected a sequence of strings or a (M, T) tensor, got {type(captions).__name__}")
    num_captions = len(captions)
    if true_caption_index is None:
        if num_captions != images.shape[0]:
            raise ValueError(
                f"true_caption_index: required when the number of captions ({num_captions}) differs from the "
                f"number of images ({images.shape[0]})"
            )
        true_caption_index = torch.arange(num_captions)

    modes = [(m, m.training) for m in (text_encoder, image_encoder) if isinstance(m, nn.Module)]
    for module, _ in modes:
        module.eval()
    try:
        with torch.no_grad():
            image_device = _module_device(image_encoder, images.device)
            codes = [
                image_encoder(images[i : i + batch_size].to(image_device))[1]
                for i in range(0, len(images), batch_size)
            ]
            text_device = _module_device(text_encoder, images.device)
            sentences = []
            for i in range(0, num_captions, batch_size):
                chunk = captions[i : i + batch_size]
                if isinstance(chunk, torch.Tensor):
                    chunk = chunk.to(text_device)
                    lengths = None if caption_lengths is None else caption_lengths[i : i + batch_size].to(text_device)
                    features = text_encoder(chunk, lengths) if lengths is not None else text_encoder(chunk)
                else:
                    features = text_encoder(list(chunk))
                sentences.append(features.sentence)
    finally:
        for module, training in modes:
            module.train(training)
    image_codes = torch.cat(codes)
    caption_codes = torch.cat([s.to(image_codes.device) for s in sentences])
    return r_precision(
        image_codes,
        caption_codes,
        true_caption_index,
        image_class_ids,
        caption_class_ids,
        num_candidates=num_candidates,
        folds=folds,
        generator=generator,
        replacement=replacement,
    )
