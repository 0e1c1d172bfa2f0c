"""Pooled R-precision: encode every needed caption once, then score all samples in one batched product.

Used by the benchmark as the fusionblocks side when ``fusionblocks.metrics`` has no ``r_precision`` yet, and as a
prototype of it (docs/ffgan.md "Where the official code and the paper differ": "pre-encode all test captions once and
sample the indices").
Same hits as the official loop given the same candidate indices (see ``tests/benchmarks``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["draw_mismatched_vectorised", "encode_sentences", "r_precision_pooled"]


def draw_mismatched_vectorised(
    rng: np.random.Generator,
    sample_classes: np.ndarray,
    class_ids: np.ndarray,
    captions_per_image: int,
    count: int = 99,
) -> np.ndarray:
    """For every sample, ``count`` caption indices of uniformly drawn images of another class (vectorised).

    Shapes:
        - sample_classes ``(N,)``; class_ids ``(N_images,)``; output ``(N, count)`` flat caption indices.
    """
    n = len(sample_classes)
    images = rng.integers(0, len(class_ids), size=(n, count))
    bad = class_ids[images] == sample_classes[:, None]
    while bad.any():  # rejection sampling, all samples at once
        images[bad] = rng.integers(0, len(class_ids), size=int(bad.sum()))
        bad = class_ids[images] == sample_classes[:, None]
    return images * captions_per_image + rng.integers(0, captions_per_image, size=(n, count))


@torch.inference_mode()
def encode_sentences(
    text_encoder: nn.Module, tokens: torch.Tensor, lens: torch.Tensor, chunk: int = 2048
) -> torch.Tensor:
    """Sentence embeddings of all rows of ``tokens`` in large chunks, without autograd.

    ``text_encoder`` is a fusionblocks text encoder (``(ids, lengths) -> TextFeatures``; unsorted batches allowed).

    Shapes:
        - tokens ``(M, T)`` long; lens ``(M,)``; output ``(M, D)``.
    """
    device = next(text_encoder.parameters()).device
    out = []
    for start in range(0, tokens.shape[0], chunk):
        ids = tokens[start : start + chunk].to(device)
        ln = lens[start : start + chunk].to(device)
        out.append(text_encoder(ids[:, : int(ln.max())], ln).sentence.float())
    return torch.cat(out)


@torch.inference_mode()
def r_precision_pooled(
    image_codes: torch.Tensor,
    true_caption: np.ndarray,
    candidates: np.ndarray,
    tokens: torch.Tensor,
    lens: torch.Tensor,
    text_encoder: nn.Module,
    eps: float = 1e-8,
) -> np.ndarray:
    """Hit indicators: is the true caption the most cosine-similar of its 100 candidates?

    Only the captions that occur (true or candidate) are encoded, each once.

    Shapes:
        - image_codes ``(N, D)``; true_caption ``(N,)``; candidates ``(N, K)``; tokens ``(M, T)``; lens ``(M,)``.
        - output ``(N,)`` bool.
    """
    pool = np.concatenate([np.asarray(true_caption)[:, None], np.asarray(candidates)], axis=1)  # (N, 1 + K)
    needed, inverse = np.unique(pool, return_inverse=True)
    needed_t = torch.as_tensor(needed, dtype=torch.long)
    emb = encode_sentences(text_encoder, tokens[needed_t], lens[needed_t])  # (U, D)
    cand = emb[torch.as_tensor(inverse.reshape(pool.shape), device=emb.device)]  # (N, 1 + K, D)
    codes = image_codes.to(emb.device, torch.float32)
    dots = torch.einsum("nd,nkd->nk", codes, cand)
    norms = codes.norm(dim=1, keepdim=True) * cand.norm(dim=2)
    scores = dots / norms.clamp_min(eps)
    return (scores.argmax(dim=1) == 0).cpu().numpy()
